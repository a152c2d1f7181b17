import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf, initEngine } from '../../src/engine/index.js';
import { epochOrder, finalizeIndex, HELD_OUT_EVERY, isHeldOut, openUvDataset, writeUvSample } from '../../src/training/uv-dataset-format.js';
import { writeProceduralUvDataset } from '../../src/training/gan/procedural.js';

test('UV dataset: write, finalize, read back (orientation, masks, fill, stats)', async () => {
  await initEngine();
  const dir = await mkdtemp(path.join(tmpdir(), 'ganfit-uvds-'));
  try {
    const r = 8;
    // Sample a: top row red, the rest blue; observed only in the left half.
    const rgb = new Uint8Array(r * r * 3);
    const mask = new Uint8Array(r * r);
    for (let y = 0; y < r; y++) for (let x = 0; x < r; x++) {
      const i = y * r + x;
      rgb.set(y === 0 ? [255, 0, 0] : [0, 0, 255], i * 3);
      mask[i] = x < r / 2 ? 255 : 0;
    }
    const a = await writeUvSample(dir, 'a', rgb, mask, r, { source: 'synthetic' });
    const b = await writeUvSample(dir, 'b', new Uint8Array(r * r * 3).fill(128), new Uint8Array(r * r).fill(255), r);
    await assert.rejects(writeUvSample(dir, '../x', rgb, mask, r));
    const index = await finalizeIndex(dir, { resolution: r, items: [a, b], rejected: [{ source: 'p.jpg', reason: 'no face' }] });
    assert.equal(index.items.length, 2);
    const json = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8'));
    assert.equal(json.version, 1);
    assert.deepEqual(json.rejected, [{ source: 'p.jpg', reason: 'no face' }]);

    for (const fill of ['none', 'mean', 'symmetric+mean'] as const) {
      const ds = await openUvDataset(dir, { fill });
      const batch = await ds.load([0]);
      assert.deepEqual(batch.images.shape, [1, r, r, 3]);
      assert.deepEqual(batch.masks.shape, [1, r, r, 1]);
      const img = batch.images.arraySync()[0]!;
      const m = batch.masks.arraySync()[0]!;
      assert.deepEqual(img[0]![0], [1, -1, -1], 'row 0 of the tensor is the top row of the PNG');
      assert.deepEqual(img[3]![0], [-1, -1, 1]);
      assert.equal(m[0]![0]![0], 1);
      assert.equal(m[0]![r - 1]![0], 0);
      const unobserved = img[3]![r - 1]!;
      if (fill === 'none') assert.deepEqual(unobserved, [-1, -1, 1]);
      // The mean at a right-half texel is item b's grey (only b observes it).
      if (fill === 'mean') unobserved.forEach((v) => assert.ok(Math.abs(v - (128 / 255 * 2 - 1)) < 1e-6));
      if (fill === 'symmetric+mean') assert.deepEqual(unobserved, [-1, -1, 1], 'mirrored from the left half');
      tf.dispose([batch.images, batch.masks]);
    }
    const ds = await openUvDataset(dir, { resolution: 4 });
    assert.equal(ds.resolution, 4);
    assert.ok(Math.abs(ds.coverage[0]! - 1) < 1e-6 && Math.abs(ds.coverage[3]! - 0.5) < 0.01);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('UV dataset: seeded shuffling, resumable cursor, no leaked tensors', async () => {
  await initEngine();
  const dir = await mkdtemp(path.join(tmpdir(), 'ganfit-uvds-'));
  try {
    await writeProceduralUvDataset(dir, 7, 8, 1);
    assert.deepEqual(epochOrder(7, 3, 0), epochOrder(7, 3, 0));
    assert.notDeepEqual(epochOrder(7, 3, 0), epochOrder(7, 3, 1));
    assert.deepEqual([...epochOrder(7, 3, 2)].sort(), [0, 1, 2, 3, 4, 5, 6]);
    const ds = await openUvDataset(dir);
    assert.equal(ds.batchesPerEpoch(3), 2);
    const before = tf.memory().numTensors;
    const seq: string[][] = [];
    const cursors = [];
    const it = ds.batches(3, 5);
    for (let i = 0; i < 5; i++) {
      const b = (await it.next()).value!;
      seq.push(b.ids);
      cursors.push(b.cursor);
      const v = b.images.dataSync();
      assert.ok(Array.from(v as Float32Array).every((x: number) => x >= -1 && x <= 1));
      tf.dispose([b.images, b.masks]);
    }
    await it.return(undefined);
    assert.equal(tf.memory().numTensors, before);
    // Resume after the second batch: the same third, fourth, fifth batches.
    const it2 = ds.batches(3, 5, cursors[1]);
    for (let i = 2; i < 5; i++) {
      const b = (await it2.next()).value!;
      assert.deepEqual(b.ids, seq[i]);
      tf.dispose([b.images, b.masks]);
    }
    await it2.return(undefined);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('UV dataset: held-out split by id hash (stable, disjoint, about 1 in HELD_OUT_EVERY), cached reads', async () => {
  await initEngine();
  const dir = await mkdtemp(path.join(tmpdir(), 'ganfit-uvsplit-'));
  try {
    await writeProceduralUvDataset(dir, 60, 8, 3);
    const all = await openUvDataset(dir);
    const train = await openUvDataset(dir, { split: 'train', cache: true });
    const held = await openUvDataset(dir, { split: 'heldout' });
    assert.equal(train.size + held.size, all.size);
    const heldIds = new Set(held.index.items.map((it) => it.id));
    assert.ok(train.index.items.every((it) => !heldIds.has(it.id) && !isHeldOut(it.id)));
    assert.ok(held.index.items.every((it) => isHeldOut(it.id)));
    // Over many ids the held-out fraction is near 1 / HELD_OUT_EVERY.
    const ids = Array.from({ length: 14000 }, (_, i) => `photo_${i}.jpg.chip`);
    const frac = ids.filter(isHeldOut).length / ids.length;
    assert.ok(Math.abs(frac - 1 / HELD_OUT_EVERY) < 0.01, `held-out fraction ${frac}`);
    // A cached read returns the same tensors as a fresh one.
    const a = await train.load([0, 1]);
    const b = await train.load([0, 1]);
    assert.equal(tf.max(tf.abs(tf.sub(a.images, b.images))).dataSync()[0], 0);
    tf.dispose([a.images, a.masks, b.images, b.masks]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
