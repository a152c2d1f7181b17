import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFaceModel } from '../../src/model/load.js';
import {
  meshFromParams, modelPositions, vertexNormals, landmarkPositions, arkitName, arkitTargets, ARKIT_NAMES,
} from '../../src/model/mesh.js';
import type { FaceModel } from '../../src/model/types.js';

let cached: FaceModel | undefined;
async function model(): Promise<FaceModel> {
  cached ??= await loadFaceModel();
  return cached;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

test('zero parameters give the neutral mesh, sharing the topology arrays', async () => {
  const m = await model();
  const mesh = meshFromParams(m, { identity: [], expression: [] });
  assert.deepEqual(mesh.positions, m.neutral);
  assert.notEqual(mesh.positions, m.neutral);
  assert.equal(mesh.triangles, m.triangles);
  assert.equal(mesh.parts, m.parts);
});

test('meshFromParams is affine: f(a·p + b·q) = f(0) + a·(f(p) − f(0)) + b·(f(q) − f(0))', async () => {
  const m = await model();
  const r = rng(1);
  const p = { identity: Float32Array.from({ length: 100 }, () => r() * 2 - 1), expression: Float32Array.from({ length: 53 }, () => r()) };
  const q = { identity: Float32Array.from({ length: 40 }, () => r() * 2 - 1), expression: Float32Array.from({ length: 53 }, (_, i) => (i % 5 === 0 ? r() : 0)) };
  const [a, b] = [0.7, -1.3];
  const mix = {
    identity: Float32Array.from({ length: 100 }, (_, i) => a * p.identity[i] + b * (q.identity[i] ?? 0)),
    expression: Float32Array.from({ length: 53 }, (_, i) => a * p.expression[i] + b * q.expression[i]),
  };
  const f0 = m.neutral, fp = modelPositions(m, p), fq = modelPositions(m, q), fm = modelPositions(m, mix);
  const expected = f0.map((x, i) => x + a * (fp[i] - x) + b * (fq[i] - x));
  assert.ok(maxDiff(fm, expected) < 1e-4, `affine error ${maxDiff(fm, expected)}`);
  // A single unit coefficient adds exactly its basis row.
  const S = m.vertexCount * 3;
  const jaw = m.expressionNames.indexOf('jawOpen');
  const e = new Float32Array(53);
  e[jaw] = 1;
  const open = modelPositions(m, { identity: [], expression: e });
  assert.ok(maxDiff(open, m.neutral.map((x, i) => x + m.expressionBasis[jaw * S + i])) === 0);
  // jawOpen moves the chin down.
  const chin = m.landmarks.landmarks68[8];
  assert.ok(open[3 * chin + 1] < m.neutral[3 * chin + 1] - 1);
});

test('too many coefficients and non-finite ones are rejected', async () => {
  const m = await model();
  assert.throws(() => modelPositions(m, { identity: new Float32Array(101), expression: [] }), /101 identity/);
  assert.throws(() => modelPositions(m, { identity: [], expression: new Float32Array(54) }), /54 expression/);
  assert.throws(() => modelPositions(m, { identity: [NaN], expression: [] }), /not finite/);
});

test('landmarkPositions equals the same vertices of the full mesh', async () => {
  const m = await model();
  const r = rng(2);
  const params = { identity: Array.from({ length: 60 }, () => r() * 2 - 1), expression: Array.from({ length: 53 }, () => (r() < 0.3 ? r() : 0)) };
  const full = modelPositions(m, params);
  const idx = [...m.landmarks.landmarks68, ...m.landmarks.jawLeftExtended, 24590];
  const lm = landmarkPositions(m, params, idx);
  assert.equal(lm.length, idx.length * 3);
  idx.forEach((v, j) => {
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(lm[3 * j + c] - full[3 * v + c]) < 1e-4);
  });
  assert.throws(() => landmarkPositions(m, params, [m.vertexCount]), /out of range/);
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) landmarkPositions(m, params, m.landmarks.landmarks68);
  console.log(`# landmarkPositions (68 points, 113 modes): ${((performance.now() - t0) / 1000).toFixed(3)} ms`);
});

test('vertexNormals: unit, area-weighted, outward for counter-clockwise triangles', () => {
  // A unit cube, 12 counter-clockwise triangles seen from outside.
  const P = Float32Array.from([0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1]);
  const T = Uint32Array.from([0, 2, 1, 0, 3, 2, 4, 5, 6, 4, 6, 7, 0, 1, 5, 0, 5, 4, 2, 3, 7, 2, 7, 6, 1, 2, 6, 1, 6, 5, 0, 4, 7, 0, 7, 3]);
  const n = vertexNormals(P, T);
  for (let v = 0; v < 8; v++) {
    const len = Math.hypot(n[3 * v], n[3 * v + 1], n[3 * v + 2]);
    assert.ok(Math.abs(len - 1) < 1e-6);
    for (let c = 0; c < 3; c++) assert.ok(n[3 * v + c] * (P[3 * v + c] - 0.5) > 0, `vertex ${v} axis ${c}`);
  }
  const lonely = vertexNormals(Float32Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 5, 5, 5]), Uint32Array.from([0, 1, 2]));
  assert.deepEqual(Array.from(lonely), [0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0]);
});

test('ARKit names: _L/_R → Left/Right; browInnerUp and cheekPuff combine their halves; no tongueOut', async () => {
  assert.equal(arkitName('eyeBlink_L'), 'eyeBlinkLeft');
  assert.equal(arkitName('mouthSmile_R'), 'mouthSmileRight');
  assert.equal(arkitName('jawOpen'), 'jawOpen');
  assert.equal(arkitName('browInnerUp_L'), 'browInnerUpLeft');
  assert.equal(ARKIT_NAMES.length, 52);
  assert.equal(new Set(ARKIT_NAMES).size, 52);
  const m = await model();
  const targets = arkitTargets(m.expressionNames);
  assert.equal(targets.length, 51);
  assert.ok(!targets.some((t) => t.name === 'tongueOut'));
  const brow = targets.find((t) => t.name === 'browInnerUp')!;
  assert.deepEqual(brow.sources.map((i) => m.expressionNames[i]), ['browInnerUp_L', 'browInnerUp_R']);
  const used = targets.flatMap((t) => t.sources).sort((a, b) => a - b);
  assert.deepEqual(used, Array.from({ length: 53 }, (_, i) => i), 'every ICT expression is used exactly once');
  for (const t of targets) if (t.sources.length === 1) assert.equal(arkitName(m.expressionNames[t.sources[0]]), t.name);
  // ICT's _L is the subject's left (+x), as ARKit's Left: eyeBlink_L moves the +x eyelid.
  const S = m.vertexCount * 3;
  const blink = m.expressionNames.indexOf('eyeBlink_L');
  let wx = 0, w = 0;
  for (let v = 0; v < m.vertexCount; v++) {
    const d = Math.hypot(m.expressionBasis[blink * S + 3 * v], m.expressionBasis[blink * S + 3 * v + 1], m.expressionBasis[blink * S + 3 * v + 2]);
    wx += d * m.neutral[3 * v];
    w += d;
  }
  assert.ok(wx / w > 2, `eyeBlink_L centre x ${wx / w}`);
});
