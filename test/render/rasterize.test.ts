import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rasterize, rasterizeReference } from '../../src/render/rasterize.js';
import { rng } from './helpers.js';

/** Random clip-space triangles in front of a perspective camera (w in [2, 6]), some overlapping. */
function randomScene(seed: number, T: number): { clip: Float32Array; tris: Uint32Array } {
  const r = rng(seed);
  const clip = new Float32Array(T * 3 * 4);
  const tris = new Uint32Array(T * 3);
  for (let t = 0; t < T; t++) {
    const cx = r() * 2 - 1, cy = r() * 2 - 1;
    for (let k = 0; k < 3; k++) {
      const w = 2 + 4 * r(), v = 3 * t + k;
      clip.set([(cx + (r() - 0.5)) * w, (cy + (r() - 0.5)) * w, (r() * 1.6 - 0.8) * w, w], 4 * v);
      tris[v] = v;
    }
  }
  return { clip, tris };
}

test('fast rasteriser agrees with the clip-space reference (ids, barycentrics, depth)', () => {
  for (const cull of ['none', 'back'] as const) {
    const { clip, tris } = randomScene(5, 40);
    const res = [37, 53] as const;
    const a = rasterize(clip, tris, res, { cull }), b = rasterizeReference(clip, tris, res, { cull });
    let same = 0, covered = 0;
    for (let p = 0; p < a.triangleId.length; p++) {
      if (b.triangleId[p] >= 0) covered++;
      if (a.triangleId[p] !== b.triangleId[p]) continue;
      same++;
      if (a.triangleId[p] < 0) continue;
      assert.ok(Math.abs(a.bary[2 * p] - b.bary[2 * p]) < 1e-4 && Math.abs(a.bary[2 * p + 1] - b.bary[2 * p + 1]) < 1e-4, 'bary');
      assert.ok(Math.abs(a.depth[p] - b.depth[p]) < 1e-5, 'depth');
    }
    assert.ok(covered > 500, 'scene covers pixels');
    // Only pixel centres within float rounding of an edge or a depth tie may differ.
    assert.ok(a.triangleId.length - same <= 2, `${a.triangleId.length - same} pixels differ (${cull})`);
  }
});

test('culling: counter-clockwise (from the viewer, y up) is front; clockwise in pixel coordinates', () => {
  // NDC y grows downwards, so a triangle that is counter-clockwise for a viewer with y up has
  // negative signed area in (x, y_ndc).
  const front = new Float32Array([-0.8, 0.8, 0, 1, 0.8, 0.8, 0, 1, 0, -0.8, 0, 1]); // (−x,bottom) → (+x,bottom) → top
  const tris = new Uint32Array([0, 1, 2]);
  const count = (r: { triangleId: Int32Array }) => r.triangleId.filter((t) => t === 0).length;
  assert.ok(count(rasterize(front, tris, [16, 16], { cull: 'back' })) > 50);
  assert.equal(count(rasterize(front, tris, [16, 16], { cull: 'front' })), 0);
  assert.equal(count(rasterize(front, new Uint32Array([0, 2, 1]), [16, 16], { cull: 'back' })), 0);
});

test('pixel centres on a shared edge are covered exactly once; a full-screen quad covers every pixel', () => {
  // Quad over the whole NDC square split along the diagonal: with W = H the diagonal passes exactly
  // through pixel centres.
  const clip = new Float32Array([-1, -1, 0, 1, 1, -1, 0, 1, 1, 1, 0, 1, -1, 1, 0, 1]);
  for (const tris of [new Uint32Array([0, 1, 2, 0, 2, 3]), new Uint32Array([2, 0, 1, 3, 2, 0])]) {
    const r = rasterize(clip, tris, [8, 8]);
    assert.ok(r.triangleId.every((t) => t >= 0), 'no holes');
    const a = rasterize(clip, tris.slice(0, 3), [8, 8]).triangleId, b = rasterize(clip, tris.slice(3), [8, 8]).triangleId;
    for (let p = 0; p < 64; p++) assert.equal((a[p] >= 0 ? 1 : 0) + (b[p] >= 0 ? 1 : 0), 1, `pixel ${p}`);
  }
});

test('pixel-centre convention: a triangle edge at NDC x = 0 splits an even-width image in halves', () => {
  // Right half of the screen.
  const clip = new Float32Array([0, -3, 0, 1, 3, 3, 0, 1, 0, 3, 0, 1]);
  const r = rasterize(clip, new Uint32Array([0, 1, 2]), [4, 8]);
  for (let y = 0; y < 4; y++) {
    for (let x = 0; x < 8; x++) {
      // Pixel x has its centre at NDC (2x + 1)/8 − 1: x = 3 → −0.125 (outside), x = 4 → +0.125 (inside).
      assert.equal(r.triangleId[y * 8 + x] >= 0, x >= 4, `(${x}, ${y})`);
    }
  }
});

test('batched rasterisation equals separate views; triangles behind the camera are skipped', () => {
  const s1 = randomScene(1, 20), s2 = randomScene(2, 20);
  const both = new Float32Array([...s1.clip, ...s2.clip]);
  const rb = rasterize(both, s1.tris, [20, 24], { batch: 2 });
  assert.equal(rb.batch, 2);
  const r1 = rasterize(s1.clip, s1.tris, [20, 24]), r2 = rasterize(s2.clip, s1.tris, [20, 24]);
  assert.deepEqual(rb.triangleId, new Int32Array([...r1.triangleId, ...r2.triangleId]));
  assert.deepEqual(rb.bary, new Float32Array([...r1.bary, ...r2.bary]));
  const behind = s1.clip.slice();
  for (let v = 0; v < behind.length / 4; v++) behind[4 * v + 3] *= -1;
  assert.ok(rasterize(behind, s1.tris, [20, 24]).triangleId.every((t) => t === -1));
});
