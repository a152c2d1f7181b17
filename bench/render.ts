/**
 * Renderer speed figures (wasm backend, one thread). Run alone: `node --import tsx bench/render.ts`.
 * Targets (issue 3): head (~25k vertices, ~50k triangles) forward+backward ≤ 20 ms at 224², ≤ 60 ms at 512²;
 * rasterize alone, 100k triangles at 1024², ≤ 50 ms. Uses the ICT asset when present is a TODO: a procedural
 * head-sized ellipsoid of the same vertex / triangle count stands in.
 */
import { fileURLToPath } from 'node:url';
import { tf, initEngine } from '../src/engine/index.js';
import { render, rasterize, modelToCamera, toClip, type PerspectiveCamera } from '../src/render/index.js';
import { sphere, checkerTexture } from '../test/render/fixtures.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function time(f: () => void, runs: number, warmup = 2): number {
  for (let i = 0; i < warmup; i++) f();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

export async function benchRender(): Promise<Record<string, number>> {
  await initEngine();
  const head = sphere(125, 200, [8, 11, 9], 3); // 24,802 vertices, 49,600 triangles
  const V = head.positions.length / 3;
  const positions = tf.variable(tf.tensor2d(head.positions, [V, 3]));
  const uvs = tf.tensor2d(head.uvs, [head.uvs.length / 2, 2]);
  const texture = tf.variable(tf.tensor3d(checkerTexture(512, 16), [512, 512, 3]));
  const rotation = tf.variable(tf.tensor1d([0.1, 0.3, 0.05]));
  const translation = tf.variable(tf.tensor1d([0, 0, 60]));
  const lightPos = tf.variable(tf.tensor1d([30, -30, 0]));
  const results: Record<string, number> = {};
  for (const size of [224, 512]) {
    const camera: PerspectiveCamera = { kind: 'perspective', rotation, translation, focal: size * 2.2 };
    const target = tf.randomUniform([size, size, 3], 0, 1, 'float32', 1);
    const light = { position: lightPos, color: [0.8, 0.8, 0.8], ambient: [0.3, 0.3, 0.3] };
    const mesh = { positions, triangles: head.triangles, uvs, uvTriangles: head.uvTriangles };
    const step = () => {
      tf.tidy(() => {
        const { grads, value } = tf.variableGrads(() => {
          const r = render(mesh, camera, light, texture, { resolution: [size, size] });
          return tf.mean(tf.square(tf.sub(r.image, target))) as tf.Scalar;
        });
        value.dataSync();
        for (const g of Object.values(grads)) g.dataSync();
      });
    };
    results[`render_fwd_bwd_${size}_ms`] = time(step, size === 224 ? 15 : 8);
    const fwd = () => tf.tidy(() => { render(mesh, camera, light, texture, { resolution: [size, size] }).image.dataSync(); });
    results[`render_fwd_${size}_ms`] = time(fwd, 10);
    target.dispose();
  }
  const big = sphere(177, 283, [8, 11, 9], 3); // 99,616 triangles
  const clip = tf.tidy(() => {
    const cam: PerspectiveCamera = { kind: 'perspective', rotation: [0.1, 0.3, 0], translation: [0, 0, 60], focal: 2200 };
    return toClip(modelToCamera(tf.tensor2d(big.positions, [big.positions.length / 3, 3]), cam), cam, [1024, 1024]);
  });
  const clipData = clip.dataSync() as Float32Array;
  results.rasterize_100k_1024_ms = time(() => rasterize(clipData, big.triangles, [1024, 1024], { cull: 'back' }), 8);
  results.rasterize_100k_1024_nocull_ms = time(() => rasterize(clipData, big.triangles, [1024, 1024]), 5);
  clip.dispose();
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await benchRender();
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(34)} ${v.toFixed(1)}`);
}
