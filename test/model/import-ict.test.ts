import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { parseObjTopology, parseObjVertices, partRanges, importIct, ICT_LANDMARKS } from '../../src/model/import-ict.js';
import { loadFaceModel } from '../../src/model/load.js';
import { parseFaceModel } from '../../src/model/asset-format.js';

const SHARED = fileURLToPath(new URL('../../../shared/models/ict-facekit', import.meta.url));
const haveShared = existsSync(path.join(SHARED, 'generic_neutral_mesh.obj'));
const skipShared = haveShared ? false : `ICT-FaceKit source not found at ${SHARED}`;
if (!haveShared) console.log(`# skipping ICT source comparisons: ${SHARED} is absent`);

const QUAD_OBJ = `# test
mtllib x.mtl
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 5 5 5
v 6 5 5
v 5 6 5
vt 0 0
vt 9 9
vt 1 0
vt 1 1
vt 0 1
usemtl A
f 1/1 2/3 3/4 4/5
f 5/2 6/2 7/2
`;

test('OBJ parser splits quads into counter-clockwise triangles and drops polygons on dropped vertices', () => {
  const t = parseObjTopology(QUAD_OBJ, 4);
  assert.deepEqual(Array.from(t.positions), [0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0]);
  assert.deepEqual(Array.from(t.triangles), [0, 1, 2, 0, 2, 3]);
  assert.deepEqual(Array.from(t.triangleFace), [0, 0]);
  // vt 2 (9, 9) was used only by the dropped triangle: UVs are renumbered without it.
  assert.deepEqual(Array.from(t.uvs), [0, 0, 1, 0, 1, 1, 0, 1]);
  assert.deepEqual(Array.from(t.uvTriangles), [0, 1, 2, 0, 2, 3]);
  // The quad is counter-clockwise seen from +z: both triangles have a +z normal.
  for (let k = 0; k < 2; k++) {
    const [a, b, c] = Array.from(t.triangles.subarray(3 * k, 3 * k + 3), (i) => Array.from(t.positions.subarray(3 * i, 3 * i + 3)));
    const nz = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    assert.ok(nz > 0);
  }
  assert.throws(() => parseObjTopology(QUAD_OBJ + 'f 1/1 2/3 5/2\n', 4), /mixes kept and dropped/);
  assert.deepEqual(Array.from(parseObjVertices(QUAD_OBJ, 2)), [0, 0, 0, 1, 0, 0]);
});

test('part triangle ranges follow the polygon of each triangle', () => {
  // Triangle 1 belongs to a polygon that reaches vertex 4 (part b) although it only uses part-a vertices.
  const tris = Uint32Array.from([0, 1, 2, 0, 2, 3, 0, 3, 4, 4, 5, 6]);
  const parts = partRanges(tris, [{ name: 'a', vertexStart: 0, vertexEnd: 4 }, { name: 'b', vertexStart: 4, vertexEnd: 7 }], Uint32Array.from([0, 1, 1, 2]));
  assert.deepEqual(parts.map((p) => [p.triangleStart, p.triangleEnd]), [[0, 1], [1, 4]]);
  assert.throws(() => partRanges(Uint32Array.from([4, 5, 6, 0, 1, 2]), [{ name: 'a', vertexStart: 0, vertexEnd: 4 }, { name: 'b', vertexStart: 4, vertexEnd: 7 }]), /comes after/);
});

test('importIct converts a synthetic ICT-style folder (gzipped and plain mode files)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ganfit-ict-'));
  try {
    // A 100-wide grid with the real vertex count; quads between rows cover every part's vertex range.
    const V = 26719;
    const grid = (dz: (i: number) => number) => Array.from({ length: V }, (_, i) => `v ${i % 100} ${Math.floor(i / 100)} ${dz(i)}`);
    const lines = [...grid(() => 0), 'vt 0 0', 'vt 1 0', 'vt 1 1', 'vt 0 1'];
    // Quads either below the kept limit (24591) or wholly above it (dropped, like ICT's eyelashes).
    let keptQuads = 0;
    for (let i = 0; i + 101 < V; i++) {
      if (i % 100 === 99 || (i + 101 >= 24591 && i < 24591)) continue;
      lines.push(`f ${i + 1}/1 ${i + 2}/2 ${i + 102}/3 ${i + 101}/4`);
      if (i < 24591) keptQuads++;
    }
    await writeFile(path.join(dir, 'generic_neutral_mesh.obj'), lines.join('\n'));
    for (let k = 0; k < 100; k++) {
      await writeFile(path.join(dir, `identity${String(k).padStart(3, '0')}.obj.gz`), gzipSync(grid((i) => (i === 100 * k ? 1 : 0)).join('\n')));
    }
    await writeFile(path.join(dir, 'smile.obj'), grid((i) => (i === 5000 ? -0.5 : i === 5001 ? 0.00005 : 0)).join('\n'));
    await writeFile(path.join(dir, 'vertex_indices.json'), JSON.stringify({
      expressions: ['smile'], idx_to_landmark_verts: ICT_LANDMARKS.landmarks68, idx_to_rigid_verts: [7, 8],
    }));
    const progress: number[] = [];
    const m = parseFaceModel(await importIct(dir, (done, total) => { assert.equal(total, 101); progress.push(done); }));
    assert.deepEqual(progress, Array.from({ length: 101 }, (_, i) => i + 1));
    assert.equal(m.vertexCount, 24591);
    assert.equal(m.identityCount, 100);
    assert.deepEqual(m.expressionNames, ['smile']);
    assert.deepEqual(Array.from(m.vertexSets.rigid), [7, 8]);
    const S = 3 * m.vertexCount;
    assert.equal(m.identityBasis[37 * S + 3 * 3700 + 2], 1);
    assert.equal(m.expressionBasis[3 * 5000 + 2], -0.5);
    assert.equal(m.expressionBasis[3 * 5001 + 2], 0, 'below the drop threshold');
    assert.equal(m.parts.length, 11);
    assert.equal(m.parts[10].triangleEnd, m.triangles.length / 3);
    for (const t of m.triangles) assert.ok(t < 24591);
    assert.equal(m.triangles.length / 3, 2 * keptQuads, 'polygons on dropped vertices are gone');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the committed asset reproduces every source OBJ within its tolerance', { skip: skipShared }, async () => {
  const model = await loadFaceModel();
  const V = model.vertexCount;
  const S = V * 3;
  assert.ok(model.deltaTolerance <= 1e-4 + 1e-9, `stored tolerance ${model.deltaTolerance} cm`);
  const neutral = parseObjVertices(readFileSync(path.join(SHARED, 'generic_neutral_mesh.obj'), 'latin1'), V);
  let worstNeutral = 0;
  for (let i = 0; i < S; i++) worstNeutral = Math.max(worstNeutral, Math.abs(model.neutral[i] - neutral[i]));
  assert.ok(worstNeutral < 2e-6, `neutral error ${worstNeutral} cm`);
  const names = [...Array.from({ length: 100 }, (_, k) => `identity${String(k).padStart(3, '0')}`), ...model.expressionNames];
  let worst = 0, worstName = '';
  names.forEach((name, k) => {
    const src = parseObjVertices(gunzipSync(readFileSync(path.join(SHARED, `${name}.obj.gz`))).toString('latin1'), V);
    const basis = k < 100 ? model.identityBasis.subarray(k * S, (k + 1) * S) : model.expressionBasis.subarray((k - 100) * S, (k - 99) * S);
    for (let i = 0; i < S; i++) {
      const err = Math.abs(model.neutral[i] + basis[i] - src[i]);
      if (err > worst) { worst = err; worstName = name; }
    }
  });
  console.log(`# asset vs source OBJs: max abs error ${worst.toExponential(3)} cm (${worstName}), neutral ${worstNeutral.toExponential(3)} cm`);
  // Documented bound (docs/model-asset.md): 1e-4 cm from the drop threshold/quantisation, plus float32 rounding.
  assert.ok(worst <= 1.1e-4, `max error ${worst} cm in ${worstName}`);
});

test('the expression list is vertex_indices.json "expressions", in order', { skip: skipShared }, async () => {
  const model = await loadFaceModel();
  const json = JSON.parse(readFileSync(path.join(SHARED, 'vertex_indices.json'), 'utf8'));
  assert.deepEqual(model.expressionNames, json.expressions);
  assert.equal(model.expressionNames.length, 53);
  assert.deepEqual(Array.from(model.landmarks.landmarks68), json.idx_to_landmark_verts);
  assert.deepEqual(Array.from(model.vertexSets.rigid), json.idx_to_rigid_verts);
  assert.ok(readdirSync(SHARED).includes('LICENSE'));
  assert.equal(readFileSync(new URL('../../assets/ICT-FaceKit-LICENSE.txt', import.meta.url), 'utf8'), readFileSync(path.join(SHARED, 'LICENSE'), 'utf8'));
});

test('re-importing the source gives the committed asset byte for byte', { skip: process.env.GANFIT_SLOW ? skipShared : 'slow (≈10 s): set GANFIT_SLOW=1' }, async () => {
  const bytes = await importIct(SHARED);
  const committed = readFileSync(new URL('../../assets/ict-face-model.bin', import.meta.url));
  assert.equal(bytes.length, committed.length);
  assert.ok(Buffer.from(bytes).equals(committed), 'asset differs from a fresh import: rebuild it');
  parseFaceModel(bytes);
});
