import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignPoints } from '../../src/eval/synth/align.js';
import { symmetricEigen } from '../../src/engine/linalg.js';
import { angleError, quantile, rotationError, summarize } from '../../src/eval/synth/evaluate.js';
import { axisAngleFromRotation, rotationFromPose, rotationMatrix64 } from '../../src/render/camera.js';
import { Rng } from '../../src/eval/synth/random.js';

function cloud(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: 3 * n }, () => 10 * rng.normal());
}

function transform(p: Float64Array, R: ArrayLike<number>, s: number, t: number[]): Float64Array {
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i += 3) {
    for (let r = 0; r < 3; r++) out[i + r] = s * (R[3 * r] * p[i] + R[3 * r + 1] * p[i + 1] + R[3 * r + 2] * p[i + 2]) + t[r];
  }
  return out;
}

test('symmetric eigen-solver: A·v = λ·v for every pair', () => {
  const a = [4, 1, -2, 0.5, 1, 3, 0, 1, -2, 0, 5, 2, 0.5, 1, 2, -1];
  const { values, vectors } = symmetricEigen(a, 4);
  for (let k = 0; k < 4; k++) {
    for (let r = 0; r < 4; r++) {
      let av = 0;
      for (let c = 0; c < 4; c++) av += a[4 * r + c] * vectors[4 * c + k];
      assert.ok(Math.abs(av - values[k] * vectors[4 * r + k]) < 1e-10);
    }
  }
});

test('rigid alignment recovers a known rotation and translation exactly (including 170°)', () => {
  const src = cloud(50, 1);
  for (const pose of [{ yaw: 30, pitch: -20, roll: 10 }, { yaw: 170, pitch: 5, roll: -40 }]) {
    const R = rotationFromPose(pose);
    const dst = transform(src, R, 1, [3, -7, 55]);
    const a = alignPoints(src, dst);
    assert.ok(a.meanDistance < 1e-9, `mean ${a.meanDistance}`);
    assert.equal(a.scale, 1);
    R.forEach((v, i) => assert.ok(Math.abs(v - a.rotation[i]) < 1e-9));
    assert.ok(Math.abs(a.translation[2] - 55) < 1e-9);
  }
});

test('similarity alignment recovers the scale; rigid alignment does not rescale', () => {
  const src = cloud(40, 2);
  const dst = transform(src, rotationFromPose({ yaw: -50, pitch: 10, roll: 5 }), 1.3, [1, 2, 3]);
  const sim = alignPoints(src, dst, { similarity: true });
  assert.ok(Math.abs(sim.scale - 1.3) < 1e-9);
  assert.ok(sim.meanDistance < 1e-9);
  const rigid = alignPoints(src, dst);
  assert.equal(rigid.scale, 1);
  assert.ok(rigid.meanDistance > 1, 'a 30 % size difference shows in the rigid error');
});

test('a mirrored cloud is not matched by a reflection: the result is a proper rotation', () => {
  const src = cloud(30, 3);
  const dst = src.map((v, i) => (i % 3 === 0 ? -v : v));
  const { rotation: R, meanDistance } = alignPoints(src, dst);
  const det = R[0] * (R[4] * R[8] - R[5] * R[7]) - R[1] * (R[3] * R[8] - R[5] * R[6]) + R[2] * (R[3] * R[7] - R[4] * R[6]);
  assert.ok(Math.abs(det - 1) < 1e-9);
  assert.ok(meanDistance > 1);
});

test('alignment over an index subset ignores the other points; noise gives the expected error', () => {
  const src = cloud(100, 4);
  const dst = transform(src, rotationFromPose({ yaw: 10, pitch: 0, roll: 0 }), 1, [0, 0, 0]);
  for (let i = 150; i < 300; i++) dst[i] += 50; // points 50..99 moved away
  const indices = Uint32Array.from({ length: 50 }, (_, i) => i);
  assert.ok(alignPoints(src, dst, { indices }).meanDistance < 1e-9);
  const rng = new Rng(9);
  const noisy = dst.slice(0, 150).map((v) => v + 0.1 * rng.normal());
  const e = alignPoints(src.slice(0, 150), noisy).rmsDistance;
  assert.ok(e > 0.12 && e < 0.2, `rms ${e} for σ = 0.1 per axis (expected ≈ 0.17)`);
});

test('angle helpers: wrapping, geodesic rotation error, quantiles', () => {
  assert.equal(angleError(179, -179), 2);
  assert.equal(angleError(-10, 10), 20);
  const a = axisAngleFromRotation(rotationFromPose({ yaw: 20, pitch: 0, roll: 0 }));
  const b = axisAngleFromRotation(rotationFromPose({ yaw: 27, pitch: 0, roll: 0 }));
  assert.ok(Math.abs(rotationError(a, b) - 7) < 1e-9);
  assert.ok(rotationError(a, a) < 1e-6);
  assert.ok(rotationMatrix64(a).length === 9);
  assert.equal(quantile([3, 1, 2], 0.5), 2);
  assert.equal(quantile([0, 10], 0.9), 9);
  const s = summarize([1, 2, NaN, 3]);
  assert.deepEqual([s.count, s.mean, s.median], [3, 2, 2]);
});
