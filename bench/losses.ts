/**
 * Speed figures of the losses module (wasm, one thread). Run alone: `node --import tsx bench/losses.ts`.
 * Targets: recognition net forward+backward to a 150×150 input ≤ 150 ms; all losses of one step ≤ 200 ms.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { tf, initEngine } from '../src/engine/index.js';
import { conv2dInputGradient, type InputGradientMethod } from '../src/engine/kernels/conv2d-fast-input-grad.js';
import { loadRecognitionNet, faceApiModelDirectory } from '../src/losses/recognition-net.js';
import { squareCropTransform } from '../src/losses/align.js';
import { computeLosses, photoTarget, totalLoss, type LossWeights } from '../src/losses/terms.js';
import { median } from './timing.js';

function time(f: () => void, runs = 9, warm = 2): number {
  for (let i = 0; i < warm; i++) f();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

export async function benchLosses(log: (line: string) => void = () => {}): Promise<Record<string, number>> {
  await initEngine();
  const out = new Proxy({} as Record<string, number>, {
    set(target, key: string, value: number) { target[key] = value; log(`${key.padEnd(52)} ${value.toFixed(1)}`); return true; },
  });
  const net = await loadRecognitionNet();
  const img = tf.mul(tf.randomUniform([1, 150, 150, 3], 0, 1, 'float32', 1), 255) as tf.Tensor4D;

  out['recognition forward ms'] = time(() => tf.tidy(() => { net.embed(img).embedding.dataSync(); }));
  const g = tf.grad((x: tf.Tensor) => tf.sum(net.embed(x as tf.Tensor4D).embedding));
  out['recognition forward+backward ms'] = time(() => tf.tidy(() => { g(img).dataSync(); }));

  // Baseline: plain tfjs autodiff through face-api's own net (same tfjs instance).
  const faceapi = createRequire(import.meta.url)('@vladmandic/face-api/dist/face-api.node-wasm.js');
  await faceapi.nets.faceRecognitionNet.loadFromDisk(faceApiModelDirectory());
  const gPlain = tf.grad((x: tf.Tensor) =>
    tf.sum(faceapi.nets.faceRecognitionNet.forwardInput(new faceapi.NetInput([tf.squeeze(x, [0])]))));
  out['face-api plain tfjs forward+backward ms'] = time(() => tf.tidy(() => { gPlain(img).dataSync(); }), 5, 1);

  // Strided input-gradient methods on the net's strided layers.
  for (const [name, h, k, ci, co] of [['k7s2 150→72 3→32', 150, 7, 3, 32], ['k3s2 35→17 32→64', 35, 3, 32, 64]] as const) {
    const w = tf.randomNormal([k, k, ci, co], 0, 1, 'float32', 2) as tf.Tensor4D;
    const xShape: [number, number, number, number] = [1, h, h, ci];
    const ho = Math.floor((h - k) / 2) + 1;
    const dy = tf.randomNormal([1, ho, ho, co], 0, 1, 'float32', 3) as tf.Tensor4D;
    for (const m of ['flipped', 'subpixel', 'backprop'] as InputGradientMethod[]) {
      out[`input gradient ${name} ${m} ms`] = time(() => tf.tidy(() => { conv2dInputGradient(dy, w, xShape, 2, 'valid', m).dataSync(); }));
    }
    tf.dispose([w, dy]);
  }

  // All losses of one step given a 256×256 render: gradient of the total with respect to the render.
  const S = 256;
  const photo = tf.randomUniform([1, S, S, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const render = tf.randomUniform([1, S, S, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const mask = tf.ones([1, S, S, 1]) as tf.Tensor4D;
  const chipTransform = squareCropTransform(127.5, 127.5, 200);
  const target = photoTarget(net, photo, chipTransform);
  const lm = tf.randomUniform([1, 68, 2], 60, 200, 'float32', 6) as tf.Tensor3D;
  const det = tf.randomUniform([1, 68, 2], 60, 200, 'float32', 7) as tf.Tensor3D;
  const params = { identity: tf.zeros([100]), expression: tf.zeros([53]), textureLatent: tf.zeros([128]) };
  const weights: LossWeights = { identity: 1, content: 1, pixel: 1, landmark: 1, shapePrior: 1e-3, expressionPrior: 1e-3, texturePrior: 1e-3 };
  const step = tf.grad((r: tf.Tensor) => {
    const terms = computeLosses(net, target, {
      render: r as tf.Tensor4D, photo, mask, projectedLandmarks: lm, detectedLandmarks: det, ...params,
    }, weights);
    return totalLoss(terms, weights);
  });
  out['all losses forward+backward (256² render) ms'] = time(() => tf.tidy(() => { step(render).dataSync(); }));
  tf.dispose([img, photo, render, mask, chipTransform, lm, det, ...Object.values(params)]);
  target.dispose();
  net.dispose();
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchLosses((line) => console.log(line));
}
