/**
 * The face model as tfjs tensors, for differentiable fitting. Created only on demand: the dense bases of the full
 * model take about 45 MB as float32, so a landmark fit should ask for the few vertices it needs.
 */
import { tf } from '../engine/index.js';
import type { FaceModel } from './types.js';

/** Tensors of the whole model or of a subset of its vertices (N = vertex count of the subset). */
export interface ModelTensors {
  /** N×3 neutral positions. */
  neutral: tf.Tensor2D;
  /** K×(N·3) identity deltas, row k = mode k flattened vertex-major (x, y, z of vertex 0, then vertex 1, …). */
  identityBasis: tf.Tensor2D;
  /** E×(N·3) expression deltas. */
  expressionBasis: tf.Tensor2D;
  /** Model vertex index of each row of `neutral` (0…V−1 for the whole model). */
  vertexIndices: Uint32Array;
  vertexCount: number;
}

/** Copy x, y, z of the vertices `indices` out of each of the `modes` rows (V×3 values each) of `basis`. */
function gatherBasis(basis: Float32Array, modes: number, stride: number, indices: Uint32Array): Float32Array {
  const n = indices.length;
  const out = new Float32Array(modes * n * 3);
  for (let k = 0; k < modes; k++) {
    const src = k * stride, dst = k * n * 3;
    for (let j = 0; j < n; j++) {
      const v = 3 * indices[j];
      out[dst + 3 * j] = basis[src + v];
      out[dst + 3 * j + 1] = basis[src + v + 1];
      out[dst + 3 * j + 2] = basis[src + v + 2];
    }
  }
  return out;
}

/**
 * Upload the model (or only `vertexIndices` of it) as tensors. The caller owns them: free with `disposeTensors`.
 */
export function toTensors(model: FaceModel, vertexIndices?: ArrayLike<number>): ModelTensors {
  const V = model.vertexCount, K = model.identityCount, E = model.expressionNames.length;
  if (!vertexIndices) {
    return {
      neutral: tf.tensor2d(model.neutral, [V, 3]),
      identityBasis: tf.tensor2d(model.identityBasis, [K, V * 3]),
      expressionBasis: tf.tensor2d(model.expressionBasis, [E, V * 3]),
      vertexIndices: Uint32Array.from({ length: V }, (_, i) => i),
      vertexCount: V,
    };
  }
  const idx = Uint32Array.from(vertexIndices);
  for (const v of idx) if (v >= V) throw new Error(`vertex index ${v} out of range (V = ${V})`);
  const n = idx.length;
  return {
    neutral: tf.tensor2d(gatherBasis(model.neutral, 1, V * 3, idx), [n, 3]),
    identityBasis: tf.tensor2d(gatherBasis(model.identityBasis, K, V * 3, idx), [K, n * 3]),
    expressionBasis: tf.tensor2d(gatherBasis(model.expressionBasis, E, V * 3, idx), [E, n * 3]),
    vertexIndices: idx,
    vertexCount: n,
  };
}

/** Free the tensors made by `toTensors`. */
export function disposeTensors(t: ModelTensors): void {
  tf.dispose([t.neutral, t.identityBasis, t.expressionBasis]);
}

/**
 * Differentiable positions (N×3) = neutral + identity·identityBasis + expression·expressionBasis.
 * `identity` may hold fewer than K coefficients (the first modes are used); `expression` likewise.
 */
export function vertexPositions(t: ModelTensors, identity: tf.Tensor1D, expression: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const K = identity.shape[0], E = expression.shape[0];
    if (K > t.identityBasis.shape[0]) throw new Error(`${K} identity coefficients for ${t.identityBasis.shape[0]} modes`);
    if (E > t.expressionBasis.shape[0]) throw new Error(`${E} expression weights for ${t.expressionBasis.shape[0]} modes`);
    let offsets = tf.zeros([1, t.vertexCount * 3]) as tf.Tensor2D;
    if (K > 0) {
      const basis = K === t.identityBasis.shape[0] ? t.identityBasis : t.identityBasis.slice([0, 0], [K, -1]);
      offsets = offsets.add(tf.matMul(identity.reshape([1, K]), basis));
    }
    if (E > 0) {
      const basis = E === t.expressionBasis.shape[0] ? t.expressionBasis : t.expressionBasis.slice([0, 0], [E, -1]);
      offsets = offsets.add(tf.matMul(expression.reshape([1, E]), basis));
    }
    return t.neutral.add(offsets.reshape([t.vertexCount, 3])) as tf.Tensor2D;
  });
}
