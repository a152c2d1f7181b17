/**
 * Synthetic set: determinism (same seed → same bytes), independence of the sample count, parameter ranges, and the
 * ground truth's own conventions (vertex file ↔ landmarks3d ↔ 1-based landmarks2d, as nme68 expects).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initEngine } from '../../src/engine/index.js';
import { loadFaceModel } from '../../src/model/load.js';
import type { FaceModel } from '../../src/model/types.js';
import { projectToPixels64 } from '../../src/render/camera.js';
import { nme68, YAW_BINS } from '../../src/eval/aflw2000.js';
import {
  drawSynthParams, generateSynthSet, parseVertices, MAX_ACTIVE, YAW_RANGES, PITCH_MAX, ROLL_MAX, type SynthSample,
} from '../../src/eval/synth/index.js';

let model: FaceModel;
before(async () => {
  await initEngine();
  model = await loadFaceModel();
});

test('parameters: yaw spread over the three bins, angles and expression within their ranges', () => {
  for (let i = 0; i < 60; i++) {
    const p = drawSynthParams(model, 7, i, 450, 450);
    assert.equal(p.yawBin, YAW_BINS[i % 3]);
    const [lo, hi] = YAW_RANGES[p.yawBin];
    assert.ok(Math.abs(p.pose.yaw) >= lo && Math.abs(p.pose.yaw) <= hi, `yaw ${p.pose.yaw} in ${p.yawBin}`);
    assert.ok(Math.abs(p.pose.pitch) <= PITCH_MAX && Math.abs(p.pose.roll) <= ROLL_MAX);
    assert.ok(Object.keys(p.expression).length <= MAX_ACTIVE);
    for (const w of Object.values(p.expression)) assert.ok(w > 0 && w <= 1);
    assert.equal(p.identity.length, model.identityCount);
  }
  // Both yaw signs occur; the identity prior is N(0, 1).
  const yaws = Array.from({ length: 60 }, (_, i) => drawSynthParams(model, 7, i, 450, 450).pose.yaw);
  assert.ok(yaws.some((y) => y > 0) && yaws.some((y) => y < 0));
  const ids = Array.from({ length: 20 }, (_, i) => drawSynthParams(model, 7, i, 450, 450).identity).flat();
  const sd = Math.sqrt(ids.reduce((a, v) => a + v * v, 0) / ids.length);
  assert.ok(sd > 0.9 && sd < 1.1, `identity sd ${sd}`);
});

test('same seed → byte-identical files; sample i does not depend on n; another seed differs', async () => {
  const dirs = await Promise.all([0, 1, 2].map(() => mkdtemp(path.join(tmpdir(), 'ganfit-synth-'))));
  try {
    await generateSynthSet(model, dirs[0], { seed: 11, count: 3, width: 128, height: 128 });
    await generateSynthSet(model, dirs[1], { seed: 11, count: 3, width: 128, height: 128 });
    await generateSynthSet(model, dirs[2], { seed: 11, count: 2, start: 1, width: 128, height: 128 });
    const files = (await readdir(dirs[0])).sort();
    assert.deepEqual(files, [
      '0000.json', '0000.png', '0000.verts.bin', '0001.json', '0001.png', '0001.verts.bin',
      '0002.json', '0002.png', '0002.verts.bin', 'index.json',
    ]);
    for (const f of files) {
      assert.ok(Buffer.compare(await readFile(path.join(dirs[0], f)), await readFile(path.join(dirs[1], f))) === 0, f);
    }
    for (const f of ['0001.png', '0001.json', '0001.verts.bin']) {
      assert.ok(Buffer.compare(await readFile(path.join(dirs[0], f)), await readFile(path.join(dirs[2], f))) === 0, `${f} with -n 2 --start 1`);
    }
    const a = drawSynthParams(model, 11, 0, 128, 128), b = drawSynthParams(model, 12, 0, 128, 128);
    assert.notDeepEqual(a.identity, b.identity);
  } finally {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
});

test('ground truth: verts.bin ↔ landmarks3d ↔ 1-based landmarks2d, box and nme68 = 0 for a perfect 0-based prediction', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ganfit-synth-'));
  try {
    await generateSynthSet(model, dir, { seed: 3, count: 2, width: 200, height: 160 });
    for (const name of ['0000', '0001']) {
      const s = JSON.parse(await readFile(path.join(dir, `${name}.json`), 'utf8')) as SynthSample;
      assert.equal(s.texture, 'vertex-colour');
      assert.deepEqual([s.width, s.height], [200, 160]);
      assert.equal(s.model.vertexCount, model.vertexCount);
      const verts = parseVertices(await readFile(path.join(dir, s.vertices.file)), model.vertexCount);
      const lm = model.landmarks.landmarks68;
      for (let k = 0; k < 68; k++) {
        for (let j = 0; j < 3; j++) assert.ok(Math.abs(verts[3 * lm[k] + j] - s.landmarks3d[k][j]) < 1e-3);
      }
      // Landmarks in front of the camera, 2D = the projection of the 3D points + 1 (AFLW2000's 1-based pixels).
      const cam = { kind: 'perspective' as const, ...s.params.camera };
      const px = projectToPixels64(s.landmarks3d.flat(), cam, [s.height, s.width]);
      for (let k = 0; k < 68; k++) {
        assert.ok(s.landmarks3d[k][2] > 10);
        assert.ok(Math.abs(px[2 * k] + 1 - s.landmarks2d[k][0]) < 0.01 && Math.abs(px[2 * k + 1] + 1 - s.landmarks2d[k][1]) < 0.01);
      }
      const zeroBased = s.landmarks2d.flatMap(([x, y]) => [x - 1, y - 1]);
      assert.ok(nme68(zeroBased, s) < 1e-6);
      assert.ok(Math.abs(nme68(zeroBased.map((v) => v + 1), s) - Math.SQRT2 / Math.sqrt(s.box[2] * s.box[3])) < 1e-9);
      const xs = s.landmarks2d.map((p) => p[0]);
      assert.ok(Math.abs(s.box[0] - Math.min(...xs)) < 1e-9 && Math.abs(s.box[2] - (Math.max(...xs) - Math.min(...xs))) < 1e-3);
      // The face fills a phone-portrait share of the frame and stays inside it.
      assert.ok(s.landmarks2d.every(([x, y]) => x > 1 && x < s.width && y > 1 && y < s.height), 'landmarks inside the image');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
