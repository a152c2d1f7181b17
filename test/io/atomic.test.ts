import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { beginOutput, withOutput, writeFileAtomic } from '../../src/io/atomic.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ganfit-atomic-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes, replaces and leaves no temp files', async () => {
    const dir = join(root, 'single', 'nested');
    const path = join(dir, 'a.txt');
    await writeFileAtomic(path, 'first');
    assert.equal(await readFile(path, 'utf8'), 'first');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...(await readFile(path))], [1, 2, 3]);
    assert.deepEqual(await readdir(dir), ['a.txt']);
  });

  it('leaves neither target nor temp file when the rename fails', async () => {
    const dir = join(root, 'single-fail');
    await mkdir(join(dir, 'occupied'), { recursive: true });
    await writeFile(join(dir, 'occupied', 'x'), 'keep');
    // Renaming a file over a non-empty folder fails.
    await assert.rejects(writeFileAtomic(join(dir, 'occupied'), 'data'));
    assert.deepEqual(await readdir(dir), ['occupied']);
    assert.equal(await readFile(join(dir, 'occupied', 'x'), 'utf8'), 'keep');
  });
});

describe('beginOutput', () => {
  it('keeps files out of the target until commit, then moves them all in', async () => {
    const target = join(root, 'run1', 'out');
    const out = await beginOutput(target);
    await out.write('mesh.obj', 'v 0 0 0\n');
    await out.write('textures/texture.png', new Uint8Array([137, 80, 78, 71]));
    await assert.rejects(readdir(target), { code: 'ENOENT' });
    const staged = await readdir(join(root, 'run1'));
    assert.equal(staged.length, 1);
    assert.match(staged[0]!, /^\.out\.staging-/);
    await out.commit();
    assert.deepEqual((await readdir(target)).sort(), ['mesh.obj', 'textures']);
    assert.equal(await readFile(join(target, 'mesh.obj'), 'utf8'), 'v 0 0 0\n');
    assert.deepEqual([...(await readFile(join(target, 'textures', 'texture.png')))], [137, 80, 78, 71]);
    assert.deepEqual(await readdir(join(root, 'run1')), ['out'], 'staging folder removed');
    await assert.rejects(out.write('late.txt', 'x'), /already committed/);
  });

  it('commits into an existing folder, replacing same-named files and keeping others', async () => {
    const target = join(root, 'existing');
    await mkdir(target, { recursive: true });
    await writeFile(join(target, 'mesh.obj'), 'old');
    await writeFile(join(target, 'notes.txt'), 'mine');
    const out = await beginOutput(target);
    await out.write('mesh.obj', 'new');
    await out.write('mesh.mtl', 'newmtl face\n');
    assert.equal(await readFile(join(target, 'mesh.obj'), 'utf8'), 'old', 'untouched before commit');
    await out.commit();
    assert.equal(await readFile(join(target, 'mesh.obj'), 'utf8'), 'new');
    assert.equal(await readFile(join(target, 'notes.txt'), 'utf8'), 'mine');
    assert.deepEqual((await readdir(target)).sort(), ['mesh.mtl', 'mesh.obj', 'notes.txt']);
    assert.deepEqual(await readdir(root).then((names) => names.filter((n) => n.startsWith('.'))), []);
  });

  it('a failure mid-way leaves nothing behind', async () => {
    const parent = join(root, 'run-fail');
    const target = join(parent, 'out');
    await assert.rejects(
      withOutput(target, async (out) => {
        await out.write('mesh.obj', 'v 1 2 3\n');
        throw new Error('texture generation failed');
      }),
      /texture generation failed/,
    );
    assert.deepEqual(await readdir(parent), [], 'no target, no staging folder');
  });

  it('abort removes staging, and an existing target is left exactly as it was', async () => {
    const target = join(root, 'abort-existing');
    await mkdir(target, { recursive: true });
    await writeFile(join(target, 'mesh.obj'), 'old');
    const out = await beginOutput(target);
    await out.write('mesh.obj', 'half');
    await out.abort();
    await out.abort();
    assert.equal(await readFile(join(target, 'mesh.obj'), 'utf8'), 'old');
    assert.deepEqual((await readdir(root)).filter((n) => n.startsWith('.abort-existing')), []);
    await assert.rejects(out.commit(), /already aborted/);
  });

  it('rejects names that escape the folder and duplicate names', async () => {
    const out = await beginOutput(join(root, 'names'));
    await assert.rejects(out.write('../evil.txt', 'x'), /relative path inside/);
    await assert.rejects(out.write('/abs.txt', 'x'), /relative path inside/);
    await out.write('a.txt', 'x');
    await assert.rejects(out.write('./a.txt', 'y'), /written twice/);
    assert.deepEqual(out.files, ['a.txt']);
    await out.abort();
  });

  it('withOutput commits and returns the callback value', async () => {
    const target = join(root, 'with');
    const value = await withOutput(target, async (out) => {
      await out.write('result.json', '{}');
      return 42;
    });
    assert.equal(value, 42);
    assert.deepEqual(await readdir(target), ['result.json']);
  });
});
