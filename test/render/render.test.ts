import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { tf, initEngine } from '../../src/engine/index.js';
import { render, renderComposed, type RenderMesh, type PerspectiveCamera } from '../../src/render/index.js';
import { cube, sphere, checkerTexture } from './fixtures.js';
import { loadFaceModel, DEFAULT_MODEL_URL } from '../../src/model/load.js';
import { modelPositions } from '../../src/model/mesh.js';

const GOLDEN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');
const UPDATE = process.env.GANFIT_UPDATE_GOLDEN === '1';

function meshOf(m: ReturnType<typeof cube>): RenderMesh {
  return {
    positions: tf.tensor2d(m.positions, [m.positions.length / 3, 3]),
    triangles: m.triangles,
    uvs: tf.tensor2d(m.uvs, [m.uvs.length / 2, 2]),
    uvTriangles: m.uvTriangles,
  };
}
const light = { position: [25, -30, -5], color: [0.85, 0.85, 0.85], ambient: [0.3, 0.3, 0.3] };

/**
 * Compare an [H,W,3] image in 0..1 with a golden PNG (8-bit): mean absolute difference ≤ 0.5/255 and at most
 * 0.5% of pixels off by more than 8/255 (room for float differences between machines, not for a moved edge).
 */
async function matchGolden(name: string, img: tf.Tensor): Promise<void> {
  const [h, w] = img.shape;
  const d = img.dataSync();
  const u8 = Uint8Array.from(d, (x) => Math.max(0, Math.min(255, Math.round(x * 255))));
  const file = path.join(GOLDEN, `${name}.png`);
  if (UPDATE || !existsSync(file)) {
    if (!UPDATE) assert.fail(`missing golden ${file}; run with GANFIT_UPDATE_GOLDEN=1`);
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, await sharp(Buffer.from(u8), { raw: { width: w, height: h, channels: 3 } }).png({ compressionLevel: 9 }).toBuffer());
    return;
  }
  const { data, info } = await sharp(readFileSync(file)).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.height, info.width, info.channels], [h, w, 3]);
  let sum = 0, bad = 0;
  for (let i = 0; i < u8.length; i++) {
    const e = Math.abs(u8[i] - data[i]);
    sum += e;
    if (e > 8) bad++;
  }
  assert.ok(sum / u8.length <= 0.5, `${name}: mean abs diff ${(sum / u8.length).toFixed(3)}/255`);
  assert.ok(bad <= 0.005 * u8.length, `${name}: ${bad} values differ by more than 8/255`);
}

test('golden: textured cube (perspective, Phong, antialiased)', async () => {
  await initEngine();
  const mesh = meshOf(cube(5));
  const tex = tf.tensor3d(checkerTexture(64, 8), [64, 64, 3]);
  const cam: PerspectiveCamera = { kind: 'perspective', rotation: [0.45, 0.6, 0.1], translation: [0, 0, 40], focal: 110 };
  const r = render(mesh, cam, light, tex, { resolution: [96, 96] });
  await matchGolden('cube', r.image);
  // The cube's front-facing faces cover a blob in the middle; corners of the image are background.
  const a = r.alpha.dataSync();
  assert.equal(a[0], 0);
  assert.equal(a[48 * 96 + 48], 1);
});

test('golden: head-like ellipsoid, yawed 25° (nose to image left), orthographic and per-vertex colours + SH', async () => {
  await initEngine();
  const s = sphere(40, 60, [8, 11, 9], 3);
  const mesh = meshOf(s);
  const tex = tf.tensor3d(checkerTexture(128, 16), [128, 128, 3]);
  const yaw = (25 * Math.PI) / 180;
  const cam: PerspectiveCamera = { kind: 'perspective', rotation: [0, -yaw, 0], translation: [0, 0, 60], focal: 220 };
  const r = render(mesh, cam, light, tex, { resolution: [96, 96], textureFilter: 'mip' });
  await matchGolden('head', r.image);
  // The nose bump (max model z) is left of centre when yaw > 0: compare depth-weighted columns.
  const depth = r.depth.dataSync();
  let nearest = Infinity, col = -1;
  for (let p = 0; p < 96 * 96; p++) if (depth[p] > 0 && depth[p] < nearest) { nearest = depth[p]; col = p % 96; }
  assert.ok(col < 48 - 5, `nearest point at column ${col}`);
  const colors = tf.tensor2d(Float32Array.from({ length: s.positions.length }, (_, i) => 0.3 + 0.6 * ((i * 7919) % 97) / 97), [s.positions.length / 3, 3]);
  const sh = tf.tensor2d([[2.5, 2.5, 2.5], [0, 0, 0], [-0.6, -0.6, -0.6], [0.3, 0.2, 0.1], [0, 0, 0], [0, 0, 0], [0.1, 0.1, 0.1], [0, 0, 0], [0, 0, 0]]);
  const ortho = { kind: 'orthographic' as const, rotation: [0.2, 0.4, 0], translation: [0, 0, 60], scale: 4 };
  const r2 = render({ ...mesh, colors }, ortho, { sh }, null, { resolution: [96, 96] });
  await matchGolden('head-ortho-sh', r2.image);
});

const HAS_ICT = existsSync(fileURLToPath(DEFAULT_MODEL_URL));

test('golden: ICT mean head, frontal and 30° yaw (texture, Phong, antialiased)', { skip: !HAS_ICT && 'ICT asset missing' }, async () => {
  await initEngine();
  const model = await loadFaceModel();
  const V = model.vertexCount;
  const mesh: RenderMesh = {
    positions: tf.tensor2d(modelPositions(model, { identity: [], expression: [] }), [V, 3]),
    triangles: model.triangles,
    uvs: tf.tensor2d(model.uvs, [model.uvs.length / 2, 2]),
    uvTriangles: model.uvTriangles,
  };
  const tex = tf.tensor3d(checkerTexture(256, 16), [256, 256, 3]);
  for (const [name, yaw] of [['ict-frontal', 0], ['ict-yaw30', 30]] as const) {
    // yaw > 0 turns the face to the image left (docs/conventions.md): R_y(−yaw) in model axes.
    const cam: PerspectiveCamera = { kind: 'perspective', rotation: [0, (-yaw * Math.PI) / 180, 0], translation: [0, 2, 60], focal: 128 * 1.6 };
    const r = render(mesh, cam, light, tex, { resolution: [128, 128] });
    await matchGolden(name, r.image);
    // The composed small ops render the same image.
    const ref = renderComposed(mesh, cam, light, tex, { resolution: [128, 128] });
    const d0 = r.image.dataSync(), d1 = ref.image.dataSync();
    let worst = 0;
    for (let i = 0; i < d0.length; i++) worst = Math.max(worst, Math.abs(d0[i] - d1[i]));
    assert.ok(worst < 1e-3, `fused vs composed: max abs difference ${worst}`);
    tf.dispose([ref.image, ref.alpha, ref.depth, ref.uv, ref.normals]);
    // Sanity independent of the PNG: the head covers a good part of the frame, the corners are background.
    const a = r.alpha.dataSync();
    let covered = 0;
    for (let i = 0; i < a.length; i++) covered += a[i];
    const cover = covered / a.length;
    assert.ok(cover > 0.2 && cover < 0.8, `coverage ${cover}`);
    assert.equal(a[0], 0);
    tf.dispose([r.image, r.alpha, r.depth, r.uv, r.normals]);
  }
  tf.dispose([mesh.positions, mesh.uvs!, tex]);
});

test('batch of two cameras equals two single renders', async () => {
  await initEngine();
  const mesh = meshOf(sphere(12, 18, [8, 11, 9], 3));
  const tex = tf.tensor3d(checkerTexture(32, 4), [32, 32, 3]);
  const cams: PerspectiveCamera[] = [
    { kind: 'perspective', rotation: [0, 0.3, 0], translation: [0, 0, 60], focal: 100 },
    { kind: 'perspective', rotation: [0.2, -0.5, 0.1], translation: [1, 0, 55], focal: 90 },
  ];
  const both = render(mesh, cams, light, tex, { resolution: [40, 48] });
  assert.deepEqual(both.image.shape, [2, 40, 48, 3]);
  const b = both.image.dataSync();
  cams.forEach((c, i) => {
    const one = render(mesh, c, light, tex, { resolution: [40, 48] }).image.dataSync();
    for (let k = 0; k < one.length; k++) assert.ok(Math.abs(one[k] - b[i * one.length + k]) < 1e-5);
  });
});

test('forward+backward: gradients reach positions, camera, light and texture; no tensor leaks', async () => {
  await initEngine();
  const s = sphere(12, 18, [8, 11, 9], 3);
  const mesh = meshOf(s);
  const tex = tf.tensor3d(checkerTexture(32, 4), [32, 32, 3]);
  const target = tf.randomUniform([2, 40, 48, 3], 0, 1, 'float32', 3);
  const bg = tf.fill([2, 40, 48, 3], 0.5);
  const step = () => tf.tidy(() => {
    const g = tf.grads((pos: tf.Tensor, rot: tf.Tensor, tr: tf.Tensor, f: tf.Tensor, lp: tf.Tensor, t: tf.Tensor) => {
      const cams: PerspectiveCamera[] = [
        { kind: 'perspective', rotation: rot as tf.Tensor1D, translation: tr as tf.Tensor1D, focal: f as tf.Scalar },
        { kind: 'perspective', rotation: tf.add(rot, tf.tensor1d([0, 0.6, 0])) as tf.Tensor1D, translation: tr as tf.Tensor1D, focal: f as tf.Scalar },
      ];
      const r = render({ ...mesh, positions: pos as tf.Tensor2D }, cams, { ...light, position: lp as tf.Tensor1D }, t as tf.Tensor3D, { resolution: [40, 48], background: bg });
      return tf.mean(tf.square(tf.sub(r.image, target)));
    })([mesh.positions, tf.tensor1d([0.1, 0.2, 0]), tf.tensor1d([0, 0, 60]), tf.scalar(100), tf.tensor1d(light.position), tex]);
    return g.map((x) => {
      const d = x.dataSync();
      assert.ok(d.every(Number.isFinite), 'finite');
      assert.ok(d.some((v) => v !== 0), 'non-zero');
      return x.size;
    });
  });
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, before, 'tensor count after forward+backward');
  // Outside tidy: render's outputs are the only new tensors, and disposing them frees everything.
  const r = render(mesh, { kind: 'perspective', rotation: [0, 0, 0], translation: [0, 0, 60], focal: 100 }, light, tex, { resolution: [40, 48] });
  tf.dispose([r.image, r.alpha, r.depth, r.uv, r.normals]);
  assert.equal(tf.memory().numTensors, before);
});

test('two renders in one loss (their backward passes after both forwards) equal each one alone', async () => {
  // render() reuses its per-call buffers once a call's backward is done: a second render in flight must not
  // take the first one's (the fit's identity loss renders a second view before any backward).
  await initEngine();
  const mesh = meshOf(sphere(12, 18, [8, 11, 9], 3));
  const tex = tf.tensor3d(checkerTexture(32, 4), [32, 32, 3]);
  const target = tf.randomUniform([40, 48, 3], 0, 1, 'float32', 4);
  const views: [number, number, number][] = [[0.1, 0.2, 0], [-0.2, -0.5, 0.1]];
  const lossOf = (pos: tf.Tensor, rot: number[]) => {
    const r = render({ ...mesh, positions: pos as tf.Tensor2D }, { kind: 'perspective', rotation: rot, translation: [0, 0, 60], focal: 100 }, light, tex, { resolution: [40, 48] });
    return tf.addN([tf.mean(tf.square(tf.sub(r.image, target))), tf.mul(tf.mean(r.alpha), 0.3), tf.mul(tf.mean(r.depth), 1e-3), tf.mul(tf.mean(r.normals), 0.1)]);
  };
  const gradOf = (f: (pos: tf.Tensor) => tf.Tensor) => tf.tidy(() => tf.grad(f)(mesh.positions).dataSync().slice());
  const both = gradOf((pos) => tf.add(lossOf(pos, views[0]), lossOf(pos, views[1])));
  const one = gradOf((pos) => lossOf(pos, views[0])), two = gradOf((pos) => lossOf(pos, views[1]));
  let scale = 0, worst = 0;
  for (let i = 0; i < both.length; i++) {
    scale = Math.max(scale, Math.abs(one[i] + two[i]));
    worst = Math.max(worst, Math.abs(both[i] - (one[i] + two[i])));
  }
  assert.ok(scale > 0, 'gradients reach the positions');
  assert.ok(worst <= 1e-5 * scale, `max |both − (one + two)| = ${worst} (scale ${scale})`);
  tf.dispose([tex, target]);
});
