/**
 * The compute engine: the one place that chooses and initialises the tfjs backend.
 *
 * Everything in ganfit imports tfjs through `tf` from this module, so that one tfjs instance (the CommonJS build
 * that @vladmandic/face-api also requires) is shared by every network and op.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import { registerMissingKernels } from './kernels/index.js';

export { tf };

export type BackendName = 'wasm' | 'cpu';

export interface EngineOptions {
  /** `wasm` (default, SIMD, one thread per process) or the slow pure-JS `cpu` reference. */
  backend?: BackendName;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Directory holding the tfjs wasm binaries (Node only; the browser build passes its own URL prefix). */
function wasmDirectory(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep;
}

/**
 * Initialise tfjs on the requested backend and register the kernels that backend lacks.
 * Safe to call more than once; returns the backend actually in use.
 */
export async function initEngine(options: EngineOptions = {}): Promise<BackendName> {
  const backend = options.backend ?? 'wasm';
  if (tf.getBackend() === backend) return backend;
  if (backend === 'wasm' && isNode) setWasmPaths(wasmDirectory());
  const ok = await tf.setBackend(backend);
  if (!ok) throw new Error(`could not initialise the tfjs '${backend}' backend`);
  await tf.ready();
  registerMissingKernels(backend);
  return backend;
}

/**
 * A float32 tensor's values without a copy where the backend allows it: on wasm a view of the tensor's memory in
 * tf's heap, valid only until the next tf call (an op may grow the heap, which detaches the view, or reuse the
 * memory once the tensor is disposed), so read it at once and never keep it; elsewhere a copy (other dtypes as
 * float32).
 */
export function transientValues(t: tf.Tensor): Float32Array {
  if (t.dtype === 'float32' && tf.getBackend() === 'wasm') {
    const backend = tf.backend() as BackendWasm;
    const entry = backend.dataIdMap.get(t.dataId);
    if (entry && typeof entry.memoryOffset === 'number') {
      // HEAPU8 (the Emscripten heap, which tf's own readSync slices) is missing from the package's typings.
      const heap = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8;
      return new Float32Array(heap.buffer, entry.memoryOffset, t.size);
    }
  }
  return t.dtype === 'float32' ? (t.dataSync() as Float32Array) : Float32Array.from(t.dataSync());
}
