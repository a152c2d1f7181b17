/**
 * Texture sampling, differentiable w.r.t. the texture and the UVs.
 *
 * UVs follow docs/conventions.md ("UV maps"): origin at the bottom-left, v up; texel (column c, row r) of a
 * W×H map has its centre at u = (c + 0.5)/W, v = 1 − (r + 0.5)/H, row 0 = the top row of the tensor / PNG.
 * Addressing clamps to the edge. Filters:
 * - 'linear': bilinear between the four nearest texel centres.
 * - 'mip': trilinear over a 2×2 box-filtered pyramid (an area filter for strongly downscaled renders). The level
 *   is `mipLevel` (a number, or per pixel [B,H,W]) or, when omitted, log2 of the pixel footprint in texels,
 *   estimated from the UV differences to the neighbouring pixels (the smaller of the two one-sided differences
 *   per axis, so seams and silhouettes do not inflate it). No gradient flows through the level itself.
 * Power-of-two textures are recommended for 'mip' (an odd row or column is dropped when halving).
 */
import { tf } from '../engine/index.js';
import { customOp } from './custom.js';
import type { Num } from './interpolate.js';

export interface TextureOptions {
  filter?: 'linear' | 'mip';
  /** Mip level (0 = full resolution), one number or one per output pixel; 'mip' only. */
  mipLevel?: number | Float32Array;
}

export interface Level {
  data: Num;
  h: number;
  w: number;
}

/** The 2×2 box pyramid of a texture [h,w,C], level 0 being the texture itself (no copy). */
export function buildPyramid(tex: Num, h: number, w: number, C: number, ctor: Float32ArrayConstructor | Float64ArrayConstructor): Level[] {
  const levels: Level[] = [{ data: tex, h, w }];
  while (h > 1 || w > 1) {
    const nh = Math.max(1, h >> 1), nw = Math.max(1, w >> 1);
    const src = levels[levels.length - 1].data;
    const dst = new ctor(nh * nw * C);
    for (let r = 0; r < nh; r++) {
      const ra = 2 * r, rb = Math.min(2 * r + 1, h - 1);
      for (let c = 0; c < nw; c++) {
        const ca = 2 * c, cb = Math.min(2 * c + 1, w - 1);
        for (let k = 0; k < C; k++) {
          dst[(r * nw + c) * C + k] = 0.25 * (src[(ra * w + ca) * C + k] + src[(ra * w + cb) * C + k] + src[(rb * w + ca) * C + k] + src[(rb * w + cb) * C + k]);
        }
      }
    }
    levels.push({ data: dst, h: nh, w: nw });
    h = nh; w = nw;
  }
  return levels;
}

/** Transpose of {@link buildPyramid}: folds level gradients back into level 0 (in place). */
function foldPyramidGrad(grads: Num[], levels: Level[], C: number): void {
  for (let l = levels.length - 1; l > 0; l--) {
    const { h: nh, w: nw } = levels[l], { h, w } = levels[l - 1];
    const src = grads[l], dst = grads[l - 1];
    for (let r = 0; r < nh; r++) {
      const ra = 2 * r, rb = Math.min(2 * r + 1, h - 1);
      for (let c = 0; c < nw; c++) {
        const ca = 2 * c, cb = Math.min(2 * c + 1, w - 1);
        for (let k = 0; k < C; k++) {
          const g = 0.25 * src[(r * nw + c) * C + k];
          dst[(ra * w + ca) * C + k] += g; dst[(ra * w + cb) * C + k] += g;
          dst[(rb * w + ca) * C + k] += g; dst[(rb * w + cb) * C + k] += g;
        }
      }
    }
  }
}

/** Per-pixel mip level from UV differences between neighbouring pixels (see the module comment). */
export function autoMipLevel(uv: Num, B: number, H: number, W: number, th: number, tw: number): Float32Array {
  const out = new Float32Array(B * H * W);
  const P = H * W;
  const diff = (a: number, b: number) => Math.max(Math.abs(uv[2 * a] - uv[2 * b]) * tw, Math.abs(uv[2 * a + 1] - uv[2 * b + 1]) * th);
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const q = b * P + y * W + x;
        const dx = Math.min(x > 0 ? diff(q, q - 1) : Infinity, x < W - 1 ? diff(q, q + 1) : Infinity);
        const dy = Math.min(y > 0 ? diff(q, q - W) : Infinity, y < H - 1 ? diff(q, q + W) : Infinity);
        const fp = Math.max(Number.isFinite(dx) ? dx : 0, Number.isFinite(dy) ? dy : 0);
        out[q] = fp > 1 ? Math.log2(fp) : 0;
      }
    }
  }
  return out;
}

/**
 * Bilinear samples accumulated into out: for i < N, out[i·C + k] += weight·bilinear(level, uv[i])_k with level =
 * pyramid[lv[i]] and weight = wt[i] (lv null: level 0; wt null: 1). One loop with the sample written out: a call
 * per pixel costs about as much as the sample itself in V8.
 */
function sampleLevels(pyramid: Level[], C: number, uv: Num, lv: Int32Array | null, wt: Float64Array | null, out: Num, N: number): void {
  let L = pyramid[0];
  for (let i = 0; i < N; i++) {
    if (lv) L = pyramid[lv[i]];
    const data = L.data, h = L.h, w = L.w, weight = wt ? wt[i] : 1;
    const cx = uv[2 * i] * w - 0.5, cy = (1 - uv[2 * i + 1]) * h - 0.5;
    const x0f = Math.floor(cx), y0f = Math.floor(cy);
    const fx = cx - x0f, fy = cy - y0f;
    // Clamped as floats, then int32 (integer keys keep typed-array access on the fast path).
    const x0 = (x0f < 0 ? 0 : x0f > w - 1 ? w - 1 : x0f) | 0, x1 = (x0f + 1 < 0 ? 0 : x0f + 1 > w - 1 ? w - 1 : x0f + 1) | 0;
    const y0 = (y0f < 0 ? 0 : y0f > h - 1 ? h - 1 : y0f) | 0, y1 = (y0f + 1 < 0 ? 0 : y0f + 1 > h - 1 ? h - 1 : y0f + 1) | 0;
    const i00 = (y0 * w + x0) * C, i01 = (y0 * w + x1) * C, i10 = (y1 * w + x0) * C, i11 = (y1 * w + x1) * C;
    const w00 = (1 - fx) * (1 - fy) * weight, w01 = fx * (1 - fy) * weight, w10 = (1 - fx) * fy * weight, w11 = fx * fy * weight;
    const o = i * C;
    for (let k = 0; k < C; k++) out[o + k] += w00 * data[i00 + k] + w01 * data[i01 + k] + w10 * data[i10 + k] + w11 * data[i11 + k];
  }
}

/** Backward of {@link sampleLevels}: adds into grads[level] (level layouts) and ∂/∂(u,v) into gUv [N,2]. */
function sampleLevelsBackward(pyramid: Level[], grads: Num[], C: number, uv: Num, lv: Int32Array | null, wt: Float64Array | null, dy: Num, gUv: Num, N: number): void {
  let L = pyramid[0], gTex = grads[0];
  for (let i = 0; i < N; i++) {
    if (lv) { L = pyramid[lv[i]]; gTex = grads[lv[i]]; }
    const data = L.data, h = L.h, w = L.w, weight = wt ? wt[i] : 1;
    const cx = uv[2 * i] * w - 0.5, cy = (1 - uv[2 * i + 1]) * h - 0.5;
    const x0f = Math.floor(cx), y0f = Math.floor(cy);
    const fx = cx - x0f, fy = cy - y0f;
    const x0 = (x0f < 0 ? 0 : x0f > w - 1 ? w - 1 : x0f) | 0, x1 = (x0f + 1 < 0 ? 0 : x0f + 1 > w - 1 ? w - 1 : x0f + 1) | 0;
    const y0 = (y0f < 0 ? 0 : y0f > h - 1 ? h - 1 : y0f) | 0, y1 = (y0f + 1 < 0 ? 0 : y0f + 1 > h - 1 ? h - 1 : y0f + 1) | 0;
    const i00 = (y0 * w + x0) * C, i01 = (y0 * w + x1) * C, i10 = (y1 * w + x0) * C, i11 = (y1 * w + x1) * C;
    const w00 = (1 - fx) * (1 - fy) * weight, w01 = fx * (1 - fy) * weight, w10 = (1 - fx) * fy * weight, w11 = fx * fy * weight;
    const o = i * C;
    let gfx = 0, gfy = 0;
    for (let k = 0; k < C; k++) {
      const g = dy[o + k];
      if (g === 0) continue;
      gTex[i00 + k] += w00 * g; gTex[i01 + k] += w01 * g; gTex[i10 + k] += w10 * g; gTex[i11 + k] += w11 * g;
      const t00 = data[i00 + k], t01 = data[i01 + k], t10 = data[i10 + k], t11 = data[i11 + k];
      gfx += g * weight * ((1 - fy) * (t01 - t00) + fy * (t11 - t10));
      gfy += g * weight * ((1 - fx) * (t10 - t00) + fx * (t11 - t01));
    }
    gUv[2 * i] += gfx * w;
    gUv[2 * i + 1] -= gfy * h;
  }
}

/** Per sample i: the two pyramid levels around levels[i] (clamped) and their weights 1 − f, f. */
function levelPairs(levels: Float32Array, n: number, N: number): { lv0: Int32Array; lv1: Int32Array; wt0: Float64Array; wt1: Float64Array } {
  const lv0 = new Int32Array(N), lv1 = new Int32Array(N), wt0 = new Float64Array(N), wt1 = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const level = levels[i];
    const l = level < 0 ? 0 : level > n - 1 ? n - 1 : level;
    const l0 = Math.floor(l), f = l - l0;
    lv0[i] = l0; lv1[i] = Math.min(l0 + 1, n - 1); wt0[i] = 1 - f; wt1[i] = f;
  }
  return { lv0, lv1, wt0, wt1 };
}

/**
 * Forward kernel. tex [h,w,C]; uv [N,2]; out [N,C] (overwritten). `levels` null = bilinear on level 0, else one
 * level per sample (trilinear over `pyramid`).
 */
export function textureKernel(pyramid: Level[], C: number, uv: Num, levels: Float32Array | null, out: Num): void {
  out.fill(0);
  const N = uv.length / 2;
  if (!levels) return sampleLevels(pyramid, C, uv, null, null, out, N);
  const { lv0, lv1, wt0, wt1 } = levelPairs(levels, pyramid.length, N);
  sampleLevels(pyramid, C, uv, lv0, wt0, out, N);
  sampleLevels(pyramid, C, uv, lv1, wt1, out, N);
}

/** Backward kernel: gTex [h,w,C] and gUv [N,2] are accumulated into (zero them first). */
export function textureBackwardKernel(pyramid: Level[], C: number, uv: Num, levels: Float32Array | null, dy: Num, gTex: Num, gUv: Num): void {
  const N = uv.length / 2;
  if (!levels) return sampleLevelsBackward(pyramid, [gTex], C, uv, null, null, dy, gUv, N);
  const ctor = gTex instanceof Float64Array ? Float64Array : Float32Array;
  const grads: Num[] = pyramid.map((L, l) => (l === 0 ? gTex : new ctor(L.data.length)));
  const { lv0, lv1, wt0, wt1 } = levelPairs(levels, pyramid.length, N);
  sampleLevelsBackward(pyramid, grads, C, uv, lv0, wt0, dy, gUv, N);
  sampleLevelsBackward(pyramid, grads, C, uv, lv1, wt1, dy, gUv, N);
  foldPyramidGrad(grads, pyramid, C);
}

/**
 * Sample a texture at per-pixel UVs.
 * @param texture [Ht,Wt,C], row 0 = top of the map (v = 1).
 * @param uv [H,W,2] or [B,H,W,2], (u, v) with the OBJ convention.
 * @returns [H,W,C] or [B,H,W,C].
 */
export function sampleTexture(texture: tf.Tensor3D, uv: tf.Tensor, options: TextureOptions = {}): tf.Tensor {
  const [th, tw, C] = texture.shape;
  const N = uv.size / 2;
  const outShape = [...uv.shape.slice(0, -1), C];
  const mip = options.filter === 'mip';
  const f = (t: tf.Tensor, u: tf.Tensor) => {
    const tex = t.dataSync() as Float32Array;
    const uvd = u.dataSync() as Float32Array;
    const pyramid = mip ? buildPyramid(tex, th, tw, C, Float32Array) : [{ data: tex, h: th, w: tw }];
    let levels: Float32Array | null = null;
    if (mip) {
      if (typeof options.mipLevel === 'number') levels = new Float32Array(N).fill(options.mipLevel);
      else if (options.mipLevel) levels = options.mipLevel;
      else {
        const [H, W] = uv.shape.slice(-3, -1);
        levels = autoMipLevel(uvd, N / (H * W), H, W, th, tw);
      }
    }
    const out = new Float32Array(N * C);
    textureKernel(pyramid, C, uvd, levels, out);
    return {
      value: tf.tensor(out, outShape),
      gradFunc: (dy: tf.Tensor) => {
        const gT = new Float32Array(tex.length), gU = new Float32Array(uvd.length);
        textureBackwardKernel(pyramid, C, uvd, levels, dy.dataSync() as Float32Array, gT, gU);
        return [tf.tensor(gT, t.shape), tf.tensor(gU, u.shape)];
      },
    };
  };
  return customOp(f)(texture, uv);
}
