import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelInceptionDistance, kidDifference } from '../../src/eval/kid.js';
import { Rng } from '../../src/texture/random.js';

function gaussianRows(n: number, d: number, seed: number, shift = 0): Float64Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Float64Array.from(rng.normals(d), (v) => v + shift));
}

/** The unbiased MMD² written out from its definition, every pair visited once per term. */
function naiveMmd2(x: Float64Array[], y: Float64Array[]): number {
  const k = (a: Float64Array, b: Float64Array) => (a.reduce((s, v, i) => s + v * b[i]!, 0) / a.length + 1) ** 3;
  let xx = 0, yy = 0, xy = 0;
  x.forEach((a, i) => x.forEach((b, j) => { if (i !== j) xx += k(a, b); }));
  y.forEach((a, i) => y.forEach((b, j) => { if (i !== j) yy += k(a, b); }));
  x.forEach((a) => y.forEach((b) => { xy += k(a, b); }));
  const m = x.length, n = y.length;
  return xx / (m * (m - 1)) + yy / (n * (n - 1)) - (2 * xy) / (m * n);
}

test('kernelInceptionDistance: the unbiased MMD² of its definition, symmetric, seeded', () => {
  const x = gaussianRows(9, 5, 1);
  const y = gaussianRows(7, 5, 2, 0.3);
  const r = kernelInceptionDistance(x, y, { subsets: 5 });
  assert.ok(Math.abs(r.kid - naiveMmd2(x, y)) < 1e-12 * (1 + Math.abs(r.kid)), `${r.kid} vs ${naiveMmd2(x, y)}`);
  assert.ok(Math.abs(kernelInceptionDistance(y, x, { subsets: 5 }).kid - r.kid) < 1e-12);
  assert.deepEqual(kernelInceptionDistance(x, y, { subsets: 5 }), r);
  assert.equal(r.subsetSize, 3);
  assert.deepEqual(r.n, [9, 7]);
  assert.throws(() => kernelInceptionDistance([x[0]!], y), /at least 2 rows/);
  assert.throws(() => kernelInceptionDistance(x, [new Float64Array(4), new Float64Array(4)]), /different lengths/);
});

test('kernelInceptionDistance: near 0 for one distribution, well above its spread for a shifted one', () => {
  const d = 16;
  const same = kernelInceptionDistance(gaussianRows(200, d, 3), gaussianRows(200, d, 4));
  assert.ok(Math.abs(same.kid) < 2 * same.subsetStd, `same distribution: ${same.kid} ± ${same.subsetStd}`);
  const shifted = kernelInceptionDistance(gaussianRows(200, d, 3), gaussianRows(200, d, 4, 0.5));
  assert.ok(shifted.kid > 5 * shifted.subsetStd, `shifted: ${shifted.kid} ± ${shifted.subsetStd}`);
  const further = kernelInceptionDistance(gaussianRows(200, d, 3), gaussianRows(200, d, 4, 1));
  assert.ok(further.kid > shifted.kid, 'grows with the shift');
});

test('kidDifference: the two KIDs\' difference; pairing the rows cancels what the sets share', () => {
  const real = gaussianRows(60, 8, 1);
  const a = gaussianRows(60, 8, 2, 0.5);
  const noise = gaussianRows(60, 8, 3);
  const b = a.map((row, k) => Float64Array.from(row, (v, i) => v + 0.1 + 0.05 * noise[k]![i]!));
  const d = kidDifference(b, a, real, { subsets: 40, seed: 4 });
  assert.ok(Math.abs(d.difference - (naiveMmd2(b, real) - naiveMmd2(a, real))) < 1e-12, `${d.difference}`);
  assert.equal(d.subsetSize, 30);
  // b is a moved farther from real. Paired, the spread is a fraction of what it is once b's rows are shuffled
  // (the same sets, the same full-set difference, the pairing lost).
  const shuffled = [...b.slice(30), ...b.slice(0, 30)];
  const unpaired = kidDifference(shuffled, a, real, { subsets: 40, seed: 4 });
  assert.ok(Math.abs(unpaired.difference - d.difference) < 1e-9);
  assert.ok(d.difference > 0 && d.subsetStd > 0 && d.subsetStd < unpaired.subsetStd / 2, `${d.subsetStd} vs ${unpaired.subsetStd}`);
  assert.ok(d.difference > 3 * d.subsetStd);
  assert.throws(() => kidDifference(a.slice(1), b, real), /differ in size/);
});
