/** Shared test helpers: deterministic values and float64 finite-difference gradient checks. */
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/index.js';

/** Deterministic pseudo-random values in [lo, hi). */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (hi - lo) * (s / 2 ** 32);
  }
  return out;
}

/**
 * Compare the tfjs gradient of `fTf` at x0 with central differences of its float64 mirror `f64`, and the values.
 * The tfjs side runs in float32, so the tolerance is relative to the gradient's scale: |g − g_fd| ≤ tol·max(1, max|g_fd|).
 */
export function checkGradient(
  fTf: (x: tf.Tensor) => tf.Scalar,
  f64: (x: Float64Array) => number,
  x0: Float32Array,
  shape: number[],
  tol = 1e-3,
  eps = 1e-6,
): void {
  const x = tf.tensor(x0, shape);
  const { value, grad } = tf.tidy(() => {
    const vg = tf.valueAndGrad(fTf)(x);
    return { value: vg.value.dataSync()[0]!, grad: vg.grad.dataSync().slice() };
  });
  x.dispose();
  const x64 = Float64Array.from(x0);
  const v64 = f64(x64);
  assert.ok(Math.abs(value - v64) <= tol * Math.max(1, Math.abs(v64)), `value ${value} vs float64 ${v64}`);
  const fd = new Float64Array(x0.length);
  for (let i = 0; i < x0.length; i++) {
    const keep = x64[i]!;
    x64[i] = keep + eps;
    const p = f64(x64);
    x64[i] = keep - eps;
    const m = f64(x64);
    x64[i] = keep;
    fd[i] = (p - m) / (2 * eps);
  }
  let scale = 1;
  for (const v of fd) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < fd.length; i++) worst = Math.max(worst, Math.abs(grad[i]! - fd[i]!));
  assert.ok(worst <= tol * scale, `gradient off by ${worst} (scale ${scale})`);
}
