/**
 * Texture GAN training on one wasm core (docs/texture-gan.md, "Training").
 *
 * Partial real maps: every real map comes with its visibility mask m; unobserved texels are filled (mirror, then
 * dataset mean) by the reader. D sees [x, m] for both classes, and the fake is composited with its real partner's
 * filler, fake = m·G(z) + (1 − m)·x_real, so the unobserved texels are identical in the pair and carry no signal:
 * D judges only observed texels, G is trained wherever some photo observed the face. Texels (almost) never
 * observed get a small L1 pull towards the dataset mean, weighted by (1 − coverage)⁴, so G's maps have no holes.
 *
 * Losses: non-saturating logistic; R1 (‖∇D(real)‖²) approximated by a finite difference along random
 * directions, E_n[(D(x + σn) − D(x))²] / σ² (tfjs has no double backprop for convolutions); Adam; EMA of G.
 *
 * A run directory holds: checkpoint/ (state.json + tensors.bin: G, D, the encoder where there is one, EMA, Adam
 * moments, the real maps' linear-projection latents where used (and their trained copies with their Adam state,
 * `latentLearning`), step, RNG state, data cursor; replaced
 * atomically), texture-gan.bin (the EMA generator and any encoder, loadable by loadTextureGenerator),
 * samples/step-NNNNNN.png (4×4 grids of EMA samples, fixed latents), log.jsonl (one line per logged step).
 */
import { mkdir, readFile, rename, rm, writeFile, appendFile, stat } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { tf } from '../../engine/index.js';
import {
  DEFAULT_GENERATOR, encodeGeneratorWeights, generatorForward, growGenerator, generatorParamSpecs, initParams, isRefinerParam, loadTextureGenerator,
  type GeneratorConfig, type ParamMap, type ParamSpec, type TextureGenerator,
} from '../../texture/gan.js';
import { downsampleTo, transposeMatrix } from '../../texture/ops.js';
import { fitPcaTextureModelCached, type PcaFitOptions } from '../../texture/pca.js';
import { Rng } from '../../texture/random.js';
import { openUvDataset, SEEN_THRESHOLD, type BatchCursor, type FillMode, type UvDataset, type UvSplit } from '../uv-dataset-format.js';
import { createLinearProjector } from '../../texture/linear-fit.js';
import { discriminatorForward, discriminatorParamSpecs, type DiscriminatorConfig } from '../../texture/discriminator.js';

export interface GanTrainConfig {
  generator: GeneratorConfig;
  discriminator: DiscriminatorConfig;
  batchSize: number;
  steps: number;
  lrG: number;
  lrD: number;
  beta1: number;
  beta2: number;
  /** EMA half-life of G's weights, in images. */
  emaHalfLifeImages: number;
  /** R1 weight γ (loss γ/2·‖∇D‖²) and the finite-difference step σ; γ = 0 disables it. */
  r1Gamma: number;
  r1Sigma: number;
  /** Lazy regularisation (StyleGAN2): the R1 term on every n-th D step only, weighted n× (default 1). */
  r1Every?: number;
  /** Weight of the L1 pull towards the mean map where coverage is low. */
  coveragePrior: number;
  /**
   * VAE-GAN (docs/texture-gan.md, "Training"): an encoder q(z | x, m), the discriminator's architecture with
   * 2·latentSize outputs (mean, log-variance) and no minibatch statistics. G then also decodes the encoded
   * real maps, with a masked L1 loss on the observed texels (weight `reconstruction`) and a KL term pulling
   * q towards N(0, I) (weight `klWeight`, on the mean over latent dimensions). Absent, with `reconstruction`
   * and a linear path: G decodes each real map from its linear projection (the ridge least squares of the
   * linear path on its seen texels, src/texture/linear-fit.ts, computed once per map at the start), the latent
   * a fit of that map starts from, so the trained layers learn what the linear path misses there. Absent
   * otherwise: a plain GAN.
   */
  encoder?: DiscriminatorConfig;
  reconstruction?: number;
  klWeight?: number;
  /**
   * Latents learned jointly with G (GLO, an auto-decoder; with `reconstruction` and no encoder): each real
   * map's latent starts at its linear projection and is trained with G's step, by the reconstruction term plus
   * `prior`·mean(z²) over the batch's rows (keeps them near N(0, I), where random samples are drawn). Adam per
   * row (learning rate `lr`, G's β's, a step count per row for the bias correction): only the batch's rows move,
   * so each latent is updated once an epoch. The fixed projections stay in the checkpoint as `linearLatents`,
   * the trained ones and their moments next to them. Scale: the reconstruction term is 100× the batch's mean L1
   * in [−1, 1] units, i.e. 200/B × each map's MAE in [0, 1] units, so `prior` 2 weighs z² against a map's error
   * as `texture eval`'s inversion (λ 0.01 on its per-map MAE) does. Can be turned on or changed for a resumed
   * run (like `steps`); from a checkpoint without trained latents they start at its linear projections, their
   * moments at zero.
   */
  latentLearning?: { lr: number; prior: number };
  /**
   * G's adversarial term ramps linearly from 0 to 1 over this many images (default 0: full from the start), so
   * a VAE-GAN first learns the maps' structure from the reconstruction term; D trains throughout.
   */
  adversarialWarmupImages?: number;
  /**
   * The generator written to texture-gan.bin: the EMA generator grown to this resolution by these extra levels'
   * channels (`growGenerator`: maps are then the bilinear upsampling of the trained core's). Absent: as trained.
   */
  exportAs?: { resolution: number; channels: number[] };
  /**
   * Generator parameters held at their starting values (not trained, not averaged): the default preset keeps
   * the linear path W at the PCA basis, so the trained layers and base map learn what a linear model misses.
   */
  frozen?: string[];
  /**
   * Learning-rate multiplier of the refiner's parameters (`refine*`, default 1). Under the equalised learning
   * rate a weight's effective step is lr/√fan-in: at the shipped lr the refiner's zero-started last layer moved
   * ~0.002 in 4,000 images (docs/texture-gan.md), far too little to change a map.
   */
  refinerLrScale?: number;
  /**
   * How the starting PCA of the linear path treats texels no photo saw (`fitPcaTextureModel`'s `missing`):
   * 'filled' (default) fits the filled maps; 'em' treats them as missing data, so W models seen skin rather
   * than the mirror-and-mean fill (the default preset; docs/texture-gan.md, "Linear path").
   */
  linearInit?: { missing: 'filled' | 'em'; emIterations?: number };
  /** Which items train (default `train`: the held-out split is kept for evaluation). */
  split?: UvSplit;
  fill?: FillMode;
  checkpointEvery: number;
  sampleEvery: number;
  logEvery: number;
  seed: number;
}

const base = {
  lrG: 0.002, lrD: 0.002, beta1: 0.5, beta2: 0.99, r1Sigma: 0.05, coveragePrior: 1, seed: 1,
};

/** Named configurations: `smoke` (tests, seconds) and `default` (the shipped model's training, real data). */
export const GAN_PRESETS: Record<'smoke' | 'default', GanTrainConfig> = {
  smoke: {
    ...base,
    generator: { latentSize: 16, resolution: 16, channels: [16, 8, 0], pixelNormMaxRes: 16, baseResolution: 16, linearResolution: 16 },
    discriminator: { resolution: 8, channels: [8, 16] },
    encoder: { resolution: 8, channels: [8, 16], outputs: 32, minibatchStd: false },
    reconstruction: 10, klWeight: 0.05, frozen: ['linear/w'],
    batchSize: 4, steps: 6, emaHalfLifeImages: 20, r1Gamma: 1, r1Every: 2,
    checkpointEvery: 3, sampleEvery: 3, logEvery: 1,
  },
  default: {
    ...base,
    // G's non-adversarial terms ×10 against the adversarial one (its weight 0.1 in effect, Adam being scale-free):
    // at weight 1 the held-out inversion error rose faster as the adversarial term ramped in (docs/texture-gan.md).
    lrG: 0.0015, lrD: 0.0015, coveragePrior: 10,
    generator: DEFAULT_GENERATOR,
    discriminator: { resolution: 64, channels: [8, 16, 32, 64, 128] },
    reconstruction: 100, adversarialWarmupImages: 6000, frozen: ['linear/w'],
    linearInit: { missing: 'em', emIterations: 8 },
    batchSize: 16, steps: 100_000, emaHalfLifeImages: 2000, r1Gamma: 1, r1Every: 4,
    checkpointEvery: 100, sampleEvery: 100, logEvery: 10,
  },
};

export interface GanProgress {
  step: number;
  steps: number;
  epoch: number;
  lossD: number;
  lossG: number;
  r1: number;
  /** With `reconstruction`: masked L1 of the reconstructions (in [−1, 1] units); the KL term (mean per dimension) with an encoder. */
  reconstruction?: number;
  kl?: number;
  /** With `latentLearning`: mean z² of the batch's learned latents (before the step; 1 for N(0, I)). */
  latentMeanSquare?: number;
  imagesPerSec: number;
  etaSeconds: number;
}

export interface TrainOptions {
  datasetDir: string;
  runDir: string;
  /** Continue from runDir/checkpoint (its config wins over `config`, except `steps`, `exportAs` and `latentLearning`). */
  resume?: boolean;
  onProgress?: (p: GanProgress) => void;
  /** One-line notes on the setup (e.g. the starting PCA's EM iterations). */
  onNote?: (message: string) => void;
  /** A folder where the linear path's starting PCA is cached (`fitPcaTextureModelCached`; `ganfit texture eval --pca-cache` shares it). */
  pcaCache?: string;
  /** Stop (after a checkpoint) when this returns true, checked every step. */
  shouldStop?: () => boolean;
}

export interface TrainResult {
  step: number;
  runDir: string;
  generatorPath: string;
  lastProgress?: GanProgress;
}

// -------------------------------------------------------------------------------------------------------------
// Adam with its state as plain named tensors (saved in checkpoints).

/**
 * One Adam update of x by its gradient g, moments m and v (returned new, with the new x); the step's bias
 * corrections as `lrC1` = lr/(1 − β1ᵗ) and `c2` = 1 − β2ᵗ: numbers, or [n, 1] columns for per-row step counts.
 */
function adamUpdate(
  x: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, b1: number, b2: number, lrC1: number | tf.Tensor, c2: number | tf.Tensor,
): { x: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  const m2 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
  const v2 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
  const upd = tf.div(tf.mul(m2, lrC1), tf.add(tf.sqrt(tf.div(v2, c2)), 1e-8));
  return { x: tf.sub(x, upd), m: m2, v: v2 };
}

class Adam {
  t = 0;
  readonly m: Record<string, tf.Variable> = {};
  readonly v: Record<string, tf.Variable> = {};

  constructor(
    readonly vars: Record<string, tf.Variable>, readonly lr: number, readonly b1: number, readonly b2: number,
    /** Per-parameter multipliers of lr (1 where absent). */
    readonly lrScale: Record<string, number> = {},
  ) {
    for (const [k, x] of Object.entries(vars)) {
      this.m[k] = tf.tidy(() => tf.variable(tf.zerosLike(x), false));
      this.v[k] = tf.tidy(() => tf.variable(tf.zerosLike(x), false));
    }
  }

  apply(grads: Record<string, tf.Tensor>): void {
    this.t += 1;
    const c1 = 1 - this.b1 ** this.t;
    const c2 = 1 - this.b2 ** this.t;
    tf.tidy(() => {
      for (const [k, g] of Object.entries(grads)) {
        const u = adamUpdate(this.vars[k]!, g, this.m[k]!, this.v[k]!, this.b1, this.b2, (this.lr * (this.lrScale[k] ?? 1)) / c1, c2);
        this.m[k]!.assign(u.m);
        this.v[k]!.assign(u.v);
        this.vars[k]!.assign(u.x);
      }
    });
  }

  dispose(): void {
    for (const t of [...Object.values(this.m), ...Object.values(this.v)]) t.dispose();
  }
}

/**
 * A table of per-row parameters [N, D] (the real maps' learned latents) trained by Adam a batch of rows at a
 * time: moments and a step count per row, so a row's bias correction counts its own updates and rows outside
 * the batch do not move. The batch must not repeat a row.
 */
class RowAdam {
  constructor(
    readonly x: tf.Variable, readonly m: tf.Variable, readonly v: tf.Variable, readonly t: Float32Array,
    readonly lr: number, readonly b1: number, readonly b2: number,
  ) {}

  rows(idx: number[]): tf.Tensor2D {
    return tf.tidy(() => tf.gather(this.x, tf.tensor1d(idx, 'int32')) as tf.Tensor2D);
  }

  apply(idx: number[], g: tf.Tensor2D): void {
    const steps = idx.map((i) => (this.t[i]! += 1));
    tf.tidy(() => {
      const n = idx.length;
      const rows = tf.tensor1d(idx, 'int32');
      const at = tf.reshape(rows, [n, 1]);
      const lrC1 = tf.tensor2d(steps.map((t) => this.lr / (1 - this.b1 ** t)), [n, 1]);
      const c2 = tf.tensor2d(steps.map((t) => 1 - this.b2 ** t), [n, 1]);
      const u = adamUpdate(tf.gather(this.x, rows), g, tf.gather(this.m, rows), tf.gather(this.v, rows), this.b1, this.b2, lrC1, c2);
      this.m.assign(tf.tensorScatterUpdate(this.m, at, u.m));
      this.v.assign(tf.tensorScatterUpdate(this.v, at, u.v));
      this.x.assign(tf.tensorScatterUpdate(this.x, at, u.x));
    });
  }

  dispose(): void {
    tf.dispose([this.x, this.m, this.v]);
  }
}

// -------------------------------------------------------------------------------------------------------------
// Named-tensor files (checkpoints).

async function saveTensors(file: string, tensors: Record<string, tf.Tensor>): Promise<{ name: string; shape: number[]; offset: number }[]> {
  const entries = Object.entries(tensors);
  const table: { name: string; shape: number[]; offset: number }[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    table.push({ name, shape: t.shape, offset });
    offset += t.size;
  }
  const data = new Float32Array(offset);
  for (const [i, [, t]] of entries.entries()) data.set(t.dataSync() as Float32Array, table[i]!.offset);
  await writeFile(file, new Uint8Array(data.buffer));
  return table;
}

function loadTensor(data: Float32Array, entry: { shape: number[]; offset: number }): tf.Tensor {
  const size = entry.shape.reduce((a, b) => a * b, 1);
  return tf.tensor(data.slice(entry.offset, entry.offset + size), entry.shape);
}

interface CheckpointState {
  version: 1;
  config: GanTrainConfig;
  step: number;
  adamT: number;
  rngState: number;
  cursor: BatchCursor;
  tensors: { name: string; shape: number[]; offset: number }[];
}

// -------------------------------------------------------------------------------------------------------------

function variablesFrom(specs: ParamSpec[], rng: Rng, prefix: string): Record<string, tf.Variable> {
  const p = initParams(specs, rng, false);
  const out: Record<string, tf.Variable> = {};
  for (const [k, t] of Object.entries(p)) {
    out[k] = tf.variable(t, true, `${prefix}/${k}/${Math.floor(rng.next() * 1e9)}`);
    t.dispose();
  }
  return out;
}

/** A grid image (PNG bytes) of maps [n, R, R, 3] in [−1, 1], `cols` per row. */
async function gridPng(maps: tf.Tensor4D, cols: number): Promise<Buffer> {
  const [n, r] = [maps.shape[0], maps.shape[1]];
  const rows = Math.ceil(n / cols);
  const pxT = tf.tidy(() => tf.round(tf.mul(tf.clipByValue(tf.add(tf.mul(maps, 0.5), 0.5), 0, 1), 255)));
  const px = pxT.dataSync();
  pxT.dispose();
  const out = new Uint8Array(rows * r * cols * r * 3);
  for (let k = 0; k < n; k++) {
    const gx = (k % cols) * r;
    const gy = Math.floor(k / cols) * r;
    for (let y = 0; y < r; y++) {
      for (let x = 0; x < r; x++) {
        const src = ((k * r + y) * r + x) * 3;
        const dst = ((gy + y) * cols * r + gx + x) * 3;
        out[dst] = px[src]!;
        out[dst + 1] = px[src + 1]!;
        out[dst + 2] = px[src + 2]!;
      }
    }
  }
  return sharp(Buffer.from(out.buffer), { raw: { width: cols * r, height: rows * r, channels: 3 } }).png().toBuffer();
}

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

/** Checkpoint name of the real maps' linear-projection latents [N, D] (dataset order). */
const LINEAR_LATENTS = 'linearLatents';
/** Checkpoint names of the learned latents [N, D] (`latentLearning`), their Adam moments and per-row step counts [N]. */
const LEARNED_LATENTS = { x: 'latents', m: 'latentAdam/m', v: 'latentAdam/v', t: 'latentAdam/t' } as const;

/**
 * Each training map's linear projection (`createLinearProjector` on G's linear path and base map, seen texels
 * only), in the dataset's order: from the checkpoint when resuming, else computed (~30 ms a map).
 */
async function linearProjectionLatents(
  cfg: GanTrainConfig, G: Record<string, tf.Variable>, linearScale: number, dataset: UvDataset,
  checkpoint: { state: CheckpointState; data: Float32Array } | null, onNote?: (message: string) => void,
): Promise<tf.Tensor2D> {
  if (!G['linear/w'] || !G.base) throw new Error('reconstruction without an encoder needs the linear path (its least squares give the real maps\' latents)');
  const entry = checkpoint?.state.tensors.find((t) => t.name === LINEAR_LATENTS);
  if (checkpoint && entry) return loadTensor(checkpoint.data, entry) as tf.Tensor2D;
  const w = tf.mul(G['linear/w'], linearScale) as tf.Tensor2D;
  const projector = createLinearProjector(w, G.base, cfg.generator.linearResolution!);
  const rows: tf.Tensor2D[] = [];
  const t0 = performance.now();
  try {
    for (let i = 0; i < dataset.size; i += cfg.batchSize) {
      const idx = Array.from({ length: Math.min(cfg.batchSize, dataset.size - i) }, (_, k) => i + k);
      const { images, masks } = await dataset.load(idx);
      const [maps, seen] = tf.tidy(() => [tf.add(tf.mul(images, 0.5), 0.5) as tf.Tensor4D, tf.cast(tf.greaterEqual(masks, SEEN_THRESHOLD), 'float32') as tf.Tensor4D]);
      rows.push(projector.project(maps, seen));
      tf.dispose([images, masks, maps, seen]);
      if ((i / cfg.batchSize) % 50 === 0) onNote?.(`real maps' linear projections: ${i}/${dataset.size}`);
    }
    onNote?.(`real maps' linear projections: ${dataset.size} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    return tf.concat(rows, 0) as tf.Tensor2D;
  } finally {
    projector.dispose();
    tf.dispose([w, ...rows]);
  }
}

/** Train (or continue training) the texture GAN on the UV dataset in `datasetDir`. */
export async function trainGan(config: GanTrainConfig, options: TrainOptions): Promise<TrainResult> {
  const { runDir } = options;
  const ckDir = path.join(runDir, 'checkpoint');
  await mkdir(path.join(runDir, 'samples'), { recursive: true });

  let state: CheckpointState | null = null;
  let ckData: Float32Array | null = null;
  if (options.resume && (await exists(path.join(ckDir, 'state.json')))) {
    state = JSON.parse(await readFile(path.join(ckDir, 'state.json'), 'utf8')) as CheckpointState;
    const bin = await readFile(path.join(ckDir, 'tensors.bin'));
    ckData = new Float32Array(new Uint8Array(bin).slice().buffer);
    // The checkpoint's config wins, except the length of the run, how the generator is exported and latent learning.
    config = {
      ...state.config, steps: config.steps,
      ...(config.exportAs ? { exportAs: config.exportAs } : {}),
      ...(config.latentLearning ? { latentLearning: config.latentLearning } : {}),
    };
  }
  const cfg = config;
  const r = cfg.generator.resolution;
  // D and the encoder may work at a lower resolution than G (a power-of-two fraction): they see area-averaged
  // maps, while the reconstruction and the coverage prior are at G's resolution.
  const rD = cfg.discriminator.resolution;
  if (rD > r || !Number.isInteger(Math.log2(r / rD))) throw new Error(`discriminator resolution ${rD} must be G's (${r}) or a power-of-two fraction of it`);
  const dataset = await openUvDataset(options.datasetDir, {
    resolution: r, split: cfg.split ?? 'train', cache: true, ...(cfg.fill ? { fill: cfg.fill } : {}),
  });
  if (cfg.encoder && (cfg.encoder.resolution !== rD || cfg.encoder.outputs !== 2 * cfg.generator.latentSize || cfg.encoder.minibatchStd !== false)) {
    throw new Error('encoder: needs the discriminator\'s resolution, 2·latentSize outputs and minibatchStd false');
  }

  const rng = new Rng(cfg.seed);
  const gSpecs = generatorParamSpecs(cfg.generator);
  const dSpecs = discriminatorParamSpecs(cfg.discriminator);
  const G = variablesFrom(gSpecs, rng, 'G');
  const frozen = new Set(cfg.frozen ?? []);
  for (const name of frozen) if (!G[name]) throw new Error(`frozen: the generator has no parameter '${name}'`);
  const trainableG = Object.fromEntries(Object.entries(G).filter(([k]) => !frozen.has(k)));
  /** W's run-time scale (equalised learning rate): effective W = stored W × this. */
  const linearScale = gSpecs.find((sp) => sp.name === 'linear/w')?.scale ?? 1;
  const D = variablesFrom(dSpecs, rng, 'D');
  const E = cfg.encoder ? variablesFrom(discriminatorParamSpecs(cfg.encoder), rng, 'E') : {};
  if (G.base && !state) {
    // The base map starts at the dataset's mean map (in [−1, 1]) at its resolution; a linear path base + W·z
    // at the PCA model of the training maps there (mean, σ-scaled components), so G starts as that PCA model.
    const rb = cfg.generator.baseResolution!;
    const at = rb === r ? dataset : await openUvDataset(options.datasetDir, { resolution: rb, split: cfg.split ?? 'train' });
    if (G['linear/w']) {
      const pcaOptions: PcaFitOptions = {
        latentSize: cfg.generator.latentSize, seed: cfg.seed, ...cfg.linearInit,
        onProgress: (p) => options.onNote?.(`linear path: EM ${p.iteration}/${p.iterations}, seen-texel RMS ${p.seenRms.toFixed(4)}`),
      };
      const cache = options.pcaCache ? { dir: options.pcaCache, dataset: options.datasetDir } : undefined;
      const { model: pca, file, cached } = await fitPcaTextureModelCached(at, pcaOptions, cache);
      if (file) options.onNote?.(`linear path: PCA ${cached ? 'read from' : 'saved to'} ${file}`);
      tf.tidy(() => {
        G['linear/w']!.assign(tf.div(pca.basis, linearScale));
        G.base!.assign(tf.tensor4d(pca.mean, [1, rb, rb, 3]));
      });
      pca.dispose();
    } else {
      tf.tidy(() => G.base!.assign(tf.sub(tf.mul(tf.tensor4d(at.mean, [1, rb, rb, 3]), 2), 1)));
    }
    // toRGB starts at zero too: the new generator outputs the mean map and learns departures from it (random
    // toRGB layers would add several levels of coloured noise that take thousands of images to unlearn).
    tf.tidy(() => { for (const [k, v] of Object.entries(G)) if (k.endsWith('/rgb/w')) v.assign(tf.zerosLike(v)); });
  }
  // The EMA generator; a frozen parameter is its own average, so EMA shares G's tensor (not saved, not disposed twice).
  const ema: ParamMap = {};
  for (const [k, v] of Object.entries(G)) ema[k] = frozen.has(k) ? v : tf.clone(v);
  const refinerScale = Object.fromEntries(Object.keys(trainableG).filter(isRefinerParam).map((k) => [k, cfg.refinerLrScale ?? 1]));
  const optG = new Adam(trainableG, cfg.lrG, cfg.beta1, cfg.beta2, refinerScale);
  const optD = new Adam(D, cfg.lrD, cfg.beta1, cfg.beta2);
  const optE = new Adam(E, cfg.lrG, cfg.beta1, cfg.beta2);
  const optimisers = [[optG, 'G'], [optD, 'D'], [optE, 'E']] as const;
  let step = 0;
  let cursor: BatchCursor = { epoch: 0, batch: 0 };
  if (state && ckData) {
    const byName = new Map(state.tensors.map((t) => [t.name, t]));
    const restore = (name: string, target: tf.Variable | tf.Tensor, into: ParamMap, key: string): void => {
      const e = byName.get(name);
      if (!e) throw new Error(`checkpoint lacks '${name}'`);
      const t = loadTensor(ckData!, e);
      if (target instanceof tf.Variable) { target.assign(t); t.dispose(); } else { target.dispose(); into[key] = t; }
    };
    for (const k of Object.keys(G)) restore(`G/${k}`, G[k]!, {}, k);
    for (const k of Object.keys(D)) restore(`D/${k}`, D[k]!, {}, k);
    for (const k of Object.keys(E)) restore(`E/${k}`, E[k]!, {}, k);
    for (const k of Object.keys(trainableG)) restore(`ema/${k}`, ema[k]!, ema, k);
    for (const [opt, tag] of optimisers) {
      for (const k of Object.keys(opt.m)) restore(`adam${tag}/m/${k}`, opt.m[k]!, {}, k);
      for (const k of Object.keys(opt.v)) restore(`adam${tag}/v/${k}`, opt.v[k]!, {}, k);
      opt.t = state.adamT;
    }
    step = state.step;
    cursor = state.cursor;
    rng.state = state.rngState;
  }

  // Without an encoder, real maps are decoded from their linear projection: computed once (with the linear
  // path and base map G starts from) and kept in the checkpoint.
  const linearLatents = !cfg.encoder && (cfg.reconstruction ?? 0) > 0
    ? await linearProjectionLatents(cfg, G, linearScale, dataset, state && ckData ? { state, data: ckData } : null, options.onNote)
    : null;
  const latentRow = new Map(dataset.index.items.map((it, i) => [it.id, i]));
  // With latent learning, the real maps are decoded from trained copies of those projections.
  let learned: RowAdam | null = null;
  if (cfg.latentLearning) {
    if (!linearLatents) throw new Error('latentLearning needs `reconstruction` and no encoder (the latents start at the linear projections)');
    if (cfg.batchSize > dataset.size) throw new Error(`latentLearning: batch ${cfg.batchSize} repeats maps (${dataset.size} in the split)`);
    const entry = (name: string) => state?.tensors.find((t) => t.name === name);
    const load = (name: string, otherwise: () => tf.Tensor): tf.Variable => {
      const e = entry(name);
      const t = e && ckData ? loadTensor(ckData, e) : otherwise();
      const x = tf.variable(t, false);
      t.dispose();
      return x;
    };
    const tEntry = entry(LEARNED_LATENTS.t);
    const t = tEntry && ckData ? ckData.slice(tEntry.offset, tEntry.offset + dataset.size) : new Float32Array(dataset.size);
    learned = new RowAdam(
      load(LEARNED_LATENTS.x, () => tf.clone(linearLatents)), load(LEARNED_LATENTS.m, () => tf.zerosLike(linearLatents)),
      load(LEARNED_LATENTS.v, () => tf.zerosLike(linearLatents)), t, cfg.latentLearning.lr, cfg.beta1, cfg.beta2,
    );
  }

  // A frozen linear path enters the forward pass as a constant (its transpose made once, for z's gradient).
  const frozenLinearT = frozen.has('linear/w')
    ? tf.tidy(() => transposeMatrix(tf.mul(G['linear/w']!, linearScale) as tf.Tensor2D))
    : undefined;
  const forwardG = (z: tf.Tensor2D): tf.Tensor4D => generatorForward(cfg.generator, G, z, frozenLinearT);
  // Dataset-level maps used by the losses.
  const meanMap = tf.tidy(() => tf.sub(tf.mul(tf.tensor4d(dataset.mean, [1, r, r, 3]), 2), 1));
  const priorWeight = tf.tidy(() => tf.pow(tf.sub(1, tf.tensor4d(dataset.coverage, [1, r, r, 1])), 4));
  const fixedZ = tf.tensor2d(new Rng(cfg.seed + 7777).normals(16 * cfg.generator.latentSize), [16, cfg.generator.latentSize]);

  const latent = (b: number): tf.Tensor2D => tf.tensor2d(rng.normals(b * cfg.generator.latentSize), [b, cfg.generator.latentSize]);
  const composite = (fake: tf.Tensor4D, real: tf.Tensor4D, m: tf.Tensor4D): tf.Tensor4D =>
    tf.add(tf.mul(m, fake), tf.mul(tf.sub(1, m), real)) as tf.Tensor4D;
  const emaBeta = 0.5 ** (cfg.batchSize / Math.max(1, cfg.emaHalfLifeImages));

  const writeCheckpoint = async (): Promise<string> => {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(G)) tensors[`G/${k}`] = v;
    for (const [k, v] of Object.entries(D)) tensors[`D/${k}`] = v;
    for (const [k, v] of Object.entries(E)) tensors[`E/${k}`] = v;
    for (const k of Object.keys(trainableG)) tensors[`ema/${k}`] = ema[k]!;
    if (linearLatents) tensors[LINEAR_LATENTS] = linearLatents;
    const stepCounts = learned ? tf.tensor1d(learned.t) : null;
    if (learned && stepCounts) {
      Object.assign(tensors, { [LEARNED_LATENTS.x]: learned.x, [LEARNED_LATENTS.m]: learned.m, [LEARNED_LATENTS.v]: learned.v, [LEARNED_LATENTS.t]: stepCounts });
    }
    for (const [opt, tag] of optimisers) {
      for (const [k, v] of Object.entries(opt.m)) tensors[`adam${tag}/m/${k}`] = v;
      for (const [k, v] of Object.entries(opt.v)) tensors[`adam${tag}/v/${k}`] = v;
    }
    const tmp = ckDir + '.tmp';
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    const table = await saveTensors(path.join(tmp, 'tensors.bin'), tensors);
    stepCounts?.dispose();
    const st: CheckpointState = { version: 1, config: cfg, step, adamT: optG.t, rngState: rng.state, cursor, tensors: table };
    await writeFile(path.join(tmp, 'state.json'), JSON.stringify(st, null, 1));
    await rm(ckDir + '.old', { recursive: true, force: true });
    if (await exists(ckDir)) await rename(ckDir, ckDir + '.old');
    await rename(tmp, ckDir);
    await rm(ckDir + '.old', { recursive: true, force: true });
    const genPath = path.join(runDir, 'texture-gan.bin');
    const info = {
      trainedSteps: step, images: step * cfg.batchSize, trainedResolution: r, trainingMaps: dataset.size,
      dataset: dataset.index.description ?? options.datasetDir,
    };
    // The encoder (trained with the live G, close to the EMA one) ships as the generator's amortised inversion.
    const encoder = cfg.encoder ? { config: cfg.encoder, params: E } : undefined;
    if (cfg.exportAs) {
      const grown = growGenerator(cfg.generator, ema, cfg.exportAs.resolution, cfg.exportAs.channels, new Rng(cfg.seed + 4242));
      await writeFile(genPath + '.tmp', encodeGeneratorWeights(grown.config, grown.params, info, encoder));
      tf.dispose(Object.values(grown.params));
    } else {
      await writeFile(genPath + '.tmp', encodeGeneratorWeights(cfg.generator, ema, info, encoder));
    }
    await rename(genPath + '.tmp', genPath);
    return genPath;
  };

  const writeSamples = async (): Promise<void> => {
    const maps = tf.tidy(() => generatorForward(cfg.generator, ema, fixedZ));
    const png = await gridPng(maps, 4);
    maps.dispose();
    await writeFile(path.join(runDir, 'samples', `step-${String(step).padStart(6, '0')}.png`), png);
  };

  const batches = dataset.batches(cfg.batchSize, cfg.seed, cursor);
  const t0 = performance.now();
  const stepAtStart = step;
  let last: GanProgress | undefined;
  let genPath = path.join(runDir, 'texture-gan.bin');
  try {
    while (step < cfg.steps) {
      const next = await batches.next();
      if (next.done) break;
      const { images: real, masks, ids, cursor: nextCursor } = next.value;
      const b = real.shape[0];
      // What D and the encoder see (the same tensors when they work at G's resolution).
      const realD = downsampleTo(real, rD);
      const masksD = downsampleTo(masks, rD);
      const toD = (maps: tf.Tensor4D): tf.Tensor4D => downsampleTo(composite(maps, real, masks), rD);
      // --- D step.
      const zD = latent(b);
      const r1Every = cfg.r1Every ?? 1;
      const noise = cfg.r1Gamma > 0 && step % r1Every === 0 ? tf.tensor4d(rng.normals(b * rD * rD * 3), [b, rD, rD, 3]) : null;
      const fake = tf.tidy(() => forwardG(zD));
      let r1Value = 0;
      const dStep = tf.variableGrads(() => {
        const dReal = discriminatorForward(cfg.discriminator, D, realD, masksD);
        const dFake = discriminatorForward(cfg.discriminator, D, toD(fake), masksD);
        let loss = tf.add(tf.mean(tf.softplus(dFake)), tf.mean(tf.softplus(tf.neg(dReal))));
        if (noise) {
          const dNoisy = discriminatorForward(cfg.discriminator, D, tf.add(realD, tf.mul(noise, cfg.r1Sigma)) as tf.Tensor4D, masksD);
          const r1 = tf.div(tf.mean(tf.square(tf.sub(dNoisy, dReal))), cfg.r1Sigma ** 2);
          r1Value = r1.dataSync()[0]!;
          loss = tf.add(loss, tf.mul(r1, (cfg.r1Gamma * r1Every) / 2));
        }
        return loss as tf.Scalar;
      }, Object.values(D));
      optD.apply(Object.fromEntries(Object.entries(D).map(([k, v]) => [k, dStep.grads[v.name]!])));
      const lossD = dStep.value.dataSync()[0]!;
      dStep.value.dispose();
      for (const g of Object.values(dStep.grads)) g.dispose();
      fake.dispose();
      noise?.dispose();
      // --- G step (and the encoder's, for the VAE-GAN).
      const zG = latent(b);
      const eps = cfg.encoder ? latent(b) : null;
      const rows = ids.map((id) => latentRow.get(id)!);
      // The real maps' latents: their linear projections, or (latent learning) the batch's rows as a variable.
      const zLinear = linearLatents && !learned
        ? tf.tidy(() => tf.gather(linearLatents, rows)) as tf.Tensor2D
        : null;
      const zLearned = learned ? tf.tidy(() => tf.variable(learned!.rows(rows), true, `latents/${step}`)) : null;
      let recValue: number | undefined;
      let klValue: number | undefined;
      let latentValue: number | undefined;
      const gStep = tf.variableGrads(() => {
        const latentSize = cfg.generator.latentSize;
        // Latents of the real maps to decode: sampled from q (VAE-GAN), learned, or their linear projection.
        let zReal: tf.Tensor2D | null = zLearned ?? zLinear;
        let kl: tf.Scalar | null = null;
        if (cfg.encoder && eps) {
          const q = discriminatorForward(cfg.encoder, E, realD, masksD);
          const mu = tf.slice(q, [0, 0], [b, latentSize]);
          const logVar = tf.clipByValue(tf.slice(q, [0, latentSize], [b, latentSize]), -10, 4);
          kl = tf.mul(tf.mean(tf.sub(tf.add(tf.square(mu), tf.exp(logVar)), tf.add(logVar, 1))), 0.5) as tf.Scalar;
          zReal = tf.add(mu, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps)) as tf.Tensor2D;
        }
        const out = forwardG(zReal ? tf.concat([zG, zReal], 0) as tf.Tensor2D : zG);
        const g = zReal ? tf.slice(out, [0, 0, 0, 0], [b, r, r, 3]) as tf.Tensor4D : out;
        const dFake = discriminatorForward(cfg.discriminator, D, toD(g), masksD);
        const warmup = cfg.adversarialWarmupImages ?? 0;
        const adversarial = warmup > 0 ? Math.min(1, (step * cfg.batchSize) / warmup) : 1;
        let loss: tf.Tensor = tf.mul(tf.mean(tf.softplus(tf.neg(dFake))), adversarial);
        if (cfg.coveragePrior > 0) loss = tf.add(loss, tf.mul(tf.mean(tf.mul(priorWeight, tf.abs(tf.sub(g, meanMap)))), cfg.coveragePrior));
        if (zReal) {
          // Masked L1 over observed texels (mask weights), per channel.
          const rec = tf.slice(out, [b, 0, 0, 0], [b, r, r, 3]);
          const l1 = tf.div(tf.sum(tf.mul(masks, tf.abs(tf.sub(rec, real)))), tf.add(tf.mul(tf.sum(masks), 3), 1e-6));
          recValue = l1.dataSync()[0]!;
          loss = tf.add(loss, tf.mul(l1, cfg.reconstruction ?? 1));
        }
        if (kl) {
          klValue = kl.dataSync()[0]!;
          loss = tf.add(loss, tf.mul(kl, cfg.klWeight ?? 1));
        }
        if (zLearned && cfg.latentLearning) {
          const meanSquare = tf.mean(tf.square(zLearned));
          latentValue = meanSquare.dataSync()[0]!;
          loss = tf.add(loss, tf.mul(meanSquare, cfg.latentLearning.prior));
        }
        return loss as tf.Scalar;
      }, [...Object.values(trainableG), ...Object.values(E), ...(zLearned ? [zLearned] : [])]);
      optG.apply(Object.fromEntries(Object.entries(trainableG).map(([k, v]) => [k, gStep.grads[v.name]!])));
      if (cfg.encoder) optE.apply(Object.fromEntries(Object.entries(E).map(([k, v]) => [k, gStep.grads[v.name]!])));
      if (learned && zLearned) learned.apply(rows, gStep.grads[zLearned.name] as tf.Tensor2D);
      const lossG = gStep.value.dataSync()[0]!;
      gStep.value.dispose();
      for (const g of Object.values(gStep.grads)) g.dispose();
      tf.dispose([zD, zG, real, masks, realD, masksD]);
      eps?.dispose();
      zLinear?.dispose();
      zLearned?.dispose();
      // --- EMA.
      tf.tidy(() => {
        for (const [k, v] of Object.entries(trainableG)) {
          const e = tf.add(tf.mul(ema[k]!, emaBeta), tf.mul(v, 1 - emaBeta));
          ema[k]!.dispose();
          ema[k] = tf.keep(e);
        }
      });
      step += 1;
      cursor = nextCursor;
      const elapsed = (performance.now() - t0) / 1000;
      const ips = ((step - stepAtStart) * cfg.batchSize) / Math.max(1e-9, elapsed);
      last = {
        step, steps: cfg.steps, epoch: cursor.epoch, lossD, lossG, r1: r1Value, imagesPerSec: ips,
        etaSeconds: ((cfg.steps - step) * cfg.batchSize) / Math.max(1e-9, ips),
        ...(recValue !== undefined ? { reconstruction: recValue } : {}),
        ...(klValue !== undefined ? { kl: klValue } : {}),
        ...(latentValue !== undefined ? { latentMeanSquare: latentValue } : {}),
      };
      if (step % cfg.logEvery === 0 || step === cfg.steps) {
        options.onProgress?.(last);
        await appendFile(path.join(runDir, 'log.jsonl'), JSON.stringify(last) + '\n');
      }
      const stop = options.shouldStop?.() ?? false;
      if (step % cfg.sampleEvery === 0 || step === cfg.steps) await writeSamples();
      if (step % cfg.checkpointEvery === 0 || step === cfg.steps || stop) genPath = await writeCheckpoint();
      if (stop) break;
    }
    if (step === stepAtStart) genPath = await writeCheckpoint();
  } finally {
    await batches.return(undefined);
    for (const [opt] of optimisers) opt.dispose();
    tf.dispose([...Object.values(G), ...Object.values(D), ...Object.values(E), ...Object.keys(trainableG).map((k) => ema[k]!), meanMap, priorWeight, fixedZ]);
    linearLatents?.dispose();
    learned?.dispose();
    frozenLinearT?.dispose();
  }
  const result: TrainResult = { step, runDir, generatorPath: genPath };
  if (last) result.lastProgress = last;
  return result;
}

/** Load the EMA generator written by a run (runDir/texture-gan.bin) without the loader's default path. */
export async function loadRunGenerator(runDir: string): Promise<TextureGenerator> {
  return loadTextureGenerator(path.join(runDir, 'texture-gan.bin'));
}
