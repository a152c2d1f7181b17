/** Timing helpers shared by the benches. */

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median milliseconds of `runs` calls of `fn`, after one warm-up call. */
export async function medianMs(runs: number, fn: () => unknown): Promise<number> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return Math.round(median(t) * 1000) / 1000;
}

/**
 * A fixed pure-JavaScript workload (arithmetic over a 2 MB float64 array and gathers at pseudo-random
 * indices from it: compute and cache-miss bound, like the renderer's loops), median ms of 7 runs after 3. It
 * touches nothing of ganfit: printed beside the figures, it tells a slow spell of the machine (a virtual machine's
 * speed drifts; every figure then moves with it) from a slower build.
 */
export function referenceWorkMs(): number {
  const n = 1 << 18, a = new Float64Array(n), idx = new Int32Array(n);
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) | 0;
    idx[i] = (seed >>> 8) & (n - 1);
    a[i] = (seed >>> 16) / 65536;
  }
  const times: number[] = [];
  let sink = 0;
  for (let r = 0; r < 10; r++) {
    const t0 = performance.now();
    sink += referencePass(a, idx);
    if (r >= 3) times.push(performance.now() - t0);
  }
  if (!Number.isFinite(sink)) throw new Error('reference workload: non-finite result');
  return Math.round(median(times) * 100) / 100;
}

function referencePass(a: Float64Array, idx: Int32Array): number {
  let s = 0;
  for (let pass = 0; pass < 16; pass++) {
    for (let i = 0, n = a.length; i < n; i++) a[i] = a[i] * 0.999 + Math.sqrt(a[i] + 1) * 1e-3;
    for (let i = 0, n = a.length; i < n; i++) s += a[idx[i]];
  }
  return s;
}
