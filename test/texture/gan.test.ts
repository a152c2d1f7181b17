import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf, initEngine } from '../../src/engine/index.js';
import { Rng } from '../../src/texture/random.js';
import { avgPool2, convSame, convSameConst, dense, flipFilter, transposeMatrix, upsample2 } from '../../src/texture/ops.js';
import {
  decodeGeneratorWeights, encodeGeneratorWeights, generatorForward, generatorFromWeights, generatorParamSpecs, growGenerator, initParams, isRefinerParam,
  loadTextureGenerator, makeTextureGenerator, QUANTIZED_TENSORS, sampleTextures, TextureWeightsMissingError, type GeneratorConfig, type ParamMap,
} from '../../src/texture/gan.js';
import { discriminatorAtResolution, discriminatorForward, discriminatorParamSpecs, type DiscriminatorConfig } from '../../src/texture/discriminator.js';

const tiny: GeneratorConfig = { latentSize: 6, resolution: 16, channels: [8, 6, 4], pixelNormMaxRes: 8 };

/** Central-difference directional derivative of the scalar f at x along a random direction. */
function fdCheck(f: (t: tf.Tensor) => tf.Scalar, x: tf.Tensor, h: number, tol: number, seed: number): void {
  const g = tf.grad(f)(x);
  const dir = tf.tensor(new Rng(seed).normals(x.size), x.shape);
  const analytic = tf.sum(tf.mul(g, dir)).dataSync()[0]!;
  const fp = f(tf.add(x, tf.mul(dir, h))).dataSync()[0]!;
  const fm = f(tf.sub(x, tf.mul(dir, h))).dataSync()[0]!;
  const numeric = (fp - fm) / (2 * h);
  assert.ok(Math.abs(analytic - numeric) < tol * (Math.abs(numeric) + 1e-3), `analytic ${analytic} vs numeric ${numeric}`);
  tf.dispose([g, dir]);
}

/** Clones of the parameters, for a generator (which takes over and disposes what it is given). */
function copyOf(params: ParamMap): ParamMap {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, tf.clone(v)]));
}

test('convSame, convSameConst and upsample2 gradients match finite differences (cpu float32, wasm)', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await initEngine({ backend });
    tf.tidy(() => {
      const rng = new Rng(5);
      const x = tf.tensor(rng.normals(2 * 5 * 6 * 3), [2, 5, 6, 3]) as tf.Tensor4D;
      const w = tf.tensor(rng.normals(3 * 3 * 3 * 4), [3, 3, 3, 4]) as tf.Tensor4D;
      const w1 = tf.tensor(rng.normals(1 * 1 * 3 * 2), [1, 1, 3, 2]) as tf.Tensor4D;
      const probe = tf.tensor(rng.normals(2 * 5 * 6 * 4), [2, 5, 6, 4]);
      const probe1 = tf.tensor(rng.normals(2 * 5 * 6 * 2), [2, 5, 6, 2]);
      // Reference values: tfjs's own conv2d.
      const ref = tf.conv2d(x, w, 1, 'same');
      assert.ok(tf.max(tf.abs(tf.sub(convSame(x, w), ref))).dataSync()[0]! < 1e-5);
      fdCheck((t) => tf.sum(tf.mul(tf.square(convSame(t as tf.Tensor4D, w)), probe)), x, 1e-2, 2e-2, 1);
      fdCheck((t) => tf.sum(tf.mul(tf.square(convSame(x, t as tf.Tensor4D)), probe)), w, 1e-2, 2e-2, 2);
      fdCheck((t) => tf.sum(tf.mul(tf.square(convSame(t as tf.Tensor4D, w1)), probe1)), x, 1e-2, 2e-2, 3);
      const wf = flipFilter(w); // made outside the differentiated function: it must outlive the backward pass
      fdCheck((t) => tf.sum(tf.mul(tf.square(convSameConst(t as tf.Tensor4D, w, wf)), probe)), x, 1e-2, 2e-2, 4);
      // Against tfjs's own gradients too.
      const gMine = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(convSame(a as tf.Tensor4D, b as tf.Tensor4D), probe)))([x, w]);
      if (backend === 'cpu') {
        const gRef = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), probe)))([x, w]);
        for (let i = 0; i < 2; i++) assert.ok(tf.max(tf.abs(tf.sub(gMine[i]!, gRef[i]!))).dataSync()[0]! < 1e-4);
      }
      const up = upsample2(x);
      assert.ok(tf.max(tf.abs(tf.sub(up, tf.image.resizeNearestNeighbor(x, [10, 12])))).dataSync()[0]! === 0);
      fdCheck((t) => tf.sum(tf.mul(tf.square(upsample2(t as tf.Tensor4D)), tf.ones([2, 10, 12, 3]).mul(tf.range(0, 3).reshape([1, 1, 1, 3])))), x, 1e-2, 2e-2, 5);
    });
  }
  await initEngine();
});

test('generator: shapes, range, latent gradient vs finite differences, no leaks', async () => {
  await initEngine();
  const params = initParams(generatorParamSpecs(tiny), new Rng(2), false);
  const gen = makeTextureGenerator(tiny, copyOf(params));
  const z = tf.tensor2d(new Rng(3).normals(2 * 6), [2, 6]);
  const y = gen.generate(z);
  assert.deepEqual(y.shape, [2, 16, 16, 3]);
  const [lo, hi] = [y.min().dataSync()[0]!, y.max().dataSync()[0]!];
  assert.ok(lo >= 0 && hi <= 1 && hi > lo);
  // Constant (fitting) path equals the trainable path.
  const a = gen.forward(z);
  const b = generatorForward(tiny, params, z);
  assert.ok(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! < 1e-5);
  const probe = tf.tensor(new Rng(9).normals(2 * 16 * 16 * 3), [2, 16, 16, 3]);
  // Small step: leaky-ReLU kinks make the map piecewise linear at the 1e-2 scale of a tiny random network.
  fdCheck((t) => tf.sum(tf.mul(gen.forward(t as tf.Tensor2D), probe)), z, 1e-3, 3e-2, 7);
  tf.dispose([y, a, b]);
  // Leak check around forward + backward, both paths.
  const before = tf.memory().numTensors;
  for (let i = 0; i < 2; i++) {
    const g1 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gen.forward(t as tf.Tensor2D), probe)))(z);
    const g2 = tf.grads((t: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(generatorForward(tiny, { ...params, 'r8/conv/w': w }, t as tf.Tensor2D), probe)))([z, params['r8/conv/w']!]);
    tf.dispose([g1, ...g2]);
  }
  assert.equal(tf.memory().numTensors, before);
  gen.dispose();
  tf.dispose([z, probe]);
});

test('weights file: round trip (bin and folder), missing weights throw a catchable error', async () => {
  await initEngine();
  const dir = await mkdtemp(path.join(tmpdir(), 'ganfit-gan-'));
  try {
    const params = initParams(generatorParamSpecs(tiny), new Rng(4), false);
    const bytes = encodeGeneratorWeights(tiny, params, { note: 'test' });
    const file = path.join(dir, 'g.bin');
    await writeFile(file, bytes);
    const { header, data } = decodeGeneratorWeights(bytes);
    await mkdir(path.join(dir, 'folder'));
    await writeFile(path.join(dir, 'folder', 'model.json'), JSON.stringify(header));
    await writeFile(path.join(dir, 'folder', 'weights.bin'), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    const ref = makeTextureGenerator(tiny, copyOf(params));
    const z = tf.tensor2d(new Rng(1).normals(12), [2, 6]);
    for (const src of [file, path.join(dir, 'folder')]) {
      const g = await loadTextureGenerator(src);
      assert.equal(g.latentSize, 6);
      assert.deepEqual(g.info, { note: 'test' });
      assert.equal(tf.max(tf.abs(tf.sub(g.generate(z), ref.generate(z)))).dataSync()[0], 0);
      g.dispose();
    }
    await assert.rejects(loadTextureGenerator(path.join(dir, 'none.bin')), TextureWeightsMissingError);
    // Seeded sampling is reproducible.
    const s1 = sampleTextures(ref, 5, 42);
    const s2 = sampleTextures(ref, 5, 42);
    assert.equal(s1.maps.length, 5);
    assert.equal(s1.maps[0]!.length, 16 * 16 * 3);
    assert.deepEqual(s1.maps[4], s2.maps[4]);
    assert.notDeepEqual(s1.maps[0], s1.maps[1]);
    ref.dispose();
    z.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('default loader path: shipped weights or a TextureWeightsMissingError', async () => {
  await initEngine();
  try {
    const g = await loadTextureGenerator();
    assert.ok(g.latentSize >= 128 && g.resolution >= 256);
    g.dispose();
  } catch (e) {
    assert.ok(e instanceof TextureWeightsMissingError, String(e));
  }
});

test('bilinearUp2 equals resizeBilinear (half-pixel centres) and its gradient matches finite differences', async () => {
  await initEngine();
  const { bilinearUp2 } = await import('../../src/texture/ops.js');
  tf.tidy(() => {
    const x = tf.tensor(new Rng(8).normals(2 * 4 * 5 * 3), [2, 4, 5, 3]) as tf.Tensor4D;
    const ref = tf.image.resizeBilinear(x, [8, 10], false, true);
    assert.ok(tf.max(tf.abs(tf.sub(bilinearUp2(x), ref))).dataSync()[0]! < 1e-5);
    const probe = tf.tensor(new Rng(9).normals(2 * 8 * 10 * 3), [2, 8, 10, 3]);
    fdCheck((t) => tf.sum(tf.mul(tf.square(bilinearUp2(t as tf.Tensor4D)), probe)), x, 1e-2, 2e-2, 10);
  });
});

test('dense, avgPool2 and flipFilter equal tfjs ops, gradients equal tfjs autodiff (cpu, wasm)', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await initEngine({ backend });
    tf.tidy(() => {
      const rng = new Rng(9);
      const x = tf.tensor2d(rng.normals(5 * 7), [5, 7]);
      const w = tf.tensor2d(rng.normals(7 * 3), [7, 3]);
      const b = tf.tensor1d(rng.normals(3));
      const probe = tf.tensor2d(rng.normals(5 * 3), [5, 3]);
      const mine = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(tf.square(dense(a as tf.Tensor2D, c as tf.Tensor2D, d)), probe)))([x, w, b]);
      const ref = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(tf.square(tf.add(tf.matMul(a as tf.Tensor2D, c as tf.Tensor2D), d)), probe)))([x, w, b]);
      for (let i = 0; i < 3; i++) assert.ok(tf.max(tf.abs(tf.sub(mine[i]!, ref[i]!))).dataSync()[0]! < 1e-4, `dense grad ${i}`);
      const img = tf.tensor4d(rng.normals(2 * 6 * 4 * 3), [2, 6, 4, 3]);
      const probe4 = tf.tensor4d(rng.normals(2 * 3 * 2 * 3), [2, 3, 2, 3]);
      assert.ok(tf.max(tf.abs(tf.sub(avgPool2(img), tf.avgPool(img, 2, 2, 'valid')))).dataSync()[0]! < 1e-6);
      const gp = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.square(avgPool2(t as tf.Tensor4D)), probe4)))(img);
      const gr = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.square(tf.avgPool(t as tf.Tensor4D, 2, 2, 'valid')), probe4)))(img);
      assert.ok(tf.max(tf.abs(tf.sub(gp, gr))).dataSync()[0]! < 1e-5, 'avgPool2 grad');
      const k = tf.tensor4d(rng.normals(3 * 3 * 2 * 4), [3, 3, 2, 4]);
      const flipped = tf.transpose(tf.reverse(k, [0, 1]), [0, 1, 3, 2]);
      assert.equal(tf.max(tf.abs(tf.sub(flipFilter(k), flipped))).dataSync()[0], 0);
    });
  }
  await initEngine();
});

test('growGenerator: the grown maps are the original ones upsampled bilinearly ×2 per added level', async () => {
  await initEngine();
  const before = tf.memory().numTensors;
  const params = initParams(generatorParamSpecs(tiny), new Rng(4), false);
  const grown = growGenerator(tiny, params, 64, [4, 4], new Rng(5));
  assert.equal(grown.config.resolution, 64);
  tf.tidy(() => {
    const z = tf.tensor2d(new Rng(6).normals(2 * tiny.latentSize), [2, tiny.latentSize]);
    const small = generatorForward(tiny, params, z);
    const big = generatorForward(grown.config, grown.params, z);
    assert.deepEqual(big.shape, [2, 64, 64, 3]);
    const expected = tf.image.resizeBilinear(tf.image.resizeBilinear(small, [32, 32], false, true), [64, 64], false, true);
    assert.ok(tf.max(tf.abs(tf.sub(big, expected))).dataSync()[0]! < 1e-4);
  });
  // A loaded grown generator skips the untrained levels' convolutions: same maps.
  const loaded = makeTextureGenerator(grown.config, copyOf(grown.params));
  tf.tidy(() => {
    const z = tf.tensor2d(new Rng(7).normals(2 * tiny.latentSize), [2, tiny.latentSize]);
    const diff = tf.max(tf.abs(tf.sub(loaded.forward(z), generatorForward(grown.config, grown.params, z)))).dataSync()[0]!;
    assert.ok(diff < 1e-4, `skipped levels change the maps by ${diff}`);
  });
  loaded.dispose();
  tf.dispose([...Object.values(params), ...Object.values(grown.params)]);
  assert.equal(tf.memory().numTensors, before);
});

test('linear path and layerless levels: G(z) = up(convolutional RGB) + base + W·z; const = trainable path, gradients, no leaks', async () => {
  await initEngine();
  const cfg: GeneratorConfig = { latentSize: 6, resolution: 32, channels: [8, 6, 0, 0], pixelNormMaxRes: 8, baseResolution: 16, linearResolution: 16 };
  assert.throws(() => generatorParamSpecs({ ...cfg, channels: [8, 0, 6, 0] }), /zeros/);
  assert.throws(() => generatorParamSpecs({ ...cfg, linearResolution: 32 }), /baseResolution/);
  const specs = generatorParamSpecs(cfg);
  assert.ok(!specs.some((s) => s.name.startsWith('r16/') || s.name.startsWith('r32/')), 'layerless levels have no parameters');
  const before = tf.memory().numTensors;
  const params = initParams(specs, new Rng(11), false);
  const rng = new Rng(12);
  params.base!.dispose();
  params.base = tf.tensor(rng.normals(16 * 16 * 3), [1, 16, 16, 3]);
  params['linear/w']!.dispose();
  params['linear/w'] = tf.tensor(rng.normals(6 * 16 * 16 * 3), [6, 16 * 16 * 3]);
  const scale = specs.find((s) => s.name === 'linear/w')!.scale;
  const gen = makeTextureGenerator(cfg, copyOf(params));
  assert.equal(gen.directionalLatent, false);
  tf.tidy(() => {
    const z = tf.tensor2d(new Rng(13).normals(2 * 6), [2, 6]);
    // With the layers' toRGB zeroed, the generator is exactly the linear model, upsampled.
    const zeroRgb = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, k.endsWith('/rgb/w') || k.endsWith('/rgb/b') ? tf.zerosLike(v) : v]));
    const linear = tf.add(tf.reshape(tf.matMul(z, tf.mul(params['linear/w']!, scale) as tf.Tensor2D), [2, 16, 16, 3]), params.base!) as tf.Tensor4D;
    const expected = tf.image.resizeBilinear(linear, [32, 32], false, true);
    assert.ok(tf.max(tf.abs(tf.sub(generatorForward(cfg, zeroRgb, z), expected))).dataSync()[0]! < 1e-4);
    // The loaded (constant) path equals the trainable one, and the raw latent's length matters.
    const a = gen.forward(z);
    assert.ok(tf.max(tf.abs(tf.sub(a, generatorForward(cfg, params, z)))).dataSync()[0]! < 1e-4);
    assert.ok(tf.max(tf.abs(tf.sub(gen.forward(tf.mul(z, 2) as tf.Tensor2D), a))).dataSync()[0]! > 1e-2);
  });
  const z = tf.tensor2d(new Rng(14).normals(2 * 6), [2, 6]);
  const probe = tf.tensor(new Rng(15).normals(2 * 32 * 32 * 3), [2, 32, 32, 3]);
  // Finite differences on the smooth part (the layers' leaky-ReLU kinks make random-weight FD unreliable; the
  // layers' gradients are checked in the tests above): the loaded linear model.
  const linearOnly = makeTextureGenerator(cfg, Object.fromEntries(Object.entries(params).map(([k, v]) => [k, k.includes('/rgb/') ? tf.zerosLike(v) : tf.clone(v)])));
  tf.tidy(() => fdCheck((t) => tf.sum(tf.mul(linearOnly.forward(t as tf.Tensor2D), probe)), z, 1e-2, 1e-2, 16));
  linearOnly.dispose();
  // Gradients of the trainable path to W and the latent agree with the constant path's latent gradient.
  const [gz, gw] = tf.grads((t: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(generatorForward(cfg, { ...params, 'linear/w': w }, t as tf.Tensor2D), probe)))([z, params['linear/w']!]);
  const gzConst = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gen.forward(t as tf.Tensor2D), probe)))(z);
  tf.tidy(() => assert.ok(tf.max(tf.abs(tf.sub(gz!, gzConst))).dataSync()[0]! < 1e-3 * (tf.max(tf.abs(gzConst)).dataSync()[0]! + 1)));
  // A frozen W (trainer): the same maps and latent gradient, and the base still gets its gradient.
  const wT = tf.tidy(() => transposeMatrix(tf.mul(params['linear/w']!, scale) as tf.Tensor2D));
  tf.tidy(() => {
    assert.ok(tf.max(tf.abs(tf.sub(generatorForward(cfg, params, z, wT), generatorForward(cfg, params, z)))).dataSync()[0]! < 1e-4);
    const [gzF, gbF] = tf.grads((t: tf.Tensor, bm: tf.Tensor) => tf.sum(tf.mul(generatorForward(cfg, { ...params, base: bm }, t as tf.Tensor2D, wT), probe)))([z, params.base!]);
    const [, gb] = tf.grads((t: tf.Tensor, bm: tf.Tensor) => tf.sum(tf.mul(generatorForward(cfg, { ...params, base: bm }, t as tf.Tensor2D), probe)))([z, params.base!]);
    assert.ok(tf.max(tf.abs(tf.sub(gzF!, gz!))).dataSync()[0]! < 1e-3 * (tf.max(tf.abs(gz!)).dataSync()[0]! + 1));
    assert.ok(tf.max(tf.abs(tf.sub(gbF!, gb!))).dataSync()[0]! < 1e-4);
  });
  wT.dispose();
  tf.tidy(() => fdCheck((w) => tf.sum(tf.mul(generatorForward(cfg, { ...params, 'linear/w': w }, z), probe)), params['linear/w']!, 1e-2, 1e-2, 17));
  tf.dispose([gz!, gw!, gzConst, z, probe]);
  gen.dispose();
  tf.dispose(Object.values(params));
  assert.equal(tf.memory().numTensors, before);
});

test('weights file with an encoder: round trip, encode = the encoder network on the fill-completed, pooled maps', async () => {
  await initEngine();
  const before = tf.memory().numTensors;
  const cfg: GeneratorConfig = { latentSize: 6, resolution: 16, channels: [8, 6, 0], pixelNormMaxRes: 8, baseResolution: 16, linearResolution: 16 };
  const encCfg: DiscriminatorConfig = { resolution: 8, channels: [8, 16], outputs: 12, minibatchStd: false };
  const params = initParams(generatorParamSpecs(cfg), new Rng(21), false);
  const encParams = initParams(discriminatorParamSpecs(encCfg), new Rng(22), false);
  const bytes = encodeGeneratorWeights(cfg, params, undefined, { config: encCfg, params: encParams });
  const { header, data } = decodeGeneratorWeights(bytes);
  assert.deepEqual(header.encoder, encCfg);
  const g = generatorFromWeights(header, data);
  assert.ok(g.encode);
  tf.tidy(() => {
    const rng = new Rng(23);
    const maps = tf.tensor(Float32Array.from(rng.normals(2 * 16 * 16 * 3), (v) => 0.5 + 0.2 * v), [2, 16, 16, 3]) as tf.Tensor4D;
    const all = tf.ones([2, 16, 16, 1]) as tf.Tensor4D;
    // Fully seen maps: the encoder sees the 2×2-averaged map in [−1, 1] with visibility 1.
    const expected = tf.slice(discriminatorForward(encCfg, encParams, tf.sub(tf.mul(avgPool2(maps), 2), 1) as tf.Tensor4D, tf.ones([2, 8, 8, 1]) as tf.Tensor4D), [0, 0], [2, 6]);
    const mu = g.encode!(maps, all);
    assert.deepEqual(mu.shape, [2, 6]);
    assert.ok(tf.max(tf.abs(tf.sub(mu, expected))).dataSync()[0]! < 1e-4);
    // Unseen texels do not matter.
    const half = tf.concat([tf.ones([2, 16, 8, 1]), tf.zeros([2, 16, 8, 1])], 2) as tf.Tensor4D;
    const other = tf.where(tf.cast(half, 'bool'), maps, tf.zerosLike(maps)) as tf.Tensor4D;
    assert.ok(tf.max(tf.abs(tf.sub(g.encode!(maps, half), g.encode!(other, half)))).dataSync()[0]! < 1e-5);
  });
  g.dispose();
  // Without an encoder: the linear path's least squares where there is one, else no encode.
  const plain = generatorFromWeights(decodeGeneratorWeights(encodeGeneratorWeights(cfg, params)).header, decodeGeneratorWeights(encodeGeneratorWeights(cfg, params)).data);
  assert.equal(plain.encode !== undefined, cfg.linearResolution !== undefined);
  plain.dispose();
  tf.dispose([...Object.values(params), ...Object.values(encParams)]);
  assert.equal(tf.memory().numTensors, before);
});

test('weights file: the linear path and base map in 8 bits (per-block affine), within half a step, both layouts', async () => {
  await initEngine();
  const before = tf.memory().numTensors;
  const cfg: GeneratorConfig = { latentSize: 6, resolution: 32, channels: [8, 6, 0, 0], pixelNormMaxRes: 8, baseResolution: 32, linearResolution: 32 };
  const params = initParams(generatorParamSpecs(cfg), new Rng(31), false);
  // W (zero-initialised) gets blocks of very different ranges; one block constant.
  const w = new Rng(32).normals(6 * 32 * 32 * 3).map((v, i) => (i < 1024 ? 3 : v * (1 + (i >> 10))));
  params['linear/w']!.dispose();
  params['linear/w'] = tf.tensor2d(w, [6, 32 * 32 * 3]);
  assert.deepEqual([...QUANTIZED_TENSORS], ['linear/w', 'base']);
  const bytes = encodeGeneratorWeights(cfg, params);
  const plainBytes = 4 * generatorParamSpecs(cfg).reduce((n, sp) => n + sp.shape.reduce((a, b) => a * b, 1), 0);
  assert.ok(bytes.byteLength < 0.4 * plainBytes, `8-bit W: ${bytes.byteLength} of ${plainBytes} bytes`);
  const { header, data } = decodeGeneratorWeights(bytes);
  assert.equal(header.tensors.some((t) => t.encoding), false, 'decoded header: plain float32 offsets');
  const entry = header.tensors.find((t) => t.name === 'linear/w')!;
  const decoded = data.subarray(entry.offset, entry.offset + w.length);
  for (let k = 0; k < w.length; k += 1024) {
    const block = w.subarray(k, k + 1024);
    const range = Math.max(...block) - Math.min(...block);
    for (let i = 0; i < block.length; i++) assert.ok(Math.abs(decoded[k + i]! - block[i]!) <= range / 510 * 1.0001 + 1e-6, `W[${k + i}]`);
  }
  assert.equal(decoded[5], 3, 'a constant block is exact');
  // The folder layout reads the same 8-bit payload.
  const dir = await mkdtemp(path.join(tmpdir(), 'ganfit-gan8-'));
  try {
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const len = view.getUint32(4, true);
    const rawHeader = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))) as { version: number };
    assert.equal(rawHeader.version, 2);
    await writeFile(path.join(dir, 'model.json'), JSON.stringify(rawHeader));
    await writeFile(path.join(dir, 'weights.bin'), bytes.subarray(Math.ceil((8 + len) / 4) * 4));
    await writeFile(path.join(dir, 'g.bin'), bytes);
    const z = tf.tensor2d(new Rng(33).normals(12), [2, 6]);
    const ref = generatorFromWeights(header, data);
    for (const src of [dir, path.join(dir, 'g.bin')]) {
      const g = await loadTextureGenerator(src);
      assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(g.generate(z), ref.generate(z)))).dataSync()[0]), 0);
      g.dispose();
    }
    ref.dispose();
    z.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  tf.dispose(Object.values(params));
  assert.equal(tf.memory().numTensors, before);
});

test('refiner: x + f(x) at the output resolution; zero last layer = no refiner; const = trainable = plain tfjs ops, gradients, file round trip', async () => {
  await initEngine();
  const plain: GeneratorConfig = { latentSize: 6, resolution: 16, channels: [8, 6, 0], pixelNormMaxRes: 8, baseResolution: 16, linearResolution: 16 };
  const cfg: GeneratorConfig = { ...plain, refiner: [5, 4] };
  assert.throws(() => generatorParamSpecs({ ...cfg, refiner: [0] }), /refiner/);
  assert.throws(() => growGenerator(cfg, {}, 32, [4], new Rng(1)), /refiner/);
  const specs = generatorParamSpecs(cfg);
  assert.deepEqual(specs.filter((s) => isRefinerParam(s.name)).map((s) => `${s.name}:${s.shape.join('x')}:${s.init}`),
    ['refine0/w:3x3x3x5:normal', 'refine0/b:5:zeros', 'refine1/w:3x3x5x4:normal', 'refine1/b:4:zeros', 'refine2/w:3x3x4x3:zeros', 'refine2/b:3:zeros']);
  const before = tf.memory().numTensors;
  const params = initParams(specs, new Rng(21), false);
  const rng = new Rng(22);
  params['linear/w']!.dispose();
  params['linear/w'] = tf.tensor(rng.normals(6 * 16 * 16 * 3), [6, 16 * 16 * 3]);
  const z = tf.tensor2d(new Rng(23).normals(2 * 6), [2, 6]);
  // As initialised (last layer zero): exactly the generator without a refiner.
  const withoutRefiner = Object.fromEntries(Object.entries(params).filter(([k]) => !k.startsWith('refine')));
  tf.tidy(() => assert.ok(tf.max(tf.abs(tf.sub(generatorForward(cfg, params, z), generatorForward(plain, withoutRefiner, z)))).dataSync()[0]! < 1e-6));
  params['refine2/w']!.dispose();
  params['refine2/w'] = tf.tensor(rng.normals(9 * 4 * 3), [3, 3, 4, 3]);
  const scaleOf = (name: string) => specs.find((s) => s.name === name)!.scale;
  // The refiner in plain tfjs ops (autodiff gradients) on the refiner-less maps.
  const reference = (t: tf.Tensor2D, w0: tf.Tensor): tf.Tensor4D => {
    const x = generatorForward(plain, withoutRefiner, t);
    const conv = (h: tf.Tensor4D, k: number, w: tf.Tensor) => tf.add(tf.conv2d(h, tf.mul(w, scaleOf(`refine${k}/w`)) as tf.Tensor4D, 1, 'same'), params[`refine${k}/b`]!) as tf.Tensor4D;
    const h1 = tf.leakyRelu(conv(x, 0, w0), 0.2) as tf.Tensor4D;
    const h2 = tf.leakyRelu(conv(h1, 1, params['refine1/w']!), 0.2) as tf.Tensor4D;
    return tf.add(x, conv(h2, 2, params['refine2/w']!)) as tf.Tensor4D;
  };
  const gen = makeTextureGenerator(cfg, copyOf(params));
  const probe = tf.tensor(new Rng(24).normals(2 * 16 * 16 * 3), [2, 16, 16, 3]);
  tf.tidy(() => {
    const expected = reference(z, params['refine0/w']!);
    assert.ok(tf.max(tf.abs(tf.sub(generatorForward(cfg, params, z), expected))).dataSync()[0]! < 1e-4, 'trainable path');
    assert.ok(tf.max(tf.abs(tf.sub(gen.forward(z), expected))).dataSync()[0]! < 1e-4, 'loaded (constant) path');
    assert.ok(tf.max(tf.abs(tf.sub(expected, generatorForward(plain, withoutRefiner, z)))).dataSync()[0]! > 1e-2, 'the refiner changes the maps');
    const close = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! < 1e-3 * (tf.max(tf.abs(b)).dataSync()[0]! + 1);
    // Latent gradients (trainable, constant) and the refiner weights' gradient equal autodiff of the plain ops.
    const [gzRef, gwRef] = tf.grads((t: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(reference(t as tf.Tensor2D, w), probe)))([z, params['refine0/w']!]);
    const [gz, gw] = tf.grads((t: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(generatorForward(cfg, { ...params, 'refine0/w': w }, t as tf.Tensor2D), probe)))([z, params['refine0/w']!]);
    const gzConst = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gen.forward(t as tf.Tensor2D), probe)))(z);
    assert.ok(close(gz!, gzRef!) && close(gzConst, gzRef!) && close(gw!, gwRef!), 'gradients');
  });
  // The weights file carries the refiner (its config and tensors).
  const decoded = decodeGeneratorWeights(encodeGeneratorWeights(cfg, params));
  assert.deepEqual(decoded.header.config.refiner, [5, 4]);
  const loaded = generatorFromWeights(decoded.header, decoded.data);
  // (W and the base map are stored in 8 bits, the refiner in float32.)
  const refine2 = decoded.header.tensors.find((t) => t.name === 'refine2/w')!;
  assert.equal(refine2.encoding, undefined);
  assert.deepEqual(Array.from(decoded.data.subarray(refine2.offset, refine2.offset + 9 * 4 * 3)), Array.from(params['refine2/w']!.dataSync()));
  tf.tidy(() => assert.ok(tf.max(tf.abs(tf.sub(loaded.generate(z), gen.generate(z)))).dataSync()[0]! < 0.02));
  loaded.dispose();
  gen.dispose();
  tf.dispose([z, probe, ...Object.values(params)]);
  assert.equal(tf.memory().numTensors, before);
});

test('discriminatorAtResolution: narrow levels prepended per doubling; the finer D runs on full-resolution maps', async () => {
  await initEngine();
  const coarse: DiscriminatorConfig = { resolution: 8, channels: [8, 16] };
  assert.deepEqual(discriminatorAtResolution(coarse, 8), coarse);
  const fine = discriminatorAtResolution(coarse, 32);
  assert.deepEqual(fine, { resolution: 32, channels: [4, 4, 8, 16] });
  assert.deepEqual(discriminatorAtResolution({ resolution: 8, channels: [32, 64] }, 16).channels, [16, 32, 64]);
  for (const bad of [4, 12, 24]) assert.throws(() => discriminatorAtResolution(coarse, bad), /resolution/);
  const params = initParams(discriminatorParamSpecs(fine), new Rng(5), false);
  const maps = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  const masks = tf.ones([2, 32, 32, 1]) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const logits = discriminatorForward(fine, params, maps, masks);
  assert.deepEqual(logits.shape, [2, 1]);
  assert.ok([...logits.dataSync()].every(Number.isFinite));
  logits.dispose();
  assert.equal(tf.memory().numTensors, before, 'no leaked tensors');
  tf.dispose([...Object.values(params), maps, masks]);
});
