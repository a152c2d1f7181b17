/**
 * Quality of the texture models (docs/texture-gan.md, "Evaluation"), four measurements:
 *
 * (a) Inversion on held-out UV maps. For each map, each model's latent z is optimised (Adam from the model's
 *     encoder applied to the fitted texels where it has one, else from z = 0, or from a seeded random direction
 *     for a GAN whose maps depend on z's direction only; the same steps and learning rate schedule for every
 *     model) so that G(z), resampled bilinearly to the
 *     dataset's resolution, matches the texels the photo saw (mask ≥ 0.99: not mirrored, not filled) under an
 *     L1 loss plus λ·mean(z²). A seeded random part of the seen texels (default 20 %) is withheld from the fit;
 *     the mean absolute error in 8-bit units is reported on the fitted and on the withheld texels, and the same
 *     for the dataset's mean map (no fit) as the reference.
 * (b) Detection rate: seeded random samples of each model rendered frontally on the mean head
 *     (src/texture/preview.ts, what `ganfit texture sample` writes) and given to the face detector; the
 *     fraction in which it finds a face, and the same for the dataset's mean map.
 * (c) Sample grids: the first samples' UV maps and their renders, tiled, for the docs.
 * (d) Realism: the kernel distance (KID, src/eval/kid.ts) between face-recognition embeddings of frontal renders
 *     of random samples and of held-out real maps. A real map is known only where its photo saw the face, so
 *     each sample is paired with one real map and both take the dataset's mean map where that photo did not
 *     see (the discriminator's input in training is made the same way, docs/texture-gan.md "Partial real
 *     maps"): the renders then differ only where there is real skin to compare with, and the seam between
 *     seen and filled texels is in both. Each model with an encoder is also scored on its projections of the
 *     real maps themselves (encode the seen texels, decode): if they are as far from the real set as its
 *     samples, what a model lacks is detail, not a better distribution of latents. The other models' KIDs are
 *     also given as differences from the first model's over subsets of the same maps (paired: far less spread).
 *
 * The function measures and returns numbers and pixel arrays; the CLI (`ganfit texture eval`) writes the files.
 */
import { tf } from '../engine/index.js';
import type { Detector } from '../detect/index.js';
import type { RgbImage } from '../io/image.js';
import type { FaceModel } from '../model/types.js';
import { chipTransformFromLandmarks, warpToChip } from '../losses/align.js';
import type { RecognitionNet } from '../losses/recognition-net.js';
import type { TextureModel } from '../texture/gan.js';
import { sampleTextures } from '../texture/gan.js';
import { resampleBilinear } from '../texture/ops.js';
import { createFrontalPreview, PREVIEW_CAMERA, PREVIEW_LIGHT, PREVIEW_SIZE } from '../texture/preview.js';
import { Rng } from '../texture/random.js';
import { isHeldOut, SEEN_THRESHOLD, type UvDataset } from '../training/uv-dataset-format.js';
import { kernelInceptionDistance, kidDifference, type KidDifference, type KidResult } from './kid.js';

export { SEEN_THRESHOLD };

/** The name under which the dataset's mean map appears in the results (no model may use it). */
export const MEAN_MAP = 'mean';

export interface TextureEvalSettings {
  /** Held-out maps to invert: N of the dataset from `from` on (default 500; fewer when the split is smaller). */
  heldout: number;
  /**
   * First map to invert (default 0): an evaluation split over processes (one per core) gives each a range;
   * per-map results do not depend on the split.
   */
  from: number;
  /** Random samples per model for the detection rate (default 100). */
  samples: number;
  /** Samples per model in the grids (default 16). */
  gridSamples: number;
  /** Adam steps per map (default 100). */
  steps: number;
  /** Adam's peak learning rate; cosine decay to 0 over the steps (default 0.1). */
  learningRate: number;
  /** λ of the prior λ·mean(z²) (default 0.01). */
  prior: number;
  /** Maps fitted together (default 8; each map's latent is its own, so this changes speed only). */
  batchSize: number;
  /** Fraction of each map's seen texels withheld from the fit (default 0.2). */
  withheldFraction: number;
  /** Seed of the withheld texels and of the samples (default 1). */
  seed: number;
  /** Held-out maps (the first N of the split) and as many samples per model for the realism figure (default 500). */
  realism: number;
}

export const DEFAULT_TEXTURE_EVAL: TextureEvalSettings = {
  heldout: 500, from: 0, samples: 100, gridSamples: 16, steps: 100, learningRate: 0.1, prior: 0.01, batchSize: 8,
  withheldFraction: 0.2, seed: 1, realism: 500,
};

export interface TextureEvalProgress {
  phase: 'inversion' | 'detection' | 'realism';
  /** Model name (or MEAN_MAP). */
  model: string;
  done: number;
  total: number;
}

export interface TextureEvalOptions extends Partial<TextureEvalSettings> {
  /**
   * The maps to invert: a dataset opened with `split: 'heldout'` (and `fill: 'none'`; unseen texels are not
   * used either way). Its resolution is the comparison resolution; its `mean` is the reference map.
   */
  dataset: UvDataset;
  /** The models by name, e.g. `{ gan, pca }`. Outputs at another resolution are resampled bilinearly. */
  models: Record<string, TextureModel>;
  /**
   * The head the samples are rendered on and the detector (the fitter's). Without the head: no renders, so no
   * detection part and no grids; without the detector: no detection part.
   */
  faceModel?: FaceModel;
  detector?: Detector;
  /** The network whose embeddings the realism figure compares (face-api's; without it, and the head: no realism part). */
  recognition?: RecognitionNet;
  /** Which parts to run (default all). */
  parts?: { inversion?: boolean; detection?: boolean; grids?: boolean; realism?: boolean };
  onProgress?: (p: TextureEvalProgress) => void;
}

/** Mean and median over maps of a per-map error. */
export interface ErrorStats {
  mean: number;
  median: number;
  /** Maps that had texels in this set. */
  maps: number;
}

export interface InversionResult {
  /** MAE (8-bit units) on the seen texels the fit used. */
  fitted: ErrorStats;
  /** MAE (8-bit units) on the seen texels withheld from the fit. */
  withheld: ErrorStats;
  /** Mean of z² over the fitted latents (1 for a typical N(0, I) draw); absent for the mean map. */
  meanZ2?: number;
  seconds: number;
}

export interface DetectionResult {
  /** Renders given to the detector. */
  n: number;
  detected: number;
  /** detected / n. */
  rate: number;
  /** Score of the largest detected face per render, 0 when none. */
  scores: number[];
  /** Mean of `scores` (undetected renders count 0). */
  meanScore: number;
  seconds: number;
}

export interface TextureEvalReport {
  format: 'ganfit-texture-eval';
  version: 1;
  dataset: {
    dir: string;
    /** The comparison resolution (the dataset as opened). */
    resolution: number;
    /** Items in the dataset as opened, and whether all of them are in the held-out split. */
    items: number;
    heldoutOnly: boolean;
  };
  settings: TextureEvalSettings & { seenThreshold: number };
  /** Each model's size and where its latent fits start (`initialLatent`). */
  models: Record<string, { latentSize: number; resolution: number; start: FitStart }>;
  inversion?: {
    maps: number;
    ids: string[];
    /** Per model and for MEAN_MAP. */
    results: Record<string, InversionResult>;
    /** Per-map errors (8-bit units, NaN → null when a map had no texel in the set), in `ids` order. */
    perMap: Record<string, { fitted: (number | null)[]; withheld: (number | null)[] }>;
  };
  detection?: {
    render: { size: number; camera: typeof PREVIEW_CAMERA; light: typeof PREVIEW_LIGHT; head: 'mean shape, neutral expression' };
    /** Per model and for MEAN_MAP (one render). */
    results: Record<string, DetectionResult>;
  };
  realism?: {
    /** Held-out maps (ids) as the real set; each model's sample k is paired with map k. */
    maps: number;
    ids: string[];
    embedding: string;
    /** KID against the real set per model, and for MEAN_MAP (the mean map as every sample). */
    results: Record<string, KidResult & { seconds: number }>;
    /**
     * KID against the real set of each real map's own projection (the model's `encode` of its seen texels,
     * decoded), per model that has an encoder: what the model's best single guess of each real map lacks, as
     * against what its prior sampling adds (`results`).
     */
    projections: Record<string, KidResult & { seconds: number }>;
    /**
     * Each other model's KID minus the first model's (`reference`), samples and projections, with the spread
     * over subsets that take the same maps for both: two models' renders of map k share that map's mask and
     * seam, so the paired spread is far below either figure's own `subsetStd`.
     */
    paired: { reference: string; results: Record<string, KidDifference>; projections: Record<string, KidDifference> };
  };
  seconds: number;
}

export interface TextureEvalGrid {
  /** `<model>-uv` (maps, resampled to the comparison resolution) or `<model>-render` (frontal renders). */
  name: string;
  image: RgbImage;
}

export interface TextureEvalOutput {
  report: TextureEvalReport;
  grids: TextureEvalGrid[];
}

/** 32-bit seed for one map's withheld texels, from the run seed and the map's id (stable as the set grows). */
function mapSeed(seed: number, id: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function stats(values: number[]): ErrorStats {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { mean: NaN, median: NaN, maps: 0 };
  const mid = v.length >> 1;
  return {
    mean: v.reduce((a, b) => a + b, 0) / v.length,
    median: v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2,
    maps: v.length,
  };
}

/** One batch of held-out maps prepared for fitting: targets in [0, 1] and the two texel sets. */
interface PreparedBatch {
  ids: string[];
  target: tf.Tensor4D;
  /** Fit-set weights [B, R, R, 1]: 1 / (3·n_fit(b)) on fitted texels, 0 elsewhere (so Σ w·|d| = per-map MAE sum). */
  fitWeight: tf.Tensor4D;
  heldWeight: tf.Tensor4D;
  nFit: number[];
  nHeld: number[];
}

async function prepareBatch(dataset: UvDataset, indices: number[], fraction: number, seed: number): Promise<PreparedBatch> {
  const { images, masks, ids } = await dataset.load(indices);
  const m = masks.dataSync();
  masks.dispose();
  const target = tf.tidy(() => tf.add(tf.mul(images, 0.5), 0.5) as tf.Tensor4D);
  images.dispose();
  const texels = dataset.resolution * dataset.resolution;
  const fit = new Float32Array(m.length);
  const held = new Float32Array(m.length);
  const nFit: number[] = [];
  const nHeld: number[] = [];
  ids.forEach((id, b) => {
    const rng = new Rng(mapSeed(seed, id));
    let f = 0, h = 0;
    for (let i = b * texels; i < (b + 1) * texels; i++) {
      const u = rng.next(); // drawn for every texel, so a texel's set does not depend on the other masks
      if (m[i]! < SEEN_THRESHOLD) continue;
      if (u < fraction) { held[i] = 1; h++; } else { fit[i] = 1; f++; }
    }
    for (let i = b * texels; i < (b + 1) * texels; i++) {
      if (fit[i]) fit[i] = 1 / (3 * f);
      if (held[i]) held[i] = 1 / (3 * h);
    }
    nFit.push(f);
    nHeld.push(h);
  });
  const shape: [number, number, number, number] = [ids.length, dataset.resolution, dataset.resolution, 1];
  return { ids, target, fitWeight: tf.tensor4d(fit, shape), heldWeight: tf.tensor4d(held, shape), nFit, nHeld };
}

function disposeBatch(b: PreparedBatch): void {
  tf.dispose([b.target, b.fitWeight, b.heldWeight]);
}

/** Per-map MAE in 8-bit units of `maps` against the batch on both texel sets (NaN where a set is empty). */
function batchErrors(maps: tf.Tensor4D, b: PreparedBatch): { fitted: number[]; withheld: number[] } {
  const [f, h] = tf.tidy(() => {
    const d = tf.abs(tf.sub(maps, b.target));
    return [tf.sum(tf.mul(d, b.fitWeight), [1, 2, 3]), tf.sum(tf.mul(d, b.heldWeight), [1, 2, 3])];
  });
  const fv = Array.from(f!.dataSync() as Float32Array, (v, i) => (b.nFit[i]! > 0 ? 255 * v : NaN));
  const hv = Array.from(h!.dataSync() as Float32Array, (v, i) => (b.nHeld[i]! > 0 ? 255 * v : NaN));
  tf.dispose([f!, h!]);
  return { fitted: fv, withheld: hv };
}

export type FitStart = 'encoder' | 'random direction' | 'zero';

function fitStart(model: TextureModel): FitStart {
  return model.encode ? 'encoder' : model.directionalLatent ? 'random direction' : 'zero';
}

/**
 * Where a fit starts: the model's encoder applied to the fitted texels when it has one (rescaled to mean(z²) = 1
 * for a directional latent, which leaves its maps unchanged and puts it where the prior is flat), else a seeded
 * N(0, I) draw for a directional latent, else z = 0.
 */
function initialLatent(model: TextureModel, b: PreparedBatch, seed: number): tf.Tensor2D {
  const B = b.ids.length;
  const D = model.latentSize;
  const directional = model.directionalLatent === true;
  if (model.encode) {
    return tf.tidy(() => {
      const z = model.encode!(b.target, tf.cast(tf.greater(b.fitWeight, 0), 'float32') as tf.Tensor4D);
      return (directional ? tf.mul(z, tf.rsqrt(tf.add(tf.mean(tf.square(z), 1, true), 1e-8))) : z) as tf.Tensor2D;
    });
  }
  return (directional ? tf.tensor2d(new Rng(seed).normals(B * D), [B, D]) : tf.zeros([B, D])) as tf.Tensor2D;
}

/**
 * Fit one latent per map of the batch: Adam (β 0.9, 0.999), learning rate `lr`·½(1 + cos(π·t/T)), loss
 * Σ_b MAE_fit(b) + prior. A model with a linear latent (PCA) starts at z = 0 with the prior λ·mean(z_b²); one
 * whose maps depend on z's direction only (`directionalLatent`, the GAN) starts at a seeded N(0, I) draw (the
 * same for every model of that kind) with the prior λ·(mean(z_b²) − 1)², which keeps |z| where a step of `lr`
 * is a small turn. Returns the latents [B, D] (the caller disposes them).
 */
function invertBatch(model: TextureModel, b: PreparedBatch, s: TextureEvalSettings, r: number, batchIndex: number, onStep: () => void): tf.Tensor2D {
  const B = b.ids.length;
  const D = model.latentSize;
  const directional = model.directionalLatent === true;
  const loss = (z: tf.Tensor): tf.Scalar => tf.tidy(() => {
    const maps = resampleBilinear(model.generate(z as tf.Tensor2D), r);
    const data = tf.sum(tf.mul(tf.abs(tf.sub(maps, b.target)), b.fitWeight));
    const meanSquare = tf.mean(tf.square(z), 1);
    const prior = directional ? tf.sum(tf.square(tf.sub(meanSquare, 1))) : tf.sum(meanSquare);
    return tf.add(data, tf.mul(prior, s.prior)) as tf.Scalar;
  });
  const grad = tf.grad(loss);
  let z = initialLatent(model, b, s.seed * 7919 + batchIndex);
  let m = tf.zeros([B, D]);
  let v = tf.zeros([B, D]);
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;
  for (let t = 1; t <= s.steps; t++) {
    const lr = s.learningRate * 0.5 * (1 + Math.cos((Math.PI * (t - 1)) / s.steps));
    const g = grad(z);
    const next = tf.tidy(() => {
      const m2 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
      const v2 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
      const step = tf.div(tf.div(m2, 1 - b1 ** t), tf.add(tf.sqrt(tf.div(v2, 1 - b2 ** t)), eps));
      return [tf.sub(z, tf.mul(step, lr)), m2, v2] as [tf.Tensor2D, tf.Tensor, tf.Tensor];
    });
    tf.dispose([g, z, m, v]);
    [z, m, v] = next;
    onStep();
  }
  tf.dispose([m, v]);
  return z;
}

/** Tile equally sized RGB images into a grid, `cols` wide, row by row. */
export function tileImages(images: readonly Uint8Array[], size: number, cols: number): RgbImage {
  const rows = Math.ceil(images.length / cols);
  const width = cols * size, height = rows * size;
  const data = new Uint8Array(width * height * 3);
  images.forEach((img, k) => {
    const x0 = (k % cols) * size, y0 = Math.floor(k / cols) * size;
    for (let y = 0; y < size; y++) data.set(img.subarray(y * size * 3, (y + 1) * size * 3), ((y0 + y) * width + x0) * 3);
  });
  return { width, height, data };
}

/** Maps (R·R·3 bytes at resolution `from`) resampled to `to` (forward only), as bytes. */
function resampleBytes(maps: readonly Uint8Array[], from: number, to: number): Uint8Array[] {
  if (from === to || maps.length === 0) return [...maps];
  const out = tf.tidy(() => {
    const x = tf.div(tf.tensor4d(Uint8Array.from(maps.flatMap((m) => Array.from(m))), [maps.length, from, from, 3], 'float32'), 255) as tf.Tensor4D;
    return tf.round(tf.mul(resampleBilinear(x, to), 255));
  });
  const v = out.dataSync();
  out.dispose();
  const px = to * to * 3;
  return maps.map((_, k) => Uint8Array.from(v.subarray(k * px, (k + 1) * px)));
}

/** Run the evaluation (see the module comment). Long: reports progress through `onProgress`. */
export async function evaluateTextureModels(options: TextureEvalOptions): Promise<TextureEvalOutput> {
  const t0 = performance.now();
  const { dataset, models } = options;
  const s: TextureEvalSettings = { ...DEFAULT_TEXTURE_EVAL };
  for (const key of Object.keys(DEFAULT_TEXTURE_EVAL) as (keyof TextureEvalSettings)[]) {
    const v = options[key];
    if (v !== undefined) s[key] = v;
  }
  if (MEAN_MAP in models) throw new Error(`evaluateTextureModels: '${MEAN_MAP}' is reserved for the dataset's mean map`);
  if (!(s.steps >= 1 && s.batchSize >= 1 && s.from >= 0 && s.withheldFraction > 0 && s.withheldFraction < 1 && s.realism >= 0)) {
    throw new Error('evaluateTextureModels: need steps ≥ 1, batchSize ≥ 1, from ≥ 0, 0 < withheldFraction < 1 and realism ≥ 0');
  }
  const names = Object.keys(models);
  const R = dataset.resolution;
  const parts = { inversion: true, detection: true, grids: true, realism: true, ...options.parts };
  const progress = options.onProgress ?? (() => undefined);
  const report: TextureEvalReport = {
    format: 'ganfit-texture-eval', version: 1,
    dataset: { dir: dataset.dir, resolution: R, items: dataset.size, heldoutOnly: dataset.index.items.every((it) => isHeldOut(it.id)) },
    settings: { ...s, seenThreshold: SEEN_THRESHOLD },
    models: Object.fromEntries(names.map((n) => [n, { latentSize: models[n]!.latentSize, resolution: models[n]!.resolution, start: fitStart(models[n]!) }])),
    seconds: 0,
  };
  const grids: TextureEvalGrid[] = [];
  const meanBytes = Uint8Array.from(dataset.mean, (v) => Math.round(255 * v));

  // (a) Inversion.
  if (parts.inversion && s.heldout > 0) {
    const n = Math.max(0, Math.min(s.heldout, dataset.size - s.from));
    const batches: number[][] = [];
    for (let i = 0; i < n; i += s.batchSize) batches.push(Array.from({ length: Math.min(s.batchSize, n - i) }, (_, k) => s.from + i + k));
    const ids: string[] = [];
    const perMap: Record<string, { fitted: number[]; withheld: number[] }> = {};
    const seconds: Record<string, number> = {};
    const z2: Record<string, number> = {};
    for (const name of [...names, MEAN_MAP]) {
      perMap[name] = { fitted: [], withheld: [] };
      seconds[name] = 0;
      z2[name] = 0;
    }
    const meanMap = tf.tensor4d(dataset.mean, [1, R, R, 3]);
    const total = batches.length * names.length * s.steps;
    let done = 0;
    try {
      for (const [batchIndex, idx] of batches.entries()) {
        const batch = await prepareBatch(dataset, idx, s.withheldFraction, s.seed);
        try {
          ids.push(...batch.ids);
          const mean = batchErrors(meanMap, batch);
          perMap[MEAN_MAP]!.fitted.push(...mean.fitted);
          perMap[MEAN_MAP]!.withheld.push(...mean.withheld);
          for (const name of names) {
            const model = models[name]!;
            const start = performance.now();
            const z = invertBatch(model, batch, s, R, Math.floor(s.from / s.batchSize) + batchIndex, () => progress({ phase: 'inversion', model: name, done: ++done, total }));
            const maps = tf.tidy(() => resampleBilinear(model.generate(z), R));
            const e = batchErrors(maps, batch);
            const zz = tf.tidy(() => tf.sum(tf.mean(tf.square(z), 1)));
            z2[name]! += zz.dataSync()[0]!;
            tf.dispose([z, maps, zz]);
            seconds[name]! += (performance.now() - start) / 1000;
            perMap[name]!.fitted.push(...e.fitted);
            perMap[name]!.withheld.push(...e.withheld);
          }
        } finally {
          disposeBatch(batch);
        }
      }
    } finally {
      meanMap.dispose();
    }
    const results: Record<string, InversionResult> = {};
    for (const name of [...names, MEAN_MAP]) {
      results[name] = { fitted: stats(perMap[name]!.fitted), withheld: stats(perMap[name]!.withheld), seconds: seconds[name]! };
      if (name !== MEAN_MAP) results[name]!.meanZ2 = z2[name]! / n;
    }
    const nullable = (a: number[]) => a.map((v) => (Number.isFinite(v) ? v : null));
    report.inversion = {
      maps: n, ids, results,
      perMap: Object.fromEntries(Object.entries(perMap).map(([k, v]) => [k, { fitted: nullable(v.fitted), withheld: nullable(v.withheld) }])),
    };
  }

  // (b) Detection and (c) grids share the samples and the renderer.
  const detect = parts.detection && s.samples > 0 && !!options.detector && !!options.faceModel;
  const grid = parts.grids && s.gridSamples > 0 && !!options.faceModel;
  if (options.faceModel && (detect || grid)) {
    const preview = createFrontalPreview(options.faceModel);
    try {
      const results: Record<string, DetectionResult> = {};
      const total = (detect ? s.samples : 0) * names.length + (detect ? 1 : 0);
      let done = 0;
      const detectOne = async (image: Uint8Array): Promise<number> => {
        const faces = await options.detector!.detect({ width: preview.width, height: preview.height, data: image });
        return faces.length > 0 ? faces[0]!.score : 0;
      };
      for (const name of names) {
        const model = models[name]!;
        const start = performance.now();
        const count = Math.max(detect ? s.samples : 0, grid ? s.gridSamples : 0);
        const sampled = sampleTextures(model, count, s.seed);
        const renders: Uint8Array[] = [];
        const scores: number[] = [];
        for (let k = 0; k < count; k++) {
          const needed = (detect && k < s.samples) || (grid && k < s.gridSamples);
          if (!needed) continue;
          const image = preview.render(sampled.maps[k]!, sampled.resolution);
          if (grid && k < s.gridSamples) renders.push(image);
          if (detect && k < s.samples) {
            scores.push(await detectOne(image));
            progress({ phase: 'detection', model: name, done: ++done, total });
          }
        }
        if (detect) {
          const detected = scores.filter((v) => v > 0).length;
          results[name] = {
            n: scores.length, detected, rate: detected / scores.length, scores,
            meanScore: scores.reduce((a, b) => a + b, 0) / scores.length, seconds: (performance.now() - start) / 1000,
          };
        }
        if (grid) {
          const cols = Math.ceil(Math.sqrt(s.gridSamples));
          const uv = resampleBytes(sampled.maps.slice(0, s.gridSamples), sampled.resolution, R);
          grids.push({ name: `${name}-uv`, image: tileImages(uv, R, cols) });
          grids.push({ name: `${name}-render`, image: tileImages(renders, PREVIEW_SIZE, cols) });
        }
      }
      if (detect) {
        const start = performance.now();
        const score = await detectOne(preview.render(meanBytes, R));
        progress({ phase: 'detection', model: MEAN_MAP, done: ++done, total });
        results[MEAN_MAP] = {
          n: 1, detected: score > 0 ? 1 : 0, rate: score > 0 ? 1 : 0, scores: [score], meanScore: score, seconds: (performance.now() - start) / 1000,
        };
        report.detection = {
          render: { size: PREVIEW_SIZE, camera: PREVIEW_CAMERA, light: PREVIEW_LIGHT, head: 'mean shape, neutral expression' },
          results,
        };
      }
    } finally {
      preview.dispose();
    }
  }
  // (d) Realism.
  if (parts.realism && s.realism >= 4 && options.faceModel && options.recognition) {
    report.realism = await measureRealism(dataset, models, meanBytes, options.faceModel, options.recognition, s, progress);
  }
  report.seconds = (performance.now() - t0) / 1000;
  return { report, grids };
}

/** Renders embedded together. */
const EMBED_BATCH = 16;

/** See (d) in the module comment. */
async function measureRealism(
  dataset: UvDataset, models: Record<string, TextureModel>, meanBytes: Uint8Array, faceModel: FaceModel,
  recognition: RecognitionNet, s: TextureEvalSettings, progress: (p: TextureEvalProgress) => void,
): Promise<NonNullable<TextureEvalReport['realism']>> {
  const R = dataset.resolution;
  const n = Math.min(s.realism, dataset.size);
  const texels = R * R;
  const preview = createFrontalPreview(faceModel);
  // Every render shows the same head from the same camera: one chip transform for all.
  const chip = tf.tidy(() => chipTransformFromLandmarks(tf.tensor3d(preview.landmarks, [1, 68, 2])));
  const names = [...Object.keys(models), MEAN_MAP];
  const encoders = Object.keys(models).filter((name) => models[name]!.encode);
  const total = n * (names.length + encoders.length + 1);
  let done = 0;
  const embed = (renders: Uint8Array[]): Float64Array[] => {
    const e = tf.tidy(() => {
      const images = tf.div(tf.tensor4d(concatBytes(renders), [renders.length, preview.height, preview.width, 3], 'float32'), 255) as tf.Tensor4D;
      return recognition.embed(warpToChip(images, tf.tile(chip, [renders.length, 1]) as tf.Tensor2D), { range: 1 }).embedding;
    });
    const v = e.dataSync();
    const d = e.shape[1];
    e.dispose();
    return renders.map((_, k) => Float64Array.from(v.subarray(k * d, (k + 1) * d)));
  };
  /** map with the mean where `seen` is 0. */
  const composite = (map: Uint8Array, seen: Uint8Array): Uint8Array => {
    const out = Uint8Array.from(meanBytes);
    for (let i = 0; i < texels; i++) if (seen[i]) out.set(map.subarray(3 * i, 3 * i + 3), 3 * i);
    return out;
  };
  try {
    const ids: string[] = [];
    const seen: Uint8Array[] = [];
    const realMaps: Uint8Array[] = [];
    const real: Float64Array[] = [];
    for (let i = 0; i < n; i += EMBED_BATCH) {
      const { images, masks, ids: batchIds } = await dataset.load(Array.from({ length: Math.min(EMBED_BATCH, n - i) }, (_, k) => i + k));
      const x = images.dataSync();
      const m = masks.dataSync();
      tf.dispose([images, masks]);
      const renders = batchIds.map((id, b) => {
        const mask = Uint8Array.from(m.subarray(b * texels, (b + 1) * texels), (v) => (v >= SEEN_THRESHOLD ? 1 : 0));
        const map = Uint8Array.from(x.subarray(b * texels * 3, (b + 1) * texels * 3), (v) => Math.round(127.5 * (v + 1)));
        ids.push(id);
        seen.push(mask);
        realMaps.push(map);
        return preview.render(composite(map, mask), R);
      });
      real.push(...embed(renders));
      done += renders.length;
      progress({ phase: 'realism', model: 'real', done, total });
    }
    /**
     * KID of the maps `mapsAt(i, b)` (maps i … i + b − 1, each paired with real map i + k) against the real set;
     * their embeddings go into `keep` under `name`, for the paired differences.
     */
    const score = (
      name: string, label: string, keep: Record<string, Float64Array[]>, mapsAt: (i: number, b: number) => Uint8Array[],
    ): KidResult & { seconds: number } => {
      const start = performance.now();
      const fake: Float64Array[] = [];
      for (let i = 0; i < n; i += EMBED_BATCH) {
        const b = Math.min(EMBED_BATCH, n - i);
        fake.push(...embed(mapsAt(i, b).map((map, k) => preview.render(composite(map, seen[i + k]!), R))));
        done += b;
        progress({ phase: 'realism', model: label, done, total });
      }
      keep[name] = fake;
      return { ...kernelInceptionDistance(fake, real, { seed: s.seed }), seconds: (performance.now() - start) / 1000 };
    };
    const results: Record<string, KidResult & { seconds: number }> = {};
    const sampleEmbeddings: Record<string, Float64Array[]> = {};
    for (const name of names) {
      const model = models[name];
      // Sample i + k is the (i + k)-th draw of one seeded sequence, whatever the batch size.
      results[name] = score(name, name, sampleEmbeddings, (i, b) => (model ? drawSamples(model, i, b, s.seed, R) : Array.from({ length: b }, () => meanBytes)));
    }
    const projections: Record<string, KidResult & { seconds: number }> = {};
    const projectionEmbeddings: Record<string, Float64Array[]> = {};
    for (const name of encoders) {
      projections[name] = score(name, `${name} projection`, projectionEmbeddings, (i, b) => projectMaps(models[name]!, realMaps.slice(i, i + b), seen.slice(i, i + b), R));
    }
    const reference = Object.keys(models)[0]!;
    const against = (embeddings: Record<string, Float64Array[]>): Record<string, KidDifference> => {
      const base = embeddings[reference];
      if (!base) return {};
      return Object.fromEntries(Object.keys(embeddings).filter((name) => name !== reference && name in models)
        .map((name) => [name, kidDifference(embeddings[name]!, base, real, { seed: s.seed })]));
    };
    const paired = { reference, results: against(sampleEmbeddings), projections: against(projectionEmbeddings) };
    return { maps: n, ids, embedding: "face-api's face-recognition network (128-d, 150² chip aligned on the mean head's landmarks)", results, projections, paired };
  } finally {
    chip.dispose();
    preview.dispose();
  }
}

/** Each map's projection by the model's encoder (from its seen texels), decoded, as R·R·3 bytes at resolution R. */
function projectMaps(model: TextureModel, maps: Uint8Array[], seen: Uint8Array[], R: number): Uint8Array[] {
  const B = maps.length;
  const px = R * R * 3;
  const out = tf.tidy(() => {
    const x = tf.div(tf.tensor4d(concatBytes(maps), [B, R, R, 3], 'float32'), 255) as tf.Tensor4D;
    const v = tf.tensor4d(concatBytes(seen), [B, R, R, 1], 'float32');
    return tf.round(tf.mul(resampleBilinear(model.generate(model.encode!(x, v)), R), 255));
  });
  const v = out.dataSync();
  out.dispose();
  return Array.from({ length: B }, (_, k) => Uint8Array.from(v.subarray(k * px, (k + 1) * px)));
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Samples `from` … `from + count − 1` of the seeded N(0, I) sequence, as R·R·3 bytes at resolution R. */
function drawSamples(model: TextureModel, from: number, count: number, seed: number, R: number): Uint8Array[] {
  const z = new Rng(seed).normals((from + count) * model.latentSize).subarray(from * model.latentSize);
  const out = tf.tidy(() => tf.round(tf.mul(resampleBilinear(model.generate(tf.tensor2d(z, [count, model.latentSize])), R), 255)));
  const v = out.dataSync();
  out.dispose();
  const px = R * R * 3;
  return Array.from({ length: count }, (_, k) => Uint8Array.from(v.subarray(k * px, (k + 1) * px)));
}
