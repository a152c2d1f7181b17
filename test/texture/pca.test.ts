import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.js';
import { fitPcaTextureModel, type UvSource } from '../../src/texture/pca.js';
import { symmetricEigen } from '../../src/engine/linalg.js';
import { sampleTextures } from '../../src/texture/gan.js';
import { Rng } from '../../src/texture/random.js';

/** Maps made from known directions (these amplitudes) plus small noise, so the PCA answer is known. */
function syntheticSource(n: number, r: number, amplitudes = [0.3, 0.15, 0.05], noise = 0.001): { source: UvSource; data: Float64Array[] } {
  const rng = new Rng(4);
  const d = r * r * 3;
  const dirs = amplitudes.map(() => rng.normals(d));
  const data: Float64Array[] = [];
  for (let k = 0; k < n; k++) {
    const a = amplitudes.map((s) => s * rng.normal());
    const v = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let x = 0.1 + noise * rng.normal();
      for (let c = 0; c < a.length; c++) x += a[c]! * dirs[c]![i]! * 0.1;
      v[i] = x;
    }
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

/** The exact covariance spectrum (descending variances) of the maps, from the n×n Gram matrix in float64. */
function exactSpectrum(data: Float64Array[]): { mean: Float64Array; variances: Float64Array } {
  const n = data.length;
  const d = data[0]!.length;
  const mean = new Float64Array(d);
  for (const v of data) for (let i = 0; i < d; i++) mean[i]! += v[i]! / n;
  const gram = new Float64Array(n * n);
  for (let a = 0; a < n; a++) for (let b = 0; b <= a; b++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += (data[a]![i]! - mean[i]!) * (data[b]![i]! - mean[i]!);
    gram[a * n + b] = gram[b * n + a] = s / (n - 1);
  }
  return { mean, variances: symmetricEigen(gram, n).values };
}

test('PCA: components whose variance is far below the first one\'s are kept (float64 orthonormalisation)', async () => {
  await initEngine();
  // σ ratios down to 1/400, variances down to 6·10⁻⁶ of the first: a Gram-matrix orthonormalisation in float32
  // lost the last two.
  const { source, data } = syntheticSource(60, 8, [1, 0.1, 0.01, 0.0025], 1e-6);
  const model = await fitPcaTextureModel(source, { latentSize: 4, batchSize: 16, iterations: 4 });
  const { variances } = exactSpectrum(data);
  for (let j = 0; j < 4; j++) {
    const want = Math.sqrt(variances[j]!);
    assert.ok(Math.abs(model.sigma[j]! - want) < 0.02 * want, `σ${j} ${model.sigma[j]} vs ${want}`);
  }
  model.dispose();
});

test('PCA texture model: matches the exact covariance spectrum, mean at z = 0, same interface as the GAN', async () => {
  await initEngine();
  const n = 40;
  const r = 8;
  const { source, data } = syntheticSource(n, r);
  const before = tf.memory().numTensors;
  const model = await fitPcaTextureModel(source, { latentSize: 4, batchSize: 7, iterations: 3 });
  assert.equal(tf.memory().numTensors, before + 2, 'only the model tensors remain');
  const d = r * r * 3;
  const { mean, variances: exact } = exactSpectrum(data);
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

test('PCA with missing: \'em\' models the seen texels of partly unseen maps; the classical fit models the fill', async () => {
  await initEngine();
  const r = 8;
  const d = r * r * 3;
  const { data } = syntheticSource(80, r, [0.3, 0.15, 0.05], 1e-4);
  // Each map misses a random 40 % of its texels, filled with a constant as a dataset's crude fill would.
  const rng = new Rng(9);
  const seen = data.map(() => Float32Array.from({ length: r * r }, () => (rng.next() < 0.6 ? 1 : 0)));
  const source: UvSource = {
    resolution: r, size: data.length,
    async load(idx) {
      const flat = new Float32Array(idx.length * d);
      idx.forEach((k, b) => {
        for (let j = 0; j < d; j++) flat[b * d + j] = seen[k]![Math.floor(j / 3)] ? data[k]![j]! : 0.5;
      });
      const masks = new Float32Array(idx.length * r * r);
      idx.forEach((k, b) => masks.set(seen[k]!, b * r * r));
      return { images: tf.tensor4d(flat, [idx.length, r, r, 3]), masks: tf.tensor4d(masks, [idx.length, r, r, 1]) };
    },
  };
  /** RMS over maps of the least-squares fit of each map's seen texels by the model (mean + basisᵀ·z). */
  const seenFitRms = (mean: Float32Array, basis: Float32Array, k: number): number => {
    let se = 0;
    let count = 0;
    data.forEach((x, m) => {
      const rows: number[] = [];
      for (let j = 0; j < d; j++) if (seen[m]![Math.floor(j / 3)]) rows.push(j);
      const a = new Float64Array(k * k);
      const b = new Float64Array(k);
      for (const j of rows) for (let p = 0; p < k; p++) {
        b[p]! += basis[p * d + j]! * (x[j]! - mean[j]!);
        for (let q = 0; q < k; q++) a[p * k + q]! += basis[p * d + j]! * basis[q * d + j]!;
      }
      const { values, vectors } = symmetricEigen(a, k); // z = A⁻¹b through the eigen-decomposition
      const z = new Float64Array(k);
      for (let e = 0; e < k; e++) {
        if (values[e]! < 1e-12) continue;
        let dot = 0;
        for (let p = 0; p < k; p++) dot += vectors[p * k + e]! * b[p]!;
        for (let p = 0; p < k; p++) z[p]! += vectors[p * k + e]! * dot / values[e]!;
      }
      for (const j of rows) {
        let v = mean[j]!;
        for (let p = 0; p < k; p++) v += basis[p * d + j]! * z[p]!;
        se += (x[j]! - v) ** 2;
        count++;
      }
    });
    return Math.sqrt(se / count);
  };
  const classical = await fitPcaTextureModel(source, { latentSize: 3, batchSize: 16 });
  const progress: number[] = [];
  const em = await fitPcaTextureModel(source, {
    latentSize: 3, batchSize: 16, missing: 'em', emIterations: 30, onProgress: (p) => progress.push(p.seenRms),
  });
  const before = tf.memory().numTensors;
  const classicalRms = seenFitRms(classical.mean, classical.basis.dataSync() as Float32Array, 3);
  const emRms = seenFitRms(em.mean, em.basis.dataSync() as Float32Array, 3);
  assert.equal(progress.length, 30);
  assert.ok(progress[29]! < 0.5 * progress[0]!, `EM seen-texel error ${progress[0]} → ${progress[29]}`);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i]! <= progress[i - 1]! * 1.01, `EM error rose at ${i}: ${progress}`);
  assert.ok(emRms < 0.02, `EM model's seen-texel fit ${emRms}`);
  assert.ok(emRms < 0.25 * classicalRms, `EM ${emRms} vs classical ${classicalRms}`);
  assert.equal(tf.memory().numTensors, before);
  classical.dispose();
  em.dispose();
});
