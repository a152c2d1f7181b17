/**
 * Kernels a backend lacks, registered once per backend. Each kernel lives in its own file beside this one,
 * with a check against the cpu backend in test/engine; add one import and one line below per kernel.
 */
import { tf } from '../index.js';
import type { BackendName } from '../index.js';
import { depthwiseBackpropKernels } from './depthwise-backprop.js';
import { unsortedSegmentSumKernel } from './unsorted-segment-sum.js';
import { conv2dBackpropFilterKernel } from './conv2d-backprop-filter.js';

/** Kernel configs to register on the wasm backend. */
function wasmKernels(): tf.KernelConfig[] {
  return [
    ...depthwiseBackpropKernels('wasm'),
    unsortedSegmentSumKernel('wasm'),
    conv2dBackpropFilterKernel('wasm'),
  ];
}

const registered = new Set<BackendName>();

export function registerMissingKernels(backend: BackendName): void {
  if (registered.has(backend)) return;
  registered.add(backend);
  if (backend !== 'wasm') return;
  for (const config of wasmKernels()) {
    if (!tf.getKernel(config.kernelName, config.backendName)) tf.registerKernel(config);
  }
}
