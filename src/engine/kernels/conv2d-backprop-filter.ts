/**
 * Conv2DBackpropFilter for the wasm backend (tfjs-backend-wasm 4.22 has none; FACTS.md).
 *
 * The filter gradient of an NHWC convolution (stride s, padding top/left) is
 *   dW[i, j, c, o] = Σ_{b, y, x} X_pad[b, y·sh + i, x·sw + j, c] · dY[b, y, x, o],
 * which is itself a forward convolution with the roles swapped: batch ← c, channels ← b, the "filter" is dY laid
 * out as [outH, outW, B, O], its dilation is the stride, and the output's spatial extent is the kh×kw filter:
 *   dW' = conv2d(X' = X_pad as [C, Hp, Wp, B], F = dY as [outH, outW, B, O], stride 1, dilation (sh, sw), valid)
 *       → [C, kh, kw, O], transposed to [kh, kw, C, O].
 * So the work runs in the backend's own (XNNPACK, SIMD) convolution. Measured alternatives were slower on wasm:
 * im2col with slice+concat (the concat alone cost 7× the conv) and matMul with transposeA (wasm transposes A
 * in a slow path; 16× the conv). See bench/texture.ts.
 *
 * Written with tfjs ops inside the kernel: the engine does not record ops run inside a kernel on the gradient
 * tape, and the result is returned as a tensor, which the engine adopts as the kernel's output.
 */
import { tf } from '../index.js';

type TensorInfo = tf.TensorInfo;

interface BackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

function asTensor(info: TensorInfo): { t: tf.Tensor; owned: boolean } {
  if (info instanceof tf.Tensor) return { t: info, owned: false };
  return { t: tf.engine().makeTensorFromTensorInfo(info), owned: true };
}

/** The filter gradient as plain tfjs ops; x [B,H,W,C], dy [B,outH,outW,O] → [kh,kw,C,O]. Exported for tests. */
export function conv2dBackpropFilterOps(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: BackpropFilterAttrs['pad'],
  dimRoundingMode?: BackpropFilterAttrs['dimRoundingMode'],
): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(
    x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize, inChannels, outChannels, outHeight, outWidth, strideHeight: sh, strideWidth: sw } = info;
  const kh = info.filterHeight;
  const kw = info.filterWidth;
  const { top, left } = info.padInfo;
  return tf.tidy(() => {
    // Pad (or crop) X so that its spatial extent is exactly (outH-1)·sh + kh by (outW-1)·sw + kw.
    const needH = (outHeight - 1) * sh + kh;
    const needW = (outWidth - 1) * sw + kw;
    let xp: tf.Tensor4D = x;
    const bottom = needH - top - info.inHeight;
    const right = needW - left - info.inWidth;
    if (top > 0 || left > 0 || bottom > 0 || right > 0) {
      xp = tf.pad(xp, [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]]);
    }
    if (bottom < 0 || right < 0) xp = tf.slice(xp, [0, 0, 0, 0], [batchSize, needH, needW, inChannels]);
    const xt = tf.transpose(xp, [3, 1, 2, 0]); // [C, Hp, Wp, B]
    const f = tf.transpose(dy, [1, 2, 0, 3]); // [outH, outW, B, O]
    const dilations: [number, number] = [sh, sw];
    const out = tf.conv2d(xt, f, 1, 'valid', 'NHWC', dilations); // [C, kh, kw, O]
    void outChannels;
    return tf.transpose(out, [1, 2, 0, 3]); // [kh, kw, C, O]
  });
}

/** Kernel config registering the filter gradient on `backendName` (the wasm backend). */
export function conv2dBackpropFilterKernel(backendName: string): tf.KernelConfig {
  return {
    kernelName: 'Conv2DBackpropFilter',
    backendName,
    kernelFunc: ({ inputs, attrs }) => {
      const a = attrs as unknown as BackpropFilterAttrs;
      if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') {
        throw new Error(`Conv2DBackpropFilter (${backendName}): only NHWC is supported, got ${a.dataFormat}`);
      }
      const xi = asTensor(inputs.x as TensorInfo);
      const dyi = asTensor(inputs.dy as TensorInfo);
      try {
        return conv2dBackpropFilterOps(xi.t as tf.Tensor4D, dyi.t as tf.Tensor4D, a.filterShape, a.strides, a.pad,
          a.dimRoundingMode);
      } finally {
        if (xi.owned) xi.t.dispose();
        if (dyi.owned) dyi.t.dispose();
      }
    },
  };
}
