/**
 * Kernels a backend lacks, registered once per backend. Each kernel lives in its own file beside this one,
 * with a gradient check in test/engine; add one import and one entry below per kernel.
 */
import type { BackendName } from '../index.js';

const registered = new Set<BackendName>();

export function registerMissingKernels(backend: BackendName): void {
  if (registered.has(backend)) return;
  registered.add(backend);
  // (kernels are added here as they are written)
}
