/**
 * The fused render path used by `render()`: one forward pass over the covered pixels only (a compact list from
 * the raster) doing interpolate(positions, normals, UVs | colours) → texture sample → sRGB decode → shade →
 * sRGB encode → composite → silhouette antialiasing, and one hand-written backward that scatters to the clip
 * positions, camera-space positions and normals, UVs / vertex colours, texture, light parameters and background.
 *
 * The per-pixel stages run as WebAssembly (wasm/assembly/pixel.ts: the same arithmetic as the small ops' kernels
 * in texture.ts, shade.ts and interpolate.ts, in f64, over f32 or f64 arrays) on buffers in the module's memory
 * (a pooled `Workspace`); the light gather / scatter steps, SH shading and the antialias crossings stay in
 * TypeScript on views of the same buffers. So the fused path equals the composed ops up to float rounding, and
 * with a Float64Array workspace the gradient checks run the very kernels render() runs, in double precision.
 */
import type { Raster } from './rasterize.js';
import { scatterBarycentricGradient, BARY_GRAD_ARGS, type ClipData, type Num } from './interpolate.js';
import { autoMipLevel, type Level } from './texture.js';
import { DECODE, ENCODE, shKernel, shBackwardKernel, type PowTable } from './shade.js';
import { findCrossings, applyCrossings, crossingsBackward, type Crossings } from './antialias.js';
import { pixelModule, type PixelKernelSet, type PixelModule } from './wasm/pixel.js';

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
  /**
   * The albedo arrays (UVs, colours, texture levels) are never modified once passed (render() reads them through
   * a per-tensor cache): the workspace then copies each into the kernels' memory once. Triangle arrays are always
   * taken as immutable (like edgeAdjacency's cache).
   */
  stable?: boolean;
}

/** The covered pixels of a raster and their clip-space barycentrics (views of the workspace; see Workspace). */
export interface Coverage {
  count: number;
  /** Pixel indices into [B·H·W]. */
  pixels: Int32Array;
  /** [N,3] perspective-correct barycentrics recomputed from the clip positions (raster's where degenerate). */
  bary: Num;
}

function countCovered(ids: Int32Array): number {
  let count = 0;
  for (let q = 0; q < ids.length; q++) if (ids[q] >= 0) count++;
  return count;
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

type SlotKind = 'T' | 'i32' | 'f32' | 'f64';
interface Slot { at: number; bytes: number; n: number; kind: SlotKind; source: object | null }

/**
 * Per-call buffers of the fused kernels, named slots in the WebAssembly kernels' memory (wasm/pixel.ts): inputs
 * copied in, compact [N,…] buffers over the covered pixels and dense [B·H·W·…] outputs. Element type T is the
 * workspace's (Float32Array for render(), Float64Array for the gradient checks: the same kernels in double).
 * A slot keeps its contents until it is re-allocated larger. Views (`f`, `i`, the output getters) are made on
 * each call: growing the memory detaches older views, so allocate first, then take views.
 */
export class Workspace {
  readonly ctor: Ctor;
  readonly kernels: PixelKernelSet;
  private readonly mod: PixelModule = pixelModule();
  private readonly slots = new Map<string, Slot>();

  constructor(ctor: Ctor) {
    this.ctor = ctor;
    this.kernels = ctor === Float64Array ? this.mod.f64 : this.mod.f32;
    // A workspace whose render was never differentiated is not given back to the pool: free its memory when it
    // is collected.
    freeOnCollect.register(this, { mod: this.mod, slots: this.slots }, this);
  }

  /** Make slot `name` hold n elements of `kind` (T: the workspace's type); contents are kept when it fits. */
  alloc(name: string, n: number, kind: SlotKind = 'T'): number {
    const per = kind === 'T' ? this.ctor.BYTES_PER_ELEMENT : kind === 'f64' ? 8 : 4;
    const bytes = Math.max(1, n) * per;
    const s = this.slots.get(name);
    if (s && s.kind === kind && s.bytes >= bytes) {
      s.n = n;
      return s.at;
    }
    if (s) this.mod.release(s.at, s.bytes);
    // Headroom, so that slowly growing sizes (covered pixels) do not re-allocate every call.
    const size = s ? Math.max(bytes, Math.ceil(s.bytes * 1.25)) : bytes;
    const slot: Slot = { at: this.mod.alloc(size), bytes: size, n, kind, source: null };
    this.slots.set(name, slot);
    return slot.at;
  }

  /**
   * Copy `src` into slot `name`; with `stable` (the caller never modifies `src` afterwards) a slot that already
   * holds this very array is not copied again (textures, UVs, triangles across steps).
   */
  upload(name: string, src: ArrayLike<number> & object, kind: SlotKind, stable: boolean): number {
    const s0 = this.slots.get(name);
    if (stable && s0 && s0.source === src && s0.n === src.length) return s0.at;
    const at = this.alloc(name, src.length, kind);
    const s = this.slots.get(name)!;
    (this.view(s) as Float32Array).set(src);
    s.source = stable ? src : null;
    return at;
  }

  ptr(name: string): number {
    return this.slot(name).at;
  }

  /** View of a T slot. */
  f(name: string): Num {
    return this.view(this.slot(name)) as Num;
  }

  /** View of an i32 slot. */
  i(name: string): Int32Array {
    return this.view(this.slot(name)) as Int32Array;
  }

  /** View of an f32 slot. */
  f32(name: string): Float32Array {
    return this.view(this.slot(name)) as Float32Array;
  }

  /** The covered pixels of the last forward pass. */
  coverage(): Coverage {
    return { count: this.slot('pixels').n, pixels: this.i('pixels'), bary: this.f('bary') };
  }

  /** Dense outputs of the last forward pass: antialiased sRGB image [·3] and coverage [·1], depth, UVs, normals. */
  get imageOut(): Num { return this.f('imageOut'); }
  get alphaOut(): Num { return this.f('alphaOut'); }
  get depth(): Num { return this.f('depth'); }
  get uvDense(): Num { return this.f('uvDense'); }
  get nrmDense(): Num { return this.f('nrmDense'); }

  /** Free every slot. */
  dispose(): void {
    freeOnCollect.unregister(this);
    releaseSlots({ mod: this.mod, slots: this.slots });
  }

  private slot(name: string): Slot {
    const s = this.slots.get(name);
    if (!s) throw new Error(`workspace: no slot '${name}'`);
    return s;
  }

  private view(s: Slot): Num | Int32Array {
    const b = this.mod.buffer;
    if (s.kind === 'i32') return new Int32Array(b, s.at, s.n);
    if (s.kind === 'f32') return new Float32Array(b, s.at, s.n);
    if (s.kind === 'f64') return new Float64Array(b, s.at, s.n);
    return new this.ctor(b, s.at, s.n);
  }
}

function releaseSlots(h: { mod: PixelModule; slots: Map<string, Slot> }): void {
  for (const s of h.slots.values()) h.mod.release(s.at, s.bytes);
  h.slots.clear();
}
const freeOnCollect = new FinalizationRegistry(releaseSlots);

const pools = new Map<Ctor, Workspace[]>();

/** A workspace from the pool (or a new one). */
export function acquireWorkspace(ctor: Ctor): Workspace {
  const pool = pools.get(ctor);
  return pool?.pop() ?? new Workspace(ctor);
}

/** Give a workspace back to the pool (at most a few are kept; the others free their memory). */
export function releaseWorkspace(ws: Workspace): void {
  let pool = pools.get(ws.ctor);
  if (!pool) pools.set(ws.ctor, (pool = []));
  if (pool.includes(ws)) return;
  if (pool.length < 4) pool.push(ws);
  else ws.dispose();
}

/** What the forward pass leaves for the backward pass. */
export interface FusedForward {
  /** The covered pixels (fresh views of the workspace at each access). */
  readonly cov: Coverage;
  ws: Workspace;
  crossings: Crossings | null;
}

const sub = (a: Num, n: number): Num => (a.length === n ? a : a.subarray(0, n));

/** Elements per vertex record (wasm/assembly/pixel.ts): camera position, normal, clip position, padding. */
const REC = 16;

const COMPACT3 = ['pos', 'nrm', 'alb', 'lin', 'slopeDec', 'shaded', 'enc', 'slopeEnc', 'gPos', 'gNrm'];

/** Copy the scene's vertex data, raster and albedo (and the gamma tables) into the workspace. */
function uploadScene(s: FusedScene, raster: Raster, ws: Workspace): void {
  const stable = s.stable ?? false;
  ws.upload('ids', raster.triangleId, 'i32', false);
  ws.upload('rbary', raster.bary, 'f32', false);
  ws.upload('clip', s.clip.data, 'T', false);
  ws.upload('tris', s.clip.triangles, 'i32', true);
  ws.upload('cam', s.cam, 'T', false);
  ws.upload('normals', s.normals, 'T', false);
  ws.alloc('records', REC * (s.cam.length / 3));
  ws.upload('decode', DECODE.f, 'f64', true);
  ws.upload('encode', ENCODE.f, 'f64', true);
  const a = s.albedo;
  if (a.kind === 'colors') {
    ws.upload('attr', a.colors, 'T', stable);
    return;
  }
  ws.upload('attr', a.uvs, 'T', stable);
  ws.upload('attrTris', a.uvTriangles, 'i32', true);
  a.pyramid.forEach((L, l) => ws.upload(`tex${l}`, L.data, 'T', stable));
  ws.alloc('texTable', 3 * a.pyramid.length, 'i32');
  const table = ws.i('texTable');
  a.pyramid.forEach((L, l) => table.set([ws.ptr(`tex${l}`), L.h, L.w], 3 * l));
}

/** The light's parameters as the kernels read them (slot 'light', f64): position, colour, ambient, k_s, shininess. */
function uploadLight(L: FusedLight & { kind: 'phong' }, ws: Workspace): void {
  const v = new Float64Array(pixelModule().buffer, ws.alloc('light', 11, 'f64'), 11);
  v.set(L.position, 0); v.set(L.color, 3); v.set(L.ambient, 6); v[9] = L.specular[0]; v[10] = L.shininess;
}

const pow = (k: PixelKernelSet, ws: Workspace, from: string, table: PowTable, tableSlot: string, out: string, slope: string, n: number): void =>
  k.pow(ws.ptr(from), ws.ptr(tableSlot), table.p, table.lo, table.clampTop ? 1 : 0, ws.ptr(out), ws.ptr(slope), n);

/**
 * Forward kernel. Fills the workspace's imageOut (sRGB over the background, antialiased), alphaOut, depth (camera
 * Z, 0 where empty), uvDense, nrmDense (interpolated, not renormalised), all dense over [B,H,W].
 */
export function fusedForward(s: FusedScene, raster: Raster, ws: Workspace): FusedForward {
  const { batch: B, height: H, width: W } = raster;
  const P = H * W, D = B * P;
  const N = countCovered(raster.triangleId);
  // Every allocation first (views go stale when the memory grows), then the kernels.
  ws.alloc('pixels', N, 'i32');
  ws.alloc('bary', 3 * N);
  for (const name of COMPACT3) ws.alloc(name, 3 * N);
  ws.alloc('uv', 2 * N);
  ws.alloc('gUv', 2 * N);
  ws.alloc('levels', N, 'f32');
  for (const [name, c] of [['image', 3], ['mask', 1], ['depth', 1], ['uvDense', 2], ['nrmDense', 3], ['imageOut', 3], ['alphaOut', 1]] as const) ws.alloc(name, c * D);
  uploadScene(s, raster, ws);
  const L = s.light;
  if (L.kind === 'phong') uploadLight(L, ws);
  const k = ws.kernels, p = (name: string) => ws.ptr(name);
  const V = s.clip.vertexCount, batched = s.clip.batched;
  k.vertexRecords(p('cam'), p('normals'), p('clip'), s.cam.length / 3, p('records'));
  const count = k.coverage(p('ids'), p('rbary'), p('records'), p('tris'), B, H, W, V, batched ? 1 : 0, p('pixels'), p('bary'));
  if (count !== N) throw new Error(`fused: ${count} covered pixels, counted ${N}`);
  const E = ws.ctor.BYTES_PER_ELEMENT;
  k.interpolate(p('pixels'), p('bary'), p('ids'), N, P, batched ? V : 0, 3, REC, p('tris'), p('records'), p('pos'), p('records') + 3 * E, p('nrm'));
  const px = ws.i('pixels');
  const depth = ws.f('depth'), uvDense = ws.f('uvDense'), nrmDense = ws.f('nrmDense'), mask = ws.f('mask');
  depth.fill(0); uvDense.fill(0); nrmDense.fill(0); mask.fill(0);
  scatterGeometry(px, N, ws.f('pos'), ws.f('nrm'), depth, mask, nrmDense);
  const a = s.albedo;
  if (a.kind === 'texture') {
    k.interpolate(p('pixels'), p('bary'), p('ids'), N, P, 0, 2, 2, p('attrTris'), p('attr'), p('uv'), 0, 0);
    k.scatter(p('pixels'), N, 2, p('uv'), p('uvDense'));
    if (a.mip) {
      const lv = ws.f32('levels');
      if (typeof a.mipLevel === 'number') lv.fill(a.mipLevel);
      else {
        const dense = a.mipLevel ?? autoMipLevel(uvDense, B, H, W, a.pyramid[0].h, a.pyramid[0].w);
        for (let i = 0; i < N; i++) lv[i] = dense[px[i]];
      }
    }
    k.texture(p('texTable'), a.pyramid.length, p('uv'), a.mip ? p('levels') : 0, p('alb'), N);
  } else {
    k.interpolate(p('pixels'), p('bary'), p('ids'), N, P, 0, 3, 3, p('tris'), p('attr'), p('alb'), 0, 0);
  }
  if (L.kind === 'sh') {
    pow(k, ws, 'alb', DECODE, 'decode', 'lin', 'slopeDec', 3 * N);
    shKernel(ws.f('lin'), ws.f('nrm'), L.coeffs, ws.f('shaded'), N);
    pow(k, ws, 'shaded', ENCODE, 'encode', 'enc', 'slopeEnc', 3 * N);
  } else {
    k.shade(p('alb'), p('nrm'), p('pos'), L.kind === 'phong' ? p('light') : 0, p('decode'), p('encode'), p('lin'), p('slopeDec'), p('enc'), p('slopeEnc'), N);
  }
  // Composite over the background: covered pixels take the shaded colour, the others the background.
  const image = ws.f('image'), bg = s.background;
  if (bg && (s.bgBatched || B === 1)) image.set(sub(bg, 3 * D));
  else if (bg) for (let b = 0; b < B; b++) image.set(sub(bg, 3 * P), 3 * b * P);
  else image.fill(0);
  k.scatter(p('pixels'), N, 3, p('enc'), p('image'));
  const imageOut = ws.f('imageOut'), alphaOut = ws.f('alphaOut');
  imageOut.set(image);
  alphaOut.set(mask);
  let crossings: Crossings | null = null;
  if (s.adjacency) {
    crossings = findCrossings(raster, s.clip, s.adjacency);
    applyCrossings(image, 3, crossings, imageOut);
    applyCrossings(mask, 1, crossings, alphaOut);
  }
  return { get cov() { return ws.coverage(); }, ws, crossings };
}

// Small single-loop helpers: V8 optimises these far better than the same loops inlined in one large function.

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

/** Gradients of the fused image w.r.t. the light and background, accumulated into these arrays (zero them first). */
export interface FusedGrads {
  /** Phong: position, color, ambient [3] and specular [1]; SH: coeffs [9,3] in `coeffs`. */
  position: Num | null; color: Num | null; ambient: Num | null; specular: Num | null; coeffs: Num | null;
  /** Same layout as the scene's background. */
  background: Num | null;
}

/**
 * Gradients of the fused image w.r.t. the per-vertex and albedo inputs, same layouts as the scene's arrays: views
 * of the workspace, valid until it is used again or the kernels' memory grows (copy or consume them at once).
 */
export interface FusedVertexGrads {
  clip: Num;
  cam: Num;
  normals: Num;
  /** UVs [U,2] (texture) or colours [V,3]. */
  attr: Num;
  /** Level-0 texture [Ht,Wt,3] (texture only). */
  texture: Num | null;
}

/** Backward of {@link fusedForward} for the image output: dy [B,H,W,3] → the vertex and albedo gradients. */
export function fusedBackward(s: FusedScene, raster: Raster, fw: FusedForward, dy: Num, g: FusedGrads): FusedVertexGrads {
  const { batch: B, height: H, width: W } = raster;
  const P = H * W, D = B * P;
  const { ws, crossings } = fw;
  const k = ws.kernels, p = (name: string) => ws.ptr(name);
  const N = ws.coverage().count;
  const a = s.albedo;
  // Allocations first: the gradient slots (the kernels accumulate into them).
  const grads: [string, number][] = [
    ['gClip', s.clip.data.length], ['gCam', s.cam.length], ['gNormals', s.normals.length], ['gRecords', REC * (s.cam.length / 3)],
    ['gAttr', (a.kind === 'texture' ? a.uvs : a.colors).length],
  ];
  if (a.kind === 'texture') a.pyramid.forEach((L, l) => grads.push([`gTex${l}`, L.data.length]));
  for (const [name, n] of grads) ws.alloc(name, n);
  if (a.kind === 'texture') ws.alloc('gTexTable', a.pyramid.length, 'i32');
  ws.alloc('sums', 10, 'f64');
  for (const [name] of grads) ws.f(name).fill(0);
  const px = ws.i('pixels');
  // Antialiasing: gradient of the composited image (reuse the dense imageOut buffer) and silhouette clip terms.
  const gImage = ws.f('imageOut');
  gImage.set(sub(dy, 3 * D));
  const gClip = ws.f('gClip');
  if (crossings) crossingsBackward(ws.f('image'), 3, raster, s.clip, crossings, dy, gImage, gClip);
  if (g.background) backgroundGrad(gImage, ws.f('mask'), D, P, s.bgBatched || B === 1, g.background);
  // Covered pixels: through the encode, the shading and the decode into gAlb (the forward's linear-albedo slot,
  // which the Phong backward reads first: SH computes it in a separate buffer).
  const L = s.light;
  if (L.kind === 'sh') {
    // shBackwardKernel adds into gNrm; SH has no position gradient (the Phong / unlit kernel writes both).
    ws.f('gNrm').fill(0); ws.f('gPos').fill(0);
    const gEnc = ws.f('enc'); // the forward's encoded values are no longer needed
    gather(px, N, 3, gImage, gEnc);
    multiply(gEnc, ws.f('slopeEnc'), gEnc, 3 * N);
    const gLin = ws.f('shaded');
    gLin.fill(0);
    shBackwardKernel(ws.f('lin'), ws.f('nrm'), L.coeffs, gEnc, gLin, ws.f('gNrm'), g.coeffs!, N);
    multiply(gLin, ws.f('slopeDec'), ws.f('lin'), 3 * N);
  } else {
    k.shadeBackward(p('pixels'), p('imageOut'), p('lin'), p('nrm'), p('pos'), L.kind === 'phong' ? p('light') : 0, p('slopeEnc'), p('slopeDec'), p('lin'), p('gNrm'), p('gPos'), p('sums'), N);
    if (L.kind === 'phong') {
      const sums = new Float64Array(pixelModule().buffer, p('sums'), 10);
      for (let c = 0; c < 3; c++) {
        g.position![c] += sums[c]; g.color![c] += sums[3 + c]; g.ambient![c] += sums[6 + c];
      }
      g.specular![0] += sums[9];
    }
  }
  const V = s.clip.batched ? s.clip.vertexCount : 0;
  if (a.kind === 'texture') {
    const table = ws.i('gTexTable');
    for (let l = 0; l < a.pyramid.length; l++) table[l] = p(`gTex${l}`);
    k.textureBackward(p('texTable'), p('gTexTable'), a.pyramid.length, p('uv'), a.mip ? p('levels') : 0, p('lin'), p('gUv'), N);
    k.imageBackward(p('pixels'), p('bary'), p('ids'), N, H, W, p('records'), p('gRecords'), V, p('tris'), p('gPos'), p('gNrm'), p('attr'), 2, p('attrTris'), p('gUv'), p('gAttr'));
  } else {
    k.imageBackward(p('pixels'), p('bary'), p('ids'), N, H, W, p('records'), p('gRecords'), V, p('tris'), p('gPos'), p('gNrm'), p('attr'), 3, p('tris'), p('lin'), p('gAttr'));
  }
  k.vertexGrads(p('gRecords'), s.cam.length / 3, p('gCam'), p('gNormals'), p('gClip'));
  return { clip: ws.f('gClip'), cam: ws.f('gCam'), normals: ws.f('gNormals'), attr: ws.f('gAttr'), texture: a.kind === 'texture' ? ws.f('gTex0') : null };
}
