import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.js';
import { loadFaceModel } from '../../src/model/load.js';
import { modelPositions, landmarkPositions } from '../../src/model/mesh.js';
import { toTensors, vertexPositions, disposeTensors } from '../../src/model/tensor-model.js';

test('tensor model equals the typed-array model (whole mesh and a vertex subset), with gradients', async () => {
  await initEngine();
  const m = await loadFaceModel();
  const identity = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i * 1.7) * 1.5);
  const expression = Float32Array.from({ length: 53 }, (_, i) => (i % 3 === 0 ? (i % 7) / 7 : 0));
  const expected = modelPositions(m, { identity, expression });
  const before = tf.memory().numTensors;

  const full = toTensors(m);
  const pos = vertexPositions(full, tf.tensor1d(identity), tf.tensor1d(expression));
  assert.deepEqual(pos.shape, [m.vertexCount, 3]);
  const got = pos.dataSync();
  let err = 0;
  for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - expected[i]));
  assert.ok(err < 1e-4, `full-mesh difference ${err}`);
  tf.dispose(pos);
  disposeTensors(full);

  const idx = m.landmarks.landmarks68;
  const sub = toTensors(m, idx);
  // Fewer identity coefficients than modes: the first 40 are used.
  const id40 = identity.slice(0, 40);
  const subPos = vertexPositions(sub, tf.tensor1d(id40), tf.tensor1d(expression));
  const ref = landmarkPositions(m, { identity: id40, expression }, idx);
  const subGot = subPos.dataSync();
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(subGot[i] - ref[i]) < 1e-4);
  tf.dispose(subPos);

  // d(sum of y)/d(identity_k) = sum over the subset of mode k's y deltas.
  const grad = tf.grad((x: tf.Tensor) => vertexPositions(sub, x as tf.Tensor1D, tf.zeros([53]) as tf.Tensor1D).slice([0, 1], [-1, 1]).sum());
  const g = grad(tf.tensor1d(id40)).dataSync();
  const S = m.vertexCount * 3;
  for (const k of [0, 17, 39]) {
    let s = 0;
    for (const v of idx) s += m.identityBasis[k * S + 3 * v + 1];
    assert.ok(Math.abs(g[k] - s) < 1e-4, `gradient ${k}: ${g[k]} vs ${s}`);
  }
  disposeTensors(sub);
  // Only the tensors created inline above may remain (the inputs and the gradient); the model's are freed.
  assert.ok(tf.memory().numTensors - before <= 8, `leaked ${tf.memory().numTensors - before} tensors`);
  assert.throws(() => toTensors(m, [m.vertexCount]), /out of range/);
});
