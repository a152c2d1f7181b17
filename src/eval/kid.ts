/**
 * Kernel distance between two sets of embeddings (Bińkowski et al., "Demystifying MMD GANs", ICLR 2018: the KID):
 * the unbiased estimate of the squared maximum mean discrepancy under the cubic polynomial kernel
 * k(x, y) = (xᵀy / d + 1)³. Unlike the Fréchet distance it has no bias that depends on the set sizes, so small
 * sets (a few hundred renders) compare fairly, and its expected value is 0 when both sets come from one
 * distribution (negative estimates then occur).
 *
 * Float64 throughout; the sets are plain row arrays (n × d).
 */
import { Rng } from '../texture/random.js';

export interface KidOptions {
  /** Random subsets of each set (drawn without replacement) for the spread (default 50). */
  subsets?: number;
  /** Size of each subset (default half the smaller set). */
  subsetSize?: number;
  /** Seed of the subsets (default 1). */
  seed?: number;
}

export interface KidResult {
  /** The unbiased MMD² on the full sets. */
  kid: number;
  /** Standard deviation of the estimate over the random subsets (each `subsetSize` rows of both sets). */
  subsetStd: number;
  subsetSize: number;
  n: [number, number];
}

function polyKernel(a: Float64Array, b: Float64Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  const t = dot / a.length + 1;
  return t * t * t;
}

/** Unbiased MMD² of rows `ix` of x against rows `iy` of y (|ix|, |iy| ≥ 2). */
function mmd2(x: readonly Float64Array[], y: readonly Float64Array[], ix: readonly number[], iy: readonly number[]): number {
  const within = (s: readonly Float64Array[], idx: readonly number[]) => {
    let sum = 0;
    for (let i = 0; i < idx.length; i++) for (let j = i + 1; j < idx.length; j++) sum += polyKernel(s[idx[i]!]!, s[idx[j]!]!);
    return (2 * sum) / (idx.length * (idx.length - 1));
  };
  let cross = 0;
  for (const i of ix) for (const j of iy) cross += polyKernel(x[i]!, y[j]!);
  return within(x, ix) + within(y, iy) - (2 * cross) / (ix.length * iy.length);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Standard deviation with Bessel's correction (NaN for fewer than 2 values). */
function sampleStd(values: readonly number[]): number {
  if (values.length < 2) return NaN;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
}

/** The subset size `options` ask for (default half the smaller set), checked against sets of `m` and `n` rows. */
function subsetSizeFor(options: KidOptions, m: number, n: number, caller: string): number {
  const size = options.subsetSize ?? Math.max(2, Math.floor(Math.min(m, n) / 2));
  if (size < 2 || size > Math.min(m, n)) throw new Error(`${caller}: subset size ${size} out of range`);
  return size;
}

/** The first k of a seeded shuffle of 0 … n−1. */
function subset(n: number, k: number, rng: Rng): number[] {
  const a = range(n);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (n - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, k);
}

/** KID of embeddings `x` against `y` (rows of equal length d; at least 2 rows each). */
export function kernelInceptionDistance(x: readonly Float64Array[], y: readonly Float64Array[], options: KidOptions = {}): KidResult {
  if (x.length < 2 || y.length < 2) throw new Error(`kernelInceptionDistance: need at least 2 rows in each set (got ${x.length}, ${y.length})`);
  const d = x[0]!.length;
  if ([...x, ...y].some((r) => r.length !== d)) throw new Error('kernelInceptionDistance: rows of different lengths');
  const subsetSize = subsetSizeFor(options, x.length, y.length, 'kernelInceptionDistance');
  const rng = new Rng(options.seed ?? 1);
  const values: number[] = [];
  for (let s = 0; s < (options.subsets ?? 50); s++) values.push(mmd2(x, y, subset(x.length, subsetSize, rng), subset(y.length, subsetSize, rng)));
  return { kid: mmd2(x, y, range(x.length), range(y.length)), subsetStd: sampleStd(values), subsetSize, n: [x.length, y.length] };
}

export interface KidDifference {
  /** KID(a, real) − KID(b, real) on the full sets. */
  difference: number;
  /** Its standard deviation over random subsets, the same rows of `a` and `b` in each (their row k is paired with one map). */
  subsetStd: number;
  subsetSize: number;
}

/**
 * How much farther `a` is from `real` than `b` is, when row k of `a` and of `b` stand for the same thing (two
 * models' renders of one real map): each subset takes the same rows of both, so what the two sets share cancels
 * and the spread is that of the difference, not of either figure.
 */
export function kidDifference(
  a: readonly Float64Array[], b: readonly Float64Array[], real: readonly Float64Array[], options: KidOptions = {},
): KidDifference {
  if (a.length !== b.length) throw new Error(`kidDifference: the paired sets differ in size (${a.length}, ${b.length})`);
  const subsetSize = subsetSizeFor(options, a.length, real.length, 'kidDifference');
  const rng = new Rng(options.seed ?? 1);
  const values: number[] = [];
  for (let s = 0; s < (options.subsets ?? 50); s++) {
    const ix = subset(a.length, subsetSize, rng);
    const iy = subset(real.length, subsetSize, rng);
    values.push(mmd2(a, real, ix, iy) - mmd2(b, real, ix, iy));
  }
  const all = range(real.length);
  return { difference: mmd2(a, real, range(a.length), all) - mmd2(b, real, range(b.length), all), subsetStd: sampleStd(values), subsetSize };
}
