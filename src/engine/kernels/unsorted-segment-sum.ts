/**
 * UnsortedSegmentSum for the wasm backend (the gradient of gather, used by the bilinear warps), as a typed-array
 * scatter-add: O(N·inner). (The cpu backend's implementation builds an N × numSegments one-hot matrix, which
 * for an image-sized gather gradient is gigabytes.)
 */
import type { tf } from '../index.js';

export function unsortedSegmentSumKernel(backendName: string): tf.KernelConfig {
  return {
    kernelName: 'UnsortedSegmentSum',
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as tf.KernelBackend;
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const numSegments = (attrs as unknown as { numSegments: number }).numSegments;
      const n = segmentIds.shape.reduce((a, c) => a * c, 1);
      const inner = x.shape.slice(segmentIds.shape.length).reduce((a, c) => a * c, 1);
      const values = b.readSync(x.dataId) as Float32Array | Int32Array;
      const ids = b.readSync(segmentIds.dataId) as Int32Array;
      const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
      for (let i = 0; i < n; i++) {
        const s = ids[i]!;
        if (s < 0 || s >= numSegments) continue;
        const o = s * inner;
        const v = i * inner;
        for (let k = 0; k < inner; k++) out[o + k] += values[v + k]!;
      }
      const shape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
      return { dataId: b.write(out, shape, x.dtype), shape, dtype: x.dtype };
    },
  };
}
