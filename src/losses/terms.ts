/**
 * The GANFIT objective's terms (docs: /work/shared/GANFIT.md), each a function of tensors returning a tf.Scalar,
 * collected as a `Record<LossName, tf.Scalar>` and combined with `totalLoss(terms, weights)`.
 *
 * Images are [B, H, W, 3] floats in 0..1 (sRGB, as stored); landmarks are pixels (docs/conventions.md).
 */
import { tf } from '../engine/index.js';
import { CHIP_SIZE, warpToChip } from './align.js';
import type { EmbedResult, RecognitionFeature, RecognitionNet } from './recognition-net.js';
import { RECOGNITION_FEATURES } from './recognition-net.js';

export type LossName = 'identity' | 'content' | 'pixel' | 'landmark' | 'shapePrior' | 'expressionPrior' | 'texturePrior';
export const LOSS_NAMES: readonly LossName[] = ['identity', 'content', 'pixel', 'landmark', 'shapePrior', 'expressionPrior', 'texturePrior'];
export type LossWeights = Record<LossName, number>;
export type LossTerms = Record<LossName, tf.Scalar>;

/** Identity in the forward pass, zero gradient (tfjs has no stop_gradient). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const t = args[0] as tf.Tensor;
    return { value: tf.clone(t), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
  });
  return op(x) as T;
}

/** Small constant under square roots (‖·‖₂ is not differentiable at 0). */
const EPS = 1e-12;

/** Mean over the batch of 1 − cos(e₀, e_R); embeddings [B, D] (or [D]). 0 for identical directions. */
export function identityLoss(photoEmbedding: tf.Tensor, renderEmbedding: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const a = photoEmbedding.rank === 1 ? tf.expandDims(photoEmbedding, 0) : photoEmbedding;
    const b = renderEmbedding.rank === 1 ? tf.expandDims(renderEmbedding, 0) : renderEmbedding;
    const dot = tf.sum(tf.mul(a, b), 1);
    const na = tf.sqrt(tf.add(tf.sum(tf.square(a), 1), EPS));
    const nb = tf.sqrt(tf.add(tf.sum(tf.square(b), 1), EPS));
    return tf.mean(tf.sub(1, tf.div(dot, tf.mul(na, nb))));
  });
}

/**
 * GANFIT's content loss: Σ_j ‖F_j(I₀) − F_j(I_R)‖₂ / (H_j·W_j·C_j) over the given layers, averaged over the batch.
 * (√(Σd² + 1e-12) in place of ‖d‖₂ so that the gradient is finite at a perfect match.)
 */
export function contentLoss(
  photoFeatures: Partial<Record<string, tf.Tensor4D>>,
  renderFeatures: Partial<Record<string, tf.Tensor4D>>,
  layers: readonly string[] = RECOGNITION_FEATURES,
): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Tensor = tf.scalar(0);
    for (const name of layers) {
      const f0 = photoFeatures[name];
      const fr = renderFeatures[name];
      if (!f0 || !fr) throw new Error(`content loss: feature '${name}' missing`);
      const [, h, w, c] = fr.shape;
      const norms = tf.sqrt(tf.add(tf.sum(tf.square(tf.sub(f0, fr)), [1, 2, 3]), EPS));
      total = tf.add(total, tf.div(tf.mean(norms), h * w * c));
    }
    return total as tf.Scalar;
  });
}

/**
 * Mean absolute difference inside the rendered face region: Σ m·|I₀ − I_R| / (C·Σ m). `mask` [B, H, W, 1] (or
 * [B, H, W]) in 0..1 (coverage / antialiased alpha); the mask is a constant here (no gradient through it).
 */
export function pixelLoss(photo: tf.Tensor4D, render: tf.Tensor4D, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const m = stopGradient(mask.rank === 3 ? tf.expandDims(mask, 3) : mask);
    const c = render.shape[3];
    const num = tf.sum(tf.mul(m, tf.abs(tf.sub(photo, render))));
    return tf.div(num, tf.add(tf.mul(tf.sum(m), c), 1e-8)) as tf.Scalar;
  });
}

/**
 * Landmark term: Σ_i w_i‖p_i − d_i‖² / (Σ_i w_i · s²), projected model landmarks p [B?, N, 2] against detected d
 * (same shape), pixels. s = the face size, √(width·height) of the detected points' bounding box, per image and
 * treated as a constant; so the value is a mean squared error in units of the face size (0.01 ≈ 10% of the face).
 * `weights` [N] per-point weights (e.g. lower for the jaw), default 1.
 */
export function landmarkLoss(projected: tf.Tensor, detected: tf.Tensor, weights?: tf.Tensor1D | readonly number[]): tf.Scalar {
  return tf.tidy(() => {
    const p = projected.rank === 2 ? tf.expandDims(projected, 0) : projected;
    const d = stopGradient(detected.rank === 2 ? tf.expandDims(detected, 0) : detected);
    const n = p.shape[1]!;
    const w = weights ? (Array.isArray(weights) ? tf.tensor1d(weights as number[]) : (weights as tf.Tensor1D)) : tf.ones([n]);
    const extent = tf.sub(tf.max(d, 1), tf.min(d, 1)); // [B, 2]
    const size2 = tf.prod(extent, 1); // [B] = (√(w·h))²
    const sq = tf.sum(tf.square(tf.sub(p, d)), 2); // [B, N]
    const perImage = tf.div(tf.sum(tf.mul(sq, w), 1), tf.mul(tf.sum(w), size2));
    return tf.mean(perImage) as tf.Scalar;
  });
}

/** Gaussian prior: Σ (p/σ)² (the squared Mahalanobis norm; σ defaults to 1 for N(0, 1) coefficients). */
export function gaussianPrior(params: tf.Tensor, sigma?: tf.Tensor | number): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.square(sigma === undefined ? params : tf.div(params, sigma))) as tf.Scalar);
}

/** Shape prior: identity coefficients p_s ~ N(0, 1) → Σ p_s². */
export function shapePrior(identity: tf.Tensor): tf.Scalar {
  return gaussianPrior(identity);
}

/**
 * Expression prior for blendshape weights p_e ∈ [0, 1]: Σ p_e² (favours the neutral face) plus
 * `rangeWeight`·Σ (max(0, −p_e)² + max(0, p_e − 1)²), a soft wall outside [0, 1].
 */
export function expressionPrior(expression: tf.Tensor, rangeWeight = 100): tf.Scalar {
  return tf.tidy(() => {
    const below = tf.relu(tf.neg(expression));
    const above = tf.relu(tf.sub(expression, 1));
    const wall = tf.sum(tf.add(tf.square(below), tf.square(above)));
    return tf.add(tf.sum(tf.square(expression)), tf.mul(wall, rangeWeight)) as tf.Scalar;
  });
}

/** Texture latent prior: the generator's latent z ~ N(0, I) → Σ z². */
export function texturePrior(latent: tf.Tensor): tf.Scalar {
  return gaussianPrior(latent);
}

/** Σ_k weights[k]·terms[k] over the terms present with a non-zero weight. */
export function totalLoss(terms: Partial<LossTerms>, weights: LossWeights): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Tensor = tf.scalar(0);
    for (const name of LOSS_NAMES) {
      const t = terms[name];
      const w = weights[name];
      if (t && w) total = tf.add(total, tf.mul(t, w));
    }
    return total as tf.Scalar;
  });
}

/** The photo's side of the identity and content terms, computed once per fit and kept (dispose when done). */
export interface PhotoTarget {
  /** Image → chip transform [1, 4] (from the photo's landmarks, align.ts), shared by the renders of that photo. */
  chipTransform: tf.Tensor2D;
  embedding: tf.Tensor2D;
  features: Record<RecognitionFeature, tf.Tensor4D>;
  dispose(): void;
}

/** Align `photo` [1, H, W, 3] (0..1) with `chipTransform` and embed it; the returned tensors are kept. */
export function photoTarget(net: RecognitionNet, photo: tf.Tensor4D, chipTransform: tf.Tensor2D): PhotoTarget {
  const out = tf.tidy(() => {
    const chip = warpToChip(photo, chipTransform, CHIP_SIZE);
    const e: EmbedResult = net.embed(chip, { range: 1 });
    return { embedding: e.embedding, features: e.features, chipTransform: tf.clone(chipTransform) };
  });
  const kept = [out.embedding, out.chipTransform, ...Object.values(out.features)];
  kept.forEach((t) => tf.keep(t));
  return { ...out, dispose: () => tf.dispose(kept) };
}

/** Everything the terms of one step read. Optional entries leave their term out (value 0 in the record). */
export interface LossInputs {
  /** Rendered image [1, H, W, 3], 0..1, in the photo's frame. */
  render: tf.Tensor4D;
  /** The photo [1, H, W, 3], 0..1. */
  photo: tf.Tensor4D;
  /** Rendered face coverage [1, H, W, 1], 0..1. */
  mask?: tf.Tensor4D;
  /** Projected model landmarks [1, 68, 2] and the detected ones, pixels; optional per-point weights [68]. */
  projectedLandmarks?: tf.Tensor3D;
  detectedLandmarks?: tf.Tensor3D;
  landmarkWeights?: tf.Tensor1D | readonly number[];
  identity?: tf.Tensor;
  expression?: tf.Tensor;
  textureLatent?: tf.Tensor;
}

/**
 * All terms of one step. The recognition net runs once on the render's chip (only when identity or content have a
 * non-zero weight), giving both the identity and the content term. Terms with weight 0 or missing inputs are 0.
 */
export function computeLosses(
  net: RecognitionNet,
  target: PhotoTarget,
  inputs: LossInputs,
  weights: LossWeights,
  contentLayers: readonly RecognitionFeature[] = RECOGNITION_FEATURES,
): LossTerms {
  const zero = () => tf.scalar(0);
  const terms = {} as LossTerms;
  const embed = weights.identity !== 0 || weights.content !== 0
    ? net.embed(warpToChip(inputs.render, target.chipTransform, CHIP_SIZE), { range: 1 })
    : undefined;
  terms.identity = embed && weights.identity ? identityLoss(target.embedding, embed.embedding) : zero();
  terms.content = embed && weights.content ? contentLoss(target.features, embed.features, contentLayers) : zero();
  if (embed) tf.dispose([embed.embedding, ...Object.values(embed.features)]);
  terms.pixel = inputs.mask && weights.pixel ? pixelLoss(inputs.photo, inputs.render, inputs.mask) : zero();
  terms.landmark = inputs.projectedLandmarks && inputs.detectedLandmarks && weights.landmark
    ? landmarkLoss(inputs.projectedLandmarks, inputs.detectedLandmarks, inputs.landmarkWeights)
    : zero();
  terms.shapePrior = inputs.identity && weights.shapePrior ? shapePrior(inputs.identity) : zero();
  terms.expressionPrior = inputs.expression && weights.expressionPrior ? expressionPrior(inputs.expression) : zero();
  terms.texturePrior = inputs.textureLatent && weights.texturePrior ? texturePrior(inputs.textureLatent) : zero();
  return terms;
}
