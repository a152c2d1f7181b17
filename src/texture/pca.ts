/**
 * PCA texture model, the linear baseline for the GAN: map = mean + Σ_i z_i·σ_i·u_i, z ~ N(0, I), with the same
 * `TextureModel` interface (latent [B, D] → [B, R, R, 3] in [0, 1]).
 *
 * Fitted from the UV dataset's filled maps (the reader puts the mirrored texel, else the dataset mean, where a
 * photo did not observe the face; docs/texture-gan.md, "PCA baseline"), so unobserved texels pull the components
 * towards the mean rather than towards black. The top components come from randomized subspace iteration that
 * streams the data in batches (never the N×N Gram or D×D covariance): Q ← orth(Σ_b X_bᵀ X_b Q), then an exact
 * eigen-decomposition of the small covariance QᵀCQ.
 *
 * With `missing: 'em'` the texels the photo did not see are missing data rather than their fill: EM for a
 * low-rank model with missing entries (Srebro & Jaakkola, "Weighted low-rank approximations", ICML 2003). From the
 * filled maps, each iteration takes one more subspace step and replaces every unseen texel by the current rank-k
 * reconstruction, so the components end up modelling what photos show instead of the mirror-and-mean fill.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../engine/index.js';
import type { TextureModel } from './gan.js';
import { createLinearProjector, type LinearProjector } from './linear-fit.js';
import { matMulConst, transposeMatrix } from './ops.js';
import { Rng } from './random.js';
import { symmetricEigen } from '../engine/linalg.js';

/** What the fit needs from a dataset (UvDataset from src/training/uv-dataset-format.ts satisfies it). */
export interface UvSource {
  readonly resolution: number;
  readonly size: number;
  load(indices: number[]): Promise<{ images: tf.Tensor4D; masks: tf.Tensor4D }>;
}

export interface PcaFitOptions {
  latentSize?: number;
  /** Subspace iterations (each one pass over the data); default 3. */
  iterations?: number;
  /** Extra directions carried by the iteration and dropped at the end; default 8. */
  oversample?: number;
  batchSize?: number;
  seed?: number;
  /**
   * Texels a photo did not see (mask below `seenThreshold`): 'filled' (default) takes them as the source fills
   * them, the classical PCA of filled maps; 'em' treats them as missing (see the file's comment). 'em' holds the
   * maps in memory as float32 (4·R²·3 bytes each: 3.1 GB for 4,000 maps at 256²).
   */
  missing?: 'filled' | 'em';
  /** EM iterations for `missing: 'em'` (each two passes over the maps); default 8. */
  emIterations?: number;
  /** A texel counts as seen at this mask value or above; default 0.99 (the evaluation's). */
  seenThreshold?: number;
  /** EM progress: the RMS error (in [−1, 1] units) of the rank-k reconstruction on the seen texels. */
  onProgress?: (p: { iteration: number; iterations: number; seenRms: number }) => void;
}

export interface PcaTextureModel extends TextureModel {
  /** Mean map, R·R·3 in [−1, 1]. */
  readonly mean: Float32Array;
  /** Standard deviation along each component, descending. */
  readonly sigma: Float32Array;
  /** Components scaled by σ, [latentSize, R·R·3] (row i = σ_i·u_i). */
  readonly basis: tf.Tensor2D;
}


/** Wrap a mean and σ-scaled basis as a texture model. */
export function makePcaTextureModel(resolution: number, mean: Float32Array, sigma: Float32Array, basis: tf.Tensor2D): PcaTextureModel {
  const meanT = tf.tensor2d(mean, [1, mean.length]);
  const latentSize = basis.shape[0];
  // basisᵀ for the latent gradient, made on the first backward pass and kept (fitting), never for sampling;
  // likewise the projector of `encode`.
  let basisT: tf.Tensor2D | null = null;
  const transposed = (): tf.Tensor2D => (basisT ??= tf.keep(transposeMatrix(basis)));
  let projector: LinearProjector | null = null;
  return {
    latentSize, resolution, mean, sigma, basis,
    encode: (maps, visibility) => (projector ??= createLinearProjector(basis, mean, resolution)).project(maps, visibility),
    generate: (z) => tf.tidy(() => {
      if (z.shape[1] !== latentSize) throw new Error(`PCA texture: latent has ${z.shape[1]} entries, expected ${latentSize}`);
      const flat = tf.add(matMulConst(z, basis, transposed), meanT);
      const maps = tf.reshape(flat, [z.shape[0], resolution, resolution, 3]);
      return tf.clipByValue(tf.add(tf.mul(maps, 0.5), 0.5), 0, 1) as tf.Tensor4D;
    }),
    dispose: () => { basis.dispose(); meanT.dispose(); basisT?.dispose(); projector?.dispose(); },
  };
}

const PCA_MAGIC = 0x41504746; // 'FGPA'

/** A fitted PCA model as bytes: magic, header length, JSON header, then float32 mean, σ and basis. */
export function encodePcaModel(model: PcaTextureModel, info: Record<string, unknown> = {}): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ format: 'ganfit-pca-texture', version: 1, resolution: model.resolution, latentSize: model.latentSize, info }));
  const start = Math.ceil((8 + header.length) / 4) * 4;
  const basis = model.basis.dataSync() as Float32Array;
  const out = new Uint8Array(start + 4 * (model.mean.length + model.sigma.length + basis.length));
  const view = new DataView(out.buffer);
  view.setUint32(0, PCA_MAGIC, true);
  view.setUint32(4, header.length, true);
  out.set(header, 8);
  const floats = new Float32Array(out.buffer, start);
  floats.set(model.mean, 0);
  floats.set(model.sigma, model.mean.length);
  floats.set(basis, model.mean.length + model.sigma.length);
  return out;
}

/** Inverse of `encodePcaModel`; `info` is what was stored with it. */
export function decodePcaModel(bytes: Uint8Array, source = 'PCA model'): { model: PcaTextureModel; info: Record<string, unknown> } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8 || view.getUint32(0, true) !== PCA_MAGIC) throw new Error(`${source}: not a PCA texture model file`);
  const length = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as { resolution: number; latentSize: number; info: Record<string, unknown> };
  const d = header.resolution * header.resolution * 3;
  const k = header.latentSize;
  const start = Math.ceil((8 + length) / 4) * 4;
  if (bytes.byteLength !== start + 4 * (d + k + k * d)) throw new Error(`${source}: truncated`);
  const floats = new Float32Array(bytes.slice(start).buffer);
  const basis = tf.tensor2d(floats.subarray(d + k), [k, d]);
  return { model: makePcaTextureModel(header.resolution, floats.slice(0, d), floats.slice(d, d + k), basis), info: header.info };
}

/** The fit's defaults (what a cache key of `fitPcaTextureModelCached` fills in). */
const PCA_FIT_DEFAULTS = {
  latentSize: 128, iterations: 3, oversample: 8, seed: 1, missing: 'filled', emIterations: 8, seenThreshold: 0.99,
} as const;

/** Fit the PCA model on every item of `source`. */
export async function fitPcaTextureModel(source: UvSource, options: PcaFitOptions = {}): Promise<PcaTextureModel> {
  const k = options.latentSize ?? PCA_FIT_DEFAULTS.latentSize;
  const p = k + (options.oversample ?? PCA_FIT_DEFAULTS.oversample);
  const iterations = options.iterations ?? PCA_FIT_DEFAULTS.iterations;
  const bs = options.batchSize ?? 16;
  const r = source.resolution;
  const d = r * r * 3;
  const n = source.size;
  if (n < 2) throw new Error('fitPcaTextureModel: need at least two maps');

  const batches: number[][] = [];
  for (let s = 0; s < n; s += bs) batches.push(Array.from({ length: Math.min(bs, n - s) }, (_, i) => s + i));
  const loadFlat = async (idx: number[]): Promise<{ x: tf.Tensor2D; m: tf.Tensor4D }> => {
    const { images, masks } = await source.load(idx);
    const x = tf.reshape(images, [idx.length, d]) as tf.Tensor2D;
    images.dispose();
    return { x, m: masks };
  };

  // The maps the passes read: from the source (classical PCA), or held in memory with their unseen texels
  // replaced by the current reconstruction (EM).
  const em = options.missing === 'em';
  const seenThreshold = options.seenThreshold ?? PCA_FIT_DEFAULTS.seenThreshold;
  const filled: Float32Array[] = [];
  const seen: Uint8Array[] = [];
  if (em) {
    for (const b of batches) {
      const { x, m } = await loadFlat(b);
      const xs = x.dataSync() as Float32Array;
      const ms = m.dataSync() as Float32Array;
      for (let i = 0; i < b.length; i++) {
        filled.push(xs.slice(i * d, (i + 1) * d));
        const s = new Uint8Array(r * r);
        for (let t = 0; t < r * r; t++) s[t] = ms[i * r * r + t]! >= seenThreshold ? 1 : 0;
        seen.push(s);
      }
      x.dispose();
      m.dispose();
    }
  }
  const batchOf = async (idx: number[]): Promise<tf.Tensor2D> => {
    if (em) {
      const out = new Float32Array(idx.length * d);
      idx.forEach((k, i) => out.set(filled[k]!, i * d));
      return tf.tensor2d(out, [idx.length, d]);
    }
    const { x, m } = await loadFlat(idx);
    m.dispose();
    return x;
  };

  const meanOf = async (): Promise<tf.Tensor2D> => {
    let sum = tf.zeros([1, d]);
    for (const b of batches) {
      const x = await batchOf(b);
      const next = tf.tidy(() => tf.add(sum, tf.sum(x, 0, true)));
      sum.dispose();
      x.dispose();
      sum = next;
    }
    const mean = tf.tidy(() => tf.div(sum, n)) as tf.Tensor2D;
    sum.dispose();
    return mean;
  };
  let meanT = await meanOf();

  // Streaming product Zᵀ = Σ_b (X_b Q)ᵀ X_b = (XᵀX Q)ᵀ, [p, D]; everything as plain (untransposed) matmuls,
  // which wasm runs fastest.
  const cov = async (q: tf.Tensor2D): Promise<{ zt: tf.Tensor2D; small: Float64Array }> => {
    let zt = tf.zeros([p, d]) as tf.Tensor2D;
    let small = tf.zeros([p, p]);
    for (const b of batches) {
      const x = await batchOf(b);
      const next = tf.tidy(() => {
        const xc = tf.sub(x, meanT);
        const y = tf.matMul(xc, q); // [b, p]
        const yt = tf.transpose(y);
        return [tf.add(zt, tf.matMul(yt, xc)), tf.add(small, tf.matMul(yt, y))] as [tf.Tensor2D, tf.Tensor2D];
      });
      x.dispose();
      zt.dispose();
      small.dispose();
      [zt, small] = next;
    }
    const s = Float64Array.from(small.dataSync());
    small.dispose();
    return { zt, small: s };
  };
  const orthonormal = (zt: tf.Tensor2D): tf.Tensor2D => {
    // Q = an orthonormal basis of Z's columns (the rows of zt), by Gram–Schmidt twice over in float64 (CGS2).
    // Not from the eigen-decomposition of the Gram matrix ZᵀZ: its eigenvalues are the squared covariance
    // eigenvalues, so in float32 every component with less than ~10⁻³ of the first one's variance was lost
    // (measured: 15–23 of 128 components had σ = 0 on the UV set at 64²–128²).
    const rows = zt.dataSync() as Float32Array;
    const out = new Float32Array(p * d);
    const v = new Float64Array(d);
    const basis: Float64Array[] = [];
    for (let j = 0; j < p; j++) {
      for (let t = 0; t < d; t++) v[t] = rows[j * d + t]!;
      let norm0 = 0;
      for (let t = 0; t < d; t++) norm0 += v[t]! * v[t]!;
      for (let pass = 0; pass < 2; pass++) {
        for (const qi of basis) {
          let dot = 0;
          for (let t = 0; t < d; t++) dot += qi[t]! * v[t]!;
          for (let t = 0; t < d; t++) v[t]! -= dot * qi[t]!;
        }
      }
      let norm = 0;
      for (let t = 0; t < d; t++) norm += v[t]! * v[t]!;
      if (!(norm > 1e-20 * norm0)) continue; // a dependent (or zero) column: a zero column of Q
      const inv = 1 / Math.sqrt(norm);
      const q = new Float64Array(d);
      for (let t = 0; t < d; t++) {
        q[t] = v[t]! * inv;
        out[j * d + t] = q[t]!;
      }
      basis.push(q);
    }
    const qt = tf.tensor2d(out, [p, d]);
    const q = transposeMatrix(qt);
    qt.dispose();
    return q;
  };

  /** The top k of the subspace's covariance: σ_j and the σ-scaled eigenvectors in Q's coordinates, [p, k]. */
  const topK = (small: Float64Array): { sigma: Float32Array; vk: Float32Array } => {
    for (let i = 0; i < small.length; i++) small[i]! /= n - 1;
    const { values, vectors } = symmetricEigen(small, p);
    const sigma = new Float32Array(k);
    const vk = new Float32Array(p * k);
    for (let j = 0; j < k; j++) {
      sigma[j] = Math.sqrt(Math.max(0, values[j]!));
      for (let i = 0; i < p; i++) vk[i * k + j] = vectors[i * p + j]! * sigma[j]!;
    }
    return { sigma, vk };
  };

  const rng = new Rng(options.seed ?? PCA_FIT_DEFAULTS.seed);
  let q = tf.tensor2d(rng.normals(d * p), [d, p]);
  for (let it = 0; it < iterations; it++) {
    const { zt } = await cov(q);
    q.dispose();
    q = orthonormal(zt);
    zt.dispose();
  }

  const emIterations = em ? options.emIterations ?? PCA_FIT_DEFAULTS.emIterations : 0;
  for (let it = 0; it < emIterations; it++) {
    const { zt, small } = await cov(q);
    const { sigma, vk } = topK(small);
    // Rank-k reconstruction mean + (F−mean)·Q·Vₖ·Vₖᵀ·Qᵀ (Vₖ orthonormal: the σ-scaling divided out again).
    const proj = tf.tidy(() => {
      const v = tf.tensor2d(vk, [p, k]);
      const inv = tf.tensor2d(Array.from(sigma, (sg) => (sg > 0 ? 1 / (sg * sg) : 0)), [1, k]);
      return tf.matMul(tf.mul(v, inv), v, false, true); // Vₖ·Vₖᵀ from the σ-scaled vectors
    });
    const back = tf.tidy(() => transposeMatrix(tf.matMul(q, proj) as tf.Tensor2D)); // (Q·Vₖ·Vₖᵀ)ᵀ, [p, D]
    proj.dispose();
    let se = 0;
    let count = 0;
    for (const b of batches) {
      const x = await batchOf(b);
      const rec = tf.tidy(() => tf.add(tf.matMul(tf.matMul(tf.sub(x, meanT), q), back), meanT));
      const rs = rec.dataSync() as Float32Array;
      x.dispose();
      rec.dispose();
      b.forEach((mapIndex, i) => {
        const f = filled[mapIndex]!;
        const s = seen[mapIndex]!;
        for (let t = 0; t < r * r; t++) {
          for (let c = 0; c < 3; c++) {
            const j = t * 3 + c;
            const value = rs[i * d + j]!;
            if (s[t]) {
              se += (f[j]! - value) ** 2;
              count++;
            } else {
              f[j] = value;
            }
          }
        }
      });
    }
    back.dispose();
    meanT.dispose();
    meanT = await meanOf();
    q.dispose();
    q = orthonormal(zt);
    zt.dispose();
    options.onProgress?.({ iteration: it + 1, iterations: emIterations, seenRms: Math.sqrt(se / Math.max(1, count)) });
  }

  // Covariance in the subspace, QᵀXcᵀXcQ / (n − 1), and its eigen-decomposition.
  const { zt, small } = await cov(q);
  zt.dispose();
  const { sigma, vk } = topK(small);
  const basis = tf.tidy(() => tf.transpose(tf.matMul(q, tf.tensor2d(vk, [p, k])))) as tf.Tensor2D; // [k, D]
  q.dispose();
  const mean = meanT.dataSync() as Float32Array;
  meanT.dispose();
  return makePcaTextureModel(r, Float32Array.from(mean), sigma, basis);
}


/**
 * `fitPcaTextureModel`, through a cache folder: a fit with the same dataset, split size, resolution and options
 * is read back instead of recomputed (the EM fit takes ~15 minutes at 256²; evaluations in parallel processes
 * and the trainer's linear path share it). `dataset` names the source (its folder); files are
 * `pca-<missing>-<hash>.bin`, written atomically. Without `cache`: a plain fit. `onProgress` only runs when fitting.
 */
export async function fitPcaTextureModelCached(
  source: UvSource, options: PcaFitOptions, cache: { dir: string; dataset: string } | undefined,
): Promise<{ model: PcaTextureModel; file?: string; cached: boolean }> {
  if (!cache) return { model: await fitPcaTextureModel(source, options), cached: false };
  const { onProgress, ...settings } = options;
  const key = JSON.stringify({
    dataset: path.resolve(cache.dataset), size: source.size, resolution: source.resolution,
    ...PCA_FIT_DEFAULTS, ...settings,
  });
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const file = path.join(cache.dir, `pca-${settings.missing ?? 'filled'}-${hash}.bin`);
  const bytes = await readFile(file).catch(() => null);
  // A file with another key (a hash collision) or a damaged one is fitted again and replaced.
  const stored = bytes ? (() => { try { return decodePcaModel(new Uint8Array(bytes), file); } catch { return null; } })() : null;
  if (stored?.info.key === key) return { model: stored.model, file, cached: true };
  stored?.model.dispose();
  const model = await fitPcaTextureModel(source, options);
  await mkdir(cache.dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`; // per process: parallel evaluations may write the same fit
  await writeFile(tmp, encodePcaModel(model, { key }));
  await rename(tmp, file);
  return { model, file, cached: false };
}
