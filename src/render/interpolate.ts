/**
 * Attribute interpolation over a raster, differentiable w.r.t. the attributes and the clip positions.
 *
 * For pixel centre s = (sx, sy) in NDC and a triangle with clip vertices (xᵢ, yᵢ, zᵢ, wᵢ), the
 * perspective-correct barycentrics solve Σ bᵢ·pᵢ = 0, Σ bᵢ = 1 with pᵢ = (xᵢ − sx·wᵢ, yᵢ − sy·wᵢ), i.e.
 *   bᵢ = cᵢ / D,  c₀ = p₁×p₂, c₁ = p₂×p₀, c₂ = p₀×p₁,  D = c₀ + c₁ + c₂   (2-D cross products).
 * When clip positions are given, interpolate recomputes b this way (so the value and its derivative w.r.t. every
 * clip coordinate are exact for the fixed triangle id); otherwise it uses the raster's barycentrics.
 * Kernels are plain loops over typed arrays, generic over Float32Array / Float64Array (tests run them in float64).
 */
import { tf } from '../engine/index.js';
import { customOp } from './custom.js';
import type { Raster } from './rasterize.js';

/** A float array the kernels read and write (float32 in the ops, float64 in the gradient checks). */
export type Num = Float32Array | Float64Array;

/**
 * The per-pixel numbers {@link scatterBarycentricGradient} reads: [sx, sy, g0, g1, g2, w0, w1, w2]. They go through
 * this array rather than as arguments because V8 does not inline the function into the large kernels that call it,
 * and every double passed to a call that is not inlined is boxed (a heap allocation per pixel and argument).
 */
export const BARY_GRAD_ARGS = new Float64Array(8);

/**
 * Scatter a pixel's gradient with respect to its perspective-correct barycentrics (g0, g1, g2 for b = w0, w1, w2)
 * into the clip-position gradient of its triangle's corners (offsets o0, o1, o2 into `c` and `gClip`), for the
 * pixel centre at NDC (sx, sy); the numbers come in {@link BARY_GRAD_ARGS}. With pᵢ = (xᵢ − sx·wᵢ, yᵢ − sy·wᵢ),
 * c₀ = p₁×p₂, c₁ = p₂×p₀, c₂ = p₀×p₁ and b = c / D (D = Σc): ∂L/∂cᵢ = (gᵢ − Σₖ gₖ bₖ) / D. Degenerate triangles
 * (D = 0) pass nothing.
 */
export function scatterBarycentricGradient(c: ArrayLike<number>, gClip: Num, o0: number, o1: number, o2: number): void {
  const a = BARY_GRAD_ARGS;
  const sx = a[0], sy = a[1], g0 = a[2], g1 = a[3], g2 = a[4], w0 = a[5], w1 = a[6], w2 = a[7];
  const p0x = c[o0] - sx * c[o0 + 3], p0y = c[o0 + 1] - sy * c[o0 + 3];
  const p1x = c[o1] - sx * c[o1 + 3], p1y = c[o1 + 1] - sy * c[o1 + 3];
  const p2x = c[o2] - sx * c[o2 + 3], p2y = c[o2 + 1] - sy * c[o2 + 3];
  const d = p1x * p2y - p1y * p2x + (p2x * p0y - p2y * p0x) + (p0x * p1y - p0y * p1x);
  if (d === 0 || !Number.isFinite(d)) return;
  const gm = g0 * w0 + g1 * w1 + g2 * w2;
  const k0 = (g0 - gm) / d, k1 = (g1 - gm) / d, k2 = (g2 - gm) / d;
  const q0x = k1 * -p2y + k2 * p1y, q0y = k1 * p2x - k2 * p1x;
  const q1x = k0 * p2y - k2 * p0y, q1y = -k0 * p2x + k2 * p0x;
  const q2x = -k0 * p1y + k1 * p0y, q2y = k0 * p1x - k1 * p0x;
  gClip[o0] += q0x; gClip[o0 + 1] += q0y; gClip[o0 + 3] -= sx * q0x + sy * q0y;
  gClip[o1] += q1x; gClip[o1 + 1] += q1y; gClip[o1 + 3] -= sx * q1x + sy * q1y;
  gClip[o2] += q2x; gClip[o2 + 1] += q2y; gClip[o2 + 3] -= sx * q2x + sy * q2y;
}

/** Where a clip-position tensor's data sits: [V,4] shared by all views, or [B,V,4]. */
export interface ClipData {
  data: Num;
  batched: boolean;
  vertexCount: number;
  triangles: Uint32Array;
}

/**
 * Full barycentrics [B,H,W,3] for every covered pixel: from clip positions when given, else from the raster.
 * Pixels whose clip-space solve is degenerate keep the raster's values.
 */
export function pixelBarycentrics(raster: Raster, clip: ClipData | null, out: Num): void {
  const { batch: B, height: H, width: W, triangleId: ids, bary } = raster;
  const P = H * W;
  for (let b = 0; b < B; b++) {
    const cb = clip && clip.batched ? b * clip.vertexCount * 4 : 0;
    for (let p = 0; p < P; p++) {
      const q = b * P + p, t = ids[q];
      if (t < 0) {
        out[3 * q] = out[3 * q + 1] = out[3 * q + 2] = 0;
        continue;
      }
      let b0 = bary[2 * q], b1 = bary[2 * q + 1], b2 = 1 - b0 - b1;
      if (clip) {
        const x = p % W, y = (p - x) / W;
        const sx = (2 * x + 1) / W - 1, sy = (2 * y + 1) / H - 1;
        const c = clip.data, tr = clip.triangles;
        const o0 = cb + 4 * tr[3 * t], o1 = cb + 4 * tr[3 * t + 1], o2 = cb + 4 * tr[3 * t + 2];
        const p0x = c[o0] - sx * c[o0 + 3], p0y = c[o0 + 1] - sy * c[o0 + 3];
        const p1x = c[o1] - sx * c[o1 + 3], p1y = c[o1 + 1] - sy * c[o1 + 3];
        const p2x = c[o2] - sx * c[o2 + 3], p2y = c[o2 + 1] - sy * c[o2 + 3];
        const c0 = p1x * p2y - p1y * p2x, c1 = p2x * p0y - p2y * p0x, c2 = p0x * p1y - p0y * p1x;
        const d = c0 + c1 + c2;
        if (d !== 0 && Number.isFinite(d)) {
          b0 = c0 / d; b1 = c1 / d; b2 = c2 / d;
        }
      }
      out[3 * q] = b0; out[3 * q + 1] = b1; out[3 * q + 2] = b2;
    }
  }
}

/**
 * out[B,H,W,C] = Σᵢ bᵢ·attr[tri[t,i]] (0 where empty). attr is [V,C] (shared) or [B,V,C] when `attrBatched`.
 */
export function interpolateKernel(attr: Num, attrBatched: boolean, C: number, raster: Raster, tris: Uint32Array, bary3: Num, out: Num): void {
  const { batch: B, height: H, width: W, triangleId: ids } = raster;
  const P = H * W, V = attr.length / (C * (attrBatched ? B : 1));
  out.fill(0);
  for (let b = 0; b < B; b++) {
    const ab = attrBatched ? b * V * C : 0;
    for (let p = 0; p < P; p++) {
      const q = b * P + p, t = ids[q];
      if (t < 0) continue;
      const w0 = bary3[3 * q], w1 = bary3[3 * q + 1], w2 = bary3[3 * q + 2];
      const a0 = ab + tris[3 * t] * C, a1 = ab + tris[3 * t + 1] * C, a2 = ab + tris[3 * t + 2] * C;
      const o = q * C;
      for (let k = 0; k < C; k++) out[o + k] = w0 * attr[a0 + k] + w1 * attr[a1 + k] + w2 * attr[a2 + k];
    }
  }
}

/**
 * Backward of {@link interpolateKernel} (and of the clip-space barycentrics when `clip` is given): accumulates
 * into gAttr (same layout as attr) and gClip (same layout as clip.data). Both must be zeroed by the caller.
 */
export function interpolateBackwardKernel(
  dy: Num, attr: Num, attrBatched: boolean, C: number, raster: Raster, tris: Uint32Array, bary3: Num,
  clip: ClipData | null, gAttr: Num, gClip: Num | null,
): void {
  const { batch: B, height: H, width: W, triangleId: ids } = raster;
  const P = H * W, V = attr.length / (C * (attrBatched ? B : 1));
  for (let b = 0; b < B; b++) {
    const ab = attrBatched ? b * V * C : 0;
    const cb = clip && clip.batched ? b * clip.vertexCount * 4 : 0;
    for (let p = 0; p < P; p++) {
      const q = b * P + p, t = ids[q];
      if (t < 0) continue;
      const w0 = bary3[3 * q], w1 = bary3[3 * q + 1], w2 = bary3[3 * q + 2];
      const a0 = ab + tris[3 * t] * C, a1 = ab + tris[3 * t + 1] * C, a2 = ab + tris[3 * t + 2] * C;
      const o = q * C;
      let g0 = 0, g1 = 0, g2 = 0;
      for (let k = 0; k < C; k++) {
        const g = dy[o + k];
        if (g === 0) continue;
        gAttr[a0 + k] += w0 * g; gAttr[a1 + k] += w1 * g; gAttr[a2 + k] += w2 * g;
        g0 += g * attr[a0 + k]; g1 += g * attr[a1 + k]; g2 += g * attr[a2 + k];
      }
      if (!clip || !gClip) continue;
      const x = p % W, y = (p - x) / W;
      const sx = (2 * x + 1) / W - 1, sy = (2 * y + 1) / H - 1;
      const c = clip.data, tr = clip.triangles;
      const o0 = cb + 4 * tr[3 * t], o1 = cb + 4 * tr[3 * t + 1], o2 = cb + 4 * tr[3 * t + 2];
      const A = BARY_GRAD_ARGS;
      A[0] = sx; A[1] = sy; A[2] = g0; A[3] = g1; A[4] = g2; A[5] = w0; A[6] = w1; A[7] = w2;
      scatterBarycentricGradient(c, gClip, o0, o1, o2);
    }
  }
}

function outputShape(raster: Raster, c: number): number[] {
  return raster.batched ? [raster.batch, raster.height, raster.width, c] : [raster.height, raster.width, c];
}

/**
 * Interpolate per-vertex attributes over the raster.
 * @param attributes [V,C] (shared by all views) or [B,V,C].
 * @param raster from `rasterize`.
 * @param triangles [T,3] indices into `attributes` (e.g. mesh.uvTriangles for UVs), corner for corner with
 *   the triangles that were rasterised.
 * @param clipPositions optional [V',4] or [B,V',4], the positions that were rasterised: when given, the output is
 *   differentiable w.r.t. them too (perspective-correct barycentrics recomputed in clip space).
 * @param clipTriangles [T,3] indices into `clipPositions` (default: `triangles`).
 * @returns [H,W,C] or, for a batched raster, [B,H,W,C]; 0 where no triangle covers the pixel.
 */
export function interpolate(
  attributes: tf.Tensor,
  raster: Raster,
  triangles: Uint32Array,
  clipPositions?: tf.Tensor,
  clipTriangles?: Uint32Array,
): tf.Tensor {
  const C = attributes.shape[attributes.rank - 1];
  const attrBatched = attributes.rank === 3;
  if (attrBatched && attributes.shape[0] !== raster.batch) throw new Error('interpolate: attribute batch does not match the raster');
  const n = raster.batch * raster.height * raster.width;
  const shape = outputShape(raster, C);
  const clipOf = (c: tf.Tensor): ClipData => ({
    data: c.dataSync() as Float32Array,
    batched: c.rank === 3,
    vertexCount: c.shape[c.rank - 2],
    triangles: clipTriangles ?? triangles,
  });
  const run = (a: tf.Tensor, c: tf.Tensor | null) => {
    const clip = c ? clipOf(c) : null;
    const bary3 = new Float32Array(3 * n);
    pixelBarycentrics(raster, clip, bary3);
    const attr = a.dataSync() as Float32Array;
    const out = new Float32Array(n * C);
    interpolateKernel(attr, attrBatched, C, raster, triangles, bary3, out);
    const backward = (dy: tf.Tensor): tf.Tensor[] => {
      const gA = new Float32Array(attr.length);
      const gC = clip ? new Float32Array(clip.data.length) : null;
      interpolateBackwardKernel(dy.dataSync() as Float32Array, attr, attrBatched, C, raster, triangles, bary3, clip, gA, gC);
      const grads = [tf.tensor(gA, a.shape)];
      if (c && gC) grads.push(tf.tensor(gC, c.shape));
      return grads;
    };
    return { value: tf.tensor(out, shape), gradFunc: backward };
  };
  if (!clipPositions) return customOp((a) => run(a, null))(attributes);
  return customOp((a, c) => run(a, c))(attributes, clipPositions);
}
