/**
 * Convolution and resampling ops for the texture GAN with backward passes that are fast on the wasm backend
 * (see docs/texture-gan.md, "Speed"): tfjs's own Conv2DBackpropInput runs at about an eighth of the forward
 * convolution's speed there, and ResizeNearestNeighborGrad is slow, so
 * - the input gradient of a stride-1 'same' convolution with an odd kernel is the forward convolution of dy
 *   with the spatially flipped, in/out-swapped filter;
 * - nearest ×2 upsampling is a broadcast multiply, whose gradient is a sum.
 */
import { tf } from '../engine/index.js';

/** The input-gradient filter of `w` [kh, kw, in, out]: reversed spatially, transposed to [kh, kw, out, in]. */
export function flipFilter(w: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const r = w.shape[0] === 1 && w.shape[1] === 1 ? w : tf.reverse(w, [0, 1]);
    return tf.transpose(r, [0, 1, 3, 2]) as tf.Tensor4D;
  });
}

function checkKernel(w: tf.Tensor4D): void {
  if (w.shape[0] % 2 !== 1 || w.shape[1] % 2 !== 1) throw new Error(`convSame: kernel ${w.shape[0]}×${w.shape[1]} must be odd`);
}

/**
 * Stride-1 'same' convolution, x [B, H, W, in] * w [kh, kw, in, out], odd kernels, differentiable with respect
 * to both x and w (the filter gradient uses the Conv2DBackpropFilter kernel, on wasm the one in
 * src/engine/kernels/conv2d-backprop-filter.ts).
 */
export function convSame(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  checkKernel(w);
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xi = args[0] as tf.Tensor4D;
    const wi = args[1] as tf.Tensor4D;
    const save = args[2] as tf.GradSaveFunc;
    save([xi, wi]);
    return {
      value: tf.conv2d(xi, wi, 1, 'same'),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dx = tf.tidy(() => tf.conv2d(dy, flipFilter(ws), 1, 'same'));
        const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x: xs, dy }, {
          strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: ws.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
        return [dx, dw];
      },
    };
  });
  return op(x, w) as tf.Tensor4D;
}

/**
 * Stride-1 'same' convolution with a constant filter `w` whose flipped copy `wFlipped` (= flipFilter(w)) the
 * caller keeps: the gradient flows to x only (fitting the latent through a trained generator).
 */
export function convSameConst(x: tf.Tensor4D, w: tf.Tensor4D, wFlipped: tf.Tensor4D): tf.Tensor4D {
  checkKernel(w);
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xi = args[0] as tf.Tensor4D;
    return {
      value: tf.conv2d(xi, w, 1, 'same'),
      gradFunc: (dy: tf.Tensor4D) => tf.conv2d(dy, wFlipped, 1, 'same'),
    };
  });
  return op(x) as tf.Tensor4D;
}

/** Nearest-neighbour ×2 upsampling [B, H, W, C] → [B, 2H, 2W, C] as a broadcast (its gradient is a sum). */
export function upsample2(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => {
    const x5 = tf.reshape(x, [b * h, 1, w, 1, c]);
    const y = tf.mul(x5, tf.ones([1, 2, 1, 2, 1]));
    return tf.reshape(y, [b, 2 * h, 2 * w, c]) as tf.Tensor4D;
  });
}

/**
 * Bilinear ×2 upsampling with half-pixel centres and edge clamping (what tf.image.resizeBilinear with
 * halfPixelCenters computes), written with slices and weighted sums: tfjs's ResizeBilinear gradient ignores
 * halfPixelCenters (the generator's latent gradient disagreed with finite differences by ~30%).
 * Output texel 2i = 0.75·x[i] + 0.25·x[i−1], 2i+1 = 0.75·x[i] + 0.25·x[i+1] along each axis.
 */
export function bilinearUp2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => upAxis(upAxis(x, 1), 2));
}

function upAxis(x: tf.Tensor4D, axis: 1 | 2): tf.Tensor4D {
  const n = x.shape[axis];
  const size = [...x.shape];
  size[axis] = 1;
  const begin = (i: number): number[] => (axis === 1 ? [0, i, 0, 0] : [0, 0, i, 0]);
  const first = tf.slice(x, begin(0), size);
  const last = tf.slice(x, begin(n - 1), size);
  let prev: tf.Tensor = first;
  let next: tf.Tensor = last;
  if (n > 1) {
    const sizeN1 = [...x.shape];
    sizeN1[axis] = n - 1;
    prev = tf.concat([first, tf.slice(x, begin(0), sizeN1)], axis);
    next = tf.concat([tf.slice(x, begin(1), sizeN1), last], axis);
  }
  const x75 = tf.mul(x, 0.75);
  const a = tf.add(x75, tf.mul(prev, 0.25));
  const b = tf.add(x75, tf.mul(next, 0.25));
  const out = [...x.shape];
  out[axis] = 2 * n;
  return tf.reshape(tf.stack([a, b], axis + 1), out) as tf.Tensor4D;
}
