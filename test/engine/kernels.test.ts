import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.js';
import {
  conv2dInputGradient, conv2dWithFastInputGrad, releaseFlippedFilter, type Conv2DPad, type InputGradientMethod,
} from '../../src/engine/kernels/conv2d-fast-input-grad.js';

/** Deterministic pseudo-random values in [−1, 1). */
function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
function t4(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.tensor4d(rand(shape.reduce((a, b) => a * b), seed), shape);
}
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Run `f` on the wasm backend and on the cpu reference; return both outputs as arrays. */
async function onBoth(f: () => tf.Tensor): Promise<[Float32Array, Float32Array]> {
  await initEngine({ backend: 'wasm' });
  const w = tf.tidy(f);
  const wasm = (await w.data()) as Float32Array;
  w.dispose();
  await initEngine({ backend: 'cpu' });
  const c = tf.tidy(f);
  const cpu = (await c.data()) as Float32Array;
  c.dispose();
  await initEngine({ backend: 'wasm' });
  return [wasm, cpu];
}

test('depthwise backprop fallbacks on wasm match the cpu backend', async () => {
  await initEngine({ backend: 'wasm' });
  for (const [stride, pad] of [[1, 'same'], [2, 'same'], [2, 'valid']] as const) {
    const x = () => t4([2, 9, 8, 3], 1);
    const w = () => t4([3, 3, 3, 2], 2);
    const dyShape = tf.tidy(() => tf.depthwiseConv2d(x(), w(), stride, pad).shape) as [number, number, number, number];
    const [a, b] = await onBoth(() => tf.grad((xx: tf.Tensor) =>
      tf.sum(tf.mul(tf.depthwiseConv2d(xx as tf.Tensor4D, w(), stride, pad), t4(dyShape, 3))))(x()));
    assert.ok(maxAbsDiff(a, b) < 1e-5, `input gradient ${stride} ${pad}: ${maxAbsDiff(a, b)}`);
    const [c, d] = await onBoth(() => tf.grad((ww: tf.Tensor) =>
      tf.sum(tf.mul(tf.depthwiseConv2d(x(), ww as tf.Tensor4D, stride, pad), t4(dyShape, 3))))(w()));
    assert.ok(maxAbsDiff(c, d) < 1e-4, `filter gradient ${stride} ${pad}: ${maxAbsDiff(c, d)}`);
  }
});

test('UnsortedSegmentSum fallback (gather gradient) on wasm matches the cpu backend', async () => {
  const [a, b] = await onBoth(() => tf.grad((p: tf.Tensor) =>
    tf.sum(tf.mul(tf.gather(p, tf.tensor1d([0, 3, 3, 1, 4, 0, 2], 'int32')), tf.tensor2d(rand(14, 9), [7, 2]))))(
    tf.tensor2d(rand(10, 4), [5, 2])));
  assert.ok(maxAbsDiff(a, b) < 1e-6);
});

const CASES: [number, number, number, number, number, Conv2DPad][] = [
  // [size, kernel, stride, in, out, pad]
  [9, 3, 1, 3, 4, 'same'], [9, 3, 2, 3, 4, 'same'], [10, 3, 2, 3, 4, 'same'], [9, 3, 2, 3, 4, 'valid'],
  [10, 3, 2, 2, 3, 'valid'], [15, 7, 2, 3, 4, 'valid'], [11, 5, 3, 2, 3, 'same'], [4, 3, 2, 4, 4, 'valid'],
  [8, 2, 2, 2, 3, 'valid'], [7, 1, 1, 3, 2, 'valid'],
];

test('conv2dInputGradient (every method, wasm) matches Conv2DBackpropInput on the cpu backend', async () => {
  for (const [h, k, s, ci, co, pad] of CASES) {
    const xShape: [number, number, number, number] = [2, h, h + 1, ci];
    const w = () => t4([k, k, ci, co], 11);
    const yShape = tf.tidy(() => tf.conv2d(tf.zeros(xShape) as tf.Tensor4D, w(), s, pad).shape) as [number, number, number, number];
    await initEngine({ backend: 'cpu' });
    const ref = tf.tidy(() => tf.conv2dTranspose(t4(yShape, 12), w(), xShape, s, pad));
    const refData = ref.dataSync().slice();
    ref.dispose();
    await initEngine({ backend: 'wasm' });
    for (const m of ['flipped', 'subpixel', 'backprop'] as InputGradientMethod[]) {
      const g = tf.tidy(() => conv2dInputGradient(t4(yShape, 12), w(), xShape, s, pad, m));
      const d = maxAbsDiff(g.dataSync(), refData);
      g.dispose();
      assert.ok(d < 1e-5, `${m} size ${h} k${k} s${s} ${pad}: ${d}`);
    }
  }
});

/** float64 plain-JS conv2d (NHWC, batch 1 assumed by the caller's loops), for finite differences. */
function conv64(x: Float64Array, xs: number[], w: Float64Array, ws: number[], s: number, top: number, left: number, ho: number, wo: number): Float64Array {
  const [, H, W, C] = xs as [number, number, number, number];
  const [K, L, , O] = ws as [number, number, number, number];
  const y = new Float64Array(ho * wo * O);
  for (let oy = 0; oy < ho; oy++) for (let ox = 0; ox < wo; ox++) for (let o = 0; o < O; o++) {
    let acc = 0;
    for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < L; kx++) {
      const iy = oy * s + ky - top;
      const ix = ox * s + kx - left;
      if (iy < 0 || ix < 0 || iy >= H || ix >= W) continue;
      for (let c = 0; c < C; c++) acc += x[(iy * W + ix) * C + c]! * w[((ky * L + kx) * C + c) * O + o]!;
    }
    y[(oy * wo + ox) * O + o] = acc;
  }
  return y;
}

test('conv2dWithFastInputGrad: gradient of ⟨r, relu(conv + b)⟩ matches float64 finite differences', async () => {
  await initEngine({ backend: 'wasm' });
  for (const [h, k, s, ci, co, pad] of [[7, 3, 1, 2, 3, 'same'], [8, 3, 2, 2, 3, 'valid'], [9, 5, 2, 2, 2, 'same']] as const) {
    const xShape: [number, number, number, number] = [1, h, h, ci];
    const xv = rand(h * h * ci, 21);
    const wv = rand(k * k * ci * co, 22);
    const bv = rand(co, 23);
    const info = tf.backend_util.computeConv2DInfo(xShape, [k, k, ci, co], [s, s], 1, pad);
    const { outHeight: ho, outWidth: wo } = info;
    const rv = rand(ho * wo * co, 24);
    const loss64 = (x: Float64Array) => {
      const y = conv64(x, xShape, Float64Array.from(wv), [k, k, ci, co], s, info.padInfo.top, info.padInfo.left, ho, wo);
      let l = 0;
      for (let i = 0; i < y.length; i++) l += rv[i]! * Math.max(0, y[i]! + bv[i % co]!);
      return l;
    };
    const filter = tf.tensor4d(wv, [k, k, ci, co]);
    const bias = tf.tensor1d(bv);
    const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(conv2dWithFastInputGrad(x as tf.Tensor4D,
      filter, s, pad, { bias, activation: 'relu' }), tf.tensor4d(rv, [1, ho, wo, co]))))(tf.tensor4d(xv, xShape)));
    const gd = g.dataSync();
    releaseFlippedFilter(filter);
    tf.dispose([g, filter, bias]);
    const x64 = Float64Array.from(xv);
    const eps = 1e-6;
    let worst = 0;
    for (let i = 0; i < x64.length; i++) {
      const keep = x64[i]!;
      x64[i] = keep + eps; const lp = loss64(x64);
      x64[i] = keep - eps; const lm = loss64(x64);
      x64[i] = keep;
      worst = Math.max(worst, Math.abs((lp - lm) / (2 * eps) - gd[i]!));
    }
    // float32 gradient vs float64 central differences (relu kinks are measure-zero for these values): sums of
    // ≤ 50 products of O(1) terms in float32 carry ~1e-6 relative error.
    assert.ok(worst < 1e-4, `h${h} k${k} s${s} ${pad}: ${worst}`);
  }
});

test('conv2dWithFastInputGrad backward never asks for Conv2DBackpropFilter and leaks nothing', async () => {
  await initEngine({ backend: 'wasm' });
  const w = t4([3, 3, 4, 8], 31);
  const b = tf.tensor1d(rand(8, 32));
  const w2 = tf.tensor4d(rand(9 * 4 * 8, 3), [3, 3, 8, 4]);
  const x = t4([1, 12, 12, 4], 33);
  const f = (xx: tf.Tensor) => tf.sum(conv2dWithFastInputGrad(
    conv2dWithFastInputGrad(xx as tf.Tensor4D, w, 2, 'same', { bias: b, activation: 'relu' }), w2, 1, 'same'));
  tf.grad(f)(x).dispose(); // warm-up: fills the filter caches
  const before = tf.memory().numTensors;
  const info = await tf.profile(() => { tf.grad(f)(x).dispose(); });
  assert.equal(tf.memory().numTensors, before);
  const names = new Set(info.kernels.map((k) => k.name));
  assert.ok(!names.has('Conv2DBackpropFilter'), [...names].join(','));
  tf.dispose([w, w2, b, x]);
});
