/**
 * Rigid and similarity alignment of corresponding point sets in float64 (Kabsch / Umeyama), solved with Horn's
 * quaternion method: the rotation is the eigenvector of the largest eigenvalue of a symmetric 4×4 matrix built
 * from the cross-covariance (Jacobi eigen-solver), so it is always a proper rotation (no reflection case).
 */
import { symmetricEigen } from '../../engine/linalg.js';

export interface Alignment {
  /** Row-major 3×3 rotation, scale and translation with `target ≈ scale·R·source + translation`. */
  rotation: Float64Array;
  scale: number;
  translation: [number, number, number];
  /** Mean and root-mean-square distance between the aligned source and the target (input units). */
  meanDistance: number;
  rmsDistance: number;
  /** Per-point distances after alignment. */
  distances: Float64Array;
}


/**
 * Best rotation (and with `similarity`, scale) and translation mapping `source` onto `target` (N×3 each,
 * corresponding rows) in the least-squares sense, over the rows in `indices` (default all).
 */
export function alignPoints(
  source: ArrayLike<number>,
  target: ArrayLike<number>,
  options: { similarity?: boolean; indices?: ArrayLike<number> } = {},
): Alignment {
  if (source.length !== target.length || source.length % 3 !== 0) throw new Error(`alignPoints: ${source.length} vs ${target.length} coordinates`);
  const idx = options.indices ?? Uint32Array.from({ length: source.length / 3 }, (_, i) => i);
  const n = idx.length;
  if (n < 3) throw new Error('alignPoints: need at least 3 points');
  const ca = [0, 0, 0], cb = [0, 0, 0];
  for (let k = 0; k < n; k++) for (let j = 0; j < 3; j++) {
    ca[j] += source[3 * idx[k] + j] / n;
    cb[j] += target[3 * idx[k] + j] / n;
  }
  // Cross-covariance S[i][j] = Σ a_i b_j (centred), and Σ|a|².
  const S = new Float64Array(9);
  let aa = 0;
  for (let k = 0; k < n; k++) {
    const i = 3 * idx[k];
    const a = [source[i] - ca[0], source[i + 1] - ca[1], source[i + 2] - ca[2]];
    const b = [target[i] - cb[0], target[i + 1] - cb[1], target[i + 2] - cb[2]];
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) S[3 * r + c] += a[r] * b[c];
    aa += a[0] * a[0] + a[1] * a[1] + a[2] * a[2];
  }
  const [xx, xy, xz, yx, yy, yz, zx, zy, zz] = S;
  const N = [
    xx + yy + zz, yz - zy, zx - xz, xy - yx,
    yz - zy, xx - yy - zz, xy + yx, zx + xz,
    zx - xz, xy + yx, -xx + yy - zz, yz + zy,
    xy - yx, zx + xz, yz + zy, -xx - yy + zz,
  ];
  const { values, vectors } = symmetricEigen(N, 4);
  let best = 0;
  for (let i = 1; i < 4; i++) if (values[i] > values[best]) best = i;
  const [w, x, y, z] = [0, 1, 2, 3].map((r) => vectors[4 * r + best]);
  const R = new Float64Array([
    w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z,
  ]);
  let scale = 1;
  if (options.similarity) {
    // Σ b·(R a) = trace(R S) = the largest eigenvalue of N.
    scale = aa > 0 ? values[best] / aa : 1;
  }
  const rca = [0, 1, 2].map((r) => R[3 * r] * ca[0] + R[3 * r + 1] * ca[1] + R[3 * r + 2] * ca[2]);
  const translation: [number, number, number] = [cb[0] - scale * rca[0], cb[1] - scale * rca[1], cb[2] - scale * rca[2]];
  const distances = new Float64Array(n);
  let sum = 0, sum2 = 0;
  for (let k = 0; k < n; k++) {
    const i = 3 * idx[k];
    let d2 = 0;
    for (let r = 0; r < 3; r++) {
      const p = scale * (R[3 * r] * source[i] + R[3 * r + 1] * source[i + 1] + R[3 * r + 2] * source[i + 2]) + translation[r];
      d2 += (p - target[i + r]) ** 2;
    }
    distances[k] = Math.sqrt(d2);
    sum += distances[k];
    sum2 += d2;
  }
  return { rotation: R, scale, translation, meanDistance: sum / n, rmsDistance: Math.sqrt(sum2 / n), distances };
}
