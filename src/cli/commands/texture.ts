/**
 * `ganfit texture dataset|train|sample|eval`: the texture GAN's pipeline — UV maps from photos, training,
 * samples, and the quality evaluation against the PCA baseline.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { usageError } from '../../io/errors.js';
import { withOutput } from '../../io/atomic.js';
import { encodePng } from '../../io/image.js';
import { initEngine } from '../../engine/index.js';
import { createFitter } from '../../fit/pipeline.js';
import { loadFaceModel } from '../../model/load.js';
import { defaultGeneratorPath, loadTextureGenerator, sampleTextures, type TextureGenerator } from '../../texture/gan.js';
import { createFrontalPreview } from '../../texture/preview.js';
import { discriminatorAtResolution } from '../../texture/discriminator.js';
import { fitPcaTextureModelCached, type PcaFitOptions, type PcaTextureModel } from '../../texture/pca.js';
import { openUvDataset } from '../../training/uv-dataset-format.js';
import { loadRecognitionNet, type RecognitionNet } from '../../losses/recognition-net.js';
import { DEFAULT_TEXTURE_EVAL, evaluateTextureModels, MEAN_MAP, type TextureEvalReport } from '../../eval/texture.js';
import type { KidDifference, KidResult } from '../../eval/kid.js';
import { buildUvDataset, defaultUvDatasetOptions } from '../../training/uv-dataset.js';
import { GAN_PRESETS, trainGan } from '../../training/gan/train.js';
import { choiceOption, intOption, numberOption, parse, positiveNumberOption } from '../args.js';
import { createProgress } from '../progress.js';
import type { Command } from '../command.js';

const usage = [
  'ganfit texture dataset <photos dir> -o <dir> [--limit N] [--resolution R] [--shard K/N]',
  'ganfit texture train <dataset dir> -o <run dir> [--preset smoke|default] [--steps N] [--checkpoint-every N] [--resume] [--pca-cache <dir>] [--reconstruction W] [--refiner C1,C2,… [--refiner-lr-scale X]] [--discriminator-resolution R] [--latent-lr X [--latent-prior Y]]',
  'ganfit texture sample [-n N] [--seed S] [--weights <file>] -o <dir>',
  'ganfit texture eval <dataset dir> [--weights <file>] [--compare <file>] [-n 500] [--from 0] [--samples 100] [--realism 500] [--steps N] [--seed S] [--pca-em] [--pca-cache <dir>] -o <report dir>',
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
    'pca-cache': { type: 'string' }, 'latent-lr': { type: 'string' }, 'latent-prior': { type: 'string' }, reconstruction: { type: 'string' },
    refiner: { type: 'string' }, 'refiner-lr-scale': { type: 'string' }, 'discriminator-resolution': { type: 'string' },
  }, usage);
  if (positionals.length !== 1 || !values.out) throw usageError(`usage: ${usage}`);
  const preset = choiceOption(values.preset as string | undefined, 'preset', ['smoke', 'default'] as const, 'default');
  const config = { ...GAN_PRESETS[preset] };
  config.steps = intOption(values.steps as string | undefined, 'steps', config.steps, 1);
  config.checkpointEvery = intOption(values['checkpoint-every'] as string | undefined, 'checkpoint-every', config.checkpointEvery, 1);
  config.sampleEvery = Math.min(config.sampleEvery, config.checkpointEvery);
  // --latent-lr: the real maps' latents trained with G (`latentLearning`, GLO), also when resuming a run.
  if (values['latent-lr'] !== undefined) {
    const lr = positiveNumberOption(values['latent-lr'] as string, 'latent-lr', 0);
    config.latentLearning = { lr, prior: numberOption(values['latent-prior'] as string | undefined, 'latent-prior', 2) };
  } else if (values['latent-prior'] !== undefined) {
    throw usageError('--latent-prior needs --latent-lr');
  }
  // --reconstruction: the weight of the reconstruction term against the adversarial term's 1 (a new run only).
  if (values.reconstruction !== undefined) {
    if (values.resume) throw usageError('--reconstruction sets up a new run; a resumed run keeps its checkpoint\'s weights');
    config.reconstruction = numberOption(values.reconstruction as string, 'reconstruction', 0);
  }
  // --refiner 8,8,8: a residual conv stack at the output resolution with these hidden channels (a new run only).
  if (values.refiner !== undefined) {
    if (values.resume) throw usageError('--refiner sets up a new run; a resumed run keeps its checkpoint\'s generator');
    const widths = (values.refiner as string).split(',').map((c) => Number(c.trim()));
    if (!widths.length || widths.some((c) => !(Number.isInteger(c) && c >= 1 && c <= 256))) {
      throw usageError('--refiner takes hidden channel counts, e.g. 8,8,8 (integers 1–256)');
    }
    config.generator = { ...config.generator, refiner: widths };
    if (values['refiner-lr-scale'] !== undefined) config.refinerLrScale = positiveNumberOption(values['refiner-lr-scale'] as string, 'refiner-lr-scale', 1);
  } else if (values['refiner-lr-scale'] !== undefined) {
    throw usageError('--refiner-lr-scale needs --refiner');
  }
  // --discriminator-resolution 256: D sees G's maps at that resolution (the preset's levels plus narrow finer ones; a new run only).
  if (values['discriminator-resolution'] !== undefined) {
    if (values.resume) throw usageError('--discriminator-resolution sets up a new run; a resumed run keeps its checkpoint\'s discriminator');
    const r = Number(values['discriminator-resolution']);
    const wrong = usageError(`--discriminator-resolution must be ${config.discriminator.resolution} times a power of two, at most the generator's ${config.generator.resolution}`);
    if (!(r <= config.generator.resolution)) throw wrong;
    try {
      config.discriminator = discriminatorAtResolution(config.discriminator, r);
    } catch {
      throw wrong;
    }
  }
  await initEngine();
  const progress = createProgress({ quiet: !!values.quiet });
  let stop = false;
  process.once('SIGINT', () => { stop = true; progress.note('ganfit: stopping after the next checkpoint (Ctrl-C again to abort)'); });
  const result = await trainGan(config, {
    datasetDir: positionals[0], runDir: values.out as string, resume: !!values.resume, shouldStop: () => stop,
    ...(values['pca-cache'] ? { pcaCache: values['pca-cache'] as string } : {}),
    onNote: (m) => progress.note(`ganfit: ${m}`),
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

/** The short table `ganfit texture eval` prints. */
export function formatTextureEvalTable(report: TextureEvalReport): string {
  const lines: string[] = [];
  const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '—').padStart(8);
  if (report.inversion) {
    const inv = report.inversion;
    lines.push(`inversion of ${inv.maps} held-out maps at ${report.dataset.resolution}² (${report.settings.steps} Adam steps, MAE in 8-bit units, mean over maps):`);
    lines.push(`  ${'model'.padEnd(8)} ${'fitted'.padStart(8)} ${'withheld'.padStart(8)}  ${'E[z²]'.padStart(6)}  time`);
    for (const [name, r] of Object.entries(inv.results)) {
      const z = r.meanZ2 === undefined ? '' : r.meanZ2.toFixed(2);
      const t = name === MEAN_MAP ? '(no fit)' : `${r.seconds.toFixed(0)} s`;
      lines.push(`  ${name.padEnd(8)} ${f1(r.fitted.mean)} ${f1(r.withheld.mean)}  ${z.padStart(6)}  ${t}`);
    }
  }
  if (report.detection) {
    lines.push('face detected in frontal renders on the mean head:');
    for (const [name, r] of Object.entries(report.detection.results)) {
      const what = name === MEAN_MAP
        ? (r.detected ? `detected (score ${r.scores[0]!.toFixed(2)})` : 'not detected')
        : `${r.detected}/${r.n} = ${(100 * r.rate).toFixed(0)} %, mean score ${r.meanScore.toFixed(2)} (${r.seconds.toFixed(0)} s)`;
      lines.push(`  ${name.padEnd(8)} ${what}`);
    }
  }
  if (report.realism) {
    lines.push(`realism: KID of frontal renders against ${report.realism.maps} held-out maps (×1000; ± std over subsets of ${Object.values(report.realism.results)[0]?.subsetSize}):`);
    const kidLine = (name: string, r: KidResult & { seconds: number }) =>
      `  ${name.padEnd(8)} ${(1000 * r.kid).toFixed(3).padStart(8)} ± ${(1000 * r.subsetStd).toFixed(3)}  (${r.seconds.toFixed(0)} s)`;
    for (const [name, r] of Object.entries(report.realism.results)) lines.push(kidLine(name, r));
    const projections = Object.entries(report.realism.projections);
    if (projections.length > 0) {
      lines.push('  the real maps\' own projections (encode the seen texels, decode):');
      for (const [name, r] of projections) lines.push(kidLine(name, r));
    }
    const { reference, results: pairedResults, projections: pairedProjections } = report.realism.paired;
    const pairedLine = (name: string, d: KidDifference) =>
      `  ${name.padEnd(19)} ${(1000 * d.difference).toFixed(3).padStart(8)} ± ${(1000 * d.subsetStd).toFixed(3)}`;
    if (Object.keys(pairedResults).length > 0) {
      lines.push(`  paired: each model's KID minus ${reference}'s, the same maps in every subset (± std over subsets):`);
      for (const [name, d] of Object.entries(pairedResults)) lines.push(pairedLine(name, d));
      for (const [name, d] of Object.entries(pairedProjections)) lines.push(pairedLine(`${name} projection`, d));
    }
  }
  return lines.join('\n');
}

async function evaluate(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    out: { type: 'string', short: 'o' }, weights: { type: 'string' }, compare: { type: 'string' }, n: { type: 'string', short: 'n' }, samples: { type: 'string' },
    from: { type: 'string' }, steps: { type: 'string' }, seed: { type: 'string' }, quiet: { type: 'boolean', short: 'q' },
    'pca-em': { type: 'boolean' }, 'pca-cache': { type: 'string' }, realism: { type: 'string' },
  }, usage);
  if (positionals.length !== 1 || !values.out) throw usageError(`usage: ${usage}`);
  const datasetDir = positionals[0]!;
  const heldout = intOption(values.n as string | undefined, 'n', DEFAULT_TEXTURE_EVAL.heldout, 0);
  const samples = intOption(values.samples as string | undefined, 'samples', DEFAULT_TEXTURE_EVAL.samples, 0);
  const from = intOption(values.from as string | undefined, 'from', DEFAULT_TEXTURE_EVAL.from, 0);
  const realism = intOption(values.realism as string | undefined, 'realism', DEFAULT_TEXTURE_EVAL.realism, 0);
  const steps = intOption(values.steps as string | undefined, 'steps', DEFAULT_TEXTURE_EVAL.steps, 1);
  const seed = intOption(values.seed as string | undefined, 'seed', DEFAULT_TEXTURE_EVAL.seed);
  if (!(await stat(path.join(datasetDir, 'index.json')).catch(() => null))) {
    throw usageError(`${datasetDir}: not a UV dataset (no index.json; build one with ganfit texture dataset)`);
  }
  await initEngine();
  const weights = values.weights as string | undefined;
  const gan = await loadTextureGenerator(weights).catch((e: Error) => {
    throw usageError(`no texture generator to evaluate (${e.message.split('\n')[0]})`);
  });
  const compareWeights = values.compare as string | undefined;
  let compare: TextureGenerator | undefined;
  const progress = createProgress({ quiet: !!values.quiet });
  const note = (m: string) => process.stderr.write(m + '\n');
  let pca: PcaTextureModel | undefined;
  let pcaEm: typeof pca;
  let recognition: RecognitionNet | undefined;
  try {
    // --compare: a second generator, evaluated beside the first on the same maps and samples (`compare` in the report).
    if (compareWeights !== undefined) {
      compare = await loadTextureGenerator(compareWeights).catch((e: Error) => {
        throw usageError(`--compare: not a texture generator (${e.message.split('\n')[0]})`);
      });
      if (compare.latentSize !== gan.latentSize) {
        throw usageError(`--compare: latent ${compare.latentSize}, the generator's is ${gan.latentSize} (one PCA baseline serves both)`);
      }
    }
    const train = await openUvDataset(datasetDir, { split: 'train', cache: true });
    const heldoutSet = await openUvDataset(datasetDir, { split: 'heldout', fill: 'none' });
    const R = heldoutSet.resolution;
    note(`ganfit: generator ${gan.resolution}² (latent ${gan.latentSize}); comparing at the dataset's ${R}²`);
    note(`ganfit: fitting the PCA baseline (${gan.latentSize} components) on the train split, ${train.size} maps at ${R}²…`);
    // --pca-cache: fits are read from (or saved to) that folder, shared by parallel evaluations and the trainer.
    const cache = values['pca-cache'] ? { dir: values['pca-cache'] as string, dataset: datasetDir } : undefined;
    const fitPca = async (options: PcaFitOptions): Promise<{ model: PcaTextureModel; seconds: number }> => {
      const t0 = performance.now();
      const fit = await fitPcaTextureModelCached(train, options, cache);
      if (fit.file) note(`ganfit: PCA (${options.missing ?? 'filled'}) ${fit.cached ? 'read from' : 'saved to'} ${fit.file}`);
      return { model: fit.model, seconds: (performance.now() - t0) / 1000 };
    };
    const classical = await fitPca({ latentSize: gan.latentSize, seed });
    pca = classical.model;
    const pcaSeconds = classical.seconds;
    note(`ganfit: PCA ready in ${pcaSeconds.toFixed(1)} s`);
    // --pca-em: also the PCA that treats unseen texels as missing (what the default generator's linear path starts as).
    let pcaEmSeconds = 0;
    if (values['pca-em']) {
      const em = await fitPca({
        latentSize: gan.latentSize, seed, missing: 'em',
        onProgress: (p) => note(`ganfit: PCA (EM) iteration ${p.iteration}/${p.iterations}, seen-texel RMS ${p.seenRms.toFixed(4)}`),
      });
      pcaEm = em.model;
      pcaEmSeconds = em.seconds;
    }
    const fitter = await createFitter();
    recognition = realism > 0 ? await loadRecognitionNet() : undefined;
    const { report, grids } = await evaluateTextureModels({
      dataset: heldoutSet, models: { gan, ...(compare ? { compare } : {}), pca, ...(pcaEm ? { 'pca-em': pcaEm } : {}) }, faceModel: fitter.model, detector: fitter.detector,
      recognition, heldout, from, samples, realism, steps, seed,
      onProgress: (p) => progress.update(p.done, p.total, `${p.phase} ${p.model}`),
    });
    progress.done();
    const full = {
      ...report,
      provenance: {
        generator: { weights: path.resolve(weights ?? defaultGeneratorPath()), config: gan.config, info: gan.info ?? null },
        ...(compare ? { compare: { weights: path.resolve(compareWeights!), config: compare.config, info: compare.info ?? null } } : {}),
        pca: { split: 'train', maps: train.size, components: pca.latentSize, seconds: pcaSeconds },
        ...(pcaEm ? { 'pca-em': { split: 'train', maps: train.size, components: pcaEm.latentSize, missing: 'em', seconds: pcaEmSeconds } } : {}),
        detector: fitter.detector.options,
      },
    };
    await withOutput(values.out as string, async (out) => {
      await out.write('report.json', JSON.stringify(full, null, 1) + '\n');
      for (const g of grids) await out.write(`${g.name}.png`, await encodePng(g.image));
    });
    process.stdout.write(formatTextureEvalTable(report) + '\n');
    note(`ganfit: report.json and ${grids.length} grids in ${path.resolve(values.out as string)} (${report.seconds.toFixed(0)} s)`);
  } finally {
    gan.dispose();
    compare?.dispose();
    pca?.dispose();
    pcaEm?.dispose();
    recognition?.dispose();
  }
  return 0;
}

export const textureCommand: Command = {
  name: 'texture',
  summary: 'texture GAN: dataset (UV maps from photos), train, sample, eval (against the PCA baseline)',
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'dataset') return dataset(rest);
    if (sub === 'train') return train(rest);
    if (sub === 'sample') return sample(rest);
    if (sub === 'eval') return evaluate(rest);
    throw usageError(`usage: ${usage}`);
  },
};
