/**
 * conv2d whose backward pass computes only the input gradient, as a forward convolution with the spatially
 * flipped, in/out-transposed filter (cached per weight tensor). For networks whose weights are constants (the
 * recognition net in the losses): backward never asks for Conv2DBackpropFilter, and the forward-conv path is
 * several times faster than tfjs's Conv2DBackpropInput on wasm.
 *
 * Strided convolutions use a sub-pixel convolution (s² phase filters, then depthToSpace) when the input has few
 * channels, else the zero-dilated upstream gradient; Conv2DBackpropInput is slower in both cases (bench/losses.ts).
 */
import { tf } from '../index.js';

export type Conv2DPad = 'same' | 'valid' | number;
export type Strides = number | [number, number];

/** Caches keyed by the filter tensor object (entries go with it when it is garbage-collected). */
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

/** Drop (and dispose) the cached flipped and sub-pixel copies of `filter`, if any. */
export function releaseFlippedFilter(filter: tf.Tensor4D): void {
  const key = filter;
  flippedCache.get(key)?.dispose();
  flippedCache.delete(key);
  for (const t of subpixelCache.get(key)?.values() ?? []) t.dispose();
  subpixelCache.delete(key);
}

const subpixelCache = new WeakMap<tf.Tensor4D, Map<number, tf.Tensor4D>>();

/**
 * For stride s, the s² phase filters of the input gradient packed along the output channels:
 * F[jh, jw, co, (ph·s + pw)·Cin + ci] = W[s(M−1−jh) + ph, s(M−1−jw) + pw, ci, co] (0 outside the filter), with
 * M = ceil(K / s), so that `depthToSpace(conv(dy padded by M − 1, F), s)` is the gradient (sub-pixel
 * convolution: no multiplications with the zeros of a dilated dy). Cached per filter tensor and stride.
 */
export function subpixelFilter(filter: tf.Tensor4D, s: number): tf.Tensor4D {
  const key = filter;
  let perStride = subpixelCache.get(key);
  const cached = perStride?.get(s);
  if (cached && !cached.isDisposed) return cached;
  const [kh, kw, cin, cout] = filter.shape;
  const mh = Math.ceil(kh / s);
  const mw = Math.ceil(kw / s);
  const w = filter.dataSync();
  const cOut = s * s * cin;
  const f = new Float32Array(mh * mw * cout * cOut);
  for (let jh = 0; jh < mh; jh++) for (let jw = 0; jw < mw; jw++) for (let ph = 0; ph < s; ph++) for (let pw = 0; pw < s; pw++) {
    const y = s * (mh - 1 - jh) + ph;
    const x = s * (mw - 1 - jw) + pw;
    if (y >= kh || x >= kw) continue;
    for (let ci = 0; ci < cin; ci++) for (let co = 0; co < cout; co++) {
      f[((jh * mw + jw) * cout + co) * cOut + (ph * s + pw) * cin + ci] = w[((y * kw + x) * cin + ci) * cout + co]!;
    }
  }
  const t = tf.keep(tf.tensor4d(f, [mh, mw, cout, cOut]));
  if (!perStride) subpixelCache.set(key, (perStride = new Map()));
  perStride.set(s, t);
  return t;
}

function subpixelInputGradient(
  dy: tf.Tensor4D, filter: tf.Tensor4D, xShape: [number, number, number, number], s: number, top: number, left: number,
): tf.Tensor4D {
  const [kh, kw] = [filter.shape[0], filter.shape[1]];
  const [mh, mw] = [Math.ceil(kh / s), Math.ceil(kw / s)];
  const [hIn, wIn] = [xShape[1], xShape[2]];
  const [ho, wo] = [dy.shape[1], dy.shape[2]];
  const ah = Math.ceil((hIn + top) / s);
  const aw = Math.ceil((wIn + left) / s);
  return tf.tidy((): tf.Tensor4D => {
    let d = dy;
    if (ah < ho || aw < wo) d = tf.slice(d, [0, 0, 0, 0], [-1, Math.min(ho, ah), Math.min(wo, aw), -1]);
    const explicit = [[0, 0], [mh - 1, Math.max(0, ah - ho)], [mw - 1, Math.max(0, aw - wo)], [0, 0]];
    const phases = tf.conv2d(d, subpixelFilter(filter, s), 1, explicit as unknown as 'valid');
    const full = tf.depthToSpace(phases, s);
    return tf.slice(full, [0, top, left, 0], [-1, hIn, wIn, -1]) as tf.Tensor4D;
  });
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
 * How the input gradient is computed: `flipped` = forward conv of dy (zero-dilated when strided) with the cached
 * flipped filter; `subpixel` = same as flipped for stride 1, and for equal strides s > 1 one conv of the
 * undilated dy with s² cached phase filters followed by depthToSpace; `backprop` = tfjs's
 * Conv2DBackpropInput (the reference).
 */
export type InputGradientMethod = 'flipped' | 'subpixel' | 'backprop';

/**
 * The default for strided layers: sub-pixel when the gradient has few channels (the image-facing first layer:
 * k7/2, 3 channels, 12 ms vs 38 ms flipped and 35 ms Conv2DBackpropInput), flipped otherwise (k3/2, 32 channels:
 * 3.2 ms vs 4.7 ms sub-pixel and 7.5 ms Conv2DBackpropInput); bench/losses.ts, wasm, one shared core.
 */
export function defaultStridedMethod(inChannels: number): InputGradientMethod {
  return inChannels < 16 ? 'subpixel' : 'flipped';
}

/**
 * Gradient of `conv2d(x, filter, strides, pad)` with respect to x (x of shape `xShape`), given the upstream
 * gradient dy [B, Ho, Wo, out]. Dilation 1 only.
 */
export function conv2dInputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  xShape: [number, number, number, number],
  strides: Strides,
  pad: Conv2DPad,
  method: InputGradientMethod = 'subpixel',
): tf.Tensor4D {
  const [sh, sw] = pair(strides);
  if (method === 'backprop') return tf.conv2dTranspose(dy, filter, xShape, [sh, sw], pad);
  const info = tf.backend_util.computeConv2DInfo(xShape, filter.shape, [sh, sw], 1, pad);
  const [kh, kw] = [filter.shape[0], filter.shape[1]];
  const { top, left } = info.padInfo;
  if (method === 'subpixel' && sh === sw && sh > 1) return subpixelInputGradient(dy, filter, xShape, sh, top, left);
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
  /** How to compute the input gradient of strided convolutions (default: `defaultStridedMethod`). */
  stridedGradient?: InputGradientMethod;
}

/**
 * `activation(conv2d(x, filter, strides, pad) + bias)` (one fused wasm kernel) whose gradient flows to x only;
 * filter and bias are treated as constants. x: [B, H, W, in], filter: [kh, kw, in, out]. The filter must outlive
 * the backward pass (long-lived weights, not tensors created inside the differentiated function); its flipped /
 * sub-pixel copies are cached (see `releaseFlippedFilter`).
 */
export function conv2dWithFastInputGrad(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: Strides,
  pad: Conv2DPad,
  options: FastConvOptions = {},
): tf.Tensor4D {
  const { bias, activation = 'linear', stridedGradient = defaultStridedMethod(x.shape[3]) } = options;
  const s = pair(strides);
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xIn = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    // The FusedConv2D kernel is called directly: tf.fused.conv2d refuses to fuse a relu while a gradient is
    // being recorded (it wants the pre-activation for its own gradient), which this op does not need.
    const y = bias || activation !== 'linear'
      ? tf.engine().runKernel('FusedConv2D', bias ? { x: xIn, filter, bias } : { x: xIn, filter }, {
        strides: s, pad, dataFormat: 'NHWC', dilations: [1, 1], activation,
      } as unknown as tf.NamedAttrMap) as tf.Tensor4D
      : tf.conv2d(xIn, filter, s, pad);
    if (activation === 'relu') save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        if (filter.isDisposed) {
          throw new Error('conv2dWithFastInputGrad: filter disposed before backward (create weights outside the differentiated function)');
        }
        const dz = activation === 'relu' ? tf.mul(dy, tf.step(saved[0]!)) as tf.Tensor4D : dy as tf.Tensor4D;
        const method = s[0] === 1 && s[1] === 1 ? 'flipped' : stridedGradient;
        return conv2dInputGradient(dz, filter, xIn.shape, s, pad, method);
      },
    };
  });
  return op(x) as tf.Tensor4D;
}
