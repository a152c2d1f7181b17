/**
 * Float64 finite-difference checks of every hand-written gradient (the kernels are generic over
 * Float32Array / Float64Array, so the exact code the ops run is checked in double precision), plus checks that
 * the tf wrappers return what the kernels compute.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.js';
import { rasterize, type Raster } from '../../src/render/rasterize.js';
import { interpolate, interpolateKernel, interpolateBackwardKernel, pixelBarycentrics, type ClipData } from '../../src/render/interpolate.js';
import { buildPyramid, textureKernel, textureBackwardKernel, sampleTexture, autoMipLevel } from '../../src/render/texture.js';
import { vertexNormalsKernel, vertexNormalsBackwardKernel, vertexNormals } from '../../src/render/shade.js';
import { antialiasKernel, antialiasBackwardKernel, edgeAdjacency, antialias } from '../../src/render/antialias.js';
import { modelToCamera64, type Camera64 } from '../../src/render/camera.js';
import { sphere } from './fixtures.js';
import { checkGradient, dot, rng, randomArray } from './helpers.js';

const RES = [20, 24] as const;

/** A small closed sphere in front of a perspective camera, as float64 clip positions. */
function sphereScene(rotation = [0.3, 0.5, 0.1]) {
  const m = sphere(5, 7, [6, 7, 6], 2);
  const cam: Camera64 = { kind: 'perspective', rotation, translation: [0.3, -0.2, 40], focal: 45 };
  const pc = modelToCamera64(m.positions, cam);
  const V = pc.length / 3, [H, W] = RES;
  const clip = new Float64Array(4 * V);
  for (let v = 0; v < V; v++) {
    const X = pc[3 * v], Y = pc[3 * v + 1], Z = pc[3 * v + 2];
    const px = (cam.focal * X) / Z + (W - 1) / 2, py = (cam.focal * Y) / Z + (H - 1) / 2;
    clip.set([((2 * px + 1) / W - 1) * Z, ((2 * py + 1) / H - 1) * Z, Z - 2, Z], 4 * v);
  }
  return { m, clip, V };
}

const clipData = (clip: Float64Array, tris: Uint32Array, V: number): ClipData => ({ data: clip, batched: false, vertexCount: V, triangles: tris });

function interpLoss(raster: Raster, attr: Float64Array, C: number, attrTris: Uint32Array, clip: ClipData | null, w: Float64Array): number {
  const n = raster.height * raster.width * raster.batch;
  const bary3 = new Float64Array(3 * n), out = new Float64Array(n * C);
  pixelBarycentrics(raster, clip, bary3);
  interpolateKernel(attr, false, C, raster, attrTris, bary3, out);
  return dot(w, out);
}

test('interpolate: float64 gradient check w.r.t. attributes (UV triangles) and clip positions', () => {
  const { m, clip, V } = sphereScene();
  const raster = rasterize(Float32Array.from(clip), m.triangles, RES, { cull: 'back' });
  assert.ok(raster.triangleId.filter((t) => t >= 0).length > 100);
  const r = rng(1), C = 3, U = m.uvs.length / 2;
  const attr = randomArray(U * C, r), w = randomArray(RES[0] * RES[1] * C, r);
  const cd = clipData(clip, m.triangles, V);
  const n = RES[0] * RES[1];
  const bary3 = new Float64Array(3 * n);
  pixelBarycentrics(raster, cd, bary3);
  const gA = new Float64Array(attr.length), gC = new Float64Array(clip.length);
  interpolateBackwardKernel(w, attr, false, C, raster, m.uvTriangles, bary3, cd, gA, gC);
  checkGradient((a) => interpLoss(raster, a, C, m.uvTriangles, cd, w), attr.slice(), gA, { label: 'd/dattr' });
  checkGradient((c) => interpLoss(raster, attr, C, m.uvTriangles, clipData(c, m.triangles, V), w), clip.slice(), gC, { label: 'd/dclip', rtol: 1e-5, atol: 1e-8 });
});

test('interpolate: clip positions interpolated perspective-correctly land on the pixel centres', async () => {
  await initEngine();
  const { m, clip, V } = sphereScene();
  const raster = rasterize(Float32Array.from(clip), m.triangles, RES, { cull: 'back' });
  for (const geometry of [false, true]) {
    const c = tf.tensor2d(Float32Array.from(clip), [V, 4]);
    const out = interpolate(c, raster, m.triangles, geometry ? c : undefined).dataSync();
    const [H, W] = RES;
    for (let p = 0; p < H * W; p++) {
      if (raster.triangleId[p] < 0) continue;
      const x = p % W, y = (p - x) / W;
      assert.ok(Math.abs(out[4 * p] / out[4 * p + 3] - ((2 * x + 1) / W - 1)) < 1e-4);
      assert.ok(Math.abs(out[4 * p + 1] / out[4 * p + 3] - ((2 * y + 1) / H - 1)) < 1e-4);
    }
  }
});

test('interpolate (tf op, wasm): gradients equal the float64 kernels; batch of two views sums shared attributes', async () => {
  await initEngine();
  const a = sphereScene(), b = sphereScene([0.1, -0.6, 0]);
  const V = a.V, tris = a.m.triangles, C = 2;
  const clipB = new Float64Array([...a.clip, ...b.clip]);
  const raster = rasterize(Float32Array.from(clipB), tris, RES, { cull: 'back', batch: 2 });
  const r = rng(2);
  const attr = randomArray(V * C, r), w = randomArray(2 * RES[0] * RES[1] * C, r);
  const [gA, gC] = tf.grads((at: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(interpolate(at, raster, tris, c), tf.tensor(Float32Array.from(w), [2, RES[0], RES[1], C]))))(
    [tf.tensor2d(Float32Array.from(attr), [V, C]), tf.tensor3d(Float32Array.from(clipB), [2, V, 4])],
  );
  const cd: ClipData = { data: clipB, batched: true, vertexCount: V, triangles: tris };
  const n = 2 * RES[0] * RES[1], bary3 = new Float64Array(3 * n);
  pixelBarycentrics(raster, cd, bary3);
  const eA = new Float64Array(attr.length), eC = new Float64Array(clipB.length);
  interpolateBackwardKernel(w, attr, false, C, raster, tris, bary3, cd, eA, eC);
  const close = (x: ArrayLike<number>, y: ArrayLike<number>) => {
    const scale = Math.max(...Array.from(y, Math.abs));
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) < 1e-4 * scale, `${x[i]} vs ${y[i]}`);
  };
  close(gA.dataSync(), eA);
  close(gC.dataSync(), eC);
});

test('texture: texel centres follow the UV convention (bottom-left origin, v up)', async () => {
  await initEngine();
  const h = 3, w = 5, r = rng(4);
  const tex = randomArray(h * w * 2, r);
  const uv: number[] = [];
  for (let row = 0; row < h; row++) for (let c = 0; c < w; c++) uv.push((c + 0.5) / w, 1 - (row + 0.5) / h);
  const out = sampleTexture(tf.tensor3d(Float32Array.from(tex), [h, w, 2]), tf.tensor(uv, [h, w, 2])).dataSync();
  for (let i = 0; i < tex.length; i++) assert.ok(Math.abs(out[i] - tex[i]) < 1e-6);
});

test('texture: float64 gradient checks (bilinear and trilinear mip) w.r.t. texture and UVs', () => {
  const h = 8, w = 16, C = 3, N = 40, r = rng(5);
  const tex = randomArray(h * w * C, r), uv = randomArray(2 * N, r, -0.1, 1.1), dy = randomArray(N * C, r);
  for (const levels of [null, Float32Array.from({ length: N }, () => r() * 4.5)]) {
    const loss = (t: Float64Array, u: Float64Array) => {
      const out = new Float64Array(N * C);
      textureKernel(levels ? buildPyramid(t, h, w, C, Float64Array) : [{ data: t, h, w }], C, u, levels, out);
      return dot(dy, out);
    };
    const gT = new Float64Array(tex.length), gU = new Float64Array(uv.length);
    textureBackwardKernel(levels ? buildPyramid(tex, h, w, C, Float64Array) : [{ data: tex, h, w }], C, uv, levels, dy, gT, gU);
    checkGradient((t) => loss(t, uv), tex.slice(), gT, { label: `d/dtex mip=${!!levels}` });
    checkGradient((u) => loss(tex, u), uv.slice(), gU, { label: `d/duv mip=${!!levels}`, h: 1e-7, rtol: 1e-5, atol: 1e-6 });
  }
});

test('texture mip: top level is the mean; auto level follows the footprint', async () => {
  await initEngine();
  const r = rng(6), n = 16;
  const tex = randomArray(n * n, r, 0, 1);
  const mean = tex.reduce((s, x) => s + x, 0) / tex.length;
  const out = sampleTexture(tf.tensor3d(Float32Array.from(tex), [n, n, 1]), tf.tensor([[[0.3, 0.7]]]), { filter: 'mip', mipLevel: 4 }).dataSync();
  assert.ok(Math.abs(out[0] - mean) < 1e-5);
  // A 4×4 image whose neighbouring pixels are 4 texels apart on a 16×16 map: level log2(4) = 2.
  const uv: number[] = [];
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) uv.push((x + 0.5) / 4, 1 - (y + 0.5) / 4);
  const lv = autoMipLevel(Float64Array.from(uv), 1, 4, 4, n, n);
  assert.ok(lv.every((l) => Math.abs(l - 2) < 1e-6));
});

test('vertexNormals: float64 gradient check; sphere normals point outwards; tf op matches kernel', async () => {
  const m = sphere(5, 7, [6, 7, 5], 2);
  const r = rng(7), pos = Float64Array.from(m.positions, (x) => x + 0.2 * (r() - 0.5)), V = pos.length / 3;
  const dy = randomArray(pos.length, r);
  const f = (p: Float64Array) => {
    const out = new Float64Array(p.length), len = new Float64Array(V);
    vertexNormalsKernel(p, m.triangles, out, len);
    return dot(dy, out);
  };
  const unit = new Float64Array(pos.length), len = new Float64Array(V), g = new Float64Array(pos.length);
  vertexNormalsKernel(pos, m.triangles, unit, len);
  vertexNormalsBackwardKernel(pos, m.triangles, unit, len, dy, g);
  checkGradient(f, pos.slice(), g, { label: 'd/dpositions' });
  for (let v = 0; v < V; v++) assert.ok(dot(unit.subarray(3 * v, 3 * v + 3), pos.subarray(3 * v, 3 * v + 3)) > 0.5 * Math.hypot(...pos.subarray(3 * v, 3 * v + 3)));
  await initEngine();
  const gt = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(vertexNormals(p, m.triangles), tf.tensor2d(Float32Array.from(dy), [V, 3]))))(tf.tensor2d(Float32Array.from(pos), [V, 3])).dataSync();
  for (let i = 0; i < g.length; i++) assert.ok(Math.abs(gt[i] - g[i]) < 1e-3 * (1 + Math.abs(g[i])));
});

test('antialias: float64 gradient check w.r.t. colour and clip positions (closed mesh and loose triangles)', () => {
  const scenes: { clip: Float64Array; tris: Uint32Array; V: number; cull: 'back' | 'none' }[] = [];
  const s = sphereScene();
  scenes.push({ clip: s.clip, tris: s.m.triangles, V: s.V, cull: 'back' });
  // Two overlapping loose triangles at different depths (all edges are boundaries).
  scenes.push({
    clip: new Float64Array([-0.7, -0.6, 0.1, 1, 0.55, -0.3, 0.1, 1, -0.2, 0.75, 0.1, 1, -0.1, -0.8, 0.0, 2, 1.5, 0.2, 0.6, 2, 0.3, 1.3, 0.4, 2]),
    tris: new Uint32Array([0, 1, 2, 3, 4, 5]), V: 6, cull: 'none',
  });
  const r = rng(8), C = 2;
  for (const sc of scenes) {
    const raster = rasterize(Float32Array.from(sc.clip), sc.tris, RES, { cull: sc.cull });
    const adj = edgeAdjacency(sc.tris);
    const n = RES[0] * RES[1];
    const color = randomArray(n * C, r), dy = randomArray(n * C, r);
    const cd = (c: Float64Array): ClipData => ({ data: c, batched: false, vertexCount: sc.V, triangles: sc.tris });
    const out = new Float64Array(n * C);
    const crossings = antialiasKernel(color, C, raster, cd(sc.clip), adj, out);
    assert.ok(crossings.count > 10, `found ${crossings.count} silhouette crossings`);
    const gCol = new Float64Array(color.length), gClip = new Float64Array(sc.clip.length);
    antialiasBackwardKernel(color, C, raster, cd(sc.clip), crossings, dy, gCol, gClip);
    const loss = (col: Float64Array, c: Float64Array) => {
      const o = new Float64Array(n * C);
      antialiasKernel(col, C, raster, cd(c), adj, o);
      return dot(dy, o);
    };
    checkGradient((col) => loss(col, sc.clip), color.slice(), gCol, { label: 'aa d/dcolor' });
    checkGradient((c) => loss(color, c), sc.clip.slice(), gClip, { label: 'aa d/dclip', h: 1e-7, rtol: 1e-5, atol: 1e-6 });
  }
});

test('antialias: interior edges of a smooth surface are left alone; pushing a silhouette vertex out grows the coverage', async () => {
  await initEngine();
  const s = sphereScene();
  const raster = rasterize(Float32Array.from(s.clip), s.m.triangles, RES, { cull: 'back' });
  const n = RES[0] * RES[1];
  const mask = new Float64Array(n);
  for (let p = 0; p < n; p++) mask[p] = raster.triangleId[p] >= 0 ? 1 : 0;
  const out = new Float64Array(n);
  const cr = antialiasKernel(mask, 1, raster, { data: s.clip, batched: false, vertexCount: s.V, triangles: s.m.triangles }, edgeAdjacency(s.m.triangles), out);
  // Every crossing is between a covered and an empty pixel (no interior edges of the sphere).
  for (let e = 0; e < cr.count; e++) assert.notEqual(mask[cr.data[5 * e + 1]], mask[cr.data[5 * e + 2]]);
  // One triangle over background: d(coverage)/d(x of its rightmost vertex) > 0.
  const clip = tf.tensor2d([-0.6, -0.5, 0, 1, 0.5, 0.1, 0, 1, -0.3, 0.7, 0, 1], [3, 4]);
  const tri = new Uint32Array([0, 1, 2]);
  const r1 = rasterize(clip, tri, [16, 16]);
  const ones = tf.ones([16, 16, 1]).mul(tf.tensor(Float32Array.from(r1.triangleId, (t) => (t >= 0 ? 1 : 0)), [16, 16, 1]));
  const g = tf.grad((c: tf.Tensor) => tf.sum(antialias(ones, r1, c, tri)))(clip).dataSync();
  assert.ok(g[4] > 0, `d coverage / d x1 = ${g[4]}`);
  assert.ok(g[0] < 0, `d coverage / d x0 = ${g[0]}`);
});

test('shadePhong: float64 gradient check of the fused kernel w.r.t. every input and light parameter', async () => {
  const { phongKernel, phongBackwardKernel } = await import('../../src/render/shade.js');
  const r = rng(9), N = 12;
  const alb = randomArray(3 * N, r, 0.1, 0.9), nrm = randomArray(3 * N, r);
  const pos = randomArray(3 * N, r, -5, 5);
  for (let i = 0; i < N; i++) { pos[3 * i + 2] += 40; nrm[3 * i + 2] -= 0.8; } // normals roughly towards the camera
  const lp = new Float64Array([20, -25, 5]), col = new Float64Array([0.9, 0.8, 0.7]), amb = new Float64Array([0.2, 0.25, 0.3]);
  const ks = 0.3, k = 7, dy = randomArray(3 * N, r);
  const all = new Float64Array([...alb, ...nrm, ...pos, ...lp, ...col, ...amb, ks]);
  const split = (x: Float64Array) => [x.subarray(0, 3 * N), x.subarray(3 * N, 6 * N), x.subarray(6 * N, 9 * N), x.subarray(9 * N, 9 * N + 3), x.subarray(9 * N + 3, 9 * N + 6), x.subarray(9 * N + 6, 9 * N + 9)];
  const f = (x: Float64Array) => {
    const [a, n, p, l, c, am] = split(x), out = new Float64Array(3 * N);
    phongKernel(a, n, p, l, c, am, x[9 * N + 9], k, out);
    return dot(dy, out);
  };
  const g = new Float64Array(all.length), [ga, gn, gp, gl, gc, gam] = split(g);
  const gks = new Float64Array(1);
  const [a, n, p, l, c, am] = split(all);
  phongBackwardKernel(a, n, p, l, c, am, ks, k, dy, ga, gn, gp, gl, gc, gam, gks);
  g[9 * N + 9] = gks[0];
  assert.ok(Array.from(gn).some((x) => x !== 0) && Array.from(gp).some((x) => x !== 0) && Array.from(gl).some((x) => x !== 0));
  checkGradient(f, all.slice(), g, { label: 'phong' });
});

test('gamma: table-based x^2.2 and x^(1/2.2) match Math.pow, and their gradients the analytic derivative', async () => {
  await initEngine();
  const { srgbToLinear, linearToSrgb } = await import('../../src/render/shade.js');
  // Log-spaced over the tables' range [2⁻¹⁶, 1) and past 1 (Math.pow or the clip there).
  const xs = Float32Array.from({ length: 2000 }, (_, i) => 2 ** (-16 + (16.4 * i) / 2000));
  const x = tf.tensor1d(xs);
  const cases = [
    { op: srgbToLinear, p: 2.2, top: true, lo: 0, rtol: 6e-6 },
    { op: linearToSrgb, p: 1 / 2.2, top: false, lo: 1e-4, rtol: 6e-7 },
  ];
  for (const { op, p, top, lo, rtol } of cases) {
    const y = op(x).dataSync(), g = tf.grad((t: tf.Tensor) => tf.sum(op(t)))(x).dataSync();
    xs.forEach((v, i) => {
      const u = Math.max(v, lo);
      const ref = top && u >= 1 ? 1 : Math.pow(u, p), dref = (top && u >= 1) || v < lo ? 0 : p * Math.pow(u, p - 1);
      // float32 outputs: rtol of the table plus float32 rounding.
      assert.ok(Math.abs(y[i] - ref) <= (rtol + 1.2e-7) * ref, `value at ${v}: ${y[i]} vs ${ref}`);
      // The slope of a segment is the mean slope over it (segments are 1/256 of an octave): < 0.25 % off.
      assert.ok(Math.abs(g[i] - dref) <= 2.5e-3 * dref, `slope at ${v}: ${g[i]} vs ${dref}`);
    });
  }
});
