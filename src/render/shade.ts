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

/** sRGB (γ = 2.2 approximation) → linear: x^2.2, input clamped to [0, 1]. */
export function srgbToLinear(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.pow(tf.clipByValue(x, 0, 1), 2.2));
}

/** Linear → sRGB: max(x, 1e-4)^(1/2.2); not clipped above. */
export function linearToSrgb(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.pow(tf.maximum(x, 1e-4), 1 / 2.2));
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
 * Lambert + Blinn-Phong: albedo·(ambient + c·max(n·l, 0)) + k_s·c·max(n·h, 0)^shininess, with l the direction
 * to the light, h = normalize(l + v), v the direction to the camera.
 * @param albedo [...,3] linear. @param normals [...,3] (need not be unit). @param positions [...,3] camera space.
 * @returns [...,3] linear colour.
 */
export function shadePhong(albedo: tf.Tensor, normals: tf.Tensor, positions: tf.Tensor, light: PointLight): tf.Tensor {
  return tf.tidy(() => {
    const n = unit(normals);
    const l = unit(tf.sub(t1(light.position), positions));
    const v = unit(tf.neg(positions));
    const h = unit(tf.add(l, v));
    const color = t1(light.color);
    const diffuse = tf.relu(tf.sum(tf.mul(n, l), -1, true));
    const spec = tf.pow(tf.relu(tf.sum(tf.mul(n, h), -1, true)), light.shininess ?? 20);
    const lit = tf.mul(albedo, tf.add(t1(light.ambient), tf.mul(color, diffuse)));
    return tf.add(lit, tf.mul(tf.mul(t0(light.specular ?? 0.2), color), spec));
  });
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
