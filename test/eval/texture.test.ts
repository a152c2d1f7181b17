import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf, initEngine } from '../../src/engine/index.js';
import { loadDetector } from '../../src/detect/index.js';
import { loadFaceModel } from '../../src/model/load.js';
import { generatorParamSpecs, initParams, makeTextureGenerator, type GeneratorConfig, type TextureModel } from '../../src/texture/gan.js';
import { fitPcaTextureModel, makePcaTextureModel } from '../../src/texture/pca.js';
import { createFrontalPreview } from '../../src/texture/preview.js';
import { Rng } from '../../src/texture/random.js';
import { openUvDataset } from '../../src/training/uv-dataset-format.js';
import { writeProceduralUvDataset } from '../../src/training/gan/procedural.js';
import { evaluateTextureModels, MEAN_MAP, type TextureEvalProgress } from '../../src/eval/texture.js';
import { matMulConst, resampleBilinear } from '../../src/texture/ops.js';
import { loadRecognitionNet } from '../../src/losses/recognition-net.js';

test('resampleBilinear equals tf.image.resizeBilinear (half-pixel centres) up and down, with an exact gradient', async () => {
  await initEngine();
  tf.tidy(() => {
    const x = tf.tensor4d(new Rng(2).normals(2 * 8 * 8 * 3), [2, 8, 8, 3]);
    for (const r of [32, 16, 4, 12]) {
      const ref = tf.image.resizeBilinear(x, [r, r], false, true);
      assert.ok(tf.max(tf.abs(tf.sub(resampleBilinear(x, r), ref))).dataSync()[0]! < 1e-5, `8² → ${r}²`);
    }
    assert.equal(resampleBilinear(x, 8), x);
    // Gradient: <d/dx sum(resample(x)·p), dir> against a central difference (the map is linear: exact).
    const p = tf.tensor4d(new Rng(3).normals(2 * 32 * 32 * 3), [2, 32, 32, 3]);
    const dir = tf.tensor4d(new Rng(4).normals(2 * 8 * 8 * 3), [2, 8, 8, 3]);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(resampleBilinear(t as tf.Tensor4D, 32), p)) as tf.Scalar;
    const analytic = tf.sum(tf.mul(tf.grad(f)(x), dir)).dataSync()[0]!;
    const numeric = (f(tf.add(x, dir)).dataSync()[0]! - f(tf.sub(x, dir)).dataSync()[0]!) / 2;
    assert.ok(Math.abs(analytic - numeric) < 1e-3 * (1 + Math.abs(numeric)), `${analytic} vs ${numeric}`);
  });
});

test('matMulConst and the PCA model: latent gradients equal tfjs matMul\'s, the kept basisᵀ is freed by dispose', async () => {
  await initEngine();
  const rng = new Rng(6);
  const w = tf.tensor2d(rng.normals(5 * 300), [5, 300]);
  const x = tf.tensor2d(rng.normals(3 * 5), [3, 5]);
  const p = tf.tensor2d(rng.normals(3 * 300), [3, 300]);
  const wT = tf.transpose(w) as tf.Tensor2D;
  const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
  const mine = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(matMulConst(t as tf.Tensor2D, w, () => wT), p)) as tf.Scalar)(x);
  const ref = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.matMul(t as tf.Tensor2D, w), p)) as tf.Scalar)(x);
  assert.ok(maxDiff(mine, ref) < 1e-4);
  tf.dispose([mine, ref, wT, p]);

  const before = tf.memory().numTensors;
  const pca = makePcaTextureModel(10, new Float32Array(300), new Float32Array(5).fill(1), tf.clone(w));
  const probe = tf.tensor4d(rng.normals(3 * 300), [3, 10, 10, 3]);
  const loss = (m: (z: tf.Tensor2D) => tf.Tensor) => (t: tf.Tensor) => tf.sum(tf.mul(m(t as tf.Tensor2D), probe)) as tf.Scalar;
  const small = tf.mul(x, 0.01) as tf.Tensor2D; // inside the clip range
  const g = tf.grad(loss((z) => pca.generate(z)))(small);
  const gRef = tf.grad(loss((z) => tf.reshape(tf.add(tf.mul(tf.matMul(z, w), 0.5), 0.5), [3, 10, 10, 3])))(small);
  assert.ok(maxDiff(g, gRef) < 1e-4);
  tf.dispose([g, gRef, probe, small]);
  pca.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([w, x]);
});

test('evaluateTextureModels: inversion, detection and grids on a procedural set, leak-free', async () => {
  await initEngine();
  const dir = await mkdtemp(path.join(tmpdir(), 'ganfit-texeval-'));
  try {
    const R = 16;
    await writeProceduralUvDataset(dir, 80, R, 3);
    const train = await openUvDataset(dir, { split: 'train', cache: true });
    const heldout = await openUvDataset(dir, { split: 'heldout', fill: 'none' });
    assert.ok(heldout.size >= 3, `${heldout.size} held-out maps`);
    const D = 8;
    const config: GeneratorConfig = { latentSize: D, resolution: 8, channels: [8, 4], pixelNormMaxRes: 8 }; // 8² → resampled to 16²
    const gan = makeTextureGenerator(config, initParams(generatorParamSpecs(config), new Rng(5), false));
    const pca = await fitPcaTextureModel(train, { latentSize: D, seed: 2 });
    const [faceModel, detector] = await Promise.all([loadFaceModel(), loadDetector()]);

    // The renderer keeps a one-off cache on its first call: warm it up so the leak check sees only our tensors.
    const warm = createFrontalPreview(faceModel);
    warm.render(new Uint8Array(R * R * 3), R);
    warm.dispose();
    // The PCA model keeps its transposed basis after its first backward pass (until dispose): make it now.
    tf.tidy(() => { tf.grad((z: tf.Tensor) => tf.sum(pca.generate(z as tf.Tensor2D)) as tf.Scalar)(tf.zeros([1, D])); });
    // Likewise its encoder's low-resolution basis after the first encode.
    tf.tidy(() => { pca.encode!(tf.zeros([1, R, R, 3]), tf.ones([1, R, R, 1])); });
    const before = tf.memory().numTensors;
    const seen: TextureEvalProgress[] = [];
    const { report, grids } = await evaluateTextureModels({
      dataset: heldout, models: { gan, pca }, faceModel, detector,
      heldout: 4, steps: 30, batchSize: 3, samples: 2, gridSamples: 4, seed: 7,
      onProgress: (p) => seen.push(p),
    });
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');

    // Structure.
    assert.equal(report.format, 'ganfit-texture-eval');
    assert.equal(report.dataset.resolution, R);
    assert.ok(report.dataset.heldoutOnly);
    assert.deepEqual(report.models.gan, { latentSize: D, resolution: 8, start: 'random direction' });
    assert.equal(report.models.pca!.start, 'encoder', 'PCA fits start at its linear projection');
    const inv = report.inversion!;
    assert.equal(inv.maps, 4);
    assert.equal(inv.ids.length, 4);
    assert.deepEqual(Object.keys(inv.results).sort(), ['gan', MEAN_MAP, 'pca'].sort());
    for (const [name, r] of Object.entries(inv.results)) {
      for (const set of [r.fitted, r.withheld]) {
        assert.ok(Number.isFinite(set.mean) && set.mean >= 0 && set.mean < 255, `${name}: ${set.mean}`);
        assert.ok(Number.isFinite(set.median) && set.maps === 4, `${name}: ${set.median}, ${set.maps} maps`);
      }
      assert.equal(inv.perMap[name]!.fitted.length, 4);
      if (name !== MEAN_MAP) assert.ok(Number.isFinite(r.meanZ2!) && r.meanZ2! > 0);
    }
    // PCA fitted on this data beats the mean map where it was fitted (and generalises to the withheld texels).
    assert.ok(inv.results.pca!.fitted.mean < inv.results[MEAN_MAP]!.fitted.mean,
      `pca ${inv.results.pca!.fitted.mean} vs mean ${inv.results[MEAN_MAP]!.fitted.mean}`);
    assert.ok(inv.results.pca!.withheld.mean < inv.results[MEAN_MAP]!.withheld.mean);

    const det = report.detection!;
    assert.deepEqual(Object.keys(det.results).sort(), ['gan', MEAN_MAP, 'pca'].sort());
    for (const r of Object.values(det.results)) {
      assert.equal(r.scores.length, r.n);
      assert.ok(r.rate >= 0 && r.rate <= 1 && r.detected === r.scores.filter((s) => s > 0).length);
      assert.ok(r.meanScore >= 0 && r.meanScore <= 1);
    }
    assert.equal(det.results.gan!.n, 2);
    assert.equal(det.results[MEAN_MAP]!.n, 1);

    assert.deepEqual(grids.map((g) => g.name), ['gan-uv', 'gan-render', 'pca-uv', 'pca-render']);
    for (const g of grids) {
      const side = g.name.endsWith('-uv') ? 2 * R : 2 * 256;
      assert.equal(g.image.width, side);
      assert.equal(g.image.height, side);
      assert.equal(g.image.data.length, side * side * 3);
    }
    // Renders show something (the head is lit, the background black).
    const render = grids[1]!.image.data;
    assert.ok(render.some((v) => v > 20) && render[0] === 0);

    // Progress: every inversion step of every model, then every render.
    const inversion = seen.filter((p) => p.phase === 'inversion');
    assert.equal(inversion.length, 2 * 2 * 30); // 2 batches (3 + 1 maps) × 2 models × 30 steps
    assert.equal(inversion.at(-1)!.done, inversion.at(-1)!.total);
    assert.equal(seen.filter((p) => p.phase === 'detection').length, 2 * 2 + 1);

    // The same settings give the same numbers (seeded withheld texels and samples).
    const again = await evaluateTextureModels({
      dataset: heldout, models: { pca }, heldout: 4, steps: 30, batchSize: 4, seed: 7, parts: { detection: false, grids: false },
    });
    assert.ok(Math.abs(again.report.inversion!.results.pca!.withheld.mean - inv.results.pca!.withheld.mean) < 1e-3,
      'batch size changes speed only');
    assert.equal(again.report.detection, undefined);
    // A range of the maps (an evaluation split over processes) gives those maps' results.
    const tail = await evaluateTextureModels({
      dataset: heldout, models: { pca }, heldout: 2, from: 2, steps: 30, batchSize: 4, seed: 7, parts: { detection: false, grids: false },
    });
    assert.deepEqual(tail.report.inversion!.ids, inv.ids.slice(2, 4));
    tail.report.inversion!.perMap.pca!.withheld.forEach((v, i) => assert.ok(Math.abs(v! - inv.perMap.pca!.withheld[2 + i]!) < 1e-3));
    // A model with an encoder starts from what it returns, given the targets and the fitted texels only: a
    // model wrapping the PCA's generate and encode reproduces the PCA fit exactly.
    const calls: { maps: number[]; visibility: number[]; binary: boolean }[] = [];
    const encoded: TextureModel = {
      latentSize: pca.latentSize, resolution: pca.resolution, generate: (z) => pca.generate(z), dispose: () => {},
      encode: (maps, visibility) => {
        const v = visibility.dataSync();
        calls.push({ maps: maps.shape, visibility: visibility.shape, binary: v.every((x) => x === 0 || x === 1) });
        return pca.encode!(maps, visibility);
      },
    };
    const viaEncoder = await evaluateTextureModels({
      dataset: heldout, models: { encoded }, heldout: 4, steps: 30, batchSize: 4, seed: 7, parts: { detection: false, grids: false },
    });
    assert.equal(viaEncoder.report.models.encoded!.start, 'encoder');
    assert.deepEqual(calls, [{ maps: [4, R, R, 3], visibility: [4, R, R, 1], binary: true }]);
    assert.ok(Math.abs(viaEncoder.report.inversion!.results.encoded!.withheld.mean - inv.results.pca!.withheld.mean) < 1e-3);
    gan.dispose();
    pca.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('evaluateTextureModels realism: KID of paired, mean-filled renders; the mean map as a model equals the reference entry', async () => {
  await initEngine();
  const dir = await mkdtemp(path.join(tmpdir(), 'ganfit-texreal-'));
  try {
    const R = 16;
    await writeProceduralUvDataset(dir, 80, R, 3);
    const heldout = await openUvDataset(dir, { split: 'heldout', fill: 'none' });
    const [faceModel, recognition] = await Promise.all([loadFaceModel(), loadRecognitionNet()]);
    const mean = tf.tensor4d(heldout.mean, [1, R, R, 3]);
    const constant = (map: tf.Tensor4D): TextureModel => ({
      latentSize: 4, resolution: R, dispose: () => {}, generate: (z) => tf.tile(map, [z.shape[0], 1, 1, 1]) as tf.Tensor4D,
      encode: (maps) => tf.zeros([maps.shape[0], 4]),
    });
    // Its projection of a map is the map itself.
    const oracle: TextureModel = {
      latentSize: 3 * R * R, resolution: R, dispose: () => {},
      generate: (z) => tf.tidy(() => tf.clipByValue(tf.reshape(z, [z.shape[0], R, R, 3]), 0, 1) as tf.Tensor4D),
      encode: (maps) => tf.reshape(maps, [maps.shape[0], 3 * R * R]),
    };
    const noise: TextureModel = {
      latentSize: 3 * R * R, resolution: R, dispose: () => {},
      generate: (z) => tf.tidy(() => tf.sigmoid(tf.mul(tf.reshape(z, [z.shape[0], R, R, 3]), 3)) as tf.Tensor4D),
    };
    const warm = createFrontalPreview(faceModel);
    warm.render(new Uint8Array(R * R * 3), R);
    warm.dispose();
    const before = tf.memory().numTensors;
    const seen: TextureEvalProgress[] = [];
    const { report } = await evaluateTextureModels({
      dataset: heldout, models: { meanModel: constant(mean), noise, oracle }, faceModel, recognition, realism: 8, seed: 3,
      parts: { inversion: false, detection: false, grids: false }, onProgress: (p) => seen.push(p),
    });
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    const real = report.realism!;
    assert.equal(real.maps, 8);
    assert.equal(real.ids.length, 8);
    assert.deepEqual(Object.keys(real.results).sort(), ['meanModel', MEAN_MAP, 'noise', 'oracle'].sort());
    // Projections: for the models with an encoder; the real maps' own (the oracle's) are the real set again,
    // where the unbiased estimate is at most 0, and a constant model's are the mean map.
    assert.deepEqual(Object.keys(real.projections).sort(), ['meanModel', 'oracle']);
    assert.ok(real.projections.oracle!.kid <= 0 && real.projections.oracle!.kid < real.results[MEAN_MAP]!.kid, `oracle ${real.projections.oracle!.kid}`);
    assert.ok(Math.abs(real.projections.meanModel!.kid - real.results[MEAN_MAP]!.kid) < 1e-9);
    // Sample k and the mean-map reference go through the same compositing and pairing.
    assert.ok(Math.abs(real.results.meanModel!.kid - real.results[MEAN_MAP]!.kid) < 1e-9, `${real.results.meanModel!.kid} vs ${real.results[MEAN_MAP]!.kid}`);
    assert.ok(real.results.noise!.kid > real.results[MEAN_MAP]!.kid, `noise ${real.results.noise!.kid} vs mean ${real.results[MEAN_MAP]!.kid}`);
    for (const r of Object.values(real.results)) assert.ok(Number.isFinite(r.kid) && r.subsetStd > 0 && r.subsetSize === 4);
    // Paired against the first model: the full-set differences are those of the figures above.
    assert.equal(real.paired.reference, 'meanModel');
    assert.deepEqual(Object.keys(real.paired.results).sort(), ['noise', 'oracle']);
    assert.deepEqual(Object.keys(real.paired.projections), ['oracle']);
    for (const name of ['noise', 'oracle']) {
      const d = real.paired.results[name]!;
      assert.ok(Math.abs(d.difference - (real.results[name]!.kid - real.results.meanModel!.kid)) < 1e-9 && d.subsetStd > 0, name);
    }
    assert.ok(Math.abs(real.paired.projections.oracle!.difference - (real.projections.oracle!.kid - real.projections.meanModel!.kid)) < 1e-9);
    const last = seen.filter((p) => p.phase === 'realism').at(-1)!;
    assert.equal(last.done, last.total);
    assert.equal(last.total, 8 * (1 + 4 + 2));
    mean.dispose();
    recognition.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ganfit texture eval and train: usage errors exit 2 with one line and no output', async () => {
  const { runCli } = await import('../cli/helpers.js');
  const dir = await mkdtemp(path.join(tmpdir(), 'ganfit-texeval-cli-'));
  try {
    const out = path.join(dir, 'report');
    for (const args of [
      ['texture', 'eval', dir], ['texture', 'eval', path.join(dir, 'nope'), '-o', out], ['texture', 'eval', dir, '-o', out, '--realism', 'many'],
      ['texture', 'train', dir, '-o', out, '--resume', '--reconstruction', '10'],
      ['texture', 'train', dir, '-o', out, '--refiner', '8,x'], ['texture', 'train', dir, '-o', out, '--refiner', ''],
      ['texture', 'train', dir, '-o', out, '--resume', '--refiner', '8'], ['texture', 'train', dir, '-o', out, '--refiner-lr-scale', '8'],
      ['texture', 'train', dir, '-o', out, '--refiner', '8', '--refiner-lr-scale', '0'], ['texture', 'train', dir, '-o', out, '--latent-lr', '0'],
      ['texture', 'train', dir, '-o', out, '--discriminator-resolution', '96'], ['texture', 'train', dir, '-o', out, '--discriminator-resolution', '512'],
      ['texture', 'train', dir, '-o', out, '--discriminator-resolution', '32'], ['texture', 'train', dir, '-o', out, '--resume', '--discriminator-resolution', '128'],
    ]) {
      const r = runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.ok(!(await import('node:fs')).existsSync(out));
    // --compare with a file that is no generator: the same clean usage error, after the dataset checks out.
    const ds = path.join(dir, 'uv');
    await writeProceduralUvDataset(ds, 8, 16, 1);
    const r = runCli(['texture', 'eval', ds, '-o', out, '--compare', path.join(dir, 'nope.bin')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), /^ganfit: --compare: not a texture generator/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!(await import('node:fs')).existsSync(out));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
