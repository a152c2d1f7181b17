/**
 * UnsortedSegmentSum for the wasm backend (the gradient of gather, used by the bilinear warps): the cpu backend's
 * implementation on copies of the inputs (see cpu-fallback.ts).
 */
import { cpuFallbackKernel } from './cpu-fallback.js';
import type { tf } from '../index.js';

export function unsortedSegmentSumKernel(backendName: string): tf.KernelConfig {
  return cpuFallbackKernel('UnsortedSegmentSum', backendName);
}
