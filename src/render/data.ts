import { tf } from '../engine/index.js';

/**
 * A tensor's float32 data as a typed array, read once per tensor data: tfjs tensor data is immutable per data id
 * (a variable's assign() gets a new one), and on wasm every dataSync() is a fresh copy of the heap, so the render
 * ops (which read the same positions, UVs and texture several times per step, and often the same tensors across
 * steps) share one copy. Callers must not modify the returned array.
 */
const cache = new WeakMap<object, Float32Array>();
export function readF32(t: tf.Tensor): Float32Array {
  const key = t.dataId as object;
  let d = cache.get(key);
  if (!d) {
    d = t.dataSync() as Float32Array;
    cache.set(key, d);
  }
  return d;
}

/** A tensor holding `a`: on wasm tf.tensor copies into the wasm heap, so `a` may be reused; elsewhere copy it. */
export function tensorOf(a: Float32Array | Float64Array, shape: number[]): tf.Tensor {
  return tf.tensor(tf.getBackend() === 'wasm' ? (a as Float32Array) : Float32Array.from(a), shape);
}

/**
 * Float32 arrays of per-call data handed out again once their user gives them back (render()'s vertex stage: ~1 MB
 * a step for the ICT head, otherwise garbage that makes V8 collect every few steps). Contents are undefined.
 */
const pool = new Map<number, Float32Array[]>();
const POOLED_PER_SIZE = 8;
export function acquireF32(n: number): Float32Array {
  return pool.get(n)?.pop() ?? new Float32Array(n);
}
/** Give arrays from {@link acquireF32} back (nothing may read or write them after this). */
export function releaseF32(...arrays: Float32Array[]): void {
  for (const a of arrays) {
    let free = pool.get(a.length);
    if (!free) pool.set(a.length, (free = []));
    if (free.length < POOLED_PER_SIZE && !free.includes(a)) free.push(a);
  }
}

/**
 * A float32 buffer of n elements reused between calls under `key` (zeroed when `zero`), for data that only goes
 * into {@link tensorOf}; a fresh one off wasm (where tensors may keep the array).
 */
const scratch = new Map<string, Float32Array>();
export function scratchF32(key: string, n: number, zero: boolean): Float32Array {
  if (tf.getBackend() !== 'wasm') return new Float32Array(n);
  let b = scratch.get(key);
  if (!b || b.length < n) scratch.set(key, (b = new Float32Array(n)));
  const v = b.length === n ? b : b.subarray(0, n);
  if (zero) v.fill(0);
  return v;
}
