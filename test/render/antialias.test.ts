/**
 * The antialias crossing search (src/render/antialias.ts, which walks each visible silhouette edge) against a plain
 * scan of every pair of neighbouring pixels with the same rule: the nearer pixel's triangle, its first
 * silhouette edge (k order) whose line separates the two centres and whose ends lie either side of the pair's
 * line. Same crossings, same fractions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.js';
import { rasterize, modelToCamera, toClip, type PerspectiveCamera } from '../../src/render/index.js';
import { findCrossings, edgeAdjacency } from '../../src/render/antialias.js';
import type { Raster } from '../../src/render/rasterize.js';
import type { ClipData } from '../../src/render/interpolate.js';
import { sphere } from './fixtures.js';

function scanReference(raster: Raster, clip: ClipData, adj: Int32Array): Set<string> {
  const { batch: B, height: H, width: W, triangleId: ids, depth } = raster;
  const tr = clip.triangles, out = new Set<string>();
  for (let b = 0; b < B; b++) {
    const cb = clip.batched ? b * clip.vertexCount * 4 : 0;
    const scr = (v: number) => {
      const o = cb + 4 * v, w = clip.data[o + 3];
      return [(clip.data[o] / w + 1) * (W / 2) - 0.5, (clip.data[o + 1] / w + 1) * (H / 2) - 0.5, w];
    };
    const facing = (t: number) => {
      const [a, c, d] = [tr[3 * t], tr[3 * t + 1], tr[3 * t + 2]].map(scr);
      if (!(a[2] > 0 && c[2] > 0 && d[2] > 0)) return 3;
      const area = (c[0] - a[0]) * (d[1] - a[1]) - (c[1] - a[1]) * (d[0] - a[0]);
      return area > 0 ? 1 : area < 0 ? 2 : 3;
    };
    const edgeFn = (a: number[], c: number[], x: number, y: number) => (c[0] - a[0]) * (y - a[1]) - (c[1] - a[1]) * (x - a[0]);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (const [dx, dy] of [[1, 0], [0, 1]]) {
      if (x + dx >= W || y + dy >= H) continue;
      const p = b * H * W + y * W + x, q = p + dy * W + dx;
      if (ids[p] === ids[q]) continue;
      const pNear = ids[q] < 0 || (ids[p] >= 0 && depth[p] <= depth[q]);
      const t = pNear ? ids[p] : ids[q];
      const [nx, ny, fx, fy] = pNear ? [x, y, x + dx, y + dy] : [x + dx, y + dy, x, y];
      for (let k = 0; k < 3; k++) {
        const nb = adj[3 * t + k];
        if (!(nb < 0 || facing(t) === 3 || facing(nb) !== facing(t))) continue;
        const a = scr(tr[3 * t + k]), c = scr(tr[3 * t + ((k + 1) % 3)]);
        const en = edgeFn(a, c, nx, ny), ef = edgeFn(a, c, fx, fy);
        if (!(en * ef < 0)) continue;
        const da = (fx - nx) * (a[1] - ny) - (fy - ny) * (a[0] - nx), db = (fx - nx) * (c[1] - ny) - (fy - ny) * (c[0] - nx);
        if (da * db > 0) continue;
        out.add(`${b},${pNear ? p : q},${pNear ? q : p},${t},${k}:${en / (en - ef)}`);
        break;
      }
    }
  }
  return out;
}

test('findCrossings equals a scan of every neighbouring pixel pair (sphere, several views and sizes, batched)', async () => {
  await initEngine();
  const m = sphere(9, 13, [8, 11, 9], 3);
  const V = m.positions.length / 3;
  const positions = tf.tensor2d(m.positions, [V, 3]);
  const adj = edgeAdjacency(m.triangles);
  let total = 0;
  for (const res of [[24, 32], [57, 41]] as [number, number][]) {
    const clips = [0, 0.7, 2.4].map((yaw) => {
      const cam: PerspectiveCamera = { kind: 'perspective', rotation: [0.2, yaw, 0.1], translation: [0.4, -0.3, 45], focal: res[0] * 1.7 };
      return tf.tidy(() => toClip(modelToCamera(positions, cam), cam, res));
    });
    const stacked = tf.stack(clips);
    const data = stacked.dataSync() as Float32Array;
    const raster = rasterize(data, m.triangles, res, { cull: 'back', batch: clips.length });
    const clip: ClipData = { data, batched: true, vertexCount: V, triangles: m.triangles };
    const found = findCrossings(raster, clip, adj);
    const got = new Set(Array.from({ length: found.count }, (_, e) => `${Array.from(found.data.subarray(5 * e, 5 * e + 5)).join(',')}:${found.frac[e]}`));
    const want = scanReference(raster, clip, adj);
    assert.equal(got.size, found.count, 'no crossing found twice');
    assert.deepEqual([...got].sort(), [...want].sort());
    total += want.size;
    tf.dispose([...clips, stacked]);
  }
  assert.ok(total > 100, `${total} crossings compared`);
  positions.dispose();
});
