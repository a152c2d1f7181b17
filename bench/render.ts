/**
 * Renderer speed figures (wasm backend, one thread). Run alone: `node --import tsx bench/render.ts`.
 * Each timing has a `_cpu_ms` twin: process CPU time per call (user + system), the better figure on a busy machine.
 * Targets (issue 3): the ICT head (24,591 vertices, 48,836 triangles, `loadFaceModel()` mean shape) with a
 * 512×512 UV texture, forward+backward ≤ 20 ms at 224², ≤ 60 ms at 512²; rasterize alone, 100k triangles at
 * 1024², ≤ 50 ms. GANFIT_MODEL=path overrides the asset location (for bundled runs); without the asset a
 * procedural head-sized ellipsoid of the same size stands in. Figures are medians.
 * `render_fwd_bwd_*` is the step a fit takes: render, an MSE loss against a target image, the gradients of every
 * input, each read back to JS; `render_only_fwd_bwd_*` is the renderer's own part of it: forward + backward from a
 * given image gradient, gradients left in tf. `GANFIT_BENCH_PHASES=1` adds a per-phase breakdown of one 224² step. `reference_work_ms` / `reference_work_after_ms`:
 * a fixed workload that touches nothing of ganfit, timed before and after (bench/timing.ts `referenceWorkMs`).
 */
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { tf, initEngine } from '../src/engine/index.js';
import { render, rasterize, modelToCamera, toClip, collectRenderPhases, type PerspectiveCamera, type RenderMesh } from '../src/render/index.js';
import { loadFaceModel, DEFAULT_MODEL_URL } from '../src/model/load.js';
import { modelPositions } from '../src/model/mesh.js';
import { sphere, checkerTexture } from '../test/render/fixtures.js';
import { median, referenceWorkMs } from './timing.js';


/**
 * Median wall-clock ms of `runs` calls after `warmup` calls, and the process CPU time (user + system, ms) per call
 * over the same runs: on a loaded machine the CPU time is the better estimate of what one dedicated core takes.
 * 40 warm-up calls by default: a fit runs hundreds of steps, and the step time settles only after ~40 (per-step
 * phases at 224²: until then the tf part of a step, the loss and its gradient in tf's WebAssembly kernels, takes
 * ~3 ms more in most runs, the renderer's own phases settle within 10; with `node --no-liftoff`, which compiles
 * WebAssembly with the optimising tier up front, it settled within 10 in one run of two: likely V8's tier-up of tf's
 * WebAssembly kernels).
 */
function time(f: () => void, runs: number, warmup = 40): { wall: number; cpu: number } {
  for (let i = 0; i < warmup; i++) f();
  const ts: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  const c = process.cpuUsage(c0);
  return { wall: median(ts), cpu: (c.user + c.system) / 1000 / runs };
}

/** The ICT mean head as typed arrays (or the stand-in ellipsoid when the asset is missing). */
export async function benchHead(): Promise<{ name: string; positions: Float32Array; triangles: Uint32Array; uvs: Float32Array; uvTriangles: Uint32Array }> {
  const location = process.env.GANFIT_MODEL ?? DEFAULT_MODEL_URL;
  if (typeof location === 'string' || existsSync(fileURLToPath(location))) {
    const model = await loadFaceModel(location);
    return { name: 'ict', positions: modelPositions(model, { identity: [], expression: [] }), triangles: model.triangles, uvs: model.uvs, uvTriangles: model.uvTriangles };
  }
  return { name: 'ellipsoid', ...sphere(125, 200, [8, 11, 9], 3) };
}

export async function benchRender(): Promise<Record<string, number>> {
  await initEngine();
  const head = await benchHead();
  const V = head.positions.length / 3;
  const positions = tf.variable(tf.tensor2d(head.positions, [V, 3]));
  const uvs = tf.tensor2d(head.uvs, [head.uvs.length / 2, 2]);
  const texture = tf.variable(tf.tensor3d(checkerTexture(512, 16), [512, 512, 3]));
  const rotation = tf.variable(tf.tensor1d([0.05, 0.3, 0.02]));
  const translation = tf.variable(tf.tensor1d([0, 2, 60]));
  const lightPos = tf.variable(tf.tensor1d([30, -30, 0]));
  // The machine's speed before and after (bench/timing.ts): figures of runs whose reference differs are not comparable.
  const results: Record<string, number> = { reference_work_ms: referenceWorkMs() };
  const mesh: RenderMesh = { positions, triangles: head.triangles, uvs, uvTriangles: head.uvTriangles };
  for (const size of [224, 512]) {
    const camera: PerspectiveCamera = { kind: 'perspective', rotation, translation, focal: size * 1.6 };
    const target = tf.randomUniform([size, size, 3], 0, 1, 'float32', 1);
    const light = { position: lightPos, color: [0.8, 0.8, 0.8], ambient: [0.3, 0.3, 0.3] };
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
    const fb = time(step, size === 224 ? 41 : 21);
    results[`render_fwd_bwd_${size}_ms`] = fb.wall;
    results[`render_fwd_bwd_${size}_cpu_ms`] = fb.cpu;
    // The renderer alone: forward + backward for a given image gradient, no loss ops, gradients left in tf (as in a
    // fit; tf's WebAssembly kernels run eagerly, so nothing is pending when the call returns).
    const dy = tf.randomUniform([size, size, 3], -1, 1, 'float32', 2);
    const renderOnly = () => tf.tidy(() => {
      tf.grads((p: tf.Tensor, tex: tf.Tensor, rot: tf.Tensor, tr: tf.Tensor, lp: tf.Tensor) => render(
        { ...mesh, positions: p as tf.Tensor2D },
        { ...camera, rotation: rot as tf.Tensor1D, translation: tr as tf.Tensor1D },
        { ...light, position: lp as tf.Tensor1D }, tex as tf.Tensor3D, { resolution: [size, size] },
      ).image)([positions, texture, rotation, translation, lightPos], dy);
    });
    const ro = time(renderOnly, size === 224 ? 41 : 21);
    results[`render_only_fwd_bwd_${size}_ms`] = ro.wall;
    results[`render_only_fwd_bwd_${size}_cpu_ms`] = ro.cpu;
    dy.dispose();
    const fwd = () => tf.tidy(() => { render(mesh, camera, light, texture, { resolution: [size, size] }).image.dataSync(); });
    const fo = time(fwd, 15);
    results[`render_fwd_${size}_ms`] = fo.wall;
    results[`render_fwd_${size}_cpu_ms`] = fo.cpu;
    if (process.env.GANFIT_BENCH_PHASES === '1') {
      const n = 20;
      const ph = collectRenderPhases(true)!;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) step();
      const total = (performance.now() - t0) / n;
      collectRenderPhases(false);
      let inRender = 0;
      for (const [k, v] of Object.entries(ph)) { results[`phase_${size}_${k}_ms`] = v / n; inRender += v / n; }
      results[`phase_${size}_rest_tf_ms`] = total - inRender;
    }
    const r = render(mesh, camera, light, texture, { resolution: [size, size] });
    results[`covered_pixels_${size}`] = r.raster.triangleId.reduce((s, t) => s + (t >= 0 ? 1 : 0), 0);
    tf.dispose([r.image, r.alpha, r.depth, r.uv, r.normals]);
    target.dispose();
  }
  const big = sphere(177, 283, [8, 11, 9], 3); // 99,616 triangles
  const clip = tf.tidy(() => {
    const cam: PerspectiveCamera = { kind: 'perspective', rotation: [0.1, 0.3, 0], translation: [0, 0, 60], focal: 2200 };
    return toClip(modelToCamera(tf.tensor2d(big.positions, [big.positions.length / 3, 3]), cam), cam, [1024, 1024]);
  });
  const clipData = clip.dataSync() as Float32Array;
  const ra = time(() => rasterize(clipData, big.triangles, [1024, 1024], { cull: 'back' }), 8);
  results.rasterize_100k_1024_ms = ra.wall;
  results.rasterize_100k_1024_cpu_ms = ra.cpu;
  clip.dispose();
  tf.dispose([positions, uvs, texture, rotation, translation, lightPos]);
  results.reference_work_after_ms = referenceWorkMs();
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await benchRender();
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(34)} ${Number.isInteger(v) ? v : v.toFixed(1)}`);
}
