import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.js';
import {
  contentLoss, expressionPrior, identityLoss, landmarkLoss, pixelLoss, shapePrior, texturePrior, totalLoss,
  LOSS_NAMES, type LossWeights,
} from '../../src/losses/terms.js';
import { similarityTransform, warpToChip, squareCropTransform, transformPoints } from '../../src/losses/align.js';
import { checkGradient, rand } from './helpers.js';

before(async () => { await initEngine(); });

const sum = (a: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]!; return s; };

test('identity loss: 1 − cosine, float64 gradient check, 0 for equal embeddings', () => {
  const B = 2, D = 6;
  const ref = rand(B * D, 1);
  const e0 = tf.tensor2d(ref, [B, D]);
  const f64 = (x: Float64Array) => {
    let l = 0;
    for (let b = 0; b < B; b++) {
      let dot = 0, na = 0, nb = 0;
      for (let i = 0; i < D; i++) { const p = ref[b * D + i]!, q = x[b * D + i]!; dot += p * q; na += p * p; nb += q * q; }
      l += 1 - dot / Math.sqrt(na * nb);
    }
    return l / B;
  };
  checkGradient((x) => identityLoss(e0, x), f64, rand(B * D, 2), [B, D]);
  const self = identityLoss(e0, tf.mul(e0, 3));
  assert.ok(Math.abs(self.dataSync()[0]!) < 1e-6);
  tf.dispose([e0, self]);
});

test('content loss: Σ ‖ΔF_j‖₂ / (H_j·W_j·C_j), float64 gradient check', () => {
  const shapes: [number, number, number, number][] = [[2, 3, 3, 2], [2, 2, 2, 3]];
  const refs = shapes.map((s, i) => rand(s.reduce((a, b) => a * b), 10 + i));
  const n0 = refs[0]!.length;
  const targets = { a: tf.tensor4d(refs[0]!, shapes[0]), b: tf.tensor4d(refs[1]!, shapes[1]) };
  const f64 = (x: Float64Array) => {
    let l = 0;
    shapes.forEach(([B, h, w, c], j) => {
      const off = j === 0 ? 0 : n0;
      const per = h * w * c;
      for (let b = 0; b < B; b++) {
        let s2 = 0;
        for (let i = 0; i < per; i++) { const d = x[off + b * per + i]! - refs[j]![b * per + i]!; s2 += d * d; }
        l += Math.sqrt(s2 + 1e-12) / B / per;
      }
    });
    return l;
  };
  const x0 = new Float32Array([...rand(n0, 20), ...rand(refs[1]!.length, 21)]);
  checkGradient((x) => {
    const a = tf.reshape(tf.slice(x, [0], [n0]), shapes[0]) as tf.Tensor4D;
    const b = tf.reshape(tf.slice(x, [n0], [refs[1]!.length]), shapes[1]) as tf.Tensor4D;
    return contentLoss(targets, { a, b }, ['a', 'b']);
  }, f64, x0, [x0.length]);
  tf.dispose(Object.values(targets));
});

test('pixel loss: masked L1, float64 gradient check with respect to the render', () => {
  const shape: [number, number, number, number] = [1, 4, 5, 3];
  const n = 60;
  const photo = rand(n, 30, 0, 1);
  const mask = rand(20, 31, 0, 1);
  const f64 = (x: Float64Array) => {
    let num = 0, den = 0;
    for (let p = 0; p < 20; p++) { den += mask[p]! * 3; for (let c = 0; c < 3; c++) num += mask[p]! * Math.abs(photo[p * 3 + c]! - x[p * 3 + c]!); }
    return num / (den + 1e-8);
  };
  const ph = tf.tensor4d(photo, shape);
  const m = tf.tensor4d(mask, [1, 4, 5, 1]);
  checkGradient((x) => pixelLoss(ph, x as tf.Tensor4D, m), f64, rand(n, 32, 0, 1), shape);
  tf.dispose([ph, m]);
});

test('landmark loss: weighted squared error / face size², float64 gradient check', () => {
  const N = 6;
  const det = rand(N * 2, 40, 20, 80);
  const w = [1, 0.5, 1, 2, 1, 0.25];
  const f64 = (x: Float64Array) => {
    let minx = Infinity, maxx = -Infinity, miny = Infinity, maxy = -Infinity;
    for (let i = 0; i < N; i++) { minx = Math.min(minx, det[2 * i]!); maxx = Math.max(maxx, det[2 * i]!); miny = Math.min(miny, det[2 * i + 1]!); maxy = Math.max(maxy, det[2 * i + 1]!); }
    let s = 0;
    for (let i = 0; i < N; i++) s += w[i]! * ((x[2 * i]! - det[2 * i]!) ** 2 + (x[2 * i + 1]! - det[2 * i + 1]!) ** 2);
    return s / (sum(w) * (maxx - minx) * (maxy - miny));
  };
  const d = tf.tensor3d(det, [1, N, 2]);
  checkGradient((x) => landmarkLoss(x, d, w), f64, rand(N * 2, 41, 20, 80), [1, N, 2]);
  d.dispose();
});

test('priors: shape, expression (with the [0, 1] wall) and texture, float64 gradient checks', () => {
  const sq = (x: Float64Array) => { let s = 0; for (const v of x) s += v * v; return s; };
  checkGradient((x) => shapePrior(x), sq, rand(10, 50, -2, 2), [10]);
  checkGradient((x) => texturePrior(x), sq, rand(16, 51, -2, 2), [16]);
  const e0 = new Float32Array([-0.3, 0.2, 0.5, 1.4, 0.9, -0.05]);
  checkGradient((x) => expressionPrior(x, 10), (x) => {
    let s = 0;
    for (const v of x) s += v * v + 10 * (Math.max(0, -v) ** 2 + Math.max(0, v - 1) ** 2);
    return s;
  }, e0, [6]);
});

test('totalLoss is the weighted sum over the weighted terms', () => {
  const terms = Object.fromEntries(LOSS_NAMES.map((n, i) => [n, tf.scalar(i + 1)])) as Record<(typeof LOSS_NAMES)[number], tf.Scalar>;
  const weights = Object.fromEntries(LOSS_NAMES.map((n, i) => [n, i % 2 ? 0 : 0.5 * i])) as LossWeights;
  const total = totalLoss(terms, weights).dataSync()[0]!;
  let expect = 0;
  LOSS_NAMES.forEach((n, i) => { expect += weights[n] * (i + 1); });
  assert.ok(Math.abs(total - expect) < 1e-5);
  tf.dispose(Object.values(terms));
});

test('similarityTransform recovers a known similarity and its gradient matches float64 differences', () => {
  const src = rand(10, 60, 0, 100);
  const [a, b, tx, ty] = [0.8, 0.3, 5, -7];
  const dst = new Float32Array(10);
  for (let i = 0; i < 5; i++) { dst[2 * i] = a * src[2 * i]! - b * src[2 * i + 1]! + tx; dst[2 * i + 1] = b * src[2 * i]! + a * src[2 * i + 1]! + ty; }
  const p = similarityTransform(tf.tensor3d(src, [1, 5, 2]), tf.tensor2d(dst, [5, 2])).dataSync();
  [a, b, tx, ty].forEach((v, i) => assert.ok(Math.abs(p[i]! - v) < 1e-3, `param ${i}: ${p[i]} vs ${v}`));
  // Gradient of a weighted sum of the parameters with respect to the source points (noisy target).
  const target = rand(10, 61, 0, 100);
  const coef = [3, -2, 0.01, 0.02];
  const f64 = (x: Float64Array) => {
    let mx = 0, my = 0, mu = 0, mv = 0;
    for (let i = 0; i < 5; i++) { mx += x[2 * i]! / 5; my += x[2 * i + 1]! / 5; mu += target[2 * i]! / 5; mv += target[2 * i + 1]! / 5; }
    let den = 0, na = 0, nb = 0;
    for (let i = 0; i < 5; i++) {
      const sx = x[2 * i]! - mx, sy = x[2 * i + 1]! - my, u = target[2 * i]! - mu, v = target[2 * i + 1]! - mv;
      den += sx * sx + sy * sy; na += sx * u + sy * v; nb += sx * v - sy * u;
    }
    const A = na / den, B = nb / den;
    return coef[0]! * A + coef[1]! * B + coef[2]! * (mu - (A * mx - B * my)) + coef[3]! * (mv - (B * mx + A * my));
  };
  const tgt = tf.tensor2d(target, [5, 2]);
  const c = tf.tensor1d(coef);
  checkGradient((x) => tf.sum(tf.mul(similarityTransform(x as tf.Tensor3D, tgt), c)) as tf.Scalar, f64, src, [1, 5, 2], 2e-3);
  tf.dispose([tgt, c]);
});

/** float64 mirror of warpToChip for one image [H, W, C] with transform (a, b, tx, ty). */
function warp64(img: Float64Array, H: number, W: number, C: number, t: ArrayLike<number>, size: number): Float64Array {
  const [a, b, tx, ty] = [t[0]!, t[1]!, t[2]!, t[3]!];
  const inv = 1 / (a * a + b * b);
  const out = new Float64Array(size * size * C);
  for (let j = 0; j < size; j++) for (let i = 0; i < size; i++) {
    const dx = i - tx, dy = j - ty;
    const px = Math.min(W - 1, Math.max(0, (a * dx + b * dy) * inv));
    const py = Math.min(H - 1, Math.max(0, (a * dy - b * dx) * inv));
    const x0 = Math.floor(px), y0 = Math.floor(py), x1 = Math.min(x0 + 1, W - 1), y1 = Math.min(y0 + 1, H - 1);
    const wx = px - x0, wy = py - y0;
    for (let c = 0; c < C; c++) {
      const v = (y: number, x: number) => img[(y * W + x) * C + c]!;
      out[(j * size + i) * C + c] = (1 - wy) * ((1 - wx) * v(y0, x0) + wx * v(y0, x1)) + wy * ((1 - wx) * v(y1, x0) + wx * v(y1, x1));
    }
  }
  return out;
}

test('warpToChip: bilinear warp matches float64 and its gradients (image and transform) match differences', () => {
  const [H, W, C, S] = [8, 9, 2, 5];
  const img = rand(H * W * C, 70, 0, 1);
  const tr = [1.1, 0.2, -2.3, -1.7]; // chip ← image; the chip's samples stay inside the image
  const weights = rand(S * S * C, 71);
  const dot = (v: Float64Array) => { let s = 0; for (let i = 0; i < v.length; i++) s += v[i]! * weights[i]!; return s; };
  const wT = tf.tensor4d(weights, [1, S, S, C]);
  const trT = tf.tensor2d([tr]);
  checkGradient((x) => tf.sum(tf.mul(warpToChip(x as tf.Tensor4D, trT, S), wT)) as tf.Scalar,
    (x) => dot(warp64(x, H, W, C, tr, S)), img, [1, H, W, C]);
  const imgT = tf.tensor4d(img, [1, H, W, C]);
  checkGradient((t) => tf.sum(tf.mul(warpToChip(imgT, t as tf.Tensor2D, S), wT)) as tf.Scalar,
    (t) => dot(warp64(Float64Array.from(img), H, W, C, t, S)), new Float32Array(tr), [1, 4], 2e-3);
  tf.dispose([wT, trT, imgT]);
});

test('squareCropTransform maps the crop square onto the chip and transformPoints agrees', () => {
  const t = squareCropTransform(125, 125, 110);
  const p = transformPoints(tf.tensor3d([[[70, 70], [180, 180], [125, 125]]]), t).dataSync();
  assert.ok(Math.abs(p[4]! - 74.5) < 1e-4 && Math.abs(p[5]! - 74.5) < 1e-4);
  assert.ok(Math.abs(p[2]! - p[0]! - 150) < 1e-3);
  t.dispose();
});

test('losses forward + backward leak no tensors', () => {
  const render = tf.tensor4d(rand(48, 80, 0, 1), [1, 4, 4, 3]);
  const photo = tf.tensor4d(rand(48, 81, 0, 1), [1, 4, 4, 3]);
  const mask = tf.ones([1, 4, 4, 1]);
  const e0 = tf.tensor2d(rand(8, 82), [1, 8]);
  const g = tf.grad((r: tf.Tensor) => tf.addN([
    pixelLoss(photo, r as tf.Tensor4D, mask), shapePrior(r), expressionPrior(r),
    identityLoss(e0, tf.reshape(tf.slice(tf.reshape(r, [-1]), [0], [8]), [1, 8])),
  ]) as tf.Scalar);
  g(render).dispose();
  const n = tf.memory().numTensors;
  g(render).dispose();
  assert.equal(tf.memory().numTensors, n);
  tf.dispose([render, photo, mask, e0]);
});
