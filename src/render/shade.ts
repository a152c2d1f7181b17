/**
 * Shading: vertex normals, gamma, Lambert + Blinn-Phong with one point light and an ambient term (GANFIT's
 * illumination parameters), and 2nd-order spherical-harmonics lighting.
 *
 * Colour pipeline (docs/conventions.md "Colours"): albedo is stored sRGB; `srgbToLinear` decodes it with
 * x^2.2, shading happens in linear light, `linearToSrgb` encodes with x^(1/2.2). Encoding clamps its input below
 * at 1e-4 (so the gradient stays finite, ≤ 70) but not above: values over 1 keep their gradient and are only
 * clipped when an image is written out.
 * All directions and positions are in camera space (x right, y down, z forward; the camera sits at the origin).
 */
import { tf } from '../engine/index.js';
import { customOp } from './custom.js';
import type { Num } from './interpolate.js';
import type { Param1D, ParamScalar } from './camera.js';

// ---------------------------------------------------------------------------------------------------------------
// Vertex normals

/**
 * Kernel: area-weighted vertex normals. pos [V,3] → out [V,3] unit normals, len [V] (length before
 * normalising). Counter-clockwise triangles give outward normals.
 */
export function vertexNormalsKernel(pos: Num, tris: Uint32Array, out: Num, len: Num): void {
  out.fill(0);
  const T = tris.length / 3, V = pos.length / 3;
  for (let t = 0; t < T; t++) {
    const i0 = 3 * tris[3 * t], i1 = 3 * tris[3 * t + 1], i2 = 3 * tris[3 * t + 2];
    const ax = pos[i1] - pos[i0], ay = pos[i1 + 1] - pos[i0 + 1], az = pos[i1 + 2] - pos[i0 + 2];
    const bx = pos[i2] - pos[i0], by = pos[i2 + 1] - pos[i0 + 1], bz = pos[i2 + 2] - pos[i0 + 2];
    const nx = ay * bz - az * by, ny = az * bx - ax * bz, nz = ax * by - ay * bx;
    out[i0] += nx; out[i0 + 1] += ny; out[i0 + 2] += nz;
    out[i1] += nx; out[i1 + 1] += ny; out[i1 + 2] += nz;
    out[i2] += nx; out[i2 + 1] += ny; out[i2 + 2] += nz;
  }
  for (let v = 0; v < V; v++) {
    const l = Math.hypot(out[3 * v], out[3 * v + 1], out[3 * v + 2]);
    len[v] = l;
    if (l > 0) {
      out[3 * v] /= l; out[3 * v + 1] /= l; out[3 * v + 2] /= l;
    }
  }
}

/** Backward of {@link vertexNormalsKernel}: dy [V,3] on the unit normals → gPos [V,3] (accumulated). */
export function vertexNormalsBackwardKernel(pos: Num, tris: Uint32Array, unit: Num, len: Num, dy: Num, gPos: Num): void {
  const V = pos.length / 3, T = tris.length / 3;
  // ∂/∂m of m/|m| applied to g: (g − n̂(n̂·g)) / |m|.
  const gm = new Float64Array(3 * V);
  for (let v = 0; v < V; v++) {
    const l = len[v];
    if (!(l > 0)) continue;
    const nx = unit[3 * v], ny = unit[3 * v + 1], nz = unit[3 * v + 2];
    const gx = dy[3 * v], gy = dy[3 * v + 1], gz = dy[3 * v + 2];
    const d = nx * gx + ny * gy + nz * gz;
    gm[3 * v] = (gx - nx * d) / l; gm[3 * v + 1] = (gy - ny * d) / l; gm[3 * v + 2] = (gz - nz * d) / l;
  }
  for (let t = 0; t < T; t++) {
    const i0 = 3 * tris[3 * t], i1 = 3 * tris[3 * t + 1], i2 = 3 * tris[3 * t + 2];
    const fx = gm[i0] + gm[i1] + gm[i2], fy = gm[i0 + 1] + gm[i1 + 1] + gm[i2 + 1], fz = gm[i0 + 2] + gm[i1 + 2] + gm[i2 + 2];
    if (fx === 0 && fy === 0 && fz === 0) continue;
    const ax = pos[i1] - pos[i0], ay = pos[i1 + 1] - pos[i0 + 1], az = pos[i1 + 2] - pos[i0 + 2];
    const bx = pos[i2] - pos[i0], by = pos[i2 + 1] - pos[i0 + 1], bz = pos[i2 + 2] - pos[i0 + 2];
    // n = a×b: ∂L/∂a = b×g, ∂L/∂b = g×a.
    const gax = by * fz - bz * fy, gay = bz * fx - bx * fz, gaz = bx * fy - by * fx;
    const gbx = fy * az - fz * ay, gby = fz * ax - fx * az, gbz = fx * ay - fy * ax;
    gPos[i1] += gax; gPos[i1 + 1] += gay; gPos[i1 + 2] += gaz;
    gPos[i2] += gbx; gPos[i2 + 1] += gby; gPos[i2 + 2] += gbz;
    gPos[i0] -= gax + gbx; gPos[i0 + 1] -= gay + gby; gPos[i0 + 2] -= gaz + gbz;
  }
}

/**
 * Unit vertex normals (area-weighted face normals), differentiable w.r.t. the positions.
 * @param positions [V,3] or [B,V,3]. @param triangles [T,3], counter-clockwise from outside.
 * @returns same shape as `positions`.
 */
export function vertexNormals(positions: tf.Tensor, triangles: Uint32Array): tf.Tensor {
  const f = (p: tf.Tensor) => {
    const pos = p.dataSync() as Float32Array;
    const B = p.rank === 3 ? p.shape[0] : 1;
    const n = pos.length / B;
    const out = new Float32Array(pos.length), len = new Float32Array(pos.length / 3);
    for (let b = 0; b < B; b++) vertexNormalsKernel(pos.subarray(b * n, (b + 1) * n), triangles, out.subarray(b * n, (b + 1) * n), len.subarray((b * n) / 3, ((b + 1) * n) / 3));
    return {
      value: tf.tensor(out, p.shape),
      gradFunc: (dy: tf.Tensor) => {
        const g = dy.dataSync() as Float32Array, gp = new Float32Array(pos.length);
        for (let b = 0; b < B; b++) {
          const s = (a: Float32Array) => a.subarray(b * n, (b + 1) * n);
          vertexNormalsBackwardKernel(s(pos), triangles, s(out), len.subarray((b * n) / 3, ((b + 1) * n) / 3), s(g), s(gp));
        }
        return [tf.tensor(gp, p.shape)];
      },
    };
  };
  return customOp(f)(positions);
}

// ---------------------------------------------------------------------------------------------------------------
// Gamma

/** Elementwise x ↦ f(x) with derivative f'(x), as one fused op (tf.pow is slow on wasm). */
function elementwise(x: tf.Tensor, f: (v: number) => number, df: (v: number) => number): tf.Tensor {
  return customOp((t) => {
    const d = t.dataSync() as Float32Array;
    const out = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = f(d[i]);
    return {
      value: tf.tensor(out, t.shape),
      gradFunc: (dy) => {
        const g = dy.dataSync() as Float32Array, gx = new Float32Array(d.length);
        for (let i = 0; i < d.length; i++) gx[i] = g[i] === 0 ? 0 : g[i] * df(d[i]);
        return [tf.tensor(gx, t.shape)];
      },
    };
  })(x);
}

/** sRGB (γ = 2.2 approximation) → linear: x^2.2, input clamped to [0, 1] (zero gradient outside). */
export function srgbToLinear(x: tf.Tensor): tf.Tensor {
  return elementwise(x, (v) => (v <= 0 ? 0 : v >= 1 ? 1 : Math.pow(v, 2.2)), (v) => (v <= 0 || v >= 1 ? 0 : 2.2 * Math.pow(v, 1.2)));
}

/** Linear → sRGB: max(x, 1e-4)^(1/2.2); not clipped above. */
export function linearToSrgb(x: tf.Tensor): tf.Tensor {
  const k = 1 / 2.2;
  return elementwise(x, (v) => Math.pow(v < 1e-4 ? 1e-4 : v, k), (v) => (v < 1e-4 ? 0 : k * Math.pow(v, k - 1)));
}

// ---------------------------------------------------------------------------------------------------------------
// Lighting

/** One point light plus ambient light (GANFIT's p_i), all colours linear RGB. */
export interface PointLight {
  /** Light position in camera space, cm, [3]. */
  position: Param1D;
  /** Light colour (intensity per channel), [3]. */
  color: Param1D;
  /** Ambient colour, [3]. */
  ambient: Param1D;
  /** Specular strength k_s (white specular). Default 0.2. */
  specular?: ParamScalar;
  /** Blinn-Phong exponent. Default 20. */
  shininess?: number;
}

const t1 = (p: Param1D): tf.Tensor1D => (p instanceof tf.Tensor ? p : tf.tensor1d(Array.from(p)));
const t0 = (p: ParamScalar): tf.Scalar => (p instanceof tf.Tensor ? p : tf.scalar(p));
const unit = (v: tf.Tensor) => tf.mul(v, tf.rsqrt(tf.add(tf.sum(tf.square(v), -1, true), 1e-12)));

/**
 * Kernel: Lambert + Blinn-Phong per pixel (see {@link shadePhong}). Inputs [N,3] each; light params: lp, col,
 * amb [3], ks scalar, k exponent. Writes out [N,3].
 */
export function phongKernel(alb: Num, nrm: Num, pos: Num, lp: Num, col: Num, amb: Num, ks: number, k: number, out: Num): void {
  const N = alb.length / 3;
  for (let i = 0; i < N; i++) {
    const o = 3 * i;
    const f = phongTerms(nrm, pos, lp, o, k);
    for (let c = 0; c < 3; c++) out[o + c] = alb[o + c] * (amb[c] + col[c] * f.dp) + ks * col[c] * f.sp;
  }
}

interface Terms {
  n: number[]; l: number[]; v: number[]; h: number[];
  rn: number; rl: number; rv: number; rh: number; d: number; s: number; dp: number; sp: number;
}

const norm = (x: number, y: number, z: number): [number[], number] => {
  const r = Math.sqrt(x * x + y * y + z * z);
  return r > 0 ? [[x / r, y / r, z / r], r] : [[0, 0, 0], 0];
};

function phongTerms(nrm: Num, pos: Num, lp: Num, o: number, k: number): Terms {
  const [n, rn] = norm(nrm[o], nrm[o + 1], nrm[o + 2]);
  const [l, rl] = norm(lp[0] - pos[o], lp[1] - pos[o + 1], lp[2] - pos[o + 2]);
  const [v, rv] = norm(-pos[o], -pos[o + 1], -pos[o + 2]);
  const [h, rh] = norm(l[0] + v[0], l[1] + v[1], l[2] + v[2]);
  const d = n[0] * l[0] + n[1] * l[1] + n[2] * l[2];
  const s = n[0] * h[0] + n[1] * h[1] + n[2] * h[2];
  return { n, l, v, h, rn, rl, rv, rh, d, s, dp: d > 0 ? d : 0, sp: s > 0 ? Math.pow(s, k) : 0 };
}

/** ∂/∂U of u = U/|U| applied to g: (g − u·(u·g))/|U| (0 for U = 0). */
function normBack(u: number[], r: number, g: number[]): number[] {
  if (!(r > 0)) return [0, 0, 0];
  const d = u[0] * g[0] + u[1] * g[1] + u[2] * g[2];
  return [(g[0] - u[0] * d) / r, (g[1] - u[1] * d) / r, (g[2] - u[2] * d) / r];
}

/** Backward of {@link phongKernel}: accumulates into the g* arrays (gKs is a length-1 array). */
export function phongBackwardKernel(
  alb: Num, nrm: Num, pos: Num, lp: Num, col: Num, amb: Num, ks: number, k: number, dy: Num,
  gAlb: Num, gNrm: Num, gPos: Num, gLp: Num, gCol: Num, gAmb: Num, gKs: Num,
): void {
  const N = alb.length / 3;
  for (let i = 0; i < N; i++) {
    const o = 3 * i;
    const g0 = dy[o], g1 = dy[o + 1], g2 = dy[o + 2];
    if (g0 === 0 && g1 === 0 && g2 === 0) continue;
    const f = phongTerms(nrm, pos, lp, o, k);
    let gdp = 0, gsp = 0;
    for (let c = 0; c < 3; c++) {
      const g = dy[o + c];
      gAlb[o + c] += g * (amb[c] + col[c] * f.dp);
      gAmb[c] += g * alb[o + c];
      gCol[c] += g * (alb[o + c] * f.dp + ks * f.sp);
      gKs[0] += g * col[c] * f.sp;
      gdp += g * alb[o + c] * col[c];
      gsp += g * ks * col[c];
    }
    const gd = f.d > 0 ? gdp : 0;
    const gs = f.s > 0 ? gsp * k * Math.pow(f.s, k - 1) : 0;
    if (gd === 0 && gs === 0) continue;
    const gn = [gd * f.l[0] + gs * f.h[0], gd * f.l[1] + gs * f.h[1], gd * f.l[2] + gs * f.h[2]];
    const gH = normBack(f.h, f.rh, [gs * f.n[0], gs * f.n[1], gs * f.n[2]]);
    const gL = normBack(f.l, f.rl, [gd * f.n[0] + gH[0], gd * f.n[1] + gH[1], gd * f.n[2] + gH[2]]);
    const gV = normBack(f.v, f.rv, gH);
    const gN = normBack(f.n, f.rn, gn);
    for (let c = 0; c < 3; c++) {
      gNrm[o + c] += gN[c];
      gLp[c] += gL[c];
      gPos[o + c] -= gL[c] + gV[c];
    }
  }
}

/**
 * Lambert + Blinn-Phong: albedo·(ambient + c·max(n·l, 0)) + k_s·c·max(n·h, 0)^shininess, with n the normalised
 * normal, l the unit direction to the light, v to the camera (origin), h = normalize(l + v). One fused op,
 * differentiable w.r.t. every input and light parameter.
 * @param albedo [...,3] linear. @param normals [...,3] (need not be unit). @param positions [...,3] camera space.
 * @returns [...,3] linear colour.
 */
export function shadePhong(albedo: tf.Tensor, normals: tf.Tensor, positions: tf.Tensor, light: PointLight): tf.Tensor {
  const k = light.shininess ?? 20;
  return tf.tidy(() => customOp((a, n, p, lpT, colT, ambT, ksT) => {
    const [alb, nrm, pos, lp, col, amb] = [a, n, p, lpT, colT, ambT].map((t) => t.dataSync() as Float32Array);
    const ks = ksT.dataSync()[0];
    const out = new Float32Array(alb.length);
    phongKernel(alb, nrm, pos, lp, col, amb, ks, k, out);
    return {
      value: tf.tensor(out, a.shape),
      gradFunc: (dy) => {
        const g = [alb, nrm, pos, lp, col, amb].map((x) => new Float32Array(x.length));
        const gKs = new Float32Array(1);
        phongBackwardKernel(alb, nrm, pos, lp, col, amb, ks, k, dy.dataSync() as Float32Array, g[0], g[1], g[2], g[3], g[4], g[5], gKs);
        return [...[a, n, p, lpT, colT, ambT].map((t, i) => tf.tensor(g[i], t.shape)), tf.tensor(gKs, ksT.shape)];
      },
    };
  })(albedo, normals, positions, t1(light.position), t1(light.color), t1(light.ambient), t0(light.specular ?? 0.2)));
}

/**
 * The nine real spherical-harmonic basis functions (bands 0–2) of unit directions.
 * @param normals [...,3] (normalised inside). @returns [...,9].
 */
export function shBasis(normals: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const n = unit(normals);
    const [x, y, z] = tf.split(n, 3, -1);
    return tf.concat([
      tf.fill(x.shape, 0.282095),
      tf.mul(y, 0.488603), tf.mul(z, 0.488603), tf.mul(x, 0.488603),
      tf.mul(tf.mul(x, y), 1.092548), tf.mul(tf.mul(y, z), 1.092548),
      tf.mul(tf.sub(tf.mul(tf.square(z), 3), 1), 0.315392),
      tf.mul(tf.mul(x, z), 1.092548), tf.mul(tf.sub(tf.square(x), tf.square(y)), 0.546274),
    ], -1);
  });
}

/**
 * Spherical-harmonics shading: albedo · Σₖ coeffs[k]·Yₖ(n), the irradiance coefficients (cosine lobe already
 * folded in) in camera space; coeffs[0] = [1/0.282095]×3 is uniform white light.
 * @param albedo [...,3] linear. @param normals [...,3]. @param coeffs [9,3]. @returns [...,3].
 */
export function shadeSH(albedo: tf.Tensor, normals: tf.Tensor, coeffs: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => {
    const basis = shBasis(normals);
    const flat = tf.reshape(basis, [-1, 9]);
    const irradiance = tf.reshape(tf.matMul(flat, coeffs), albedo.shape);
    return tf.mul(albedo, irradiance);
  });
}
