import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { tf, initEngine } from '../../src/engine/index.js';
import { loadRecognitionNet, faceApiModelDirectory, type RecognitionNet } from '../../src/losses/recognition-net.js';
import { squareCropTransform, warpToChip } from '../../src/losses/align.js';
import { identityLoss } from '../../src/losses/terms.js';
import { rand } from './helpers.js';

const PORTRAITS = '/work/shared/data/portraits';
let net: RecognitionNet;
// face-api's node-wasm build requires the same tfjs instance as src/engine.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let faceapi: any;

before(async () => {
  await initEngine();
  net = await loadRecognitionNet();
  faceapi = createRequire(import.meta.url)('@vladmandic/face-api/dist/face-api.node-wasm.js');
  await faceapi.nets.faceRecognitionNet.loadFromDisk(faceApiModelDirectory());
});

async function loadPortrait(file: string): Promise<tf.Tensor4D> {
  const { data, info } = await sharp(`${PORTRAITS}/${file}`).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return tf.tensor4d(Float32Array.from(data, (v) => v / 255), [1, info.height, info.width, 3]);
}

/** LFW photos are roughly aligned at 250×250: a fixed centre crop (face ≈ 110 px, chip side 150 px). */
function lfwChip(photo: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => warpToChip(photo, squareCropTransform(124.5, 130, 150)));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('embedding matches face-api computeFaceDescriptor to 1e-4 (0..255 and 0..1 inputs)', async () => {
  const inputs = [tf.tensor4d(rand(150 * 150 * 3, 5, 0, 255), [1, 150, 150, 3])];
  if (existsSync(`${PORTRAITS}/Colin_Powell_0004.jpg`)) {
    const p = await loadPortrait('Colin_Powell_0004.jpg');
    inputs.push(tf.tidy(() => tf.mul(lfwChip(p), 255) as tf.Tensor4D));
    p.dispose();
  } else console.log(`skipping the portrait case: ${PORTRAITS} absent`);
  for (const img of inputs) {
    const ref = (await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(img)) as Float32Array;
    const ours = tf.tidy(() => net.embed(img).embedding.dataSync().slice());
    const ours01 = tf.tidy(() => net.embed(tf.div(img, 255) as tf.Tensor4D, { range: 1 }).embedding.dataSync().slice());
    assert.ok(maxAbsDiff(ref, ours) <= 1e-4, `0..255: ${maxAbsDiff(ref, ours)}`);
    assert.ok(maxAbsDiff(ref, ours01) <= 1e-4, `0..1: ${maxAbsDiff(ref, ours01)}`);
    img.dispose();
  }
});

test('input gradient matches plain tfjs autodiff through face-api, and leaks nothing', () => {
  const img = tf.tensor4d(rand(150 * 150 * 3, 6, 0, 255), [1, 150, 150, 3]);
  const r = tf.tensor2d(rand(128, 7), [1, 128]);
  const ours = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(net.embed(x as tf.Tensor4D).embedding, r)));
  const plain = tf.grad((x: tf.Tensor) =>
    tf.sum(tf.mul(faceapi.nets.faceRecognitionNet.forwardInput(new faceapi.NetInput([tf.squeeze(x, [0])])), r)));
  const a = ours(img);
  const b = plain(img);
  const scale = tf.max(tf.abs(b)).dataSync()[0]!;
  const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
  // Same maths, different float32 summation orders through 29 layers: agree to ~1e-4 of the gradient's scale.
  assert.ok(diff <= 1e-3 * scale, `max diff ${diff}, scale ${scale}`);
  tf.dispose([a, b]);
  ours(img).dispose();
  const n = tf.memory().numTensors;
  ours(img).dispose();
  assert.equal(tf.memory().numTensors, n);
  tf.dispose([img, r]);
});

test('identity loss on portraits: ~0 for a photo with itself, lower for the same person than for others', async (t) => {
  const manifest = `${PORTRAITS}/manifest.csv`;
  if (!existsSync(manifest)) { t.skip(`${PORTRAITS} absent`); return; }
  const rows = readFileSync(manifest, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','))
    .filter((r) => r[2] === 'identity');
  const people = ['Colin_Powell', 'Serena_Williams', 'Junichiro_Koizumi', 'Laura_Bush'];
  const emb: { person: string; e: tf.Tensor2D }[] = [];
  for (const person of people) {
    for (const r of rows.filter((x) => x[1] === person).slice(0, 2)) {
      const p = await loadPortrait(r[0]!);
      emb.push({ person, e: tf.tidy(() => net.embed(lfwChip(p), { range: 1 }).embedding) });
      p.dispose();
    }
  }
  const loss = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.tidy(() => identityLoss(a, b).dataSync()[0]!);
  assert.ok(Math.abs(loss(emb[0]!.e, emb[0]!.e)) < 1e-5);
  const same: number[] = [];
  const diff: number[] = [];
  for (let i = 0; i < emb.length; i++) for (let j = i + 1; j < emb.length; j++) {
    (emb[i]!.person === emb[j]!.person ? same : diff).push(loss(emb[i]!.e, emb[j]!.e));
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  console.log(`identity loss: same person ${mean(same).toFixed(4)} (max ${Math.max(...same).toFixed(4)}), ` +
    `different ${mean(diff).toFixed(4)} (min ${Math.min(...diff).toFixed(4)})`);
  assert.ok(mean(same) < mean(diff), 'same person should be closer on average');
  assert.ok(Math.max(...same) < Math.min(...diff) + 0.02, 'same-person pairs should (almost) all beat different-person pairs');
  tf.dispose(emb.map((x) => x.e));
});
