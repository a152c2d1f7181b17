import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.js';
import { Rng } from '../../src/texture/random.js';

type Pad = 'same' | 'valid' | number;

/** Plain float64 conv2d (NHWC, dilation 1) → Σ y·g, the scalar whose filter gradient the kernel computes. */
function convDot(x: Float64Array, xs: number[], w: Float64Array, ws: number[], g: Float64Array, s: number, pad: Pad): number {
  const info = tf.backend_util.computeConv2DInfo(xs as [number, number, number, number], ws as [number, number, number, number], s, 1, pad);
  const [b, h, wd, c] = xs as [number, number, number, number];
  const [kh, kw, , o] = ws as [number, number, number, number];
  let total = 0;
  for (let n = 0; n < b; n++) for (let y = 0; y < info.outHeight; y++) for (let xx = 0; xx < info.outWidth; xx++) {
    for (let oc = 0; oc < o; oc++) {
      let acc = 0;
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
        const iy = y * s + i - info.padInfo.top;
        const ix = xx * s + j - info.padInfo.left;
        if (iy < 0 || ix < 0 || iy >= h || ix >= wd) continue;
        for (let ci = 0; ci < c; ci++) acc += x[((n * h + iy) * wd + ix) * c + ci]! * w[((i * kw + j) * c + ci) * o + oc]!;
      }
      total += acc * g[((n * info.outHeight + y) * info.outWidth + xx) * o + oc]!;
    }
  }
  return total;
}

const cases: { xs: number[]; ws: number[]; s: number; pad: Pad }[] = [
  { xs: [2, 7, 6, 3], ws: [3, 3, 3, 4], s: 1, pad: 'same' },
  { xs: [2, 9, 7, 3], ws: [3, 2, 3, 4], s: 2, pad: 'valid' },
  { xs: [1, 8, 8, 2], ws: [4, 4, 2, 3], s: 2, pad: 'same' },
  { xs: [2, 6, 5, 2], ws: [3, 3, 2, 2], s: 1, pad: 1 },
  { xs: [3, 5, 5, 4], ws: [1, 1, 4, 5], s: 1, pad: 'valid' },
];

function runKernel(x: tf.Tensor, dy: tf.Tensor, ws: number[], s: number, pad: Pad): Float32Array {
  const out = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides: [s, s], pad, dataFormat: 'NHWC', filterShape: ws,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const v = out.dataSync() as Float32Array;
  out.dispose();
  return v;
}

test('wasm Conv2DBackpropFilter matches the cpu backend and float64 finite differences', async () => {
  await initEngine();
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'kernel registered on wasm');
  const rng = new Rng(11);
  for (const { xs, ws, s, pad } of cases) {
    const info = tf.backend_util.computeConv2DInfo(xs as [number, number, number, number], ws as [number, number, number, number], s, 1, pad);
    const dys = [xs[0]!, info.outHeight, info.outWidth, ws[3]!];
    const xv = rng.normals(xs.reduce((a, b) => a * b, 1));
    const gv = rng.normals(dys.reduce((a, b) => a * b, 1));
    await initEngine();
    const before = tf.memory().numTensors;
    const x = tf.tensor(xv, xs);
    const dy = tf.tensor(gv, dys);
    const mine = runKernel(x, dy, ws, s, pad);
    tf.dispose([x, dy]);
    assert.equal(tf.memory().numTensors, before, 'kernel leaks no tensors');
    await initEngine({ backend: 'cpu' });
    const xc = tf.tensor(xv, xs);
    const dyc = tf.tensor(gv, dys);
    const ref = runKernel(xc, dyc, ws, s, pad);
    tf.dispose([xc, dyc]);
    await initEngine();
    for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(ref[i]! - mine[i]!) < 1e-4 * (1 + Math.abs(ref[i]!)), `cpu ${ref[i]} vs wasm ${mine[i]} at ${i} (${JSON.stringify({ xs, ws, s, pad })})`);
    // Central differences of Σ conv(x, w)·dy with respect to w (linear in w: exact up to rounding).
    const x64 = Float64Array.from(xv);
    const g64 = Float64Array.from(gv);
    const w64 = Float64Array.from(rng.normals(ws.reduce((a, b) => a * b, 1)));
    for (let k = 0; k < w64.length; k += Math.max(1, Math.floor(w64.length / 12))) {
      const h = 1e-3;
      const w0 = w64[k]!;
      w64[k] = w0 + h;
      const fp = convDot(x64, xs, w64, ws, g64, s, pad);
      w64[k] = w0 - h;
      const fm = convDot(x64, xs, w64, ws, g64, s, pad);
      w64[k] = w0;
      const fd = (fp - fm) / (2 * h);
      assert.ok(Math.abs(fd - mine[k]!) < 1e-4 * (1 + Math.abs(fd)), `finite difference ${fd} vs kernel ${mine[k]} at ${k}`);
    }
  }
});

test('tf.grad of conv2d with respect to the filter works on wasm', async () => {
  await initEngine();
  const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 4) as tf.Tensor4D;
  const g = tf.grad((ww: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, ww as tf.Tensor4D, 2, 'same'))))(w);
  assert.deepEqual(g.shape, [3, 3, 3, 4]);
  assert.ok(Number.isFinite(g.sum().dataSync()[0]!));
  tf.dispose([x, w, g]);
});
