/**
 * Bad input never crashes with a stack trace and never leaves partial output: one clear line on stderr and the
 * exit code of the contract (2 usage, 3 no face, 4 unreadable image).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { runCli } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ganfit-bad-'));

function assertCleanFailure(args: string[], code: number, pattern: RegExp) {
  const out = path.join(dir, `out-${Math.random().toString(36).slice(2)}`);
  const r = runCli([...args, '-o', out]);
  assert.equal(r.code, code, `exit code for ${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(existsSync(out), false, 'no output folder after a failure');
}

test('missing file → exit 4', () => assertCleanFailure(['fit', path.join(dir, 'nope.jpg')], 4, /nope\.jpg/));

test('a directory → exit 4', () => {
  mkdirSync(path.join(dir, 'folder.jpg'));
  assertCleanFailure(['fit', path.join(dir, 'folder.jpg')], 4, /folder\.jpg/);
});

test('zero-byte file → exit 4', () => {
  writeFileSync(path.join(dir, 'empty.jpg'), '');
  assertCleanFailure(['fit', path.join(dir, 'empty.jpg')], 4, /empty/);
});

test('text file named .jpg → exit 4', () => {
  writeFileSync(path.join(dir, 'text.jpg'), 'this is not an image\n');
  assertCleanFailure(['fit', path.join(dir, 'text.jpg')], 4, /text\.jpg/);
});

test('truncated JPEG → exit 4', async () => {
  const jpeg = await sharp({ create: { width: 300, height: 300, channels: 3, background: { r: 120, g: 90, b: 70 } } }).jpeg().toBuffer();
  writeFileSync(path.join(dir, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  assertCleanFailure(['fit', path.join(dir, 'truncated.jpg')], 4, /truncated\.jpg/);
});

test('12000×12000 px → refused with exit 4, quickly', async () => {
  const big = await sharp({ create: { width: 12000, height: 12000, channels: 3, background: { r: 200, g: 200, b: 200 } } }).jpeg({ quality: 30 }).toBuffer();
  writeFileSync(path.join(dir, 'huge.jpg'), big);
  assertCleanFailure(['fit', path.join(dir, 'huge.jpg')], 4, /huge\.jpg/);
});

test('1×1 px → no face, exit 3', async () => {
  await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toFile(path.join(dir, 'dot.png'));
  assertCleanFailure(['fit', path.join(dir, 'dot.png')], 3, /no face/);
});

test('an image without a face → exit 3', async () => {
  await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 30, g: 120, b: 200 } } }).png().toFile(path.join(dir, 'sky.png'));
  assertCleanFailure(['fit', path.join(dir, 'sky.png')], 3, /no face/);
});

test('usage errors → exit 2', () => {
  assertCleanFailure(['fit'], 2, /usage/);
  assertCleanFailure(['fit', 'a.jpg', '--face', 'x'], 2, /--face/);
  assertCleanFailure(['fit', 'a.jpg', '--no-such-option'], 2, /no-such-option/);
  const r = runCli(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command/);
});

test('help and version', () => {
  const r = runCli(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /fit/);
  assert.match(r.stdout, /batch/);
  const v = runCli(['--version']);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.trim(), JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
});
