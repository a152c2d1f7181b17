/**
 * The fused render path (src/render/fused.ts): float64 finite-difference checks of its hand-written backward
 * w.r.t. every input (a Float64Array workspace runs the f64 build of the same WebAssembly kernels `render()`
 * runs in f32, so its code is checked in double precision), equality of `render()` with the composed small ops (`renderComposed`),
 * forward and gradients, and the typed-array camera maps and SH kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.js';
import { rasterize } from '../../src/render/rasterize.js';
import { Workspace, fusedForward, fusedBackward, type FusedScene, type FusedGrads, type FusedLight, type FusedAlbedo } from '../../src/render/fused.js';
import { edgeAdjacency } from '../../src/render/antialias.js';
import { buildPyramid } from '../../src/render/texture.js';
import { shKernel, shBackwardKernel, vertexNormals } from '../../src/render/shade.js';
import { affineKernel, affineBackwardKernel, vertexStage } from '../../src/render/vertices.js';
import { render, renderComposed, modelToCamera, toClip, modelToCamera64, type Camera64, type PerspectiveCamera, type Camera } from '../../src/render/index.js';
import { sphere, checkerTexture } from './fixtures.js';
import { checkGradient, dot, rng, randomArray } from './helpers.js';

const RES = [20, 24] as const;
const [H, W] = RES;

/** A small sphere seen by a perspective camera: float64 camera-space and clip positions. */
function scene64(rotation = [0.3, 0.5, 0.1]) {
  const m = sphere(5, 7, [6, 7, 6], 2);
  const cam: Camera64 = { kind: 'perspective', rotation, translation: [0.3, -0.2, 40], focal: 45 };
  const pc = modelToCamera64(m.positions, cam);
  const V = pc.length / 3;
  const clip = new Float64Array(4 * V);
  for (let v = 0; v < V; v++) {
    const X = pc[3 * v], Y = pc[3 * v + 1], Z = pc[3 * v + 2];
    const px = (cam.focal * X) / Z + (W - 1) / 2, py = (cam.focal * Y) / Z + (H - 1) / 2;
    clip.set([((2 * px + 1) / W - 1) * Z, ((2 * py + 1) / H - 1) * Z, Z - 2, Z], 4 * v);
  }
  return { m, cam: pc, clip, V };
}

interface Inputs { clip: Float64Array; cam: Float64Array; normals: Float64Array; attr: Float64Array; tex: Float64Array; light: Float64Array; bg: Float64Array }

const TH = 8, TW = 16;

function build(x: Inputs, base: ReturnType<typeof scene64>, kind: 'phong' | 'sh' | 'none', albedoKind: 'texture' | 'mip' | 'colors'): FusedScene {
  const albedo: FusedAlbedo = albedoKind === 'colors'
    ? { kind: 'colors', colors: x.attr }
    : { kind: 'texture', uvs: x.attr, uvTriangles: base.m.uvTriangles, pyramid: albedoKind === 'mip' ? buildPyramid(x.tex, TH, TW, 3, Float64Array) : [{ data: x.tex, h: TH, w: TW }], mip: albedoKind === 'mip', mipLevel: albedoKind === 'mip' ? 1.3 : undefined };
  const l = x.light;
  const light: FusedLight = kind === 'phong'
    ? { kind: 'phong', position: l.subarray(0, 3), color: l.subarray(3, 6), ambient: l.subarray(6, 9), specular: l.subarray(9, 10), shininess: 7 }
    : kind === 'sh' ? { kind: 'sh', coeffs: l.subarray(0, 27) } : { kind: 'none' };
  return {
    clip: { data: x.clip, batched: false, vertexCount: base.V, triangles: base.m.triangles },
    cam: x.cam, normals: x.normals, albedo, light, background: x.bg, bgBatched: false, adjacency: edgeAdjacency(base.m.triangles),
  };
}

for (const [kind, albedoKind] of [['phong', 'texture'], ['phong', 'mip'], ['sh', 'colors'], ['none', 'texture']] as const) {
  test(`fused kernel: float64 gradient check w.r.t. every input (${kind} light, ${albedoKind} albedo)`, () => {
    const base = scene64();
    const raster = rasterize(Float32Array.from(base.clip), base.m.triangles, RES, { cull: 'back' });
    const r = rng(11);
    const V = base.V;
    // Normals: roughly outward (towards the camera) with noise; light: point light or SH with white + gradient.
    const normals = Float64Array.from(base.cam, (c, i) => (i % 3 === 2 ? c - 40 : c) * 0.1 + 0.2 * (r() - 0.5));
    const attrN = albedoKind === 'colors' ? 3 * V : base.m.uvs.length;
    const attr = albedoKind === 'colors' ? randomArray(attrN, r, 0.15, 0.85) : Float64Array.from(base.m.uvs, (u) => 0.05 + 0.9 * u + 0.01 * (r() - 0.5));
    const light = kind === 'sh'
      ? Float64Array.from({ length: 27 }, (_, i) => (i < 3 ? 2.5 : 0.3 * (r() - 0.5)))
      : new Float64Array([15, -20, 5, 0.9, 0.8, 0.7, 0.2, 0.25, 0.3, 0.3]);
    const x: Inputs = { clip: base.clip.slice(), cam: base.cam.slice(), normals, attr, tex: randomArray(TH * TW * 3, r, 0.1, 0.9), light, bg: randomArray(H * W * 3, r, 0, 1) };
    const w = randomArray(H * W * 3, r);
    const ws = new Workspace(Float64Array);
    const loss = (xx: Inputs) => {
      const s = build(xx, base, kind, albedoKind);
      fusedForward(s, raster, ws);
      return dot(w, ws.imageOut.subarray(0, H * W * 3));
    };
    const s = build(x, base, kind, albedoKind);
    const fw = fusedForward(s, raster, ws);
    assert.ok(fw.cov.count > 100 && fw.crossings!.count > 10, `${fw.cov.count} covered pixels, ${fw.crossings!.count} crossings`);
    const g: FusedGrads = {
      position: new Float64Array(3), color: new Float64Array(3), ambient: new Float64Array(3), specular: new Float64Array(1), coeffs: new Float64Array(27),
      background: new Float64Array(x.bg.length),
    };
    const gv = fusedBackward(s, raster, fw, w, g);
    const copy = (a: ArrayLike<number> | null) => Float64Array.from(a ?? []);
    const gVertex = { clip: copy(gv.clip), cam: copy(gv.cam), normals: copy(gv.normals), attr: copy(gv.attr), texture: copy(gv.texture) };
    assert.equal(gVertex.attr.length, attrN);
    const lightGrad = kind === 'sh' ? g.coeffs! : new Float64Array([...g.position!, ...g.color!, ...g.ambient!, ...g.specular!]);
    // The gamma curves are piecewise-linear tables (shade.ts): a central difference that straddles a segment bound
    // differs from the segment's exact slope by a share of the slope jump there (< 0.5 %); a step of 1e-8 makes
    // that rare enough for rtol 1e-5 (float64 round-off at this step stays near 1e-8 of the loss).
    const key = (k: keyof Inputs, grad: ArrayLike<number>, opts: Parameters<typeof checkGradient>[3] = {}) =>
      checkGradient((v) => loss({ ...x, [k]: v }), x[k].slice(), grad, { label: `${kind}/${albedoKind} d/d${k}`, h: 1e-8, rtol: 1e-5, atol: 1e-6, ...opts });
    key('bg', g.background!);
    key('attr', gVertex.attr);
    if (albedoKind !== 'colors') key('tex', gVertex.texture);
    if (kind !== 'none') {
      key('cam', gVertex.cam, { allowZero: kind === 'sh' });
      key('normals', gVertex.normals);
      key('light', lightGrad);
    }
    key('clip', gVertex.clip, { h: 1e-7, atol: 1e-5 });
  });
}

function meshOf(m: ReturnType<typeof sphere>) {
  return { positions: tf.tensor2d(m.positions, [m.positions.length / 3, 3]), triangles: m.triangles, uvs: tf.tensor2d(m.uvs, [m.uvs.length / 2, 2]), uvTriangles: m.uvTriangles };
}

function close(name: string, a: ArrayLike<number>, b: ArrayLike<number>, rel = 2e-4): void {
  assert.equal(a.length, b.length, `${name}: length`);
  let scale = 1e-6, worst = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert.ok(worst <= rel * scale, `${name}: max |fused − composed| = ${worst} (scale ${scale})`);
}

test('render() (fused) equals renderComposed(): outputs and gradients w.r.t. geometry, camera, light, texture, UVs, background', async () => {
  await initEngine();
  const s = sphere(12, 18, [8, 11, 9], 3);
  const mesh = meshOf(s);
  const tex = tf.tensor3d(checkerTexture(32, 4), [32, 32, 3]);
  const colors = tf.tensor2d(Float32Array.from({ length: s.positions.length }, (_, i) => 0.3 + 0.6 * (((i * 7919) % 97) / 97)), [s.positions.length / 3, 3]);
  const sh = tf.tensor2d([[2.5, 2.5, 2.5], [0.2, 0, 0], [-0.6, -0.6, -0.6], [0.3, 0.2, 0.1], [0, 0.1, 0], [0, 0, 0], [0.1, 0.1, 0.1], [0, 0, 0], [0, 0, 0.1]]);
  const res = [40, 48] as const;
  const cases: { name: string; batch: boolean; texture: boolean; light: 'phong' | 'sh' | 'none'; filter?: 'mip' }[] = [
    { name: 'single, texture, Phong', batch: false, texture: true, light: 'phong' },
    { name: 'batch, texture (mip), Phong', batch: true, texture: true, light: 'phong', filter: 'mip' },
    { name: 'single, colours, SH', batch: false, texture: false, light: 'sh' },
    { name: 'batch, texture, unlit', batch: true, texture: true, light: 'none' },
  ];
  for (const c of cases) {
    const B = c.batch ? 2 : 1;
    const target = tf.randomUniform(c.batch ? [2, ...res, 3] : [...res, 3], 0, 1, 'float32', 5);
    const bg = tf.randomUniform(c.batch ? [2, ...res, 3] : [...res, 3], 0, 1, 'float32', 6);
    const run = (f: typeof render) => tf.tidy(() => {
      const inputs = [mesh.positions, tf.tensor1d([0.1, 0.3, 0.05]), tf.tensor1d([0.2, 0, 60]), tf.scalar(100), tf.tensor1d([25, -30, -5]), tf.tensor1d([0.85, 0.8, 0.75]), c.texture ? tex : colors, mesh.uvs, bg, sh];
      let outs: tf.Tensor[] = [];
      const grads = tf.grads((pos: tf.Tensor, rot: tf.Tensor, tr: tf.Tensor, foc: tf.Tensor, lp: tf.Tensor, lc: tf.Tensor, alb: tf.Tensor, uvs: tf.Tensor, back: tf.Tensor, shc: tf.Tensor) => {
        const cam = (r: tf.Tensor): PerspectiveCamera => ({ kind: 'perspective', rotation: r as tf.Tensor1D, translation: tr as tf.Tensor1D, focal: foc as tf.Scalar });
        const cams: Camera | Camera[] = c.batch ? [cam(rot), cam(tf.add(rot, tf.tensor1d([0, -0.7, 0])))] : cam(rot);
        const light = c.light === 'phong' ? { position: lp as tf.Tensor1D, color: lc as tf.Tensor1D, ambient: [0.3, 0.3, 0.3], specular: 0.3, shininess: 9 } : c.light === 'sh' ? { sh: shc as tf.Tensor2D } : null;
        const m = { positions: pos as tf.Tensor2D, triangles: s.triangles, uvs: uvs as tf.Tensor2D, uvTriangles: s.uvTriangles, colors: c.texture ? undefined : (alb as tf.Tensor2D) };
        const r = f(m, cams, light, c.texture ? (alb as tf.Tensor3D) : null, { resolution: res, background: back, textureFilter: c.filter });
        outs = [r.image, r.alpha, r.depth, r.uv, r.normals].map((t) => tf.keep(t));
        // Every output takes part in the loss, so every backward (image, alpha, depth, UVs, normals) is compared.
        return tf.addN([
          tf.mean(tf.square(tf.sub(r.image, target))), tf.mul(tf.mean(r.alpha), 0.3), tf.mul(tf.mean(r.depth), 1e-3),
          tf.mul(tf.mean(r.uv), 0.2), tf.mul(tf.mean(r.normals), 0.1),
          // Inputs a case does not use (SH with Phong, …) get zero gradients instead of an error from tf.grads.
          tf.mul(tf.addN([pos, rot, tr, foc, lp, lc, alb, uvs, back, shc].map((t) => tf.sum(t))), 0),
        ]);
      })(inputs);
      const result = { outs: outs.map((t) => t.dataSync().slice()), grads: grads.map((t) => t.dataSync().slice()) };
      tf.dispose(outs);
      return result;
    });
    const fused = run(render), composed = run(renderComposed);
    ['image', 'alpha', 'depth', 'uv', 'normals'].forEach((n, i) => close(`${c.name}: ${n}`, fused.outs[i], composed.outs[i], 1e-4));
    ['positions', 'rotation', 'translation', 'focal', 'light position', 'light colour', c.texture ? 'texture' : 'colours', 'uvs', 'background', 'sh'].forEach((n, i) => {
      close(`${c.name}: d/d${n}`, fused.grads[i], composed.grads[i], 2e-3);
    });
    assert.equal(B, c.batch ? 2 : 1);
    tf.dispose([target, bg]);
  }
});

test('SH kernel: float64 gradient check w.r.t. albedo, normals and coefficients', () => {
  const r = rng(12), N = 10;
  const alb = randomArray(3 * N, r, 0.1, 0.9), nrm = randomArray(3 * N, r), coeffs = randomArray(27, r), dy = randomArray(3 * N, r);
  const f = (a: Float64Array, n: Float64Array, c: Float64Array) => {
    const out = new Float64Array(3 * N);
    shKernel(a, n, c, out);
    return dot(dy, out);
  };
  const gA = new Float64Array(3 * N), gN = new Float64Array(3 * N), gC = new Float64Array(27);
  shBackwardKernel(alb, nrm, coeffs, dy, gA, gN, gC);
  checkGradient((a) => f(a, nrm, coeffs), alb.slice(), gA, { label: 'sh d/dalbedo' });
  checkGradient((n) => f(alb, n, coeffs), nrm.slice(), gN, { label: 'sh d/dnormals' });
  checkGradient((c) => f(alb, nrm, c), coeffs.slice(), gC, { label: 'sh d/dcoeffs' });
});

test('vertex stage: affine kernel float64 gradient check; camera / clip positions and normals equal toClip(modelToCamera) and vertexNormals, with the same gradients', async () => {
  const r = rng(13), V = 9;
  for (const k of [3, 4, 5]) {
    const x = randomArray(3 * V, r), q = randomArray(4 * k, r), dy = randomArray(V * k, r);
    const f = (xx: Float64Array, qq: Float64Array) => {
      const out = new Float64Array(V * k);
      affineKernel(xx, qq, k, out);
      return dot(dy, out);
    };
    const gx = new Float64Array(3 * V), gq = new Float64Array(4 * k);
    affineBackwardKernel(x, q, k, dy, gx, gq);
    checkGradient((xx) => f(xx, q), x.slice(), gx, { label: `affine k=${k} d/dx` });
    checkGradient((qq) => f(x, qq), q.slice(), gq, { label: `affine k=${k} d/dq` });
  }
  await initEngine();
  const m = sphere(5, 7, [6, 7, 6], 2), nV = m.positions.length / 3;
  const pos = tf.tensor2d(m.positions, [nV, 3]);
  const meshNormals = tf.tensor2d(Float32Array.from(randomArray(3 * nV, r)), [nV, 3]);
  const res = [40, 60] as const;
  const kinds = ['perspective', 'orthographic'] as const;
  for (const kind of kinds) {
    for (const given of [false, true]) {
      for (const batch of [false, true]) {
        const B = batch ? 2 : 1;
        const wClip = tf.randomUniform([B * nV, 4], -1, 1, 'float32', 7), wCam = tf.randomUniform([B * nV, 3], -1, 1, 'float32', 8), wN = tf.randomUniform([B * nV, 3], -1, 1, 'float32', 9);
        const params = [pos, meshNormals, tf.tensor1d([0.2, -0.4, 0.1]), tf.tensor1d([1, -2, 50]), tf.scalar(kind === 'perspective' ? 80 : 3), tf.tensor1d([30, 20]), tf.tensor1d([0.1, 0.5, 0])];
        // View 1 shares translation and focal / scale with view 0 (their gradients sum), has its own rotation and no principal point.
        const camsOf = (p: tf.Tensor[]): Camera[] => {
          const base = { translation: p[3] as tf.Tensor1D, ...(kind === 'perspective' ? { kind, focal: p[4] as tf.Scalar } : { kind, scale: p[4] as tf.Scalar }) } as const;
          return [{ ...base, rotation: p[2] as tf.Tensor1D, principal: p[5] as tf.Tensor1D } as Camera, { ...base, rotation: p[6] as tf.Tensor1D } as Camera].slice(0, B);
        };
        const composed = tf.tidy(() => {
          const g = tf.grads((...p: tf.Tensor[]) => {
            const cams = camsOf(p);
            const camPos = tf.concat(cams.map((c) => modelToCamera(p[0] as tf.Tensor2D, c)));
            const clip = tf.concat(cams.map((c) => toClip(modelToCamera(p[0] as tf.Tensor2D, c), c, res)));
            const nrm = tf.concat(cams.map((c) => (given ? modelToCamera(p[1] as tf.Tensor2D, { ...c, translation: [0, 0, 0] }) : vertexNormals(modelToCamera(p[0] as tf.Tensor2D, c), m.triangles))));
            return tf.addN([tf.sum(tf.mul(clip, wClip)), tf.sum(tf.mul(camPos, wCam)), tf.sum(tf.mul(nrm, wN)), tf.mul(tf.addN(p.map((t) => tf.sum(t))), 0)]);
          })(params);
          const cams = camsOf(params);
          const values = [
            tf.concat(cams.map((c) => toClip(modelToCamera(pos, c), c, res))),
            tf.concat(cams.map((c) => modelToCamera(pos, c))),
            tf.concat(cams.map((c) => (given ? modelToCamera(meshNormals, { ...c, translation: [0, 0, 0] }) : vertexNormals(modelToCamera(pos, c), m.triangles)))),
          ];
          return [...values, ...g].map((t) => t.dataSync().slice());
        });
        const stage = vertexStage(pos, given ? meshNormals : undefined, camsOf(params), res, m.triangles);
        const grads = stage.backward(...[wClip, wCam, wN].map((t) => (t.dataSync() as Float32Array).slice()) as [Float32Array, Float32Array, Float32Array]).map((t) => t.dataSync().slice());
        const name = `${kind}${given ? ', mesh normals' : ''}${batch ? ', batch' : ''}`;
        close(`${name}: clip`, stage.clip, composed[0], 2e-5);
        close(`${name}: cam`, stage.cam, composed[1], 2e-5);
        close(`${name}: normals`, stage.normals, composed[2], 2e-5);
        // The stage's inputs: positions, [mesh normals], then the distinct camera tensors in order of first use.
        const order = [0, ...(given ? [1] : []), 2, 3, 4, 5, ...(batch ? [6] : [])];
        assert.deepEqual(stage.inputs, order.map((i) => params[i]));
        order.forEach((pi, i) => close(`${name}: d/dparam ${pi}`, grads[i], composed[3 + pi], 5e-4));
        tf.dispose([wClip, wCam, wN, ...params.slice(2)]);
      }
    }
  }
});
