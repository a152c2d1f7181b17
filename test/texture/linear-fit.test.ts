import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf, initEngine } from '../../src/engine/index.js';
import { createLinearProjector } from '../../src/texture/linear-fit.js';
import { decodePcaModel, encodePcaModel, fitPcaTextureModel, fitPcaTextureModelCached, type UvSource } from '../../src/texture/pca.js';
import { Rng } from '../../src/texture/random.js';

/** A random linear model base + zᵀW at r², in [−1, 1] units, and maps in [0, 1] made from known latents. */
function linearModel(r: number, k: number, seed: number) {
  const rng = new Rng(seed);
  const d = r * r * 3;
  const basis = tf.tensor2d(rng.normals(k * d).map((v) => 0.05 * v), [k, d]);
  const base = Float32Array.from(rng.normals(d), (v) => 0.1 * v);
  const z = tf.tensor2d(rng.normals(2 * k), [2, k]);
  const maps = tf.tidy(() => tf.reshape(tf.add(tf.mul(tf.add(tf.matMul(z, basis), tf.tensor2d(base, [1, d])), 0.5), 0.5), [2, r, r, 3])) as tf.Tensor4D;
  return { basis, base, z, maps };
}

test('linear projection: recovers the latent of a linear map from its seen texels, at full and block-reduced resolution', async () => {
  await initEngine();
  const before = tf.memory().numTensors;
  const r = 16, k = 6;
  const { basis, base, z, maps } = linearModel(r, k, 3);
  // Seen: a random ~40 % of 2×2 blocks (constant within each block, so the 8² averages stay exact).
  const rng = new Rng(9);
  const blocks = Array.from({ length: 2 * 8 * 8 }, () => (rng.next() < 0.4 ? 1 : 0));
  const vis = tf.tensor4d(Array.from({ length: 2 * r * r }, (_, i) => {
    const b = Math.floor(i / (r * r)), y = Math.floor((i % (r * r)) / r), x = i % r;
    return blocks[b * 64 + (y >> 1) * 8 + (x >> 1)]!;
  }), [2, r, r, 1]);
  const truth = z.dataSync() as Float32Array;
  for (const resolution of [16, 8]) {
    const projector = createLinearProjector(basis, base, r, { resolution, ridge: 1e-7 });
    const zHat = projector.project(maps, vis);
    const got = zHat.dataSync() as Float32Array;
    for (let i = 0; i < truth.length; i++) assert.ok(Math.abs(got[i]! - truth[i]!) < 2e-3, `r ${resolution}: z[${i}] ${got[i]} vs ${truth[i]}`);
    zHat.dispose();
    projector.dispose();
  }
  // Unseen texels do not matter: scrambling them leaves z unchanged.
  const scrambled = tf.tidy(() => tf.add(tf.mul(maps, vis), tf.mul(tf.sub(1, vis), tf.randomUniform([2, r, r, 3], 0, 1, 'float32', 5)))) as tf.Tensor4D;
  const projector = createLinearProjector(basis, base, r, { resolution: 16, ridge: 1e-7 });
  const a = projector.project(maps, vis), b = projector.project(scrambled, vis);
  const [av, bv] = [a.dataSync(), b.dataSync()];
  for (let i = 0; i < av.length; i++) assert.ok(Math.abs(av[i]! - bv[i]!) < 1e-4);
  // The ridge shrinks towards z = 0.
  const strong = createLinearProjector(basis, base, r, { resolution: 16, ridge: 100 });
  const c = strong.project(maps, vis);
  assert.ok(tf.tidy(() => tf.norm(c).dataSync()[0]! < 0.5 * tf.norm(a).dataSync()[0]!));
  tf.dispose([a, b, c, scrambled, vis, basis, z, maps]);
  projector.dispose();
  strong.dispose();
  assert.equal(tf.memory().numTensors, before, 'no leaked tensors');
});

test('PCA model file: round trip, encode is the linear projection, cache reuses a fit with the same settings only', async () => {
  await initEngine();
  const r = 8, d = r * r * 3, n = 12;
  const rng = new Rng(2);
  const data = Array.from({ length: n }, () => Float32Array.from(rng.normals(d), (v) => 0.2 * v));
  let loads = 0;
  const source: UvSource = {
    resolution: r, size: n,
    async load(idx) {
      loads++;
      const flat = new Float32Array(idx.length * d);
      idx.forEach((k, b) => flat.set(data[k]!, b * d));
      return { images: tf.tensor4d(flat, [idx.length, r, r, 3]), masks: tf.ones([idx.length, r, r, 1]) as tf.Tensor4D };
    },
  };
  const model = await fitPcaTextureModel(source, { latentSize: 4 });
  const { model: back, info } = decodePcaModel(encodePcaModel(model, { note: 'x' }));
  assert.deepEqual(info, { note: 'x' });
  assert.deepEqual(Array.from(back.sigma), Array.from(model.sigma));
  assert.deepEqual(Array.from(back.basis.dataSync()), Array.from(model.basis.dataSync()));
  // encode: a map the model generates comes back to its latent.
  const z = tf.tensor2d([[0.5, -1, 0.25, 0]]);
  const map = model.generate(z);
  const ones = tf.ones([1, r, r, 1]) as tf.Tensor4D;
  const zBack = model.encode!(map, ones);
  const zv = zBack.dataSync();
  [0.5, -1, 0.25, 0].forEach((v, i) => assert.ok(Math.abs(zv[i]! - v) < 0.05, `z[${i}] ${zv[i]} vs ${v}`));
  tf.dispose([z, map, ones, zBack]);
  model.dispose();
  back.dispose();

  const dir = await mkdtemp(path.join(tmpdir(), 'ganfit-pca-cache-'));
  try {
    const first = await fitPcaTextureModelCached(source, { latentSize: 4 }, { dir, dataset: '/data/a' });
    const loadsAfterFit = loads;
    const second = await fitPcaTextureModelCached(source, { latentSize: 4 }, { dir, dataset: '/data/a' });
    assert.equal(first.cached, false);
    assert.equal(second.cached, true);
    assert.equal(loads, loadsAfterFit, 'a cached fit reads no data');
    assert.deepEqual(Array.from(second.model.sigma), Array.from(first.model.sigma));
    const other = await fitPcaTextureModelCached(source, { latentSize: 3 }, { dir, dataset: '/data/a' });
    assert.equal(other.cached, false);
    assert.equal((await readdir(dir)).filter((f) => f.endsWith('.bin')).length, 2);
    // A damaged cache file is fitted again and replaced.
    await writeFile(first.file!, new Uint8Array([1, 2, 3]));
    const refit = await fitPcaTextureModelCached(source, { latentSize: 4 }, { dir, dataset: '/data/a' });
    assert.equal(refit.cached, false);
    const reread = await fitPcaTextureModelCached(source, { latentSize: 4 }, { dir, dataset: '/data/a' });
    assert.equal(reread.cached, true);
    refit.model.dispose();
    reread.model.dispose();
    const uncached = await fitPcaTextureModelCached(source, { latentSize: 4 }, undefined);
    assert.equal(uncached.cached, false);
    assert.equal(uncached.file, undefined, 'without a cache: a plain fit, nothing written');
    assert.deepEqual(Array.from(uncached.model.sigma), Array.from(first.model.sigma));
    for (const f of [first, second, other, uncached]) f.model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
