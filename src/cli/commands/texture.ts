/**
 * `ganfit texture dataset|train|sample`: the texture GAN's pipeline — UV maps from photos, training, samples.
 */
import path from 'node:path';
import { usageError } from '../../io/errors.js';
import { withOutput } from '../../io/atomic.js';
import { encodePng } from '../../io/image.js';
import { initEngine } from '../../engine/index.js';
import { createFitter } from '../../fit/pipeline.js';
import { loadFaceModel } from '../../model/load.js';
import { loadTextureGenerator, sampleTextures } from '../../texture/gan.js';
import { createFrontalPreview } from '../../texture/preview.js';
import { buildUvDataset, defaultUvDatasetOptions } from '../../training/uv-dataset.js';
import { GAN_PRESETS, trainGan } from '../../training/gan/train.js';
import { choiceOption, intOption, parse } from '../args.js';
import { createProgress } from '../progress.js';
import type { Command } from '../command.js';

const usage = [
  'ganfit texture dataset <photos dir> -o <dir> [--limit N] [--resolution R] [--shard K/N]',
  'ganfit texture train <dataset dir> -o <run dir> [--preset smoke|proc64|default] [--steps N] [--checkpoint-every N] [--resume]',
  'ganfit texture sample [-n N] [--seed S] [--weights <file>] -o <dir>',
].join(' | ');

/** `--shard K/N` (0 ≤ K < N): this process builds every N-th photo, starting at the K-th. */
function shardOption(value: string | undefined): { index: number; count: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) throw usageError(`--shard must be K/N with 0 ≤ K < N, got '${value}'`);
  return { index, count };
}

async function dataset(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { out: { type: 'string', short: 'o' }, limit: { type: 'string' }, resolution: { type: 'string' }, shard: { type: 'string' }, quiet: { type: 'boolean', short: 'q' } }, usage);
  if (positionals.length !== 1 || !values.out) throw usageError(`usage: ${usage}`);
  const shard = shardOption(values.shard as string | undefined);
  const progress = createProgress({ quiet: !!values.quiet });
  // Training crops are tight (UTKFace 200×200): pad before detection.
  const fitter = await createFitter({ detector: { pad: 0.25 } });
  const result = await buildUvDataset(fitter, positionals[0], values.out as string, {
    ...defaultUvDatasetOptions,
    resolution: intOption(values.resolution as string | undefined, 'resolution', defaultUvDatasetOptions.resolution, 16),
    limit: intOption(values.limit as string | undefined, 'limit', 0) || undefined,
    shard,
    onProgress: (done, total, kept) => progress.update(done, total, `${kept} kept`),
  });
  progress.done();
  process.stderr.write(`ganfit: ${result.kept} UV maps kept, ${result.rejected} photos rejected (reasons in ${values.out}/index.json)\n`);
  return 0;
}

async function train(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    out: { type: 'string', short: 'o' }, preset: { type: 'string' }, steps: { type: 'string' }, 'checkpoint-every': { type: 'string' }, resume: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' },
  }, usage);
  if (positionals.length !== 1 || !values.out) throw usageError(`usage: ${usage}`);
  const preset = choiceOption(values.preset as string | undefined, 'preset', ['smoke', 'proc64', 'default'] as const, 'default');
  const config = { ...GAN_PRESETS[preset] };
  config.steps = intOption(values.steps as string | undefined, 'steps', config.steps, 1);
  config.checkpointEvery = intOption(values['checkpoint-every'] as string | undefined, 'checkpoint-every', config.checkpointEvery, 1);
  config.sampleEvery = Math.min(config.sampleEvery, config.checkpointEvery);
  await initEngine();
  const progress = createProgress({ quiet: !!values.quiet });
  let stop = false;
  process.once('SIGINT', () => { stop = true; progress.note('ganfit: stopping after the next checkpoint (Ctrl-C again to abort)'); });
  const result = await trainGan(config, {
    datasetDir: positionals[0], runDir: values.out as string, resume: !!values.resume, shouldStop: () => stop,
    onProgress: (p) => progress.update(p.step, p.steps, `D ${p.lossD.toFixed(3)} G ${p.lossG.toFixed(3)} ${p.imagesPerSec.toFixed(1)} img/s`),
  });
  progress.done();
  process.stderr.write(`ganfit: step ${result.step}; generator weights in ${result.generatorPath}\n`);
  return 0;
}

async function sample(argv: string[]): Promise<number> {
  const { values } = parse(argv, { out: { type: 'string', short: 'o' }, n: { type: 'string', short: 'n' }, seed: { type: 'string' }, weights: { type: 'string' } }, usage);
  if (!values.out) throw usageError(`usage: ${usage}`);
  const n = intOption(values.n as string | undefined, 'n', 8, 1);
  const seed = intOption(values.seed as string | undefined, 'seed', 0);
  await initEngine();
  const generator = await loadTextureGenerator(values.weights as string | undefined).catch((e: Error) => {
    throw usageError(`no texture generator to sample (${e.message.split('\n')[0]})`);
  });
  const model = await loadFaceModel();
  const sampled = sampleTextures(generator, n, seed);
  generator.dispose();
  const R = sampled.resolution;
  const preview = createFrontalPreview(model);
  try {
    await withOutput(values.out as string, async (out) => {
      for (const [k, map] of sampled.maps.entries()) {
        const id = String(k).padStart(3, '0');
        await out.write(`uv_${id}.png`, await encodePng({ width: R, height: R, data: map }));
        await out.write(`front_${id}.png`, await encodePng({ width: preview.width, height: preview.height, data: preview.render(map, R) }));
      }
    });
  } finally {
    preview.dispose();
  }
  process.stderr.write(`ganfit: wrote ${n} samples to ${path.resolve(values.out as string)}\n`);
  return 0;
}

export const textureCommand: Command = {
  name: 'texture',
  summary: 'texture GAN: dataset (UV maps from photos), train, sample',
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'dataset') return dataset(rest);
    if (sub === 'train') return train(rest);
    if (sub === 'sample') return sample(rest);
    throw usageError(`usage: ${usage}`);
  },
};
