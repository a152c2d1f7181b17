// Checks of the committed asset that need nothing outside the repository.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadFaceModel, DEFAULT_MODEL_URL } from '../../src/model/load.js';
import { ICT_LANDMARKS, ICT_PARTS } from '../../src/model/import-ict.js';
import { vertexNormals } from '../../src/model/mesh.js';
import type { FaceModel } from '../../src/model/types.js';

let cached: FaceModel | undefined;
async function model(): Promise<FaceModel> {
  cached ??= await loadFaceModel();
  return cached;
}

test('the asset is small enough and loads in under a second', async () => {
  const size = statSync(fileURLToPath(DEFAULT_MODEL_URL)).size;
  assert.ok(size <= 20 * 1024 * 1024, `asset is ${size} bytes`);
  await loadFaceModel(); // warm the file cache and the JIT
  // Best of three: the test machine is shared, and contention only ever adds time.
  let ms = Infinity;
  let m = await loadFaceModel();
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    m = await loadFaceModel();
    ms = Math.min(ms, performance.now() - t0);
  }
  console.log(`# asset ${(size / 1e6).toFixed(2)} MB, load ${ms.toFixed(0)} ms (best of 3)`);
  assert.equal(m.version, 1);
  assert.match(m.info, /ICT-FaceKit.*MIT/);
});

test('counts: 24,591 vertices, 100 identity modes, 53 expressions', async () => {
  const m = await model();
  assert.equal(m.vertexCount, 24591);
  assert.equal(m.neutral.length, 24591 * 3);
  assert.equal(m.identityCount, 100);
  assert.equal(m.identityBasis.length, 100 * 24591 * 3);
  assert.equal(m.expressionNames.length, 53);
  assert.equal(m.expressionBasis.length, 53 * 24591 * 3);
  assert.equal(m.triangles.length, m.uvTriangles.length);
  for (const t of m.triangles) assert.ok(t < m.vertexCount);
  for (const t of m.uvTriangles) assert.ok(t < m.uvs.length / 2);
  assert.deepEqual(m.expressionNames.slice(0, 3), ['browDown_L', 'browDown_R', 'browInnerUp_L']);
  assert.ok(m.expressionNames.includes('jawOpen'));
});

test('landmarks are the ICT README lists', async () => {
  const m = await model();
  assert.deepEqual(Array.from(m.landmarks.landmarks68), ICT_LANDMARKS.landmarks68);
  assert.deepEqual(Array.from(m.landmarks.jawRight), ICT_LANDMARKS.jawRight);
  assert.deepEqual(Array.from(m.landmarks.jawLeft), ICT_LANDMARKS.jawLeft);
  assert.deepEqual(Array.from(m.landmarks.jawRightExtended), ICT_LANDMARKS.jawRightExtended);
  assert.deepEqual(Array.from(m.landmarks.jawLeftExtended), ICT_LANDMARKS.jawLeftExtended);
  const p = (i: number) => Array.from(m.neutral.subarray(3 * i, 3 * i + 3));
  const lm = m.landmarks.landmarks68;
  // Point 30 is the nose tip (frontmost), 8 the chin (lowest of the jaw); 0–7 on the subject's right (−x).
  assert.ok(p(lm[30])[2] > 12.5, `nose tip z ${p(lm[30])[2]}`);
  for (let j = 0; j < 17; j++) if (j !== 8) assert.ok(p(lm[8])[1] < p(lm[j])[1]);
  for (let j = 0; j < 8; j++) assert.ok(p(lm[j])[0] < 0 && p(lm[16 - j])[0] > 0, `jaw point ${j}`);
  // 36–41 is the eye on the image left of a frontal photo = the subject's right (−x).
  assert.ok(p(lm[36])[0] < 0 && p(lm[45])[0] > 0);
  for (const j of [...m.landmarks.jawRight, ...m.landmarks.jawRightExtended]) assert.ok(p(j)[0] < 0);
  for (const j of [...m.landmarks.jawLeft, ...m.landmarks.jawLeftExtended]) assert.ok(p(j)[0] > 0);
});

test('parts: ICT vertex ranges, contiguous triangle ranges covering every triangle', async () => {
  const m = await model();
  assert.deepEqual(m.parts.map((p) => [p.name, p.vertexStart, p.vertexEnd]), ICT_PARTS.map((p) => [p.name, p.vertexStart, p.vertexEnd]));
  assert.equal(m.parts[0].triangleStart, 0);
  assert.equal(m.parts.at(-1)!.triangleEnd, m.triangles.length / 3);
  assert.equal(m.parts.at(-1)!.vertexEnd, m.vertexCount);
  for (let i = 1; i < m.parts.length; i++) {
    assert.equal(m.parts[i].triangleStart, m.parts[i - 1].triangleEnd);
    assert.equal(m.parts[i].vertexStart, m.parts[i - 1].vertexEnd);
  }
  const face = m.parts[0];
  for (const p of m.parts) {
    // Seam rule (types.ts): a part's triangles use its own vertices or, for the head, mouth and eye sockets, face ones.
    const seams = ['headNeck', 'mouthSocket', 'eyeSocketLeft', 'eyeSocketRight'].includes(p.name);
    for (let t = 3 * p.triangleStart; t < 3 * p.triangleEnd; t++) {
      const v = m.triangles[t];
      const own = v >= p.vertexStart && v < p.vertexEnd;
      assert.ok(own || (seams && v < face.vertexEnd), `part ${p.name} triangle ${Math.floor(t / 3)} uses vertex ${v}`);
    }
  }
  // Left parts sit at +x (the subject's left).
  const meanX = (name: string) => {
    const p = m.parts.find((q) => q.name === name)!;
    let s = 0;
    for (let v = p.vertexStart; v < p.vertexEnd; v++) s += m.neutral[3 * v];
    return s / (p.vertexEnd - p.vertexStart);
  };
  for (const side of ['eyeSocket', 'sclera', 'iris']) assert.ok(meanX(side + 'Left') > 2 && meanX(side + 'Right') < -2, side);
});

test('triangles are wound counter-clockwise seen from outside', async () => {
  const m = await model();
  const n = vertexNormals(m.neutral, m.triangles);
  const tip = m.landmarks.landmarks68[30];
  assert.ok(n[3 * tip + 2] > 0.95, `nose-tip normal z ${n[3 * tip + 2]}`);
  // Chin normal points down-forward, the left cheek's to +x, the back of the head's to −z.
  const chin = m.landmarks.landmarks68[8];
  assert.ok(n[3 * chin + 1] < 0 && n[3 * chin + 2] > 0);
  assert.ok(n[3 * m.landmarks.landmarks68[14]] > 0.3 && n[3 * m.landmarks.landmarks68[2]] < -0.3);
  // Every sclera triangle faces away from its eyeball's centre (the iris is a concave lens inside it: not checked).
  for (const sclera of ['scleraLeft', 'scleraRight']) {
    const ps = m.parts.find((p) => p.name === sclera)!;
    const c = [0, 0, 0];
    for (let v = ps.vertexStart; v < ps.vertexEnd; v++) for (let k = 0; k < 3; k++) c[k] += m.neutral[3 * v + k] / (ps.vertexEnd - ps.vertexStart);
    let outward = 0, total = 0;
    for (let t = ps.triangleStart; t < ps.triangleEnd; t++) {
      const [a, b, d] = [0, 1, 2].map((k) => m.triangles[3 * t + k]);
      const P = (i: number, k: number) => m.neutral[3 * i + k];
      const u = [0, 1, 2].map((k) => P(b, k) - P(a, k)), w = [0, 1, 2].map((k) => P(d, k) - P(a, k));
      const nn = [u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2], u[0] * w[1] - u[1] * w[0]];
      const dot = [0, 1, 2].reduce((s, k) => s + nn[k] * (P(a, k) - c[k]), 0);
      total++;
      if (dot > 0) outward++;
    }
    assert.equal(outward, total, `${sclera}: ${outward}/${total} outward`);
  }
  // The face surface as a whole: positive signed volume about an interior point.
  const face = m.parts[0];
  let vol = 0;
  const o = [0, 0, 0];
  for (let t = face.triangleStart; t < face.triangleEnd; t++) {
    const [a, b, d] = [0, 1, 2].map((k) => m.triangles[3 * t + k]);
    const A = [0, 1, 2].map((k) => m.neutral[3 * a + k] - o[k]), B = [0, 1, 2].map((k) => m.neutral[3 * b + k] - o[k]), D = [0, 1, 2].map((k) => m.neutral[3 * d + k] - o[k]);
    vol += A[0] * (B[1] * D[2] - B[2] * D[1]) - A[1] * (B[0] * D[2] - B[2] * D[0]) + A[2] * (B[0] * D[1] - B[1] * D[0]);
  }
  assert.ok(vol > 0);
});

test('UV layout: ICT tiles (face u∈[0,1], head [1,2], gums [2,3], teeth [3,4], eyes [0,1])', async () => {
  const m = await model();
  const tile = (name: string) => {
    const p = m.parts.find((q) => q.name === name)!;
    let lo = Infinity, hi = -Infinity, vlo = Infinity, vhi = -Infinity;
    for (let t = 3 * p.triangleStart; t < 3 * p.triangleEnd; t++) {
      const u = m.uvs[2 * m.uvTriangles[t]], v = m.uvs[2 * m.uvTriangles[t] + 1];
      lo = Math.min(lo, u); hi = Math.max(hi, u); vlo = Math.min(vlo, v); vhi = Math.max(vhi, v);
    }
    assert.ok(vlo >= 0 && vhi <= 1, `${name} v range`);
    return [Math.floor(lo), Math.floor(hi)];
  };
  assert.deepEqual(tile('face'), [0, 0]);
  for (const name of ['headNeck', 'mouthSocket', 'eyeSocketLeft', 'eyeSocketRight']) assert.deepEqual(tile(name), [1, 1], name);
  assert.deepEqual(tile('gumsTongue'), [2, 2]);
  assert.deepEqual(tile('teeth'), [3, 3]);
  for (const name of ['scleraLeft', 'irisLeft', 'scleraRight', 'irisRight']) assert.deepEqual(tile(name), [0, 0], name);
});
