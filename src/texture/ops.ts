/**
 * Convolution and resampling ops for the texture GAN with backward passes that are fast on the wasm backend
 * (see docs/texture-gan.md, "Speed"): tfjs's own Conv2DBackpropInput runs at about an eighth of the forward
 * convolution's speed there, and ResizeNearestNeighborGrad is slow, so
 * - the input gradient of a stride-1 'same' convolution with an odd kernel is the forward convolution of dy
 *   with the spatially flipped, in/out-swapped filter;
 * - nearest ×2 upsampling gets a 2×2 sum (average pool) as its gradient.
 */
import { tf } from '../engine/index.js';

/**
 * The input-gradient filter of `w` [kh, kw, in, out]: reversed spatially, transposed to [kh, kw, out, in].
 * Rearranged in JS: wasm's Reverse kernel takes ~10× longer for a 3×3×128×128 filter.
 */
export function flipFilter(w: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, ci, co] = w.shape;
  const src = w.dataSync();
  const out = new Float32Array(src.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const from = (y * kw + x) * ci * co;
      const to = ((kh - 1 - y) * kw + (kw - 1 - x)) * ci * co;
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) out[to + o * ci + i] = src[from + i * co + o]!;
    }
  }
  return tf.tensor4d(out, [kh, kw, co, ci]);
}

/**
 * `w` [n, m] transposed in JS (wasm's 2-D Transpose and transposed matMuls are slow at these sizes). Output
 * order (sequential writes, strided reads): for a 128 × 49 152 matrix 2–4× faster than input order.
 */
export function transposeMatrix(w: tf.Tensor2D): tf.Tensor2D {
  const [n, m] = w.shape;
  const src = w.dataSync();
  const out = new Float32Array(src.length);
  for (let j = 0; j < m; j++) for (let i = 0; i < n; i++) out[j * n + i] = src[i * m + j]!;
  return tf.tensor2d(out, [m, n]);
}

/**
 * Dense layer x [B, n] · w [n, m] + b [m], differentiable with respect to all three. Its gradient uses plain
 * matMuls on explicitly transposed operands: wasm's matMul with transposeA / transposeB ran 10–20× slower than
 * the forward product in the discriminator's 2048×128 layer.
 */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor): tf.Tensor2D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, wi, bi] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    save([xi, wi]);
    return {
      value: tf.add(tf.matMul(xi, wi), bi) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => tf.tidy(() => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        // dx = dy·wᵀ, transposing the smaller operand: (w·dyᵀ)ᵀ when dy is smaller than w (the 128 × 49 152
        // linear path: ~85 against ~460 ms at batch 32).
        const dx = dy.size < ws.size ? transposeMatrix(tf.matMul(ws, transposeMatrix(dy))) : tf.matMul(dy, transposeMatrix(ws));
        return [dx, tf.matMul(transposeMatrix(xs), dy), tf.sum(dy, 0)];
      }),
    };
  });
  return op(x, w, b) as tf.Tensor2D;
}

/**
 * x [B, n] · w [n, m] with a constant w (the PCA basis): the gradient flows to x only, as dy · wᵀ with the
 * transpose that `wT()` supplies (made once by the caller and kept; wasm's matMul with transposeB ran ~12×
 * slower than the plain product for the 128 × 196 608 basis of a 256² PCA model).
 */
export function matMulConst(x: tf.Tensor2D, w: tf.Tensor2D, wT: () => tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: tf.matMul(args[0] as tf.Tensor2D, w) as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor2D) => tf.matMul(dy, wT()),
  }));
  return op(x) as tf.Tensor2D;
}

/**
 * The [to, from] matrix of 1-D linear interpolation with half-pixel centres and edge clamping (what
 * tf.image.resizeBilinear(…, alignCorners false, halfPixelCenters true) does along one axis): output sample i
 * reads the input at (i + ½)·from/to − ½.
 */
function interpolationMatrix(to: number, from: number): Float32Array {
  const a = new Float32Array(to * from);
  for (let i = 0; i < to; i++) {
    const x = Math.min(from - 1, Math.max(0, ((i + 0.5) * from) / to - 0.5));
    const i0 = Math.floor(x);
    const i1 = Math.min(from - 1, i0 + 1);
    const f = x - i0;
    a[i * from + i0]! += 1 - f;
    a[i * from + i1]! += f;
  }
  return a;
}

/**
 * Linear interpolation along one axis of x as M · x (axis moved first by `perm`, back by `inv`), with the
 * gradient Mᵀ · dy through an explicitly transposed matrix (no transposeA matMul, ~9× slower on wasm).
 */
function interpolateAxis(x: tf.Tensor4D, to: number, perm: number[], inv: number[]): tf.Tensor4D {
  const from = x.shape[perm[0]!]!;
  const m = interpolationMatrix(to, from);
  const mt = new Float32Array(m.length);
  for (let i = 0; i < to; i++) for (let j = 0; j < from; j++) mt[j * to + i] = m[i * from + j]!;
  const apply = (t: tf.Tensor, mat: Float32Array, rows: number, cols: number): tf.Tensor => tf.tidy(() => {
    const moved = tf.transpose(t, perm);
    const rest = moved.shape.slice(1);
    const y = tf.matMul(tf.tensor2d(mat, [rows, cols]), tf.reshape(moved, [cols, -1]));
    return tf.transpose(tf.reshape(y, [rows, ...rest]), inv);
  });
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: apply(args[0] as tf.Tensor, m, to, from),
    gradFunc: (dy: tf.Tensor) => apply(dy, mt, from, to),
  }));
  return op(x) as tf.Tensor4D;
}

/**
 * Bilinear resampling of maps [B, h, w, C] to [B, r, r, C] with half-pixel centres and edge clamping (equal to
 * tf.image.resizeBilinear(x, [r, r], false, true)), any ratio up or down, as one interpolation matrix product
 * per axis, so its gradient is exact (tfjs's ResizeBilinear gradient ignores half-pixel centres) and fast on
 * wasm. Returns x itself when it is already r×r.
 */
export function resampleBilinear(x: tf.Tensor4D, r: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (h === r && w === r) return x;
  return tf.tidy(() => {
    const rows = h === r ? x : interpolateAxis(x, r, [1, 0, 2, 3], [1, 0, 2, 3]);
    return w === r ? rows : interpolateAxis(rows, r, [2, 0, 1, 3], [1, 2, 0, 3]);
  });
}

/** 2×2 average pooling, stride 2, whose gradient is a nearest ×2 upsampling / 4 (wasm's AvgPoolGrad is slow). */
export function avgPool2(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: tf.avgPool(args[0] as tf.Tensor4D, 2, 2, 'valid'),
    gradFunc: (dy: tf.Tensor4D) => tf.tidy(() => tf.mul(tf.image.resizeNearestNeighbor(dy, [h, w]), 0.25)),
  }));
  return op(x) as tf.Tensor4D;
}

/**
 * Maps [B, h, h, C] area-averaged down to [B, r, r, C]: 2×2 average pools while the size halves exactly onto r,
 * bilinear resampling for what remains (none for power-of-two ratios); differentiable. x itself when h = r.
 */
export function downsampleTo(x: tf.Tensor4D, r: number): tf.Tensor4D {
  if (x.shape[1] === r) return x;
  return tf.tidy(() => {
    let y = x;
    while (y.shape[1] >= 2 * r && y.shape[1] % 2 === 0) y = avgPool2(y);
    return resampleBilinear(y, r);
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

/**
 * Nearest-neighbour ×2 upsampling [B, H, W, C] → [B, 2H, 2W, C]: the ResizeNearestNeighbor kernel forward, and
 * as gradient the 2×2 sum (an average pool × 4; tfjs's ResizeNearestNeighborGrad is slow on wasm).
 */
export function upsample2(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xi = args[0] as tf.Tensor4D;
    return {
      value: tf.image.resizeNearestNeighbor(xi, [2 * h, 2 * w]),
      gradFunc: (dy: tf.Tensor4D) => tf.tidy(() => tf.mul(tf.avgPool(dy, 2, 2, 'valid'), 4)),
    };
  });
  return op(x) as tf.Tensor4D;
}

/**
 * Bilinear ×2 upsampling with half-pixel centres and edge clamping (what tf.image.resizeBilinear with
 * halfPixelCenters computes), as nearest ×2 followed by the separable [1, 2, 1]/4 blur:
 *   out[2i] = ¼·x[i−1] + ¾·x[i],  out[2i+1] = ¾·x[i] + ¼·x[i+1].
 * Edge clamping is the blur normalised by its sum of in-image weights. Written this way because tfjs's
 * ResizeBilinear gradient ignores halfPixelCenters (the generator's latent gradient was ~30% off), and the
 * slice/stack/concat formulations have gradients (Unpack, SplitV) that take seconds on wasm.
 */
export function bilinearUp2(x: tf.Tensor4D): tf.Tensor4D {
  return blur121(upsample2(x));
}

/** Per-channel 3×3 [1,2,1]⊗[1,2,1]/16 kernel [3, 3, C, C] (diagonal in channels, symmetric: its own flip). */
function blurKernel(c: number): tf.Tensor4D {
  const k = new Float32Array(9 * c * c);
  const t = [0.25, 0.5, 0.25];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let ch = 0; ch < c; ch++) k[((i * 3 + j) * c + ch) * c + ch] = t[i]! * t[j]!;
  return tf.tensor4d(k, [3, 3, c, c]);
}

/** 1 / (sum of the blur's in-image weights) per texel, [1, H, W, 1]: 1 inside, 4/3 on edges, 16/9 at corners. */
function edgeNorm(h: number, w: number): tf.Tensor4D {
  const v = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    const fy = y === 0 || y === h - 1 ? 0.75 : 1;
    for (let x = 0; x < w; x++) v[y * w + x] = 1 / (fy * (x === 0 || x === w - 1 ? 0.75 : 1));
  }
  return tf.tensor4d(v, [1, h, w, 1]);
}

/** The edge-normalised [1,2,1]/4 blur; its own adjoint up to the normalisation, so the gradient is another blur. */
function blur121(u: tf.Tensor4D): tf.Tensor4D {
  const [, h, w, c] = u.shape;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const ui = args[0] as tf.Tensor4D;
    return {
      value: tf.tidy(() => tf.mul(tf.conv2d(ui, blurKernel(c), 1, 'same'), edgeNorm(h, w)) as tf.Tensor4D),
      gradFunc: (dy: tf.Tensor4D) => tf.tidy(() => tf.conv2d(tf.mul(dy, edgeNorm(h, w)) as tf.Tensor4D, blurKernel(c), 1, 'same')),
    };
  });
  return op(u) as tf.Tensor4D;
}

/**
 * `act(conv2d(x, w, 'same') + b)` with a constant w, b (one FusedConv2D kernel), act = leaky ReLU (0.2) or
 * linear; the gradient flows to x only, through the cached flipped filter `wFlipped`. The fitting path of a
 * loaded generator: fewer kernels per layer than conv + add + leakyRelu, forward and backward.
 */
export function convBiasActConst(
  x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor, wFlipped: tf.Tensor4D, activation: 'leakyrelu' | 'linear',
): tf.Tensor4D {
  checkKernel(w);
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xi = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    const y = tf.engine().runKernel('FusedConv2D', { x: xi, filter: w, bias: b }, {
      strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], activation, leakyreluAlpha: 0.2,
    } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
    if (activation === 'leakyrelu') save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => tf.tidy(() => {
        const dz = activation === 'leakyrelu' ? tf.mul(dy, tf.add(tf.mul(tf.step(saved[0]!), 0.8), 0.2)) as tf.Tensor4D : dy;
        return tf.conv2d(dz, wFlipped, 1, 'same');
      }),
    };
  });
  return op(x) as tf.Tensor4D;
}
