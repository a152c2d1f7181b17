/**
 * PCA texture model, the linear baseline for the GAN: map = mean + Σ_i z_i·σ_i·u_i, z ~ N(0, I), with the same
 * `TextureModel` interface (latent [B, D] → [B, R, R, 3] in [0, 1]).
 *
 * Fitted from the UV dataset's filled maps (the reader puts the mirrored texel, else the dataset mean, where a
 * photo did not observe the face; docs/texture-gan.md, "PCA baseline"), so unobserved texels pull the components
 * towards the mean rather than towards black. The top components come from randomized subspace iteration that
 * streams the data in batches (never the N×N Gram or D×D covariance): Q ← orth(Σ_b X_bᵀ X_b Q), then an exact
 * eigen-decomposition of the small covariance QᵀCQ.
 */
import { tf } from '../engine/index.js';
import type { TextureModel } from './gan.js';
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
  // basisᵀ for the latent gradient, made on the first backward pass and kept (fitting), never for sampling.
  let basisT: tf.Tensor2D | null = null;
  const transposed = (): tf.Tensor2D => (basisT ??= tf.keep(transposeMatrix(basis)));
  return {
    latentSize, resolution, mean, sigma, basis,
    generate: (z) => tf.tidy(() => {
      if (z.shape[1] !== latentSize) throw new Error(`PCA texture: latent has ${z.shape[1]} entries, expected ${latentSize}`);
      const flat = tf.add(matMulConst(z, basis, transposed), meanT);
      const maps = tf.reshape(flat, [z.shape[0], resolution, resolution, 3]);
      return tf.clipByValue(tf.add(tf.mul(maps, 0.5), 0.5), 0, 1) as tf.Tensor4D;
    }),
    dispose: () => { basis.dispose(); meanT.dispose(); basisT?.dispose(); },
  };
}

/** Fit the PCA model on every item of `source`. */
export async function fitPcaTextureModel(source: UvSource, options: PcaFitOptions = {}): Promise<PcaTextureModel> {
  const k = options.latentSize ?? 128;
  const p = k + (options.oversample ?? 8);
  const iterations = options.iterations ?? 3;
  const bs = options.batchSize ?? 16;
  const r = source.resolution;
  const d = r * r * 3;
  const n = source.size;
  if (n < 2) throw new Error('fitPcaTextureModel: need at least two maps');

  const batches: number[][] = [];
  for (let s = 0; s < n; s += bs) batches.push(Array.from({ length: Math.min(bs, n - s) }, (_, i) => s + i));
  const loadFlat = async (idx: number[]): Promise<tf.Tensor2D> => {
    const { images, masks } = await source.load(idx);
    masks.dispose();
    const flat = tf.reshape(images, [idx.length, d]) as tf.Tensor2D;
    images.dispose();
    return flat;
  };

  // Pass 0: the mean.
  let sum = tf.zeros([1, d]);
  for (const b of batches) {
    const x = await loadFlat(b);
    const next = tf.tidy(() => tf.add(sum, tf.sum(x, 0, true)));
    sum.dispose();
    x.dispose();
    sum = next;
  }
  const meanT = tf.tidy(() => tf.div(sum, n)) as tf.Tensor2D;
  sum.dispose();

  // Streaming product Zᵀ = Σ_b (X_b Q)ᵀ X_b = (XᵀX Q)ᵀ, [p, D]; everything as plain (untransposed) matmuls,
  // which wasm runs fastest.
  const cov = async (q: tf.Tensor2D): Promise<{ zt: tf.Tensor2D; small: Float64Array }> => {
    let zt = tf.zeros([p, d]) as tf.Tensor2D;
    let small = tf.zeros([p, p]);
    for (const b of batches) {
      const x = await loadFlat(b);
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

  const rng = new Rng(options.seed ?? 1);
  let q = tf.tensor2d(rng.normals(d * p), [d, p]);
  for (let it = 0; it < iterations; it++) {
    const { zt } = await cov(q);
    q.dispose();
    q = orthonormal(zt);
    zt.dispose();
  }
  // Covariance in the subspace, QᵀXcᵀXcQ / (n − 1), and its eigen-decomposition.
  const { zt, small } = await cov(q);
  zt.dispose();
  for (let i = 0; i < small.length; i++) small[i]! /= n - 1;
  const { values, vectors } = symmetricEigen(small, p);
  const sigma = new Float32Array(k);
  const vk = new Float32Array(p * k);
  for (let j = 0; j < k; j++) {
    sigma[j] = Math.sqrt(Math.max(0, values[j]!));
    for (let i = 0; i < p; i++) vk[i * k + j] = vectors[i * p + j]! * sigma[j]!;
  }
  const basis = tf.tidy(() => tf.transpose(tf.matMul(q, tf.tensor2d(vk, [p, k])))) as tf.Tensor2D; // [k, D]
  q.dispose();
  const mean = meanT.dataSync() as Float32Array;
  meanT.dispose();
  return makePcaTextureModel(r, Float32Array.from(mean), sigma, basis);
}
