/** `ganfit fit` and `ganfit batch` on real photos (skipped, with the reason printed, without ../shared). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { NodeIO } from '@gltf-transform/core';
import { runCli, hasShared, sharedDir } from './helpers.js';

const skip = hasShared ? false : 'needs ../shared/data/portraits (not in a fresh clone)';
if (skip) console.log(`# skipping real-photo CLI tests: ${skip}`);
const dir = mkdtempSync(path.join(tmpdir(), 'ganfit-fit-'));
const portrait = path.join(sharedDir, 'data/portraits/Colin_Powell_0004.jpg');

test('fit writes the whole contract, consistent with the photo', { skip }, async () => {
  const out = path.join(dir, 'powell');
  const r = runCli(['fit', portrait, '-o', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  for (const f of ['result.json', 'mesh.obj', 'mesh.mtl', 'texture.png', 'face.glb', 'render.png', 'overlay.png']) {
    assert.ok(existsSync(path.join(out, f)), `${f} written`);
  }
  const result = JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8'));
  assert.deepEqual(JSON.parse(r.stdout), result, '--json prints result.json');
  assert.deepEqual([result.image.width, result.image.height], [250, 250]);
  assert.equal(result.detected.landmarks2d.length, 68);
  assert.equal(result.fit.landmarks2d.length, 68);
  assert.equal(result.fit.landmarks3d.length, 68);
  assert.equal(Object.keys(result.params.expression).length, 53);
  assert.equal(result.params.identity.length, 100);
  for (const key of ['yaw', 'pitch', 'roll']) assert.ok(Math.abs(result.pose[key]) < 25, `near-frontal ${key}`);
  // The fitted landmarks sit on the detected ones (inner 51 points, a few pixels on a 250 px photo).
  let err = 0;
  for (let k = 17; k < 68; k++) err += Math.hypot(result.fit.landmarks2d[k][0] - result.detected.landmarks2d[k][0], result.fit.landmarks2d[k][1] - result.detected.landmarks2d[k][1]);
  assert.ok(err / 51 < 4, `mean inner landmark distance ${(err / 51).toFixed(2)} px`);
  // render.png: the input's size, black outside the head, the head inside the face box.
  const render = await sharp(path.join(out, 'render.png')).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([render.info.width, render.info.height], [250, 250]);
  const at = (x: number, y: number) => render.data[(y * 250 + x) * render.info.channels];
  assert.equal(at(2, 2), 0, 'background is black');
  const [bx, by, bw, bh] = result.face.box;
  assert.ok(at(Math.round(bx + bw / 2), Math.round(by + bh / 2)) > 20, 'face centre is drawn');
  // The GLB opens and carries the ARKit morph targets.
  const doc = await new NodeIO().read(path.join(out, 'face.glb'));
  const mesh = doc.getRoot().listMeshes()[0];
  const names = mesh.getExtras().targetNames as string[];
  assert.ok(names.includes('jawOpen') && names.includes('eyeBlinkLeft'), 'ARKit target names');
  assert.match(readFileSync(path.join(out, 'mesh.mtl'), 'utf8'), /map_Kd texture\.png/);
});

test('several faces: the largest by default, a note, --face picks another, out of range is a usage error', { skip }, () => {
  const group = path.join(sharedDir, 'data/portraits/2008_001322.jpg');
  const a = runCli(['fit', group, '-o', path.join(dir, 'group0')]);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stderr, /faces found; using face 0/);
  const r0 = JSON.parse(readFileSync(path.join(dir, 'group0', 'result.json'), 'utf8'));
  assert.ok(r0.face.count >= 3);
  const b = runCli(['fit', group, '--face', '1', '-o', path.join(dir, 'group1'), '--json']);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(JSON.parse(b.stdout).face.index, 1);
  const c = runCli(['fit', group, '--face', '99', '-o', path.join(dir, 'group99')]);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /--face 99/);
  assert.equal(existsSync(path.join(dir, 'group99')), false);
});

test('batch: one bad image never stops the batch; summary.json lists every photo', { skip }, () => {
  const list = path.join(dir, 'list.txt');
  writeFileSync(path.join(dir, 'broken.jpg'), 'not a jpeg');
  writeFileSync(list, [portrait, path.join(dir, 'broken.jpg'), path.join(sharedDir, 'data/portraits/Angelina_Jolie_0006.jpg')].join('\n') + '\n');
  const out = path.join(dir, 'batch');
  const r = runCli(['batch', list, '-o', out, '--texture-size', '128']);
  assert.equal(r.code, 1, 'exit 1 when some photos failed');
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.total, 3);
  assert.equal(summary.succeeded, 2);
  assert.equal(summary.items[1].exitCode, 4);
  assert.deepEqual(readdirSync(out).sort(), ['Angelina_Jolie_0006', 'Colin_Powell_0004', 'summary.json']);
});

test('grayscale, CMYK, PNG with alpha and an EXIF-rotated photo all fit (converted to RGB, rotation applied)', { skip }, async () => {
  const variants: [string, (s: Sharp) => Sharp][] = [
    ['grey.jpg', (s) => s.greyscale().jpeg()],
    ['cmyk.jpg', (s) => s.toColourspace('cmyk').jpeg()],
    ['alpha.png', (s) => s.ensureAlpha(0.8).png()],
    // Stored rotated by 90° clockwise with orientation 8 ("rotate 270° to view"): upright once EXIF is applied.
    ['exif.jpg', (s) => s.rotate(90).jpeg().withMetadata({ orientation: 8 })],
  ];
  for (const [name, convert] of variants) {
    const file = path.join(dir, name);
    await convert(sharp(portrait)).toFile(file);
    const r = runCli(['fit', file, '-o', path.join(dir, `v-${name}`), '--json', '--texture-size', '128']);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const result = JSON.parse(r.stdout);
    assert.ok(Math.abs(result.pose.roll) < 20, `${name}: upright face (roll ${result.pose.roll})`);
    assert.deepEqual([result.image.width, result.image.height], [250, 250]);
  }
});
