/** The landmark stage on exact synthetic correspondences: known pose, shape and camera come back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFaceModel } from '../../src/model/load.js';
import { landmarkPositions } from '../../src/model/mesh.js';
import { fitLandmarks, defaultLandmarkFitConfig } from '../../src/fit/landmark-fit.js';
import { solveSpd } from '../../src/engine/linalg.js';
import { modelToCamera64, projectToPixels64, rotationFromPose, axisAngleFromRotation } from '../../src/render/camera.js';

const model = await loadFaceModel();
const W = 450, H = 450;

/** 68 landmarks of a head with the given pose (AFLW signs) and identity, 60 cm from a camera of focal 1.2·W. */
function synthetic(pose: { yaw: number; pitch: number; roll: number }, identity: number[] = []) {
  const rotation = axisAngleFromRotation(rotationFromPose(pose));
  const camera = { kind: 'perspective' as const, rotation, translation: [1, -2, 60], focal: 1.2 * W };
  const pts = landmarkPositions(model, { identity, expression: [] }, model.landmarks.landmarks68);
  return Array.from(projectToPixels64(modelToCamera64(pts, camera), camera, [H, W]));
}

test('solveSpd solves a symmetric positive-definite system and refuses an indefinite one', () => {
  const a = new Float64Array([4, 1, 0, 1, 3, 1, 0, 1, 2]);
  const x = solveSpd(a, new Float64Array([1, 2, 3]), 3)!;
  const back = [4 * x[0] + x[1], x[0] + 3 * x[1] + x[2], x[1] + 2 * x[2]];
  back.forEach((v, i) => assert.ok(Math.abs(v - [1, 2, 3][i]) < 1e-12));
  assert.equal(solveSpd(new Float64Array([1, 2, 2, 1]), new Float64Array([1, 1]), 2), null);
});

test('frontal and turned heads: pose within 1.5°, reprojection under half a pixel', () => {
  for (const pose of [{ yaw: 0, pitch: 0, roll: 0 }, { yaw: 35, pitch: -10, roll: 8 }, { yaw: -50, pitch: 12, roll: -5 }]) {
    const lm = synthetic(pose, [1, -0.5, 0.8]);
    const r = fitLandmarks(model, { landmarks: lm, width: W, height: H }, { ...defaultLandmarkFitConfig, contour: false, identityPrior: 1e-3, expressionPrior: 1e-3 });
    for (const k of ['yaw', 'pitch', 'roll'] as const) assert.ok(Math.abs(r.pose[k] - pose[k]) < 1.5, `${k}: ${r.pose[k]} vs ${pose[k]}`);
    let err = 0;
    for (let i = 0; i < 136; i++) err = Math.max(err, Math.abs(r.landmarks2d[i] - lm[i]));
    assert.ok(err < 0.5, `max landmark error ${err.toFixed(2)} px`);
    assert.ok(r.rmsPixels < 0.5, `rms ${r.rmsPixels}`);
  }
});

test('deterministic: the same input gives the same output', () => {
  const lm = synthetic({ yaw: 20, pitch: 5, roll: 0 });
  const a = fitLandmarks(model, { landmarks: lm, width: W, height: H });
  const b = fitLandmarks(model, { landmarks: lm, width: W, height: H });
  assert.deepEqual(Array.from(a.identity), Array.from(b.identity));
  assert.deepEqual(a.camera, b.camera);
});

test('the jaw of the side turned away slides to the silhouette; the near side keeps its vertices', () => {
  // yaw > 0 turns the face to the image left: the subject's right (points 0–7) turns away.
  const lm = synthetic({ yaw: 45, pitch: 0, roll: 0 });
  const r = fitLandmarks(model, { landmarks: lm, width: W, height: H });
  const lm68 = model.landmarks.landmarks68;
  const moved = [0, 1, 2, 3, 4, 5, 6, 7].filter((k) => r.correspondence[k] !== lm68[k]).length;
  assert.ok(moved >= 3, `${moved} far-side jaw points slid`);
  for (let k = 9; k <= 16; k++) assert.equal(r.correspondence[k], lm68[k], `near-side point ${k} fixed`);
});

test('wrong landmark count is refused', () => {
  assert.throws(() => fitLandmarks(model, { landmarks: [1, 2, 3], width: W, height: H }), /68×2/);
});
