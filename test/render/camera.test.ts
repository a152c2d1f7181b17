import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.js';
import {
  modelToCamera, modelToCamera64, projectToPixels, projectToPixels64, toClip, rotationMatrix, rotationMatrix64,
  rotationFromPose, poseFromRotation, axisAngleFromRotation, affineBlocks64, affineBlocksBackward64, rotationMatrixBackward64, type Camera64,
} from '../../src/render/camera.js';
import { checkGradient, dot, rng, randomArray } from './helpers.js';

const RES = [120, 160] as const; // H, W

function nosePixel(pose: { yaw: number; pitch: number; roll: number }, point = [0, 0, 10]): Float64Array {
  const r = axisAngleFromRotation(rotationFromPose(pose));
  const cam: Camera64 = { kind: 'perspective', rotation: r, translation: [0, 0, 60], focal: 300 };
  return projectToPixels64(modelToCamera64(point, cam), cam, RES);
}

test('frontal camera: +x model → image right, +y model → image up, principal point at the image centre', () => {
  const cam: Camera64 = { kind: 'perspective', rotation: [0, 0, 0], translation: [0, 0, 50], focal: 100 };
  const px = projectToPixels64(modelToCamera64([0, 0, 0, 5, 0, 0, 0, 5, 0], cam), cam, RES);
  assert.deepEqual(Array.from(px.slice(0, 2)), [(160 - 1) / 2, (120 - 1) / 2]);
  assert.ok(px[2] > px[0]);
  assert.ok(px[5] < px[1]);
});

test('pose signs: yaw > 0 turns the nose to image left, pitch > 0 up, roll > 0 clockwise', () => {
  const c = nosePixel({ yaw: 0, pitch: 0, roll: 0 });
  assert.ok(nosePixel({ yaw: 20, pitch: 0, roll: 0 })[0] < c[0] - 5, 'yaw');
  assert.ok(nosePixel({ yaw: 0, pitch: 20, roll: 0 })[1] < c[1] - 5, 'pitch');
  // Clockwise in the image (y down): a point above the centre moves right.
  const top0 = nosePixel({ yaw: 0, pitch: 0, roll: 0 }, [0, 8, 0]), top = nosePixel({ yaw: 0, pitch: 0, roll: 20 }, [0, 8, 0]);
  assert.ok(top[0] > top0[0] + 5 && top[1] > top0[1], 'roll');
  // Rotating the model about +y moves the nose to image right, i.e. yaw is minus that rotation.
  const cam: Camera64 = { kind: 'perspective', rotation: [0, 0.3, 0], translation: [0, 0, 60], focal: 300 };
  assert.ok(projectToPixels64(modelToCamera64([0, 0, 10], cam), cam, RES)[0] > c[0]);
  assert.ok(poseFromRotation(rotationMatrix64([0, 0.3, 0])).yaw < 0);
});

test('poseFromRotation inverts rotationFromPose; axis-angle round trip', () => {
  const r = rng(7);
  for (let i = 0; i < 200; i++) {
    const pose = { yaw: (r() - 0.5) * 170, pitch: (r() - 0.5) * 170, roll: (r() - 0.5) * 340 };
    const back = poseFromRotation(rotationFromPose(pose));
    for (const k of ['yaw', 'pitch', 'roll'] as const) assert.ok(Math.abs(back[k] - pose[k]) < 1e-9, `${k}: ${back[k]} vs ${pose[k]}`);
    const m = rotationFromPose(pose);
    const m2 = rotationMatrix64(axisAngleFromRotation(m));
    for (let k = 0; k < 9; k++) assert.ok(Math.abs(m[k] - m2[k]) < 1e-9);
  }
  const single = rotationFromPose({ yaw: 30, pitch: 0, roll: 0 });
  const ry = rotationMatrix64([0, (-30 * Math.PI) / 180, 0]);
  for (let k = 0; k < 9; k++) assert.ok(Math.abs(single[k] - ry[k]) < 1e-12);
});

test('tf camera functions match the float64 twins; toClip puts pixel centres at the documented NDC', async () => {
  await initEngine({ backend: 'cpu' });
  const r = rng(3);
  const pts = randomArray(30, r, -8, 8);
  for (const cam of [
    { kind: 'perspective' as const, rotation: [0.3, -0.2, 0.1], translation: [1, -2, 50], focal: 240, principal: [70, 65] },
    { kind: 'orthographic' as const, rotation: [-0.1, 0.5, 0.2], translation: [1, 2, 50], scale: 6 },
  ]) {
    const p = tf.tensor2d(Float32Array.from(pts), [10, 3]);
    const camT = modelToCamera(p, cam);
    const px = projectToPixels(camT, cam, RES).dataSync();
    const clip = toClip(camT, cam, RES).dataSync();
    const px64 = projectToPixels64(modelToCamera64(pts, cam), cam, RES);
    for (let i = 0; i < 10; i++) {
      for (let k = 0; k < 2; k++) assert.ok(Math.abs(px[2 * i + k] - px64[2 * i + k]) < 2e-3, 'pixels');
      // NDC of pixel coordinate x is (2x + 1)/W − 1.
      assert.ok(Math.abs(clip[4 * i] / clip[4 * i + 3] - ((2 * px64[2 * i] + 1) / RES[1] - 1)) < 1e-4, 'ndc x');
      assert.ok(Math.abs(clip[4 * i + 1] / clip[4 * i + 3] - ((2 * px64[2 * i + 1] + 1) / RES[0] - 1)) < 1e-4, 'ndc y');
      const zn = clip[4 * i + 2] / clip[4 * i + 3];
      assert.ok(zn > -1 && zn < 1);
    }
  }
  const R = rotationMatrix([0.4, -1.1, 2.0]).dataSync(), R64 = rotationMatrix64([0.4, -1.1, 2.0]);
  for (let k = 0; k < 9; k++) assert.ok(Math.abs(R[k] - R64[k]) < 1e-6);
});

test('camera gradients (tf autodiff, cpu) match float64 finite differences of the twin', async () => {
  await initEngine({ backend: 'cpu' });
  const r = rng(11);
  const pts = randomArray(15, r, -8, 8), w = randomArray(10, r);
  const base = { rot: [0.2, -0.3, 0.15], tr: [0.5, -1, 45], focal: 300, pp: [81, 58] };
  const f64 = (x: Float64Array) => {
    const cam: Camera64 = { kind: 'perspective', rotation: x.slice(0, 3), translation: x.slice(3, 6), focal: x[6], principal: x.slice(7, 9) };
    const px = projectToPixels64(modelToCamera64(x.slice(9), cam), cam, RES);
    let s = 0;
    for (let i = 0; i < 10; i++) s += w[i] * px[i];
    return s;
  };
  const x = new Float64Array([...base.rot, ...base.tr, base.focal, ...base.pp, ...pts]);
  const grads = tf.grads((rot: tf.Tensor, tr: tf.Tensor, f: tf.Tensor, pp: tf.Tensor, p: tf.Tensor) => {
    const cam = { kind: 'perspective' as const, rotation: rot as tf.Tensor1D, translation: tr as tf.Tensor1D, focal: f as tf.Scalar, principal: pp as tf.Tensor1D };
    return tf.sum(tf.mul(projectToPixels(modelToCamera(p as tf.Tensor2D, cam), cam, RES), tf.tensor2d(Float32Array.from(w), [5, 2])));
  })([tf.tensor1d(base.rot), tf.tensor1d(base.tr), tf.scalar(base.focal), tf.tensor1d(base.pp), tf.tensor2d(Float32Array.from(pts), [5, 3])]);
  const an = grads.flatMap((g) => Array.from(g.dataSync()));
  // float32 autodiff against float64 differences: relative 2e-3 covers float32 rounding of values ~300.
  checkGradient(f64, x, an, { h: 1e-5, rtol: 2e-3, atol: 2e-3, label: 'camera' });
});

test('affine camera blocks: equal toClip(modelToCamera) on points; float64 gradient check of their backward w.r.t. every camera parameter', async () => {
  await initEngine({ backend: 'cpu' });
  const r = rng(21);
  const pts = randomArray(30, r, -8, 8);
  const cams: Camera64[] = [
    { kind: 'perspective', rotation: [0.3, -0.2, 0.1], translation: [1, -2, 50], focal: 240, principal: [70, 65], near: 2 },
    { kind: 'perspective', rotation: [0, 0, 0], translation: [0, 0, 40], focal: 200 },
    { kind: 'perspective', rotation: [2e-4, -1e-3, 5e-4], translation: [0, 1, 40], focal: 200 },
    { kind: 'orthographic', rotation: [-0.1, 0.5, 0.2], translation: [1, 2, 50], scale: 6, principal: [80, 50], near: 10, far: 200 },
  ];
  for (const cam of cams) {
    const { cam: qc, clip: qk } = affineBlocks64(cam, RES);
    const camT = modelToCamera(tf.tensor2d(Float32Array.from(pts), [10, 3]), cam);
    const ref = [camT.dataSync(), toClip(camT, cam, RES).dataSync()];
    [[qc, 3], [qk, 4]].forEach(([q, k], m) => {
      for (let i = 0; i < 10; i++) {
        for (let c = 0; c < (k as number); c++) {
          const K = k as number, Q = q as Float64Array;
          const v = Q[c] + pts[3 * i] * Q[K + c] + pts[3 * i + 1] * Q[2 * K + c] + pts[3 * i + 2] * Q[3 * K + c];
          assert.ok(Math.abs(v - ref[m][i * K + c]) < 2e-4 * Math.max(1, Math.abs(v)), `${cam.kind} block ${m} point ${i}.${c}: ${v} vs ${ref[m][i * K + c]}`);
        }
      }
    });
    // Backward: L = <wc, camBlock> + <wk, clipBlock> as a function of (rotation, translation, focal|scale, principal).
    const wc = randomArray(12, r), wk = randomArray(16, r);
    const scaleOf = (c: Camera64) => (c.kind === 'perspective' ? c.focal : c.scale);
    const pp = cam.principal ?? [(RES[1] - 1) / 2, (RES[0] - 1) / 2];
    const x = new Float64Array([...Array.from(cam.rotation), ...Array.from(cam.translation), scaleOf(cam), ...Array.from(pp)]);
    const loss = (v: Float64Array) => {
      const c = { ...cam, rotation: v.slice(0, 3), translation: v.slice(3, 6), principal: v.slice(7, 9), ...(cam.kind === 'perspective' ? { focal: v[6] } : { scale: v[6] }) } as Camera64;
      const b = affineBlocks64(c, RES);
      return dot(wc, b.cam) + dot(wk, b.clip);
    };
    const g = affineBlocksBackward64(cam, RES, wc, wk);
    checkGradient(loss, x, [...g.rotation, ...g.translation, g.focal, ...g.principal], { rtol: 1e-6, atol: 1e-8, label: `${cam.kind} blocks` });
  }
  // Rodrigues backward on its own, across the series switch (|r|² = 1e-4) and at larger angles.
  for (const rot of [[0.3, -1.2, 2.1], [0.006, -0.007, 0.004], [0.0071, 0.0071, 0], [0, 0, 0]]) {
    const gR = randomArray(9, r);
    checkGradient((v) => dot(gR, rotationMatrix64(v)), Float64Array.from(rot), rotationMatrixBackward64(rot, gR), { rtol: 1e-6, atol: 1e-8, label: `rodrigues ${rot}` });
  }
});
