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
import { readF32 } from './data.js';
import type { Num } from './interpolate.js';
import type { Param1D, ParamScalar } from './camera.js';

// ---------------------------------------------------------------------------------------------------------------
// Vertex normals

/**
 * Kernel: area-weighted vertex normals. pos [V,3] → out [V,3] unit normals, len [V] (length before
 * normalising). Counter-clockwise triangles give outward normals. (Each loop is its own function: V8 optimises
 * small single-loop functions far better, and a large one kept deoptimising on a branch of its second loop.)
 */
export function vertexNormalsKernel(pos: Num, tris: Uint32Array, out: Num, len: Num): void {
  out.fill(0);
  accumulateFaceNormals(pos, tris, out);
  normalizeRows(out, len);
}

/** out[v] += the (area-weighted) normals of the triangles at vertex v. */
function accumulateFaceNormals(pos: Num, tris: Uint32Array, out: Num): void {
  const T = tris.length / 3;
  for (let t = 0; t < T; t++) {
    const i0 = 3 * tris[3 * t], i1 = 3 * tris[3 * t + 1], i2 = 3 * tris[3 * t + 2];
    const ax = pos[i1] - pos[i0], ay = pos[i1 + 1] - pos[i0 + 1], az = pos[i1 + 2] - pos[i0 + 2];
    const bx = pos[i2] - pos[i0], by = pos[i2 + 1] - pos[i0 + 1], bz = pos[i2 + 2] - pos[i0 + 2];
    const nx = ay * bz - az * by, ny = az * bx - ax * bz, nz = ax * by - ay * bx;
    out[i0] += nx; out[i0 + 1] += ny; out[i0 + 2] += nz;
    out[i1] += nx; out[i1 + 1] += ny; out[i1 + 2] += nz;
    out[i2] += nx; out[i2 + 1] += ny; out[i2 + 2] += nz;
  }
}

/** Normalise each row of v [V,3] in place (zero rows stay zero); len [V] gets the lengths. */
function normalizeRows(v: Num, len: Num): void {
  const V = v.length / 3;
  for (let i = 0; i < V; i++) {
    const x = v[3 * i], y = v[3 * i + 1], z = v[3 * i + 2];
    const l = Math.sqrt(x * x + y * y + z * z);
    len[i] = l;
    if (l > 0) {
      v[3 * i] = x / l; v[3 * i + 1] = y / l; v[3 * i + 2] = z / l;
    }
  }
}

let normalsScratch = new Float64Array(0);

/** Backward of {@link vertexNormalsKernel}: dy [V,3] on the unit normals → gPos [V,3] (accumulated). */
export function vertexNormalsBackwardKernel(pos: Num, tris: Uint32Array, unit: Num, len: Num, dy: Num, gPos: Num): void {
  const V = pos.length / 3;
  if (normalsScratch.length < 3 * V) normalsScratch = new Float64Array(3 * V);
  const gm = normalsScratch;
  normalizeRowsBackward(unit, len, dy, gm, V);
  faceNormalsBackward(pos, tris, gm, gPos);
}

/** ∂/∂m of m/|m| applied to g: (g − n̂(n̂·g)) / |m| per vertex (0 where |m| = 0); gm [V,3] overwritten. */
function normalizeRowsBackward(unit: Num, len: Num, dy: Num, gm: Float64Array, V: number): void {
  for (let v = 0; v < V; v++) {
    const l = len[v];
    const nx = unit[3 * v], ny = unit[3 * v + 1], nz = unit[3 * v + 2];
    const gx = dy[3 * v], gy = dy[3 * v + 1], gz = dy[3 * v + 2];
    const d = nx * gx + ny * gy + nz * gz, r = l > 0 ? 1 / l : 0;
    gm[3 * v] = (gx - nx * d) * r; gm[3 * v + 1] = (gy - ny * d) * r; gm[3 * v + 2] = (gz - nz * d) * r;
  }
}

/** Backward of {@link accumulateFaceNormals}: gm [V,3] on the summed normals → gPos (accumulated). */
function faceNormalsBackward(pos: Num, tris: Uint32Array, gm: Float64Array, gPos: Num): void {
  const T = tris.length / 3;
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
    const pos = readF32(p);
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

/**
 * Piecewise-linear tables of x ↦ x^p on [0, 1]: segment 0 is [0, 2⁻¹⁶), then 2^SEGMENT_BITS segments per octave up
 * to 1, with bounds 2^e·(1 + j/256). The segment of x is read off its float64 bits (exponent and top mantissa
 * bits), so a lookup takes no square root and no division (Math.pow per element is slow, and so were the square
 * root and division of a square-root-spaced grid). Entries are [x0, y0, slope]; values and slopes are those of the
 * interpolant, so gradients are exact for what is computed. Relative error vs Math.pow on [2⁻¹⁶, 1): < 6e-6
 * for p = 2.2, < 6e-7 for p = 1/2.2; slopes within 0.25 % (test/render/ops-gradients.test.ts).
 */
const SEGMENT_BITS = 8;
const LOWEST_OCTAVE = -16;
/** float64 bits >> SEGMENT_SHIFT = exponent field · 2^SEGMENT_BITS + top mantissa bits (x ≥ 0). */
const SEGMENT_SHIFT = 52 - SEGMENT_BITS;
const SEGMENT_BASE = (1023 + LOWEST_OCTAVE) << SEGMENT_BITS;
const SEGMENTS = 1 + (-LOWEST_OCTAVE << SEGMENT_BITS);

function powTable(p: number): Float64Array {
  const bounds = [0];
  for (let e = LOWEST_OCTAVE; e < 0; e++) for (let j = 0; j < 1 << SEGMENT_BITS; j++) bounds.push(2 ** e * (1 + j / (1 << SEGMENT_BITS)));
  bounds.push(1);
  const f = new Float64Array(3 * SEGMENTS);
  for (let k = 0; k < SEGMENTS; k++) {
    const x0 = bounds[k], x1 = bounds[k + 1], y0 = Math.pow(x0, p), y1 = Math.pow(x1, p);
    f[3 * k] = x0; f[3 * k + 1] = y0; f[3 * k + 2] = (y1 - y0) / (x1 - x0);
  }
  return f;
}

const bits = new Float64Array(1), bitsHi = new Int32Array(bits.buffer, 4, 1);

/** The segment of x in [0, 1) (x ≥ 0): same arithmetic as the WebAssembly kernels' (i64 bits >> SEGMENT_SHIFT). */
function segmentOf(x: number): number {
  bits[0] = x;
  const k = (bitsHi[0] >> (SEGMENT_SHIFT - 32)) - SEGMENT_BASE + 1;
  return k < 1 ? 0 : k;
}

/** A gamma curve: the table `f` of x^p, the lower clamp `lo`, and whether values above 1 are clipped to 1. */
export type PowTable = { f: Float64Array; p: number; lo: number; clampTop: boolean };
/** sRGB → linear: x^2.2 on [0, 1], clipped to [0, 1] (zero gradient outside). */
export const DECODE: PowTable = { f: powTable(2.2), p: 2.2, lo: 0, clampTop: true };
/** Linear → sRGB: max(x, 1e-4)^(1/2.2), not clipped above. */
export const ENCODE: PowTable = { f: powTable(1 / 2.2), p: 1 / 2.2, lo: 1e-4, clampTop: false };

/**
 * Kernel: elementwise x^p through a {@link powTable} for x in [lo, 1), Math.pow from 1 up (or 1 when clampTop);
 * x < lo is clamped to lo (zero gradient). Writes out[i] and slope[i] = d out / d x, for i < n.
 */
export function powKernel(d: Num, table: PowTable, out: Num, slope: Num, n = d.length): void {
  const { f, p, lo, clampTop } = table;
  for (let i = 0; i < n; i++) {
    const v = d[i] < lo ? lo : d[i];
    if (!(v < 1)) {
      // v ≥ 1, or NaN (which stays NaN).
      if (clampTop && v >= 1) { out[i] = 1; slope[i] = 0; } else { out[i] = Math.pow(v, p); slope[i] = p * Math.pow(v, p - 1); }
      continue;
    }
    const e = 3 * segmentOf(v), s = f[e + 2];
    out[i] = f[e + 1] + (v - f[e]) * s;
    slope[i] = d[i] < lo ? 0 : s;
  }
}

/** Elementwise gamma through {@link powKernel}. */
function powOp(x: tf.Tensor, table: PowTable): tf.Tensor {
  return customOp((t) => {
    const d = t.dataSync() as Float32Array;
    const out = new Float32Array(d.length), slope = new Float32Array(d.length);
    powKernel(d, table, out, slope);
    return {
      value: tf.tensor(out, t.shape),
      gradFunc: (dy) => {
        const g = dy.dataSync() as Float32Array, gx = new Float32Array(d.length);
        for (let i = 0; i < d.length; i++) gx[i] = g[i] * slope[i];
        return [tf.tensor(gx, t.shape)];
      },
    };
  })(x);
}

/** sRGB (γ = 2.2 approximation) → linear: x^2.2, input clamped to [0, 1] (zero gradient outside). */
export function srgbToLinear(x: tf.Tensor): tf.Tensor {
  return powOp(x, DECODE);
}

/** Linear → sRGB: max(x, 1e-4)^(1/2.2); not clipped above. */
export function linearToSrgb(x: tf.Tensor): tf.Tensor {
  return powOp(x, ENCODE);
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

const inv = (r2: number) => (r2 > 0 ? 1 / Math.sqrt(r2) : 0);

/** x^k for x > 0: square-and-multiply for integer 0 ≤ k ≤ 256 (Math.pow is a slow runtime call in V8), else Math.pow. */
function powPos(x: number, k: number): number {
  if (!(k >= 0 && k <= 256 && (k | 0) === k)) return Math.pow(x, k);
  let r = 1, b = x, e = k;
  while (e > 0) {
    if (e & 1) r *= b;
    b *= b;
    e >>= 1;
  }
  return r;
}

/**
 * Forward kernel of {@link shadePhong}: alb, nrm, pos [N,3] → out [N,3]; light lp, col, amb [3], ks, exponent k.
 * Lambert + Blinn-Phong per pixel with n = N/|N|, l = (lp − p)/|lp − p|, v = −p/|p|, h = (l + v)/|l + v|.
 */
export function phongKernel(alb: Num, nrm: Num, pos: Num, lp: Num, col: Num, amb: Num, ks: number, k: number, out: Num, N = alb.length / 3): void {
  const l0 = lp[0], l1 = lp[1], l2 = lp[2], c0 = col[0], c1 = col[1], c2 = col[2], a0 = amb[0], a1 = amb[1], a2 = amb[2];
  for (let i = 0; i < N; i++) {
    const o = 3 * i;
    const px = pos[o], py = pos[o + 1], pz = pos[o + 2];
    const Nx = nrm[o], Ny = nrm[o + 1], Nz = nrm[o + 2], rn = inv(Nx * Nx + Ny * Ny + Nz * Nz);
    const nx = Nx * rn, ny = Ny * rn, nz = Nz * rn;
    const Lx = l0 - px, Ly = l1 - py, Lz = l2 - pz, rl = inv(Lx * Lx + Ly * Ly + Lz * Lz);
    const lx = Lx * rl, ly = Ly * rl, lz = Lz * rl;
    const rv = inv(px * px + py * py + pz * pz);
    const Hx = lx - px * rv, Hy = ly - py * rv, Hz = lz - pz * rv, rh = inv(Hx * Hx + Hy * Hy + Hz * Hz);
    const d = nx * lx + ny * ly + nz * lz, s = (nx * Hx + ny * Hy + nz * Hz) * rh;
    const dp = d > 0 ? d : 0, sp = s > 0 ? powPos(s, k) : 0, ssp = ks * sp;
    out[o] = alb[o] * (a0 + c0 * dp) + c0 * ssp;
    out[o + 1] = alb[o + 1] * (a1 + c1 * dp) + c1 * ssp;
    out[o + 2] = alb[o + 2] * (a2 + c2 * dp) + c2 * ssp;
  }
}

/**
 * Backward kernel of {@link shadePhong}: accumulates into gAlb, gNrm, gPos [N,3] and gLp, gCol, gAmb [3], gKs [1]
 * (light terms summed in float64, added once).
 */
export function phongBackwardKernel(
  alb: Num, nrm: Num, pos: Num, lp: Num, col: Num, amb: Num, ks: number, k: number, dy: Num,
  gAlb: Num, gNrm: Num, gPos: Num, gLp: Num, gCol: Num, gAmb: Num, gKs: Num, N = alb.length / 3,
): void {
  const l0 = lp[0], l1 = lp[1], l2 = lp[2], c0 = col[0], c1 = col[1], c2 = col[2], a0 = amb[0], a1 = amb[1], a2 = amb[2];
  // inv() and powPos() written out: V8 does not inline them into this large kernel, and a call that is not
  // inlined boxes its double arguments and result (heap allocations per pixel).
  const kInt = k >= 0 && k <= 256 && (k | 0) === k;
  let sLx = 0, sLy = 0, sLz = 0, sC0 = 0, sC1 = 0, sC2 = 0, sA0 = 0, sA1 = 0, sA2 = 0, sKs = 0;
  for (let i = 0; i < N; i++) {
    const o = 3 * i;
    const g0 = dy[o], g1 = dy[o + 1], g2 = dy[o + 2];
    if (g0 === 0 && g1 === 0 && g2 === 0) continue;
    const px = pos[o], py = pos[o + 1], pz = pos[o + 2];
    const Nx = nrm[o], Ny = nrm[o + 1], Nz = nrm[o + 2], n2 = Nx * Nx + Ny * Ny + Nz * Nz, rn = n2 > 0 ? 1 / Math.sqrt(n2) : 0;
    const nx = Nx * rn, ny = Ny * rn, nz = Nz * rn;
    const Lx = l0 - px, Ly = l1 - py, Lz = l2 - pz, L2 = Lx * Lx + Ly * Ly + Lz * Lz, rl = L2 > 0 ? 1 / Math.sqrt(L2) : 0;
    const lx = Lx * rl, ly = Ly * rl, lz = Lz * rl;
    const p2 = px * px + py * py + pz * pz, rv = p2 > 0 ? 1 / Math.sqrt(p2) : 0;
    const vx = -px * rv, vy = -py * rv, vz = -pz * rv;
    const Hx = lx + vx, Hy = ly + vy, Hz = lz + vz, H2 = Hx * Hx + Hy * Hy + Hz * Hz, rh = H2 > 0 ? 1 / Math.sqrt(H2) : 0;
    const hx = Hx * rh, hy = Hy * rh, hz = Hz * rh;
    const d = nx * lx + ny * ly + nz * lz, s = nx * hx + ny * hy + nz * hz;
    const dp = d > 0 ? d : 0;
    let sp = 0;
    if (s > 0) {
      // powPos(s, k) written out.
      if (kInt) {
        sp = 1;
        for (let bb = s, e = k; e > 0; e >>= 1, bb *= bb) if (e & 1) sp *= bb;
      } else sp = Math.pow(s, k);
    }
    const al0 = alb[o], al1 = alb[o + 1], al2 = alb[o + 2];
    gAlb[o] += g0 * (a0 + c0 * dp); gAlb[o + 1] += g1 * (a1 + c1 * dp); gAlb[o + 2] += g2 * (a2 + c2 * dp);
    sA0 += g0 * al0; sA1 += g1 * al1; sA2 += g2 * al2;
    sC0 += g0 * (al0 * dp + ks * sp); sC1 += g1 * (al1 * dp + ks * sp); sC2 += g2 * (al2 * dp + ks * sp);
    const gc = g0 * c0 + g1 * c1 + g2 * c2;
    sKs += gc * sp;
    const gdp = g0 * al0 * c0 + g1 * al1 * c1 + g2 * al2 * c2, gsp = ks * gc;
    const gd = d > 0 ? gdp : 0;
    const gs = s > 0 ? (gsp * k * sp) / s : 0;
    if (gd === 0 && gs === 0) continue;
    // u = U/|U| ⇒ ∂L/∂U = (g − u(u·g))/|U|.
    let gx = gs * nx, gy = gs * ny, gz = gs * nz, t = hx * gx + hy * gy + hz * gz;
    const gHx = (gx - hx * t) * rh, gHy = (gy - hy * t) * rh, gHz = (gz - hz * t) * rh;
    gx = gd * nx + gHx; gy = gd * ny + gHy; gz = gd * nz + gHz; t = lx * gx + ly * gy + lz * gz;
    const gLx = (gx - lx * t) * rl, gLy = (gy - ly * t) * rl, gLz = (gz - lz * t) * rl;
    t = vx * gHx + vy * gHy + vz * gHz;
    const gVx = (gHx - vx * t) * rv, gVy = (gHy - vy * t) * rv, gVz = (gHz - vz * t) * rv;
    gx = gd * lx + gs * hx; gy = gd * ly + gs * hy; gz = gd * lz + gs * hz; t = nx * gx + ny * gy + nz * gz;
    gNrm[o] += (gx - nx * t) * rn; gNrm[o + 1] += (gy - ny * t) * rn; gNrm[o + 2] += (gz - nz * t) * rn;
    sLx += gLx; sLy += gLy; sLz += gLz;
    gPos[o] -= gLx + gVx; gPos[o + 1] -= gLy + gVy; gPos[o + 2] -= gLz + gVz;
  }
  // Added in a separate function: the first calls finish this kernel in on-stack-replaced code, so accesses after
  // the loop would never get type feedback and each optimised version deoptimised there.
  const sums = lightSums;
  sums[0] = sLx; sums[1] = sLy; sums[2] = sLz; sums[3] = sC0; sums[4] = sC1; sums[5] = sC2; sums[6] = sA0; sums[7] = sA1; sums[8] = sA2; sums[9] = sKs;
  addLightGrads(sums, gLp, gCol, gAmb, gKs);
}

const lightSums = new Float64Array(10);

function addLightGrads(s: Float64Array, gLp: Num, gCol: Num, gAmb: Num, gKs: Num): void {
  for (let k = 0; k < 3; k++) {
    gLp[k] += s[k]; gCol[k] += s[3 + k]; gAmb[k] += s[6 + k];
  }
  gKs[0] += s[9];
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

/**
 * Kernel of {@link shadeSH} on typed arrays: alb, nrm [N,3], coeffs [9,3] → out [N,3]. The normal is normalised
 * as n·(|n|² + 1e-12)^(−1/2), like the tf version.
 */
export function shKernel(alb: Num, nrm: Num, coeffs: Num, out: Num, N = alb.length / 3): void {
  for (let i = 0; i < N; i++) {
    const o = 3 * i;
    const r = 1 / Math.sqrt(nrm[o] * nrm[o] + nrm[o + 1] * nrm[o + 1] + nrm[o + 2] * nrm[o + 2] + 1e-12);
    const x = nrm[o] * r, y = nrm[o + 1] * r, z = nrm[o + 2] * r;
    const y1 = 0.488603 * y, y2 = 0.488603 * z, y3 = 0.488603 * x, y4 = 1.092548 * x * y, y5 = 1.092548 * y * z;
    const y6 = 0.315392 * (3 * z * z - 1), y7 = 1.092548 * x * z, y8 = 0.546274 * (x * x - y * y);
    for (let c = 0; c < 3; c++) {
      const irr = 0.282095 * coeffs[c] + y1 * coeffs[3 + c] + y2 * coeffs[6 + c] + y3 * coeffs[9 + c] + y4 * coeffs[12 + c]
        + y5 * coeffs[15 + c] + y6 * coeffs[18 + c] + y7 * coeffs[21 + c] + y8 * coeffs[24 + c];
      out[o + c] = alb[o + c] * irr;
    }
  }
}

/** Backward of {@link shKernel}: accumulates into gAlb, gNrm [N,3] and gCoeffs [9,3]. */
export function shBackwardKernel(alb: Num, nrm: Num, coeffs: Num, dy: Num, gAlb: Num, gNrm: Num, gCoeffs: Num, N = alb.length / 3): void {
  for (let i = 0; i < N; i++) {
    const o = 3 * i;
    if (dy[o] === 0 && dy[o + 1] === 0 && dy[o + 2] === 0) continue;
    const r = 1 / Math.sqrt(nrm[o] * nrm[o] + nrm[o + 1] * nrm[o + 1] + nrm[o + 2] * nrm[o + 2] + 1e-12);
    const x = nrm[o] * r, y = nrm[o + 1] * r, z = nrm[o + 2] * r;
    const Y = [0.282095, 0.488603 * y, 0.488603 * z, 0.488603 * x, 1.092548 * x * y, 1.092548 * y * z, 0.315392 * (3 * z * z - 1), 1.092548 * x * z, 0.546274 * (x * x - y * y)];
    // gY[k] = Σ_c g_c·alb_c·coeffs[k,c]
    let g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0, g8 = 0;
    for (let c = 0; c < 3; c++) {
      const g = dy[o + c], ga = g * alb[o + c];
      let irr = 0;
      for (let k = 0; k < 9; k++) {
        irr += Y[k] * coeffs[3 * k + c];
        gCoeffs[3 * k + c] += ga * Y[k];
      }
      gAlb[o + c] += g * irr;
      g1 += ga * coeffs[3 + c]; g2 += ga * coeffs[6 + c]; g3 += ga * coeffs[9 + c]; g4 += ga * coeffs[12 + c];
      g5 += ga * coeffs[15 + c]; g6 += ga * coeffs[18 + c]; g7 += ga * coeffs[21 + c]; g8 += ga * coeffs[24 + c];
    }
    const gx = 0.488603 * g3 + 1.092548 * (y * g4 + z * g7) + 2 * 0.546274 * x * g8;
    const gy = 0.488603 * g1 + 1.092548 * (x * g4 + z * g5) - 2 * 0.546274 * y * g8;
    const gz = 0.488603 * g2 + 1.092548 * (y * g5 + x * g7) + 6 * 0.315392 * z * g6;
    // n = N·r ⇒ ∂L/∂N = r·(g − n(n·g)).
    const t = x * gx + y * gy + z * gz;
    gNrm[o] += r * (gx - x * t); gNrm[o + 1] += r * (gy - y * t); gNrm[o + 2] += r * (gz - z * t);
  }
}
