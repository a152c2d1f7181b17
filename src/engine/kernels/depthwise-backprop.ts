/**
 * Depthwise convolution gradients for the wasm backend (it has the forward kernel only): the cpu backend's
 * implementations, run on copies of the inputs (see cpu-fallback.ts).
 */
import { cpuFallbackKernel } from './cpu-fallback.js';
import type { tf } from '../index.js';

export function depthwiseBackpropKernels(backendName: string): tf.KernelConfig[] {
  return [
    cpuFallbackKernel('DepthwiseConv2dNativeBackpropInput', backendName),
    cpuFallbackKernel('DepthwiseConv2dNativeBackpropFilter', backendName),
  ];
}
