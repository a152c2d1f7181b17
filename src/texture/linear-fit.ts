/**
 * Latents of a linear map model, map ≈ base + zᵀ·W, from partly seen maps: ridge least squares on the seen
 * texels, per map, at a reduced resolution (docs/texture-gan.md, "Architecture", encoder).
 *
 *   z = argmin Σ_t w_t·(x_t − base_t − (zᵀW)_t)² + λ·|z|²  =  (W·diag(w)·Wᵀ + λI)⁻¹ · W·diag(w)·(x − base)
 *
 * with x the seen-texel average and w the seen fraction of each low-resolution texel (area averages of the
 * full-resolution map and visibility). It is the exact, amortised inversion of the PCA model's latent and of
 * the generator's linear path: fits start there, and the trainer decodes real maps from it. The per-map
 * Gram matrix costs 2·k²·r²·3 multiply-adds (~0.4 GFLOP at r = 64, k = 128; 25–45 ms a map on wasm); the solve is a
 * float64 Cholesky of k×k.
 */
import { tf } from '../engine/index.js';
import { solveSpd } from '../engine/linalg.js';
import { downsampleTo, transposeMatrix } from './ops.js';

export interface LinearProjectionOptions {
  /** Resolution the least squares run at (default 64; the model's own if smaller). */
  resolution?: number;
  /**
   * λ of the ridge term, in squared [−1, 1] units per seen texel channel: the texel noise variance of the MAP
   * estimate under z ~ N(0, I) (default 0.005, i.e. residual RMS ≈ 0.07 at 64²).
   */
  ridge?: number;
}

export const DEFAULT_LINEAR_PROJECTION: Required<LinearProjectionOptions> = { resolution: 64, ridge: 0.005 };

export interface LinearProjector {
  /** Latents [B, k] of maps [B, R', R', 3] in [0, 1] (any R') seen where `visibility` [B, R', R', 1] is 1. */
  project(maps: tf.Tensor4D, visibility: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

/**
 * A projector for the model `base + zᵀ·W`: `basis` W [k, R·R·3] and `base` (R·R·3 values, or a tensor of that
 * size) in [−1, 1] units, row-major [R, R, 3] maps. The low-resolution basis is made once and kept.
 */
export function createLinearProjector(
  basis: tf.Tensor2D, base: tf.Tensor | Float32Array, resolution: number, options: LinearProjectionOptions = {},
): LinearProjector {
  const { ridge } = { ...DEFAULT_LINEAR_PROJECTION, ...options };
  const r = Math.min(resolution, options.resolution ?? DEFAULT_LINEAR_PROJECTION.resolution);
  const k = basis.shape[0];
  const d = r * r * 3;
  if (basis.shape[1] !== resolution * resolution * 3) throw new Error(`linear projector: basis has ${basis.shape[1]} columns, expected ${resolution}²·3`);
  const [low, lowT, baseLow] = tf.tidy(() => {
    const w = tf.reshape(downsampleTo(tf.reshape(basis, [k, resolution, resolution, 3]) as tf.Tensor4D, r), [k, d]) as tf.Tensor2D;
    const b0 = base instanceof Float32Array ? tf.tensor(base) : base;
    const b = tf.reshape(downsampleTo(tf.reshape(b0, [1, resolution, resolution, 3]) as tf.Tensor4D, r), [1, d]);
    // Kept: a projector is often made lazily inside a caller's tidy scope and outlives it.
    return [tf.keep(w), tf.keep(transposeMatrix(w)), tf.keep(b)];
  });
  return {
    project(maps, visibility) {
      const B = maps.shape[0];
      // Seen-texel averages x and seen fractions w at r², as flat rows [B, d].
      const [weights, residual] = tf.tidy(() => {
        const v = downsampleTo(visibility, r);
        const seen = tf.div(downsampleTo(tf.mul(maps, visibility) as tf.Tensor4D, r), tf.maximum(v, 1e-6));
        const w = tf.reshape(tf.tile(v, [1, 1, 1, 3]), [B, d]);
        const x = tf.reshape(tf.sub(tf.mul(seen, 2), 1), [B, d]);
        return [w, tf.mul(w, tf.sub(x, baseLow))];
      });
      const rhs = tf.tidy(() => tf.matMul(residual as tf.Tensor2D, lowT)); // [B, k] = (W·diag(w)·(x − base))ᵀ
      const rhsValues = rhs.dataSync() as Float32Array;
      const out = new Float32Array(B * k);
      for (let b = 0; b < B; b++) {
        const gram = tf.tidy(() => tf.matMul(tf.mul(low, tf.slice(weights, [b, 0], [1, d])) as tf.Tensor2D, lowT));
        const a = Float64Array.from(gram.dataSync());
        gram.dispose();
        for (let i = 0; i < k; i++) a[i * k + i]! += ridge;
        const z = solveSpd(a, Float64Array.from(rhsValues.subarray(b * k, (b + 1) * k)), k);
        if (z) out.set(z, b * k); // not positive definite only for a non-finite map: leave z = 0
      }
      tf.dispose([weights, residual, rhs]);
      return tf.tensor2d(out, [B, k]);
    },
    dispose() {
      tf.dispose([low, lowT, baseLow]);
    },
  };
}
