/**
 * conv2d whose backward pass computes only the input gradient, as a forward convolution with the spatially
 * flipped, in/out-transposed filter (cached per weight tensor). For networks whose weights are constants (the
 * recognition net in the losses): backward never asks for Conv2DBackpropFilter, and the forward-conv path is
 * several times faster than tfjs's Conv2DBackpropInput on wasm.
 *
 * Strided convolutions take the upstream gradient dilated with zeros (stride − 1 between samples) before the
 * flipped convolution — see bench/losses.ts for the comparison with Conv2DBackpropInput.
 */
import { tf } from '../index.js';

export type Conv2DPad = 'same' | 'valid' | number;
export type Strides = number | [number, number];

const flippedCache = new WeakMap<tf.Tensor4D, tf.Tensor4D>();

/**
 * The filter [kh, kw, in, out] reversed in both spatial axes and transposed to [kh, kw, out, in]: the filter of
 * the input-gradient convolution. Computed once per (live) filter tensor and kept until the filter is disposed
 * (then dropped on the next lookup) or `releaseFlippedFilter` is called.
 */
export function flippedFilter(filter: tf.Tensor4D): tf.Tensor4D {
  const cached = flippedCache.get(filter);
  if (cached && !cached.isDisposed) return cached;
  const flipped = tf.tidy(() => tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D);
  tf.keep(flipped);
  flippedCache.set(filter, flipped);
  return flipped;
}

/** Drop (and dispose) the cached flipped copy of `filter`, if any. */
export function releaseFlippedFilter(filter: tf.Tensor4D): void {
  const cached = flippedCache.get(filter);
  if (cached) {
    cached.dispose();
    flippedCache.delete(filter);
  }
}

function pair(s: Strides): [number, number] {
  return typeof s === 'number' ? [s, s] : s;
}

/** Insert `s − 1` zeros between consecutive rows and columns of dy [B, H, W, C] → [B, (H−1)·sh+1, (W−1)·sw+1, C]. */
export function dilateZeros(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  return tf.tidy((): tf.Tensor4D => {
    const [b, h, w, c] = dy.shape;
    const six = tf.reshape(dy, [b, h, 1, w, 1, c]);
    const padded = tf.pad(six, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
    const flat = tf.reshape(padded, [b, h * sh, w * sw, c]);
    return tf.slice(flat, [0, 0, 0, 0], [b, (h - 1) * sh + 1, (w - 1) * sw + 1, c]) as tf.Tensor4D;
  });
}

/**
 * Gradient of `conv2d(x, filter, strides, pad)` with respect to x (x of shape `xShape`), given the upstream
 * gradient dy. `method: 'flipped'` (default) uses a forward conv with the cached flipped filter; `'backprop'`
 * uses tfjs's Conv2DBackpropInput (the reference, and possibly faster for some strided layers).
 */
export function conv2dInputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  xShape: [number, number, number, number],
  strides: Strides,
  pad: Conv2DPad,
  method: 'flipped' | 'backprop' = 'flipped',
): tf.Tensor4D {
  const [sh, sw] = pair(strides);
  if (method === 'backprop') return tf.conv2dTranspose(dy, filter, xShape, [sh, sw], pad);
  const info = tf.backend_util.computeConv2DInfo(xShape, filter.shape, [sh, sw], 1, pad);
  const [kh, kw] = [filter.shape[0], filter.shape[1]];
  const { top, left } = info.padInfo;
  const [hIn, wIn] = [xShape[1], xShape[2]];
  return tf.tidy(() => {
    let d = dilateZeros(dy, sh, sw);
    const [ld, lw] = [d.shape[1], d.shape[2]];
    const padT = kh - 1 - top;
    const padL = kw - 1 - left;
    if (padT < 0 || padL < 0) throw new Error('conv2dInputGradient: padding larger than the filter is unsupported');
    let padB = hIn + top - ld;
    let padR = wIn + left - lw;
    if (padB < 0 || padR < 0) {
      // Trailing outputs that read only padding: drop them (their gradient never reaches x).
      d = tf.slice(d, [0, 0, 0, 0], [-1, ld + Math.min(0, padB), lw + Math.min(0, padR), -1]);
      padB = Math.max(0, padB);
      padR = Math.max(0, padR);
    }
    const explicit: [[number, number], [number, number], [number, number], [number, number]] =
      [[0, 0], [padT, padB], [padL, padR], [0, 0]];
    return tf.conv2d(d, flippedFilter(filter), 1, explicit as unknown as 'valid');
  });
}

export interface FastConvOptions {
  /** Per-output-channel bias [out], added before the activation. */
  bias?: tf.Tensor1D;
  activation?: 'linear' | 'relu';
  /** How to compute the input gradient of strided convolutions (default 'flipped'). */
  stridedGradient?: 'flipped' | 'backprop';
}

/**
 * `activation(conv2d(x, filter, strides, pad) + bias)` (one fused wasm kernel) whose gradient flows to x only;
 * filter and bias are treated as constants. x: [B, H, W, in], filter: [kh, kw, in, out].
 */
export function conv2dWithFastInputGrad(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: Strides,
  pad: Conv2DPad,
  options: FastConvOptions = {},
): tf.Tensor4D {
  const { bias, activation = 'linear', stridedGradient = 'flipped' } = options;
  const s = pair(strides);
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xIn = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    const y: tf.Tensor4D = bias || activation !== 'linear'
      ? tf.fused.conv2d({ x: xIn, filter, strides: s, pad, bias, activation })
      : tf.conv2d(xIn, filter, s, pad);
    if (activation === 'relu') save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const dz = activation === 'relu' ? tf.mul(dy, tf.step(saved[0]!)) as tf.Tensor4D : dy as tf.Tensor4D;
        const method = s[0] === 1 && s[1] === 1 ? 'flipped' : stridedGradient;
        return conv2dInputGradient(dz, filter, xIn.shape, s, pad, method);
      },
    };
  });
  return op(x) as tf.Tensor4D;
}
