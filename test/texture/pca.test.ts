import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.js';
import { fitPcaTextureModel, type UvSource } from '../../src/texture/pca.js';
import { symmetricEigen } from '../../src/engine/linalg.js';
import { sampleTextures } from '../../src/texture/gan.js';
import { Rng } from '../../src/texture/random.js';

/** Maps made from 3 known directions plus small noise, so the PCA answer is known. */
function syntheticSource(n: number, r: number): { source: UvSource; data: Float64Array[] } {
  const rng = new Rng(4);
  const d = r * r * 3;
  const dirs = [0, 1, 2].map(() => rng.normals(d));
  const data: Float64Array[] = [];
  for (let k = 0; k < n; k++) {
    const a = [0.3 * rng.normal(), 0.15 * rng.normal(), 0.05 * rng.normal()];
    const v = new Float64Array(d);
    for (let i = 0; i < d; i++) v[i] = 0.1 + a[0]! * dirs[0]![i]! * 0.1 + a[1]! * dirs[1]![i]! * 0.1 + a[2]! * dirs[2]![i]! * 0.1 + 0.001 * rng.normal();
    data.push(v);
  }
  const source: UvSource = {
    resolution: r, size: n,
    async load(idx) {
      const flat = new Float32Array(idx.length * d);
      idx.forEach((k, b) => flat.set(data[k]!, b * d));
      return { images: tf.tensor4d(flat, [idx.length, r, r, 3]), masks: tf.ones([idx.length, r, r, 1]) as tf.Tensor4D };
    },
  };
  return { source, data };
}

test('symmetricEigen decomposes a known matrix', () => {
  const a = new Float64Array([4, 1, 0, 1, 3, 0, 0, 0, 1]);
  const { values, vectors } = symmetricEigen(a, 3);
  for (let j = 0; j < 3; j++) {
    for (let i = 0; i < 3; i++) {
      let av = 0;
      for (let k = 0; k < 3; k++) av += a[i * 3 + k]! * vectors[k * 3 + j]!;
      assert.ok(Math.abs(av - values[j]! * vectors[i * 3 + j]!) < 1e-10);
    }
  }
  assert.ok(values[0]! >= values[1]! && values[1]! >= values[2]!);
});

test('PCA texture model: matches the exact covariance spectrum, mean at z = 0, same interface as the GAN', async () => {
  await initEngine();
  const n = 40;
  const r = 8;
  const { source, data } = syntheticSource(n, r);
  const before = tf.memory().numTensors;
  const model = await fitPcaTextureModel(source, { latentSize: 4, batchSize: 7, iterations: 3 });
  assert.equal(tf.memory().numTensors, before + 2, 'only the model tensors remain');
  // Exact spectrum from the n×n Gram matrix in float64.
  const d = r * r * 3;
  const mean = new Float64Array(d);
  for (const v of data) for (let i = 0; i < d; i++) mean[i]! += v[i]! / n;
  const gram = new Float64Array(n * n);
  for (let a = 0; a < n; a++) for (let b = 0; b <= a; b++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += (data[a]![i]! - mean[i]!) * (data[b]![i]! - mean[i]!);
    gram[a * n + b] = gram[b * n + a] = s / (n - 1);
  }
  const exact = symmetricEigen(gram, n).values;
  for (let j = 0; j < 3; j++) {
    const s = model.sigma[j]!;
    assert.ok(Math.abs(s - Math.sqrt(exact[j]!)) < 0.01 * Math.sqrt(exact[j]!), `σ${j} ${s} vs ${Math.sqrt(exact[j]!)}`);
  }
  const z0 = tf.zeros([1, 4]) as tf.Tensor2D;
  const atMean = model.generate(z0);
  z0.dispose();
  const m = atMean.dataSync();
  for (let i = 0; i < d; i++) assert.ok(Math.abs(m[i]! - Math.min(1, Math.max(0, mean[i]! * 0.5 + 0.5))) < 1e-5);
  atMean.dispose();
  const s = sampleTextures(model, 3, 1);
  assert.equal(s.maps.length, 3);
  assert.equal(s.maps[0]!.length, d);
  model.dispose();
  assert.equal(tf.memory().numTensors, before);
});
