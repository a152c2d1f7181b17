import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf, initEngine } from '../../src/engine/index.js';
import { writeProceduralUvDataset } from '../../src/training/gan/procedural.js';
import { GAN_PRESETS, trainGan, type GanProgress, type GanTrainConfig } from '../../src/training/gan/train.js';
import { decodeGeneratorWeights, loadTextureGenerator } from '../../src/texture/gan.js';
import { discriminatorAtResolution } from '../../src/texture/discriminator.js';

/** A run's checkpoint: its config, and any tensor by name as float32 values. */
async function readCheckpoint(runDir: string): Promise<{ config: { latentLearning?: unknown; discriminator?: unknown }; read: (name: string) => Float32Array }> {
  const state = JSON.parse(await readFile(path.join(runDir, 'checkpoint', 'state.json'), 'utf8')) as
    { tensors: { name: string; shape: number[]; offset: number }[]; config: { latentLearning?: unknown; discriminator?: unknown } };
  const words = new Float32Array(new Uint8Array(await readFile(path.join(runDir, 'checkpoint', 'tensors.bin'))).buffer);
  return {
    config: state.config,
    read: (name) => {
      const e = state.tensors.find((t) => t.name === name);
      assert.ok(e, `checkpoint has '${name}'`);
      return words.slice(e.offset, e.offset + e.shape.reduce((x, y) => x * y, 1));
    },
  };
}

test('trainGan smoke: runs, writes checkpoint/samples/generator, leaks nothing, resume is exact', async () => {
  await initEngine();
  const root = await mkdtemp(path.join(tmpdir(), 'ganfit-gantrain-'));
  try {
    const ds = path.join(root, 'ds');
    await writeProceduralUvDataset(ds, 10, 16, 2);
    const config = GAN_PRESETS.smoke;
    const before = tf.memory().numTensors;
    const progress: GanProgress[] = [];
    const full = await trainGan(config, { datasetDir: ds, runDir: path.join(root, 'full'), onProgress: (p) => progress.push(p) });
    assert.equal(tf.memory().numTensors, before, 'no tensors left after training');
    assert.equal(full.step, config.steps);
    assert.equal(progress.length, config.steps);
    for (const p of progress) {
      assert.ok(Number.isFinite(p.lossD) && Number.isFinite(p.lossG) && p.imagesPerSec > 0 && p.etaSeconds >= 0);
      assert.ok(p.reconstruction! > 0 && p.kl! >= 0, 'the VAE-GAN terms are reported');
    }
    assert.ok(progress.some((p) => p.r1 > 0) && progress.some((p) => p.r1 === 0), 'lazy R1 on every other step');
    assert.deepEqual((await readdir(path.join(root, 'full', 'samples'))).sort(), ['step-000003.png', 'step-000006.png']);
    assert.deepEqual((await readdir(path.join(root, 'full', 'checkpoint'))).sort(), ['state.json', 'tensors.bin']);
    // The frozen linear path: not trained (G's = the EMA's, no Adam state), while the base map is.
    const state = JSON.parse(await readFile(path.join(root, 'full', 'checkpoint', 'state.json'), 'utf8')) as
      { tensors: { name: string; shape: number[]; offset: number }[] };
    const words = new Float32Array(new Uint8Array(await readFile(path.join(root, 'full', 'checkpoint', 'tensors.bin'))).buffer);
    const read = (name: string): Float32Array => {
      const e = state.tensors.find((t) => t.name === name)!;
      return words.slice(e.offset, e.offset + e.shape.reduce((x, y) => x * y, 1));
    };
    assert.deepEqual(config.frozen, ['linear/w']);
    // Its EMA is itself: not stored again, and the exported generator carries G's W (to 8-bit precision).
    assert.ok(!state.tensors.some((t) => t.name === 'ema/linear/w'));
    const exported = decodeGeneratorWeights(new Uint8Array(await readFile(full.generatorPath)));
    const wEntry = exported.header.tensors.find((t) => t.name === 'linear/w')!;
    const wG = read('G/linear/w');
    const wFile = exported.data.subarray(wEntry.offset, wEntry.offset + wG.length);
    const range = Math.max(...wG) - Math.min(...wG);
    assert.ok(wG.every((v, i) => Math.abs(v - wFile[i]!) <= range / 510 + 1e-6));
    assert.ok(read('G/linear/w').some((v) => v !== 0), 'W starts at the PCA basis');
    assert.ok(!state.tensors.some((t) => t.name === 'adamG/m/linear/w'));
    assert.ok(state.tensors.some((t) => t.name === 'adamG/m/base'));
    assert.notDeepEqual(read('G/base'), read('ema/base'));

    // Interrupted after 3 steps and resumed: the same weights as the uninterrupted run.
    const part = path.join(root, 'part');
    const first = await trainGan({ ...config, steps: 3 }, { datasetDir: ds, runDir: part });
    assert.equal(first.step, 3);
    const second = await trainGan(config, { datasetDir: ds, runDir: part, resume: true });
    assert.equal(second.step, config.steps);
    const a = await readFile(full.generatorPath);
    const b = await readFile(second.generatorPath);
    assert.ok(a.equals(b), 'resumed run reproduces the uninterrupted one bit for bit');
    assert.equal(tf.memory().numTensors, before);

    // Without an encoder or reconstruction: the plain GAN.
    const { encoder: _e, klWeight: _k, ...linear } = config;
    const { reconstruction: _r, ...plain } = linear;
    const gan = await trainGan({ ...plain, steps: 2 }, { datasetDir: ds, runDir: path.join(root, 'plain') });
    assert.equal(gan.step, 2);
    assert.equal(tf.memory().numTensors, before);

    // Without an encoder, with reconstruction (the default preset's mode): real maps decoded from their linear
    // projection, which the checkpoint keeps; resume is exact; the exported generator's encode is that projection.
    const linProgress: GanProgress[] = [];
    const linFull = await trainGan({ ...linear, steps: 4 }, { datasetDir: ds, runDir: path.join(root, 'lin'), onProgress: (p) => linProgress.push(p) });
    assert.ok(linProgress.every((p) => p.reconstruction! > 0 && p.kl === undefined));
    const linState = JSON.parse(await readFile(path.join(root, 'lin', 'checkpoint', 'state.json'), 'utf8')) as { tensors: { name: string; shape: number[] }[] };
    assert.deepEqual(linState.tensors.find((t) => t.name === 'linearLatents')?.shape, [8, 16], 'one latent per map of the train split (8 of the 10)');
    await trainGan({ ...linear, steps: 2 }, { datasetDir: ds, runDir: path.join(root, 'lin2') });
    const linResumed = await trainGan({ ...linear, steps: 4 }, { datasetDir: ds, runDir: path.join(root, 'lin2'), resume: true });
    assert.ok((await readFile(linFull.generatorPath)).equals(await readFile(linResumed.generatorPath)), 'linear-reconstruction run resumes bit for bit');
    const lg = await loadTextureGenerator(linFull.generatorPath);
    assert.ok(lg.encode, 'a generator with a linear path and no VAE encoder encodes by its least squares');
    const grey = tf.fill([2, 16, 16, 3], 0.5) as tf.Tensor4D;
    const seen = tf.ones([2, 16, 16, 1]) as tf.Tensor4D;
    const zEnc = lg.encode!(grey, seen);
    assert.deepEqual(zEnc.shape, [2, 16]);
    assert.ok((zEnc.dataSync() as Float32Array).every(Number.isFinite));
    tf.dispose([zEnc, grey, seen]);
    lg.dispose();
    assert.equal(tf.memory().numTensors, before);

    // Latent learning (GLO): the real maps' latents start at their projections and train with G; the checkpoint
    // keeps both, with the latents' Adam state (one step count per row); resume is exact.
    const glo = { ...linear, latentLearning: { lr: 0.05, prior: 2 } };
    const gloProgress: GanProgress[] = [];
    const gloFull = await trainGan({ ...glo, steps: 4 }, { datasetDir: ds, runDir: path.join(root, 'glo'), onProgress: (p) => gloProgress.push(p) });
    assert.ok(gloProgress.every((p) => p.reconstruction! > 0 && p.latentMeanSquare! > 0));
    const { config: gloConfig, read: gloRead } = await readCheckpoint(path.join(root, 'glo'));
    assert.deepEqual(gloConfig.latentLearning, glo.latentLearning);
    assert.deepEqual([...gloRead('latentAdam/t')], [2, 2, 2, 2, 2, 2, 2, 2], '4 steps of 4 = 2 epochs of the 8 maps: each row updated twice');
    const [zLin, zLearned] = [gloRead('linearLatents'), gloRead('latents')];
    assert.equal(zLearned.length, 8 * 16);
    for (let row = 0; row < 8; row++) {
      const d = zLearned.subarray(row * 16, row * 16 + 16).map((v, k) => Math.abs(v - zLin[row * 16 + k]!));
      assert.ok(Math.max(...d) > 0 && Math.max(...d) < 4 * 0.05, 'every latent moved, by about lr per step and dimension (Adam: sign-like steps)');
    }
    assert.ok(gloRead('latentAdam/v').some((v) => v > 0));
    await trainGan({ ...glo, steps: 2 }, { datasetDir: ds, runDir: path.join(root, 'glo2') });
    const gloResumed = await trainGan({ ...glo, steps: 4 }, { datasetDir: ds, runDir: path.join(root, 'glo2'), resume: true });
    assert.ok((await readFile(gloFull.generatorPath)).equals(await readFile(gloResumed.generatorPath)), 'latent-learning run resumes bit for bit');
    assert.ok((await readFile(path.join(root, 'glo', 'checkpoint', 'tensors.bin'))).equals(await readFile(path.join(root, 'glo2', 'checkpoint', 'tensors.bin'))),
      'and so do its learned latents and their moments');
    // Turned on when resuming a checkpoint of the linear mode (no learned latents): they start at its projections.
    const turnedOn = await trainGan({ ...linear, steps: 6, latentLearning: glo.latentLearning }, { datasetDir: ds, runDir: path.join(root, 'lin2'), resume: true });
    assert.equal(turnedOn.step, 6);
    const onState = JSON.parse(await readFile(path.join(root, 'lin2', 'checkpoint', 'state.json'), 'utf8')) as { tensors: { name: string }[] };
    assert.ok(onState.tensors.some((t) => t.name === 'latents') && onState.tensors.some((t) => t.name === 'linearLatents'));
    assert.equal(tf.memory().numTensors, before);

    const g = await loadTextureGenerator(full.generatorPath);
    const y = g.generate(tf.zeros([1, g.latentSize]));
    assert.deepEqual(y.shape, [1, 16, 16, 3]);
    tf.dispose(y);
    g.dispose();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

/** The smoke preset without its encoder (the default preset's mode), on a 10-map procedural set in a temporary folder. */
async function withLinearSmokeRun(prefix: string, body: (root: string, datasetDir: string, config: GanTrainConfig) => Promise<void>): Promise<void> {
  await initEngine();
  const root = await mkdtemp(path.join(tmpdir(), prefix));
  try {
    const datasetDir = path.join(root, 'ds');
    await writeProceduralUvDataset(datasetDir, 10, 16, 2);
    const { encoder: _e, klWeight: _k, ...linear } = GAN_PRESETS.smoke;
    await body(root, datasetDir, linear);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('trainGan with a refiner: trained from zero, its learning rate scaled by refinerLrScale', () =>
  withLinearSmokeRun('ganfit-gantrain-refiner-', async (root, ds, linear) => {
    const config = { ...linear, generator: { ...linear.generator, refiner: [4] }, steps: 1, checkpointEvery: 1 };
    /** The refiner's last layer (zero at the start, the only refiner layer with a gradient on step 1) after one step. */
    const lastLayerAfterOneStep = async (refinerLrScale: number): Promise<Float32Array> => {
      const runDir = path.join(root, `run-${refinerLrScale}`);
      await trainGan({ ...config, refinerLrScale }, { datasetDir: ds, runDir });
      return (await readCheckpoint(runDir)).read('G/refine1/w');
    };
    const [one, four] = [await lastLayerAfterOneStep(1), await lastLayerAfterOneStep(4)];
    const moved = one.map((v, k) => (Math.abs(v) > 1e-6 ? k : -1)).filter((k) => k >= 0);
    assert.ok(moved.length > one.length / 2, `the zero-started layer trains (${moved.length}/${one.length} moved)`);
    // Adam's first step moves each weight by lr·sign(g): the scale multiplies it exactly.
    for (const k of moved) assert.ok(Math.abs(four[k]! / one[k]! - 4) < 1e-3, `weight ${k}: ${four[k]} vs 4 × ${one[k]}`);
  }));

test('trainGan with the discriminator at the generator\'s resolution: D sees the maps unpooled, trains, is checkpointed', () =>
  // Without an encoder: an encoder shares D's resolution.
  withLinearSmokeRun('ganfit-gantrain-dfull-', async (root, ds, linear) => {
    const discriminator = discriminatorAtResolution(linear.discriminator, linear.generator.resolution);
    const runDir = path.join(root, 'run');
    const result = await trainGan({ ...linear, discriminator, steps: 2, checkpointEvery: 2 }, { datasetDir: ds, runDir });
    assert.equal(result.step, 2);
    const checkpoint = await readCheckpoint(runDir);
    assert.deepEqual(checkpoint.config.discriminator, { resolution: 16, channels: [4, 8, 16] });
    const fromRgb = checkpoint.read('D/from/w');
    assert.equal(fromRgb.length, 3 * 3 * 4 * 4);
    assert.ok(fromRgb.every(Number.isFinite));
  }));
