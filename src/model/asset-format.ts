/**
 * The compact binary face-model asset: writer and reader. Layout: docs/model-asset.md.
 *
 * No file system access here, so the reader runs in a browser as well as in Node.
 */
import type { FaceModel, LandmarkDefinition, PartRange } from './types.js';

/** First 8 bytes of every asset. */
export const ASSET_MAGIC = 'GANFITFM';
/** Layout version this code reads and writes. */
export const ASSET_VERSION = 1;
/** Size of the fixed header in bytes. */
export const HEADER_BYTES = 64;
/** A vertex of a mode is stored only if one of its delta components exceeds this (centimetres). */
export const DEFAULT_DROP_THRESHOLD = 1e-4;
/** Bytes reserved for a part or vertex-set name (UTF-8, zero-padded). */
const NAME_BYTES = 32;
/** Order of the landmark lists in the landmark section. */
const LANDMARK_LISTS = ['landmarks68', 'jawRight', 'jawLeft', 'jawRightExtended', 'jawLeftExtended'] as const;

/** What the writer needs: a FaceModel's geometry plus one delta array (V×3) per mode. */
export interface FaceModelSource
  extends Pick<FaceModel, 'vertexCount' | 'neutral' | 'triangles' | 'uvs' | 'uvTriangles' | 'parts' | 'landmarks' | 'vertexSets' | 'expressionNames' | 'info'> {
  /** K arrays of V×3 deltas (float64 allowed: quantisation then starts from the exact values). */
  identityModes: ArrayLike<number>[];
  /** E arrays of V×3 deltas, in `expressionNames` order. */
  expressionModes: ArrayLike<number>[];
}

export interface EncodeOptions {
  /** Vertices whose three delta components are all ≤ this are dropped from sparse modes (cm). */
  dropThreshold?: number;
}

/** Error raised for bytes that are not a readable face-model asset. */
export class FaceModelFormatError extends Error {
  override name = 'FaceModelFormatError';
}

const pad4 = (n: number): number => (n + 3) & ~3;

/** Mode-major slices of a flat basis: `count` subarrays of `stride` values each (no copy). */
export function modeSlices(basis: Float32Array, count: number, stride: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let k = 0; k < count; k++) out.push(basis.subarray(k * stride, (k + 1) * stride));
  return out;
}

/** Growable little-endian byte writer with 4-byte section alignment. */
class Writer {
  private buf = new Uint8Array(1 << 20);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  u16(v: number): void { this.reserve(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  i16(v: number): void { this.reserve(2); this.view.setInt16(this.length, v, true); this.length += 2; }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  bytes(b: Uint8Array): void { this.reserve(b.length); this.buf.set(b, this.length); this.length += b.length; }
  align(): void { while (this.length & 3) this.u8(0); }
  u32s(a: ArrayLike<number>): void { for (let i = 0; i < a.length; i++) this.u32(a[i]); }
  f32s(a: ArrayLike<number>): void { for (let i = 0; i < a.length; i++) this.f32(a[i]); }
  name(s: string): void {
    const b = new TextEncoder().encode(s);
    if (b.length >= NAME_BYTES) throw new Error(`name too long for the asset (max ${NAME_BYTES - 1} bytes): ${s}`);
    const field = new Uint8Array(NAME_BYTES);
    field.set(b);
    this.bytes(field);
  }
  setU32(offset: number, v: number): void { this.view.setUint32(offset, v, true); }
  setF32(offset: number, v: number): void { this.view.setFloat32(offset, v, true); }
  result(): Uint8Array { return this.buf.slice(0, this.length); }
}

/**
 * Write one mode: per-mode scale, then either all V vertices (dense) or the vertices that move by more than
 * `threshold` (sparse, with their indices), as int16 multiples of the scale. Returns the largest error of the
 * stored values against `delta` as the reader reconstructs them (float32 arithmetic).
 */
function writeMode(w: Writer, delta: ArrayLike<number>, vertexCount: number, threshold: number): number {
  let maxAbs = 0;
  const keep: number[] = [];
  for (let v = 0; v < vertexCount; v++) {
    const a = Math.abs(delta[3 * v]), b = Math.abs(delta[3 * v + 1]), c = Math.abs(delta[3 * v + 2]);
    const m = Math.max(a, b, c);
    if (m > maxAbs) maxAbs = m;
    if (m > threshold) keep.push(v);
  }
  const indexBytes = vertexCount <= 65536 ? 2 : 4;
  const dense = keep.length * (indexBytes + 6) >= vertexCount * 6;
  const stored = dense ? vertexCount : keep.length;
  const scale = Math.fround(maxAbs > 0 ? maxAbs / 32767 : 1);
  w.f32(scale);
  w.u32(stored);
  if (!dense) {
    for (const v of keep) indexBytes === 2 ? w.u16(v) : w.u32(v);
    w.align();
  }
  let maxErr = 0;
  const kept = new Uint8Array(vertexCount);
  for (let i = 0; i < stored; i++) {
    const v = dense ? i : keep[i];
    kept[v] = 1;
    for (let c = 0; c < 3; c++) {
      const d = delta[3 * v + c];
      const q = Math.max(-32767, Math.min(32767, Math.round(d / scale)));
      w.i16(q);
      const err = Math.abs(Math.fround(q * scale) - d);
      if (err > maxErr) maxErr = err;
    }
  }
  w.align();
  if (!dense) {
    for (let v = 0; v < vertexCount; v++) {
      if (kept[v]) continue;
      for (let c = 0; c < 3; c++) maxErr = Math.max(maxErr, Math.abs(delta[3 * v + c]));
    }
  }
  return maxErr;
}

/** Encode a face model into the asset layout of docs/model-asset.md. */
export function encodeFaceModel(src: FaceModelSource, options: EncodeOptions = {}): Uint8Array {
  const threshold = options.dropThreshold ?? DEFAULT_DROP_THRESHOLD;
  const V = src.vertexCount;
  const T = src.triangles.length / 3;
  const U = src.uvs.length / 2;
  if (src.neutral.length !== V * 3) throw new Error('neutral must hold V×3 values');
  if (src.uvTriangles.length !== T * 3) throw new Error('uvTriangles must match triangles');
  if (src.expressionModes.length !== src.expressionNames.length) throw new Error('one name per expression mode');
  for (const m of [...src.identityModes, ...src.expressionModes]) {
    if (m.length !== V * 3) throw new Error('every mode must hold V×3 deltas');
  }
  const setNames = Object.keys(src.vertexSets);

  const w = new Writer();
  w.bytes(new TextEncoder().encode(ASSET_MAGIC));
  w.u32(ASSET_VERSION);
  w.u32(V);
  w.u32(T);
  w.u32(U);
  w.u32(src.identityModes.length);
  w.u32(src.expressionModes.length);
  w.u32(src.parts.length);
  w.u32(setNames.length);
  w.f32(threshold);
  w.f32(0); // deltaTolerance, patched below
  w.u32(0); // total bytes, patched below
  while (w.length < HEADER_BYTES) w.u8(0);

  const info = new TextEncoder().encode(src.info);
  w.u32(info.length);
  w.bytes(info);
  w.align();
  w.f32s(src.neutral);
  w.u32s(src.triangles);
  w.f32s(src.uvs);
  w.u32s(src.uvTriangles);
  for (const p of src.parts) {
    w.name(p.name);
    w.u32(p.vertexStart);
    w.u32(p.vertexEnd);
    w.u32(p.triangleStart);
    w.u32(p.triangleEnd);
  }
  for (const key of LANDMARK_LISTS) {
    const list = src.landmarks[key];
    w.u32(list.length);
    w.u32s(list);
  }
  for (const name of setNames) {
    w.name(name);
    w.u32(src.vertexSets[name].length);
    w.u32s(src.vertexSets[name]);
  }
  for (const name of src.expressionNames) {
    const b = new TextEncoder().encode(name);
    if (b.length > 255) throw new Error(`expression name too long: ${name}`);
    w.u8(b.length);
    w.bytes(b);
  }
  w.align();
  let tolerance = 0;
  for (const m of src.identityModes) tolerance = Math.max(tolerance, writeMode(w, m, V, threshold));
  for (const m of src.expressionModes) tolerance = Math.max(tolerance, writeMode(w, m, V, threshold));
  w.setF32(44, tolerance);
  w.setU32(48, w.length);
  return w.result();
}

/** Little-endian reader over an aligned copy of the bytes. */
class Reader {
  readonly view: DataView;
  offset = 0;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, what: string): void {
    if (this.offset + n > this.bytes.length) {
      throw new FaceModelFormatError(`face-model asset truncated while reading ${what} (${this.bytes.length} bytes)`);
    }
  }
  u8(): number { this.need(1, 'a byte'); return this.view.getUint8(this.offset++); }
  u32(): number { this.need(4, 'a u32'); const v = this.view.getUint32(this.offset, true); this.offset += 4; return v; }
  f32(): number { this.need(4, 'a f32'); const v = this.view.getFloat32(this.offset, true); this.offset += 4; return v; }
  align(): void { this.offset = pad4(this.offset); }
  /** Copies n float32 values (the buffer is 4-aligned and the platform little-endian, checked by the caller). */
  f32s(n: number, what: string): Float32Array {
    this.need(n * 4, what);
    const out = new Float32Array(this.bytes.buffer, this.bytes.byteOffset + this.offset, n).slice();
    this.offset += n * 4;
    return out;
  }
  u32s(n: number, what: string): Uint32Array {
    this.need(n * 4, what);
    const out = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset + this.offset, n).slice();
    this.offset += n * 4;
    return out;
  }
  name(): string {
    this.need(NAME_BYTES, 'a name');
    const field = this.bytes.subarray(this.offset, this.offset + NAME_BYTES);
    this.offset += NAME_BYTES;
    const end = field.indexOf(0);
    return new TextDecoder().decode(field.subarray(0, end < 0 ? NAME_BYTES : end));
  }
}

/** Decode mode `k` into `out` (dense V×3, zero where the mode stores nothing). */
function readMode(r: Reader, out: Float32Array, vertexCount: number, what: string): void {
  const scale = r.f32();
  const stored = r.u32();
  if (stored > vertexCount) throw new FaceModelFormatError(`${what}: ${stored} stored vertices > ${vertexCount}`);
  const dense = stored === vertexCount;
  let indices: Uint16Array | Uint32Array | null = null;
  if (!dense) {
    const indexBytes = vertexCount <= 65536 ? 2 : 4;
    r.need(stored * indexBytes, what);
    const at = r.bytes.byteOffset + r.offset;
    indices = indexBytes === 2 ? new Uint16Array(r.bytes.buffer, at, stored) : new Uint32Array(r.bytes.buffer, at, stored);
    r.offset = pad4(r.offset + stored * indexBytes);
  }
  r.need(stored * 6, what);
  const values = new Int16Array(r.bytes.buffer, r.bytes.byteOffset + r.offset, stored * 3);
  r.offset = pad4(r.offset + stored * 6);
  if (indices === null) {
    for (let i = 0; i < values.length; i++) out[i] = values[i] * scale;
    return;
  }
  for (let i = 0; i < stored; i++) {
    const v = indices[i];
    if (v >= vertexCount) throw new FaceModelFormatError(`${what}: vertex index ${v} out of range`);
    out[3 * v] = values[3 * i] * scale;
    out[3 * v + 1] = values[3 * i + 1] * scale;
    out[3 * v + 2] = values[3 * i + 2] * scale;
  }
}

/**
 * Parse asset bytes (docs/model-asset.md) into a FaceModel with dense float32 bases.
 * Throws FaceModelFormatError for a wrong magic, an unsupported version or truncated bytes.
 */
export function parseFaceModel(input: Uint8Array): FaceModel {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error('parseFaceModel needs a little-endian platform');
  }
  if (input.length < HEADER_BYTES) {
    throw new FaceModelFormatError(`not a ganfit face-model asset: ${input.length} bytes is shorter than the header`);
  }
  const magic = new TextDecoder('latin1').decode(input.subarray(0, 8));
  if (magic !== ASSET_MAGIC) {
    throw new FaceModelFormatError(
      `not a ganfit face-model asset: magic ${JSON.stringify(magic)} ≠ ${JSON.stringify(ASSET_MAGIC)}`,
    );
  }
  // Typed-array views need 4-byte alignment: copy once if the caller's bytes are not aligned.
  const bytes = input.byteOffset % 4 === 0 ? input : input.slice();
  const r = new Reader(bytes);
  r.offset = 8;
  const version = r.u32();
  if (version !== ASSET_VERSION) {
    throw new FaceModelFormatError(
      `face-model asset version ${version} is not supported (this build reads version ${ASSET_VERSION}); ` +
        're-create it with `ganfit model import-ict`',
    );
  }
  const V = r.u32(), T = r.u32(), U = r.u32(), K = r.u32(), E = r.u32(), P = r.u32(), S = r.u32();
  r.f32(); // drop threshold (informative)
  const deltaTolerance = r.f32();
  const totalBytes = r.u32();
  if (totalBytes !== bytes.length) {
    throw new FaceModelFormatError(`face-model asset is ${bytes.length} bytes, its header says ${totalBytes}`);
  }
  r.offset = HEADER_BYTES;
  const infoLength = r.u32();
  r.need(infoLength, 'info');
  const info = new TextDecoder().decode(bytes.subarray(r.offset, r.offset + infoLength));
  r.offset += infoLength;
  r.align();
  const neutral = r.f32s(V * 3, 'neutral');
  const triangles = r.u32s(T * 3, 'triangles');
  const uvs = r.f32s(U * 2, 'uvs');
  const uvTriangles = r.u32s(T * 3, 'uvTriangles');
  const parts: PartRange[] = [];
  for (let p = 0; p < P; p++) {
    parts.push({ name: r.name(), vertexStart: r.u32(), vertexEnd: r.u32(), triangleStart: r.u32(), triangleEnd: r.u32() });
  }
  const lists: Uint32Array[] = [];
  for (const key of LANDMARK_LISTS) lists.push(r.u32s(r.u32(), key));
  const landmarks: LandmarkDefinition = {
    landmarks68: lists[0], jawRight: lists[1], jawLeft: lists[2], jawRightExtended: lists[3], jawLeftExtended: lists[4],
  };
  const vertexSets: Record<string, Uint32Array> = {};
  for (let s = 0; s < S; s++) {
    const name = r.name();
    vertexSets[name] = r.u32s(r.u32(), `vertex set ${name}`);
  }
  const expressionNames: string[] = [];
  for (let e = 0; e < E; e++) {
    const n = r.u8();
    r.need(n, 'an expression name');
    expressionNames.push(new TextDecoder().decode(bytes.subarray(r.offset, r.offset + n)));
    r.offset += n;
  }
  r.align();
  const stride = V * 3;
  const identityBasis = new Float32Array(K * stride);
  for (let k = 0; k < K; k++) readMode(r, identityBasis.subarray(k * stride, (k + 1) * stride), V, `identity mode ${k}`);
  const expressionBasis = new Float32Array(E * stride);
  for (let e = 0; e < E; e++) {
    readMode(r, expressionBasis.subarray(e * stride, (e + 1) * stride), V, `expression ${expressionNames[e]}`);
  }
  if (r.offset !== bytes.length) {
    throw new FaceModelFormatError(`face-model asset has ${bytes.length - r.offset} unexpected trailing bytes`);
  }
  for (const list of [triangles, ...lists]) {
    for (let i = 0; i < list.length; i++) {
      if (list[i] >= V) throw new FaceModelFormatError(`vertex index ${list[i]} out of range (V = ${V})`);
    }
  }
  for (let i = 0; i < uvTriangles.length; i++) {
    if (uvTriangles[i] >= U) throw new FaceModelFormatError(`uv index ${uvTriangles[i]} out of range (U = ${U})`);
  }
  return {
    version, neutral, identityBasis, identityCount: K, expressionBasis, expressionNames, vertexCount: V,
    triangles, uvs, uvTriangles, parts, landmarks, vertexSets, deltaTolerance, info,
  };
}
