/**
 * The fused render path used by `render()`: one forward kernel over the covered pixels only (a compact list from
 * the raster) doing interpolate(positions, normals, UVs | colours) → texture sample → sRGB decode → shade →
 * sRGB encode → composite → silhouette antialiasing, and one hand-written backward that scatters to the clip
 * positions, camera-space positions and normals, UVs / vertex colours, texture, light parameters and background.
 *
 * Every stage is the same typed-array kernel the small ops run (interpolate's clip-space barycentrics, texture
 * sampling, gamma tables, Phong / SH, antialias crossings), applied to compact [N,…] buffers instead of dense
 * [B,H,W,…] tensors, so the fused path equals the composed ops up to float rounding. Kernels are generic over
 * Float32Array / Float64Array (the gradient checks run them in float64). Heavy per-call buffers come from a pool
 * and go back to it after the backward pass (or at once when no gradient tape is recording).
 */
import type { Raster } from './rasterize.js';
import { scatterBarycentricGradient, BARY_GRAD_ARGS, type ClipData, type Num } from './interpolate.js';
import { textureKernel, textureBackwardKernel, autoMipLevel, type Level } from './texture.js';
import { powKernel, DECODE, ENCODE, phongKernel, phongBackwardKernel, shKernel, shBackwardKernel } from './shade.js';
import { findCrossings, applyCrossings, crossingsBackward, type Crossings } from './antialias.js';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

/** Where the albedo comes from: a texture sampled at interpolated UVs, or interpolated per-vertex colours. */
export type FusedAlbedo =
  | { kind: 'texture'; uvs: Num; uvTriangles: Uint32Array; pyramid: Level[]; mip: boolean; mipLevel?: number | Float32Array }
  | { kind: 'colors'; colors: Num };

/** Light: none (unlit albedo), one point light + ambient (Blinn-Phong), or SH coefficients [9,3]. */
export type FusedLight =
  | { kind: 'none' }
  | { kind: 'phong'; position: Num; color: Num; ambient: Num; specular: Num; shininess: number }
  | { kind: 'sh'; coeffs: Num };

/** Typed-array inputs of the fused kernels. Vertex arrays are [V,…] or, when `batched`, [B,V,…]. */
export interface FusedScene {
  /** Clip positions [B?,V,4] (the rasterised ones) and the rasterised triangles. */
  clip: ClipData;
  /** Camera-space positions [B?,V,3] and vertex normals [B?,V,3], indexed by clip.triangles. */
  cam: Num;
  normals: Num;
  albedo: FusedAlbedo;
  light: FusedLight;
  /** sRGB background [H,W,3] or [B,H,W,3] (`bgBatched`), or null for black. */
  background: Num | null;
  bgBatched: boolean;
  /** Antialias silhouettes (with the edge adjacency of clip.triangles). */
  adjacency: Int32Array | null;
}

/** The covered pixels of a raster and their clip-space barycentrics (per call; the aux outputs keep it). */
export interface Coverage {
  count: number;
  /** Pixel indices into [B·H·W]. */
  pixels: Int32Array;
  /** [N,3] perspective-correct barycentrics recomputed from the clip positions (raster's where degenerate). */
  bary: Num;
}

/** List the covered pixels and their barycentrics (same values as interpolate's pixelBarycentrics). */
export function coverage(raster: Raster, clip: ClipData, ctor: Ctor): Coverage {
  const count = countCovered(raster.triangleId);
  const pixels = new Int32Array(count), bary = new ctor(3 * count);
  const P = raster.height * raster.width;
  for (let b = 0, i = 0; b < raster.batch; b++) i = coverView(raster, clip, b, b * P, i, pixels, bary);
  return { count, pixels, bary };
}

function countCovered(ids: Int32Array): number {
  let count = 0;
  for (let q = 0; q < ids.length; q++) if (ids[q] >= 0) count++;
  return count;
}

/** Covered pixels of view b (pixels q0 … q0 + P − 1) from index i on; returns the next index. */
function coverView(raster: Raster, clip: ClipData, b: number, q0: number, i: number, pixels: Int32Array, bary: Num): number {
  const { height: H, width: W, triangleId: ids, bary: rb } = raster;
  const c = clip.data, tr = clip.triangles, P = H * W;
  const cb = clip.batched ? b * clip.vertexCount * 4 : 0;
  for (let y = 0; y < H; y++) {
    const sy = (2 * y + 1) / H - 1;
    for (let x = 0; x < W; x++) {
      const q = q0 + y * W + x, t = ids[q];
      if (t < 0) continue;
      pixels[i] = q;
      let b0 = rb[2 * q], b1 = rb[2 * q + 1], b2 = 1 - b0 - b1;
      const sx = (2 * x + 1) / W - 1;
      const o0 = cb + 4 * tr[3 * t], o1 = cb + 4 * tr[3 * t + 1], o2 = cb + 4 * tr[3 * t + 2];
      const p0x = c[o0] - sx * c[o0 + 3], p0y = c[o0 + 1] - sy * c[o0 + 3];
      const p1x = c[o1] - sx * c[o1 + 3], p1y = c[o1 + 1] - sy * c[o1 + 3];
      const p2x = c[o2] - sx * c[o2 + 3], p2y = c[o2 + 1] - sy * c[o2 + 3];
      const c0 = p1x * p2y - p1y * p2x, c1 = p2x * p0y - p2y * p0x, c2 = p0x * p1y - p0y * p1x;
      const d = c0 + c1 + c2;
      if (d !== 0 && Number.isFinite(d)) {
        b0 = c0 / d; b1 = c1 / d; b2 = c2 / d;
      }
      bary[3 * i] = b0; bary[3 * i + 1] = b1; bary[3 * i + 2] = b2;
      i++;
    }
  }
  void P;
  return i;
}

/** out[i,·] = Σₖ bₖ·attr[tris[t,k],·] over the covered pixels (out compact [N,C]). */
export function interpolateCompact(cov: Coverage, raster: Raster, attr: Num, batched: boolean, C: number, tris: Uint32Array, out: Num): void {
  const { pixels, bary, count } = cov, ids = raster.triangleId, P = raster.height * raster.width;
  const V = batched ? attr.length / (C * raster.batch) : 0;
  for (let i = 0; i < count; i++) {
    const q = pixels[i], t = ids[q];
    const ab = batched ? ((q / P) | 0) * V * C : 0;
    const w0 = bary[3 * i], w1 = bary[3 * i + 1], w2 = bary[3 * i + 2];
    const a0 = ab + tris[3 * t] * C, a1 = ab + tris[3 * t + 1] * C, a2 = ab + tris[3 * t + 2] * C, o = i * C;
    for (let k = 0; k < C; k++) out[o + k] = w0 * attr[a0 + k] + w1 * attr[a1 + k] + w2 * attr[a2 + k];
  }
}

/** {@link interpolateCompact} of two C = 3 attributes sharing triangles and layout (positions and normals). */
export function interpolatePair(cov: Coverage, raster: Raster, a: Num, b: Num, batched: boolean, tris: Uint32Array, outA: Num, outB: Num): void {
  const { pixels, bary, count } = cov, ids = raster.triangleId, P = raster.height * raster.width;
  const V = batched ? a.length / (3 * raster.batch) : 0;
  for (let i = 0; i < count; i++) {
    const q = pixels[i], t = ids[q];
    const ab = batched ? ((q / P) | 0) * V * 3 : 0;
    const w0 = bary[3 * i], w1 = bary[3 * i + 1], w2 = bary[3 * i + 2];
    const a0 = ab + tris[3 * t] * 3, a1 = ab + tris[3 * t + 1] * 3, a2 = ab + tris[3 * t + 2] * 3, o = i * 3;
    outA[o] = w0 * a[a0] + w1 * a[a1] + w2 * a[a2];
    outA[o + 1] = w0 * a[a0 + 1] + w1 * a[a1 + 1] + w2 * a[a2 + 1];
    outA[o + 2] = w0 * a[a0 + 2] + w1 * a[a1 + 2] + w2 * a[a2 + 2];
    outB[o] = w0 * b[a0] + w1 * b[a1] + w2 * b[a2];
    outB[o + 1] = w0 * b[a0 + 1] + w1 * b[a1 + 1] + w2 * b[a2 + 1];
    outB[o + 2] = w0 * b[a0 + 2] + w1 * b[a1 + 2] + w2 * b[a2 + 2];
  }
}

/** One attribute in {@link interpolateCompactBackward}: values, layout, compact upstream gradient, its gradient. */
export interface AttrGrad {
  attr: Num;
  batched: boolean;
  C: number;
  tris: Uint32Array;
  /** [N,C] compact. */
  dy: Num;
  /** Same layout as attr (accumulated). */
  grad: Num;
}

/**
 * Backward of {@link interpolateCompact} for several attributes at once: scatters into each `grad` and, through
 * the clip-space barycentrics (see interpolate.ts), into gClip (accumulated; may be null).
 */
export function interpolateCompactBackward(cov: Coverage, raster: Raster, attrs: AttrGrad[], clip: ClipData, gClip: Num | null): void {
  const { pixels, bary, count } = cov, ids = raster.triangleId, H = raster.height, W = raster.width, P = H * W;
  const c = clip.data, tr = clip.triangles, nA = attrs.length;
  for (let i = 0; i < count; i++) {
    const q = pixels[i], t = ids[q], b = (q / P) | 0;
    const w0 = bary[3 * i], w1 = bary[3 * i + 1], w2 = bary[3 * i + 2];
    let g0 = 0, g1 = 0, g2 = 0;
    for (let j = 0; j < nA; j++) {
      const { attr, batched, C, tris, dy, grad } = attrs[j];
      const ab = batched ? b * (attr.length / (C * raster.batch)) * C : 0;
      const a0 = ab + tris[3 * t] * C, a1 = ab + tris[3 * t + 1] * C, a2 = ab + tris[3 * t + 2] * C, o = i * C;
      for (let k = 0; k < C; k++) {
        const g = dy[o + k];
        if (g === 0) continue;
        grad[a0 + k] += w0 * g; grad[a1 + k] += w1 * g; grad[a2 + k] += w2 * g;
        g0 += g * attr[a0 + k]; g1 += g * attr[a1 + k]; g2 += g * attr[a2 + k];
      }
    }
    if (!gClip || (g0 === 0 && g1 === 0 && g2 === 0)) continue;
    const p = q - b * P, x = p % W, y = (p - x) / W;
    const sx = (2 * x + 1) / W - 1, sy = (2 * y + 1) / H - 1;
    const cb = clip.batched ? b * clip.vertexCount * 4 : 0;
    const o0 = cb + 4 * tr[3 * t], o1 = cb + 4 * tr[3 * t + 1], o2 = cb + 4 * tr[3 * t + 2];
    const A = BARY_GRAD_ARGS;
    A[0] = sx; A[1] = sy; A[2] = g0; A[3] = g1; A[4] = g2; A[5] = w0; A[6] = w1; A[7] = w2;
    scatterBarycentricGradient(c, gClip, o0, o1, o2);
  }
}

/**
 * {@link interpolateCompactBackward} specialised for the image path: camera positions and normals (C = 3, indexed
 * by the clip triangles, batched like the clip positions) plus one unbatched attribute (UVs, C = 2, or colours,
 * C = 3) with its own triangles. Same arithmetic, no per-attribute indirection.
 */
export function interpolateImageBackward(
  cov: Coverage, raster: Raster, clip: ClipData, cam: Num, gPosPix: Num, gCam: Num, nrm: Num, gNrmPix: Num, gNrm: Num,
  attr: Num, C: number, attrTris: Uint32Array, gAttrPix: Num, gAttr: Num, gClip: Num | null,
): void {
  const { pixels, bary, count } = cov, ids = raster.triangleId, H = raster.height, W = raster.width, P = H * W;
  const c = clip.data, tr = clip.triangles, V = clip.vertexCount;
  for (let i = 0; i < count; i++) {
    const q = pixels[i], t = ids[q], b = (q / P) | 0;
    const w0 = bary[3 * i], w1 = bary[3 * i + 1], w2 = bary[3 * i + 2];
    const vb = clip.batched ? b * V * 3 : 0;
    const a0 = vb + 3 * tr[3 * t], a1 = vb + 3 * tr[3 * t + 1], a2 = vb + 3 * tr[3 * t + 2], o = 3 * i;
    let g0 = 0, g1 = 0, g2 = 0;
    // Positions and normals share the vertex indices.
    for (let k = 0; k < 3; k++) {
      const gp = gPosPix[o + k], gn = gNrmPix[o + k];
      gCam[a0 + k] += w0 * gp; gCam[a1 + k] += w1 * gp; gCam[a2 + k] += w2 * gp;
      gNrm[a0 + k] += w0 * gn; gNrm[a1 + k] += w1 * gn; gNrm[a2 + k] += w2 * gn;
      g0 += gp * cam[a0 + k] + gn * nrm[a0 + k];
      g1 += gp * cam[a1 + k] + gn * nrm[a1 + k];
      g2 += gp * cam[a2 + k] + gn * nrm[a2 + k];
    }
    const u0 = C * attrTris[3 * t], u1 = C * attrTris[3 * t + 1], u2 = C * attrTris[3 * t + 2], oa = C * i;
    for (let k = 0; k < C; k++) {
      const g = gAttrPix[oa + k];
      gAttr[u0 + k] += w0 * g; gAttr[u1 + k] += w1 * g; gAttr[u2 + k] += w2 * g;
      g0 += g * attr[u0 + k]; g1 += g * attr[u1 + k]; g2 += g * attr[u2 + k];
    }
    if (!gClip || (g0 === 0 && g1 === 0 && g2 === 0)) continue;
    const p = q - b * P, x = p % W, y = (p - x) / W;
    const sx = (2 * x + 1) / W - 1, sy = (2 * y + 1) / H - 1;
    const cb = clip.batched ? b * V * 4 : 0;
    const o0 = cb + 4 * tr[3 * t], o1 = cb + 4 * tr[3 * t + 1], o2 = cb + 4 * tr[3 * t + 2];
    const A = BARY_GRAD_ARGS;
    A[0] = sx; A[1] = sy; A[2] = g0; A[3] = g1; A[4] = g2; A[5] = w0; A[6] = w1; A[7] = w2;
    scatterBarycentricGradient(c, gClip, o0, o1, o2);
  }
}

/** Per-call buffers of the fused kernels: compact [N,…] and dense [B·H·W·…], grown as needed, pooled. */
export class Workspace {
  readonly ctor: Ctor;
  n = 0;
  dense = 0;
  gPos!: Num; gNrm!: Num; gUv!: Num;
  pos!: Num; nrm!: Num; uv!: Num; alb!: Num; lin!: Num; slopeDec!: Num; shaded!: Num; enc!: Num; slopeEnc!: Num;
  levels: Float32Array | null = null;
  /** Dense: composited sRGB image before antialiasing [·3], coverage [·1], depth [·1], UVs [·2], normals [·3]. */
  image!: Num; mask!: Num; depth!: Num; uvDense!: Num; nrmDense!: Num;
  /** Antialiased outputs. */
  imageOut!: Num; alphaOut!: Num;

  constructor(ctor: Ctor) {
    this.ctor = ctor;
    this.ensure(1, 1);
  }

  ensure(n: number, dense: number): void {
    const C = this.ctor;
    if (n > this.n) {
      const m = Math.max(n, Math.ceil(this.n * 1.25));
      this.pos = new C(3 * m); this.nrm = new C(3 * m); this.uv = new C(2 * m); this.alb = new C(3 * m); this.lin = new C(3 * m);
      this.gPos = new C(3 * m); this.gNrm = new C(3 * m); this.gUv = new C(2 * m);
      this.slopeDec = new C(3 * m); this.shaded = new C(3 * m); this.enc = new C(3 * m); this.slopeEnc = new C(3 * m);
      this.n = m;
    }
    if (dense > this.dense) {
      this.image = new C(3 * dense); this.mask = new C(dense); this.depth = new C(dense); this.uvDense = new C(2 * dense);
      this.nrmDense = new C(3 * dense); this.imageOut = new C(3 * dense); this.alphaOut = new C(dense);
      this.dense = dense;
    }
  }
}

const pools = new Map<Ctor, Workspace[]>();

/** A workspace from the pool (or a new one). */
export function acquireWorkspace(ctor: Ctor): Workspace {
  const pool = pools.get(ctor);
  return pool?.pop() ?? new Workspace(ctor);
}

/** Give a workspace back to the pool (at most a few are kept). */
export function releaseWorkspace(ws: Workspace): void {
  let pool = pools.get(ws.ctor);
  if (!pool) pools.set(ws.ctor, (pool = []));
  if (pool.length < 4 && !pool.includes(ws)) pool.push(ws);
}

/** What the forward pass leaves for the backward pass. */
export interface FusedForward {
  cov: Coverage;
  ws: Workspace;
  crossings: Crossings | null;
}

const sub = (a: Num, n: number): Num => (a.length === n ? a : a.subarray(0, n));

/**
 * Forward kernel. Fills ws.imageOut (sRGB over the background, antialiased), ws.alphaOut, ws.depth (camera Z,
 * 0 where empty), ws.uvDense, ws.nrmDense (interpolated, not renormalised), all dense over [B,H,W].
 */
export function fusedForward(s: FusedScene, raster: Raster, ws: Workspace): FusedForward {
  const { batch: B, height: H, width: W } = raster;
  const P = H * W, D = B * P;
  const cov = coverage(raster, s.clip, ws.ctor);
  const N = cov.count, px = cov.pixels;
  ws.ensure(N, D);
  const batched = s.clip.batched, tris = s.clip.triangles;
  const pos = sub(ws.pos, 3 * N), nrm = sub(ws.nrm, 3 * N), alb = sub(ws.alb, 3 * N), lin = sub(ws.lin, 3 * N);
  const slopeDec = sub(ws.slopeDec, 3 * N), enc = sub(ws.enc, 3 * N), slopeEnc = sub(ws.slopeEnc, 3 * N);
  interpolatePair(cov, raster, s.cam, s.normals, batched, tris, pos, nrm);
  const depth = sub(ws.depth, D), uvDense = sub(ws.uvDense, 2 * D), nrmDense = sub(ws.nrmDense, 3 * D), mask = sub(ws.mask, D);
  depth.fill(0); uvDense.fill(0); nrmDense.fill(0); mask.fill(0);
  scatterGeometry(px, N, pos, nrm, depth, mask, nrmDense);
  const a = s.albedo;
  ws.levels = null;
  if (a.kind === 'texture') {
    const uv = sub(ws.uv, 2 * N);
    interpolateCompact(cov, raster, a.uvs, false, 2, a.uvTriangles, uv);
    scatter(px, N, 2, uv, uvDense);
    if (a.mip) {
      const levels = new Float32Array(N);
      if (typeof a.mipLevel === 'number') levels.fill(a.mipLevel);
      else {
        const dense = a.mipLevel ?? autoMipLevel(uvDense, B, H, W, a.pyramid[0].h, a.pyramid[0].w);
        for (let i = 0; i < N; i++) levels[i] = dense[px[i]];
      }
      ws.levels = levels;
    }
    textureKernel(a.pyramid, 3, uv, ws.levels, alb);
  } else {
    interpolateCompact(cov, raster, a.colors, false, 3, tris, alb);
  }
  powKernel(alb, DECODE, lin, slopeDec);
  const L = s.light;
  let shaded = lin;
  if (L.kind === 'phong') {
    shaded = sub(ws.shaded, 3 * N);
    phongKernel(lin, nrm, pos, L.position, L.color, L.ambient, L.specular[0], L.shininess, shaded);
  } else if (L.kind === 'sh') {
    shaded = sub(ws.shaded, 3 * N);
    shKernel(lin, nrm, L.coeffs, shaded);
  }
  powKernel(shaded, ENCODE, enc, slopeEnc);
  // Composite over the background: covered pixels take the shaded colour, the others the background.
  const image = sub(ws.image, 3 * D), bg = s.background;
  if (bg && (s.bgBatched || B === 1)) image.set(sub(bg, 3 * D));
  else if (bg) for (let b = 0; b < B; b++) image.set(sub(bg, 3 * P), 3 * b * P);
  else image.fill(0);
  scatter(px, N, 3, enc, image);
  const imageOut = sub(ws.imageOut, 3 * D), alphaOut = sub(ws.alphaOut, D);
  imageOut.set(image);
  alphaOut.set(mask);
  let crossings: Crossings | null = null;
  if (s.adjacency) {
    crossings = findCrossings(raster, s.clip, s.adjacency);
    applyCrossings(image, 3, crossings, imageOut);
    applyCrossings(mask, 1, crossings, alphaOut);
  }
  return { cov, ws, crossings };
}

// Small single-loop helpers: V8 optimises these far better than the same loops inlined in one large function.

/** dense[px[i]·C + k] = compact[i·C + k]. */
function scatter(px: Int32Array, N: number, C: number, compact: Num, dense: Num): void {
  for (let i = 0; i < N; i++) {
    const o = C * px[i], s = C * i;
    for (let k = 0; k < C; k++) dense[o + k] = compact[s + k];
  }
}

/** compact[i·C + k] = dense[px[i]·C + k]. */
function gather(px: Int32Array, N: number, C: number, dense: Num, compact: Num): void {
  for (let i = 0; i < N; i++) {
    const o = C * px[i], s = C * i;
    for (let k = 0; k < C; k++) compact[s + k] = dense[o + k];
  }
}

function scatterGeometry(px: Int32Array, N: number, pos: Num, nrm: Num, depth: Num, mask: Num, nrmDense: Num): void {
  for (let i = 0; i < N; i++) {
    const q = px[i];
    depth[q] = pos[3 * i + 2];
    mask[q] = 1;
    nrmDense[3 * q] = nrm[3 * i]; nrmDense[3 * q + 1] = nrm[3 * i + 1]; nrmDense[3 * q + 2] = nrm[3 * i + 2];
  }
}

/** out[i] = a[i]·b[i]. */
function multiply(a: Num, b: Num, out: Num, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
}

/** Background gradient: the uncovered pixels' image gradient (summed over views for a shared background). */
function backgroundGrad(gImage: Num, mask: Num, D: number, P: number, perView: boolean, gb: Num): void {
  for (let q = 0; q < D; q++) {
    if (mask[q] !== 0) continue;
    const o = 3 * (perView ? q : q % P);
    gb[o] += gImage[3 * q]; gb[o + 1] += gImage[3 * q + 1]; gb[o + 2] += gImage[3 * q + 2];
  }
}

/** Gradients of the fused image, same layouts as the scene's arrays; all accumulated (zero them first). */
export interface FusedGrads {
  clip: Num;
  cam: Num;
  normals: Num;
  /** UVs [U,2] (texture) or colours [V,3]. */
  attr: Num;
  /** Level-0 texture [Ht,Wt,3] (texture only). */
  texture: Num | null;
  /** Phong: position, color, ambient [3] and specular [1]; SH: coeffs [9,3] in `coeffs`. */
  position: Num | null; color: Num | null; ambient: Num | null; specular: Num | null; coeffs: Num | null;
  background: Num | null;
}

/** Backward of {@link fusedForward} for the image output: dy [B,H,W,3] → grads (accumulated). */
export function fusedBackward(s: FusedScene, raster: Raster, fw: FusedForward, dy: Num, g: FusedGrads): void {
  const { batch: B, height: H, width: W } = raster;
  const P = H * W, D = B * P;
  const { cov, ws, crossings } = fw;
  const N = cov.count, px = cov.pixels, C = ws.ctor;
  // Antialiasing: gradient of the composited image (reuse the dense imageOut buffer) and silhouette clip terms.
  const gImage = sub(ws.imageOut, 3 * D);
  gImage.set(sub(dy, 3 * D));
  if (crossings) crossingsBackward(sub(ws.image, 3 * D), 3, raster, s.clip, crossings, dy, gImage, g.clip);
  if (g.background) backgroundGrad(gImage, ws.mask, D, P, s.bgBatched || B === 1, g.background);
  // Covered pixels: through the encode, the shading, the decode, the texture and the interpolation.
  const gEnc = sub(ws.enc, 3 * N); // the forward's encoded values are no longer needed
  gather(px, N, 3, gImage, gEnc);
  multiply(gEnc, ws.slopeEnc, gEnc, 3 * N);
  const lin = sub(ws.lin, 3 * N), nrm = sub(ws.nrm, 3 * N), pos = sub(ws.pos, 3 * N);
  const L = s.light;
  let gLin = gEnc;
  const gNrmPix = ws.gNrm.subarray(0, 3 * N), gPosPix = ws.gPos.subarray(0, 3 * N);
  gNrmPix.fill(0); gPosPix.fill(0);
  if (L.kind === 'phong') {
    gLin = sub(ws.shaded, 3 * N);
    gLin.fill(0);
    phongBackwardKernel(lin, nrm, pos, L.position, L.color, L.ambient, L.specular[0], L.shininess, gEnc, gLin, gNrmPix, gPosPix, g.position!, g.color!, g.ambient!, g.specular!);
  } else if (L.kind === 'sh') {
    gLin = sub(ws.shaded, 3 * N);
    gLin.fill(0);
    shBackwardKernel(lin, nrm, L.coeffs, gEnc, gLin, gNrmPix, g.coeffs!);
  }
  const gAlb = sub(ws.lin, 3 * N);
  multiply(gLin, ws.slopeDec, gAlb, 3 * N);
  const a = s.albedo;
  if (a.kind === 'texture') {
    const gUv = ws.gUv.subarray(0, 2 * N);
    gUv.fill(0);
    textureBackwardKernel(a.pyramid, 3, sub(ws.uv, 2 * N), ws.levels, gAlb, g.texture!, gUv);
    interpolateImageBackward(cov, raster, s.clip, s.cam, gPosPix, g.cam, s.normals, gNrmPix, g.normals, a.uvs, 2, a.uvTriangles, gUv, g.attr, g.clip);
  } else {
    interpolateImageBackward(cov, raster, s.clip, s.cam, gPosPix, g.cam, s.normals, gNrmPix, g.normals, a.colors, 3, s.clip.triangles, gAlb, g.attr, g.clip);
  }
}
