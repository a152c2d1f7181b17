/**
 * Seeded draws for the synthetic set, on the repo's mulberry32 generator (src/texture/random.ts).
 * Each sample has its own stream, `sampleRng(seed, index)`, so sample i is the same whatever `-n` is.
 */
import { Rng } from '../../texture/random.js';

export { Rng };

/** 32-bit mix of (seed, index) (a murmur3-style finaliser): the seed of sample `index`'s own stream. */
export function sampleSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

export function sampleRng(seed: number, index: number): Rng {
  return new Rng(sampleSeed(seed, index));
}

/** Uniform in [a, b). */
export const uniform = (rng: Rng, a: number, b: number): number => a + (b - a) * rng.next();

/** Uniform integer in [0, n). */
export const randInt = (rng: Rng, n: number): number => Math.min(n - 1, Math.floor(rng.next() * n));

export const pick = <T>(rng: Rng, items: readonly T[]): T => items[randInt(rng, items.length)];
