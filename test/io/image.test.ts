import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage, encodePng, encodePngFloat, toOriginalPixels, resizeImage } from '../../src/io/image.js';
import { GanfitError, ExitCode, usageError, noFaceError, imageError, exitCodeOf } from '../../src/io/errors.js';

let dir = '';
const p = (name: string) => path.join(dir, name);

/** A 64×48 test pattern: red left half, blue right half, a white top-left pixel. */
function pattern(width = 64, height = 48): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      if (x < width / 2) data[i] = 220;
      else data[i + 2] = 220;
    }
  }
  data[0] = data[1] = data[2] = 255;
  return data;
}
const raw = (w: number, h: number, c: 1 | 3 | 4 = 3) => ({ raw: { width: w, height: h, channels: c } });

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ganfit-image-'));
  await sharp(pattern(), raw(64, 48)).jpeg({ quality: 95 }).toFile(p('ok.jpg'));
  await mkdir(p('a-directory.jpg'));
  await writeFile(p('empty.jpg'), new Uint8Array(0));
  const full = await readFile(p('ok.jpg'));
  await writeFile(p('truncated.jpg'), full.subarray(0, Math.floor(full.length * 0.6)));
  await writeFile(p('text.jpg'), 'this is not an image\n');
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function expectImageError(source: string | Uint8Array, pattern: RegExp): Promise<void> {
  await assert.rejects(decodeImage(source), (e: unknown) => {
    assert.ok(e instanceof GanfitError, `expected GanfitError, got ${String(e)}`);
    assert.equal(e.code, ExitCode.Image);
    assert.equal(exitCodeOf(e), 4);
    assert.ok(!e.message.includes('\n'), `message must be one line: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('errors: exit codes and helpers', () => {
  assert.deepEqual([ExitCode.Ok, ExitCode.Other, ExitCode.Usage, ExitCode.NoFace, ExitCode.Image], [0, 1, 2, 3, 4]);
  assert.equal(usageError('x').code, 2);
  assert.equal(noFaceError('x').code, 3);
  assert.equal(imageError('x').code, 4);
  assert.equal(exitCodeOf(new Error('boom')), 1);
  assert.equal(new GanfitError(1, 'a\n  b').message, 'a b');
});

test('decodes a JPEG to RGB at full size', async () => {
  const img = await decodeImage(p('ok.jpg'));
  assert.equal(img.width, 64);
  assert.equal(img.height, 48);
  assert.equal(img.data.length, 64 * 48 * 3);
  assert.equal(img.scaleX, 1);
  assert.equal(img.name, 'ok.jpg');
  const at = (x: number, y: number) => Array.from(img.data.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3));
  const left = at(10, 30);
  const right = at(50, 30);
  assert.ok(left[0]! > 180 && left[2]! < 60, `left half should be red: ${left}`);
  assert.ok(right[2]! > 180 && right[0]! < 60, `right half should be blue: ${right}`);
});

test('bad input: missing file', () => expectImageError(p('nope.jpg'), /nope\.jpg: no such file/));
test('bad input: a directory', () => expectImageError(p('a-directory.jpg'), /is a directory/));
test('bad input: zero bytes', () => expectImageError(p('empty.jpg'), /empty\.jpg: .*empty/));
test('bad input: truncated JPEG', () => expectImageError(p('truncated.jpg'), /truncated\.jpg: .*(damaged|truncated|readable)/));
test('bad input: a text file named .jpg', () => expectImageError(p('text.jpg'), /text\.jpg: not a readable image/));
test('bad input: bytes that are not an image', () => expectImageError(new Uint8Array([1, 2, 3, 4, 5]), /<buffer>/));

test('1×1 px decodes (the detector then reports no face)', async () => {
  const bytes = await sharp(Buffer.from([10, 20, 30]), raw(1, 1)).png().toBuffer();
  const img = await decodeImage(bytes);
  assert.deepEqual([img.width, img.height, Array.from(img.data)], [1, 1, [10, 20, 30]]);
});

test('12000×12000 is refused from its header (limit in pixels), and shrunk on load when allowed', async () => {
  // A solid-colour JPEG of 144 Mpx compresses to a few hundred kB; decoding it would need 432 MB.
  const big = await sharp({ create: { width: 12000, height: 12000, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .jpeg({ quality: 50 })
    .toBuffer();
  await expectImageError(big, /too large \(12000×12000 = 144\.0 Mpx; the limit is 50 Mpx\)/);
  // With the limit raised, it is shrunk on load to the working size, and the scale maps back to the original.
  const img = await decodeImage(big, { maxPixels: 200e6 });
  assert.deepEqual([img.width, img.height, img.originalWidth, img.originalHeight], [2048, 2048, 12000, 12000]);
  assert.ok(Math.abs(img.data[3 * 1000]! - 90) <= 2);
});

test('large images are downscaled to 2048 px and coordinates map back to original pixels', async () => {
  const bytes = await sharp({ create: { width: 4100, height: 2050, channels: 3, background: '#808080' } }).png().toBuffer();
  const img = await decodeImage(bytes);
  assert.deepEqual([img.width, img.height, img.originalWidth, img.originalHeight], [2048, 1024, 4100, 2050]);
  assert.ok(Math.abs(img.scaleX - 2048 / 4100) < 1e-12);
  // The image edges (−0.5 and width − 0.5) map to the original's edges; centres map to centres.
  const pts = toOriginalPixels([-0.5, -0.5, 2047.5, 1023.5, 1023.5, 511.5], img);
  const expected = [-0.5, -0.5, 4099.5, 2049.5, 2049.5, 1024.5];
  pts.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-9, `${i}: ${v} vs ${expected[i]}`));
});

test('grayscale JPEG becomes 3 equal channels', async () => {
  const bytes = await sharp(pattern(), raw(64, 48)).toColourspace('b-w').jpeg().toBuffer();
  assert.equal((await sharp(bytes).metadata()).channels, 1);
  const img = await decodeImage(bytes);
  assert.equal(img.data.length, 64 * 48 * 3);
  const i = (30 * 64 + 10) * 3;
  assert.ok(img.data[i] === img.data[i + 1] && img.data[i + 1] === img.data[i + 2]);
});

test('CMYK JPEG becomes RGB with the right colours', async () => {
  const bytes = await sharp(pattern(), raw(64, 48)).toColourspace('cmyk').jpeg().toBuffer();
  assert.equal((await sharp(bytes).metadata()).space, 'cmyk');
  const img = await decodeImage(bytes);
  assert.equal(img.data.length, 64 * 48 * 3);
  const i = (30 * 64 + 10) * 3;
  assert.ok(img.data[i]! > 150 && img.data[i + 2]! < 100, `red stays red: ${Array.from(img.data.subarray(i, i + 3))}`);
});

test('PNG alpha is composited on white (or black on request)', async () => {
  const rgba = Buffer.alloc(8 * 8 * 4);
  for (let k = 0; k < 64; k++) rgba.set(k < 32 ? [0, 0, 0, 0] : [0, 200, 0, 255], k * 4); // top half transparent
  const bytes = await sharp(rgba, raw(8, 8, 4)).png().toBuffer();
  const white = await decodeImage(bytes);
  assert.deepEqual(Array.from(white.data.subarray(0, 3)), [255, 255, 255]);
  assert.deepEqual(Array.from(white.data.subarray(63 * 3, 64 * 3)), [0, 200, 0]);
  const black = await decodeImage(bytes, { background: 'black' });
  assert.deepEqual(Array.from(black.data.subarray(0, 3)), [0, 0, 0]);
});

test('16-bit PNG becomes 8-bit', async () => {
  const bytes = await sharp(pattern(), raw(64, 48)).toColourspace('rgb16').png().toBuffer();
  assert.equal((await sharp(bytes).metadata()).depth, 'ushort');
  const img = await decodeImage(bytes);
  assert.equal(img.data.length, 64 * 48 * 3);
  assert.ok(img.data[(30 * 64 + 10) * 3]! > 200);
});

test('EXIF orientation 6 is applied: width and height swap, content rotates 90° clockwise', async () => {
  const bytes = await sharp(pattern(), raw(64, 48)).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
  const img = await decodeImage(bytes);
  assert.deepEqual([img.width, img.height, img.originalWidth, img.originalHeight], [48, 64, 48, 64]);
  // Orientation 6: the stored top-left (white) pixel ends at the top-right; the red half ends on top.
  const at = (x: number, y: number) => Array.from(img.data.subarray((y * 48 + x) * 3, (y * 48 + x) * 3 + 3));
  assert.ok(at(47, 0).every((v) => v > 150), `white corner at top-right: ${at(47, 0)}`);
  assert.ok(at(20, 10)[0]! > 180 && at(20, 54)[2]! > 180, 'red on top, blue at the bottom');
});

test('WebP decodes', async () => {
  const bytes = await sharp(pattern(), raw(64, 48)).webp({ lossless: true }).toBuffer();
  const img = await decodeImage(bytes);
  assert.deepEqual([img.width, img.height], [64, 48]);
  assert.deepEqual(Array.from(img.data.subarray((30 * 64 + 10) * 3, (30 * 64 + 10) * 3 + 3)), [220, 0, 0]);
});

test('encodePng / encodePngFloat round-trip', async () => {
  const data = pattern(16, 8);
  const png = await encodePng({ width: 16, height: 8, data });
  const back = await decodeImage(png);
  assert.deepEqual(Buffer.from(back.data), data);
  const f = new Float32Array([0, 0.5, 1, 2, -1, 0.25]);
  const img = await decodeImage(await encodePngFloat(f, 2, 1));
  assert.deepEqual(Array.from(img.data), [0, 128, 255, 255, 0, 64]);
  const rgba = await encodePng({ width: 1, height: 1, data: new Uint8Array([1, 2, 3, 4]), channels: 4 });
  assert.equal((await sharp(rgba).metadata()).channels, 4);
  await assert.rejects(encodePng({ width: 2, height: 2, data: new Uint8Array(3) }));
  const small = await resizeImage({ width: 16, height: 8, data }, 8, 4);
  assert.deepEqual([small.width, small.height, small.data.length], [8, 4, 96]);
});
