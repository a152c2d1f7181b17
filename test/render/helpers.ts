/** Shared helpers for the renderer tests: seeded random numbers and float64 finite-difference checks. */
import assert from 'node:assert/strict';

/** Deterministic xorshift generator in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

/**
 * Central finite differences of the scalar f at x (float64, step h) compared with `analytic`, entry by entry:
 * |fd − an| ≤ atol + rtol·max(|fd|, |an|). Also requires the gradient not to be all zeros unless `allowZero`.
 */
export function checkGradient(f: (x: Float64Array) => number, x: Float64Array, analytic: ArrayLike<number>, opts: { h?: number; rtol?: number; atol?: number; label?: string; allowZero?: boolean } = {}): void {
  const h = opts.h ?? 1e-6, rtol = opts.rtol ?? 1e-5, atol = opts.atol ?? 1e-7;
  let nonzero = 0, worst = 0, worstAt = -1;
  for (let i = 0; i < x.length; i++) {
    const keep = x[i];
    x[i] = keep + h;
    const fp = f(x);
    x[i] = keep - h;
    const fm = f(x);
    x[i] = keep;
    const fd = (fp - fm) / (2 * h);
    const an = analytic[i];
    if (Math.abs(an) > 1e-9) nonzero++;
    const err = Math.abs(fd - an) - (atol + rtol * Math.max(Math.abs(fd), Math.abs(an)));
    if (err > worst) { worst = err; worstAt = i; }
    if (err > 0) assert.fail(`${opts.label ?? 'gradient'}[${i}]: finite difference ${fd}, analytic ${an}`);
  }
  if (!opts.allowZero) assert.ok(nonzero > 0, `${opts.label ?? 'gradient'} is identically zero`);
  void worstAt;
}

/** Σ w·y for a fixed random weight vector (the scalar probed by gradient checks). */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function randomArray(n: number, r: () => number, lo = -1, hi = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}
