/**
 * Texture GAN figures, wasm backend, one thread (run alone: `node --import tsx bench/texture.ts [--weights <file>]`):
 * - generator forward, and forward + backward to the latent (the fitting loop's cost), the shipped 256×256 architecture;
 * - one training step of the default preset (G at 256², real maps decoded from their linear projection, batch 16) and images/s, on a procedural dataset in a
 *   temporary directory;
 * - Conv2DBackpropFilter: the wasm kernel vs the cpu backend's kernel (what a cpu fallback would run).
 * Times are medians after a warm-up, wall clock and CPU time of the process; on a shared machine the wall
 * clock moves with the load, the CPU time much less.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tf, initEngine } from '../src/engine/index.js';
import {
  DEFAULT_GENERATOR, generatorFlops, generatorParamSpecs, initParams, loadTextureGenerator, makeTextureGenerator,
} from '../src/texture/gan.js';
import { Rng } from '../src/texture/random.js';
import { writeProceduralUvDataset } from '../src/training/gan/procedural.js';
import { GAN_PRESETS, trainGan } from '../src/training/gan/train.js';

/**
 * Wall-clock median and min, and the median CPU time of this process (user + system): on a shared machine the
 * CPU time is what the call costs one dedicated core (the wasm backend runs on one thread).
 */
function timeIt(runs: number, fn: () => void): { median: number; min: number; cpuMedian: number } {
  fn();
  const t: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
    const dc = process.cpuUsage(c0);
    c.push((dc.user + dc.system) / 1000);
  }
  t.sort((a, b) => a - b);
  c.sort((a, b) => a - b);
  return { median: +t[Math.floor(t.length / 2)]!.toFixed(1), min: +t[0]!.toFixed(1), cpuMedian: +c[Math.floor(c.length / 2)]!.toFixed(1) };
}

function backpropFilter(x: tf.Tensor, dy: tf.Tensor, filterShape: number[]): void {
  const out = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
  out.dataSync();
  out.dispose();
}

type Timing = { median: number; min: number; cpuMedian: number };

export interface TextureBench {
  generator: { config: string; gflopForward: number; params: number; forwardMs: Timing; forwardBackwardLatentMs: Timing; encodeMs?: Timing };
  training: { config: string; batch: number; stepMs: number; stepCpuMs: number; imagesPerSec: number; imagesPerCpuSec: number };
  backpropFilter: { shape: string; wasmMs: number; wasmCpuMs: number; cpuMs: number; speedup: number }[];
}

export async function benchTexture(options: { trainSteps?: number; weights?: string; log?: (line: string) => void } = {}): Promise<TextureBench> {
  const log = options.log ?? (() => {});
  await initEngine();
  // Generator, the fitting path (constant weights, gradient to the latent only).
  // The shipped weights when present (their untrained top levels are skipped, as in the fitting loop), else a
  // random generator of the same architecture (every level computed). `weights`: another weights file (e.g. a
  // run's export), which must load.
  const shipped = options.weights ? await loadTextureGenerator(options.weights) : await loadTextureGenerator().catch(() => null);
  const cfg = shipped?.config ?? DEFAULT_GENERATOR;
  const specs = generatorParamSpecs(cfg);
  const gen = shipped ?? makeTextureGenerator(cfg, initParams(specs, new Rng(1), false));
  const z = tf.tensor2d(new Rng(2).normals(cfg.latentSize), [1, cfg.latentSize]);
  const forwardMs = timeIt(9, () => tf.tidy(() => { gen.forward(z).dataSync(); }));
  const grad = tf.grad((t: tf.Tensor) => tf.mean(tf.square(gen.forward(t as tf.Tensor2D))));
  const forwardBackwardLatentMs = timeIt(9, () => tf.tidy(() => { grad(z).dataSync(); }));
  // The linear projection a fit starts from (the linear path's least squares at 64²), one map, half seen.
  const R = cfg.resolution;
  const half = tf.tidy(() => tf.concat([tf.ones([1, R, R >> 1, 1]), tf.zeros([1, R, R >> 1, 1])], 2)) as tf.Tensor4D;
  const grey = tf.fill([1, R, R, 3], 0.5) as tf.Tensor4D;
  const encodeMs = gen.encode ? timeIt(5, () => tf.tidy(() => { gen.encode!(grey, half).dataSync(); })) : undefined;
  tf.dispose([half, grey]);
  gen.dispose();
  z.dispose();
  if (encodeMs) log(`encode (fit start), 1 map: ${encodeMs.median} ms (min ${encodeMs.min}, CPU ${encodeMs.cpuMedian})`);
  const generator = {
    config: `${options.weights ? `weights ${path.basename(options.weights)}` : shipped ? 'shipped weights' : 'random weights'}, ${cfg.resolution}² latent ${cfg.latentSize} channels ${cfg.channels.join('/')}`,
    gflopForward: +(generatorFlops(cfg) / 1e9).toFixed(3),
    params: specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0),
    forwardMs, forwardBackwardLatentMs, ...(encodeMs ? { encodeMs } : {}),
  };
  log(`generator ${generator.config}: ${generator.gflopForward} GFLOP, ${generator.params} params; forward ${forwardMs.median} ms (min ${forwardMs.min}, CPU ${forwardMs.cpuMedian}), forward+backward to latent ${forwardBackwardLatentMs.median} ms (min ${forwardBackwardLatentMs.min}, CPU ${forwardBackwardLatentMs.cpuMedian})`);

  // Training step at the default configuration.
  const root = await mkdtemp(path.join(tmpdir(), 'ganfit-bench-texture-'));
  let training: TextureBench['training'];
  try {
    const base = GAN_PRESETS.default;
    await writeProceduralUvDataset(path.join(root, 'ds'), 2 * base.batchSize, base.generator.resolution, 1);
    const steps = options.trainSteps ?? 3;
    const stamps: number[] = [];
    const cpu: number[] = [];
    await trainGan({ ...base, steps, logEvery: 1, sampleEvery: 1e9, checkpointEvery: 1e9 }, {
      datasetDir: path.join(root, 'ds'), runDir: path.join(root, 'run'),
      onProgress: () => { stamps.push(performance.now()); const u = process.cpuUsage(); cpu.push((u.user + u.system) / 1000); },
    });
    // The first step includes warm-up; time the rest. CPU time includes sharp's PNG decoding on other threads.
    const per = (stamps[stamps.length - 1]! - stamps[0]!) / Math.max(1, stamps.length - 1);
    const perCpu = (cpu[cpu.length - 1]! - cpu[0]!) / Math.max(1, cpu.length - 1);
    training = {
      config: `default (G ${base.generator.resolution}², ${base.encoder ? 'VAE encoder' : 'real maps from their linear projection'}, batch ${base.batchSize})`, batch: base.batchSize, stepMs: Math.round(per), stepCpuMs: Math.round(perCpu),
      imagesPerSec: +((base.batchSize * 1000) / per).toFixed(2), imagesPerCpuSec: +((base.batchSize * 1000) / perCpu).toFixed(2),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  log(`training step ${training.config}: ${training.stepMs} ms wall (${training.imagesPerSec} images/s), ${training.stepCpuMs} ms CPU (${training.imagesPerCpuSec} images per CPU-second)`);

  // Conv2DBackpropFilter, wasm kernel vs the cpu backend's.
  const shapes: { x: number[]; f: number[] }[] = [
    { x: [1, 64, 64, 16], f: [3, 3, 16, 32] },
    { x: [2, 32, 32, 32], f: [3, 3, 32, 64] },
  ];
  const backprop: TextureBench['backpropFilter'] = [];
  for (const { x: xs, f } of shapes) {
    const rng = new Rng(3);
    const xv = rng.normals(xs.reduce((a, b) => a * b, 1));
    const dys = [xs[0]!, xs[1]!, xs[2]!, f[3]!];
    const dv = rng.normals(dys.reduce((a, b) => a * b, 1));
    await initEngine();
    let x = tf.tensor(xv, xs);
    let dy = tf.tensor(dv, dys);
    const w = timeIt(5, () => backpropFilter(x, dy, f));
    tf.dispose([x, dy]);
    await initEngine({ backend: 'cpu' });
    x = tf.tensor(xv, xs);
    dy = tf.tensor(dv, dys);
    const t0 = performance.now();
    backpropFilter(x, dy, f);
    const cpuMs = performance.now() - t0;
    tf.dispose([x, dy]);
    await initEngine();
    const row = { shape: `x ${xs.join('×')} filter ${f.join('×')}`, wasmMs: w.median, wasmCpuMs: w.cpuMedian, cpuMs: Math.round(cpuMs), speedup: Math.round(cpuMs / w.median) };
    backprop.push(row);
    log(`Conv2DBackpropFilter ${row.shape}: wasm ${row.wasmMs} ms, cpu backend ${row.cpuMs} ms (${row.speedup}×)`);
  }
  return { generator, training, backpropFilter: backprop };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // `--weights <file>`: time that generator instead of the shipped one.
  const at = process.argv.indexOf('--weights');
  const r = await benchTexture({ log: (line) => console.log(line), ...(at > 0 && process.argv[at + 1] ? { weights: process.argv[at + 1] } : {}) });
  console.log(JSON.stringify(r));
}
