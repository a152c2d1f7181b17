/**
 * Conv2DBackpropFilter for the wasm backend (tfjs-backend-wasm 4.22 has none; FACTS.md).
 *
 * The filter gradient of an NHWC convolution is
 *   dW[i, j, c, o] = Σ_{b, y, x} X_pad[b, y·sh + i·dh, x·sw + j·dw, c] · dY[b, y, x, o].
 * For each filter tap (i, j) the X_pad term is a strided slice of the padded input with the output's spatial
 * shape, so dW[i, j] = slice(i, j)ᵀ · dY, a [C, N] × [N, O] matrix product with N = batch·outH·outW. All taps
 * are done as one product: the slices are concatenated along channels (im2col, [N, kh·kw·C]) and multiplied
 * by dY with `transposeA`, which the wasm backend runs in its SIMD matmul. The result's row order
 * (i·kw + j)·C + c is exactly the [kh, kw, C, O] filter layout. When im2col would be large, taps are done one
 * matmul each instead, so memory stays at one slice.
 *
 * Written with tfjs ops inside the kernel: the engine does not record ops run inside a kernel on the
 * gradient tape, and the result is returned as a tensor, which the engine adopts as the kernel's output.
 */
import { tf } from '../index.js';

type TensorInfo = tf.TensorInfo;

/** Above this many floats in the im2col matrix, fall back to one matmul per filter tap. */
const IM2COL_MAX_FLOATS = 16 * 1024 * 1024;

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
    // Pad so that every tap's slice lies inside: rows up to (outH-1)·sh + kh - 1 from the padded top.
    const needH = (outHeight - 1) * sh + kh;
    const needW = (outWidth - 1) * sw + kw;
    const bottom = Math.max(0, needH - top - info.inHeight);
    const right = Math.max(0, needW - left - info.inWidth);
    const xp = top || bottom || left || right ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
    const n = batchSize * outHeight * outWidth;
    const dy2 = tf.reshape(dy, [n, outChannels]);
    const tap = (i: number, j: number): tf.Tensor2D => {
      const s = sh === 1 && sw === 1
        ? tf.slice(xp, [0, i, j, 0], [batchSize, outHeight, outWidth, inChannels])
        : tf.stridedSlice(xp, [0, i, j, 0], [batchSize, i + (outHeight - 1) * sh + 1, j + (outWidth - 1) * sw + 1,
          inChannels], [1, sh, sw, 1]);
      return tf.reshape(s, [n, inChannels]);
    };
    if (kh === 1 && kw === 1) {
      return tf.reshape(tf.matMul(tap(0, 0), dy2, true, false), filterShape) as tf.Tensor4D;
    }
    if (n * kh * kw * inChannels <= IM2COL_MAX_FLOATS) {
      const cols: tf.Tensor2D[] = [];
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) cols.push(tap(i, j));
      const im2col = tf.concat(cols, 1);
      return tf.reshape(tf.matMul(im2col, dy2, true, false), filterShape) as tf.Tensor4D;
    }
    const parts: tf.Tensor2D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        parts.push(tf.tidy(() => tf.matMul(tap(i, j), dy2, true, false)));
      }
    }
    return tf.reshape(tf.stack(parts), filterShape) as tf.Tensor4D;
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
