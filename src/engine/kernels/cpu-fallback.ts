/**
 * Run a kernel that the wasm backend lacks with the cpu backend's implementation: read the inputs from the
 * calling backend, hand them to the cpu kernel, and write the result back. Slow (copies, pure JS) but exact;
 * meant for kernels off the hot path (weight gradients of small layers, rare ops).
 */
import { tf } from '../index.js';

type KernelConfig = tf.KernelConfig;
type TensorInfo = tf.TensorInfo;
type KernelBackend = tf.KernelBackend;

/** Copy one tensor's data from `from` into a new buffer on `to`. */
function transfer(info: TensorInfo, from: KernelBackend, to: KernelBackend): TensorInfo {
  const values = from.readSync(info.dataId) as tf.BackendValues;
  const dataId = to.write(values, info.shape, info.dtype);
  return { dataId, shape: info.shape, dtype: info.dtype };
}

/**
 * A kernel config for `backendName` that forwards `kernelName` to the cpu backend's kernel of the same name.
 * Throws at registration if the cpu backend has no such kernel.
 */
export function cpuFallbackKernel(kernelName: string, backendName: string): KernelConfig {
  const cpuKernel = tf.getKernel(kernelName, 'cpu');
  if (!cpuKernel) throw new Error(`cpu backend has no kernel '${kernelName}' to fall back on`);
  return {
    kernelName,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = tf.engine().findBackend('cpu');
      if (!cpu) throw new Error('cpu backend unavailable for the fallback kernel ' + kernelName);
      const cpuInputs: Record<string, TensorInfo> = {};
      for (const [name, info] of Object.entries(inputs)) if (info) cpuInputs[name] = transfer(info, backend as KernelBackend, cpu);
      const result = cpuKernel.kernelFunc({ inputs: cpuInputs, backend: cpu, attrs });
      const outs = Array.isArray(result) ? result : [result];
      const back = outs.map((o) => transfer(o, cpu, backend as KernelBackend));
      for (const o of outs) cpu.disposeData(o.dataId);
      for (const info of Object.values(cpuInputs)) cpu.disposeData(info.dataId);
      return Array.isArray(result) ? back : back[0]!;
    },
  };
}
