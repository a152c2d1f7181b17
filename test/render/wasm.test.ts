/**
 * The WebAssembly pixel kernels (src/render/wasm): the committed binary is the compiled source, the heap reuses
 * and coalesces freed blocks, and render() forward+backward leaves no memory behind. The kernels' arithmetic is
 * checked by test/render/fused.test.ts (float64 gradient checks, equality with the composed ops).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { tf, initEngine } from '../../src/engine/index.js';
import { pixelModule } from '../../src/render/wasm/pixel.js';
import { render, type PerspectiveCamera } from '../../src/render/index.js';
import { sphere, checkerTexture } from './fixtures.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('pixel-binary.ts is the compiled assembly/pixel.ts (npm run build:wasm --check)', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['scripts/build-wasm.mjs', '--check'], { cwd: root });
  assert.match(stdout, /matches/);
});

test('kernel heap: freed blocks are reused and coalesced, the top comes back down', () => {
  const mod = pixelModule();
  const used0 = mod.usedBytes;
  const a = mod.alloc(1000), b = mod.alloc(5000), c = mod.alloc(70_000);
  assert.ok(b >= a + 1000 && c >= b + 5000 && a % 16 === 0 && b % 16 === 0);
  assert.ok(mod.buffer.byteLength >= c + 70_000);
  mod.release(a, 1000);
  assert.equal(mod.alloc(800), a, 'a freed block that fits is reused');
  mod.release(a, 800);
  mod.release(b, 5000);
  assert.equal(mod.alloc(5900), a, 'neighbouring free blocks coalesce');
  mod.release(a, 5900);
  mod.release(c, 70_000);
  assert.equal(mod.usedBytes, used0);
});

test('render() forward+backward, recorded or not, leaves no kernel memory behind', async () => {
  await initEngine();
  const s = sphere(10, 14, [8, 11, 9], 3);
  const positions = tf.tensor2d(s.positions, [s.positions.length / 3, 3]);
  const mesh = { positions, triangles: s.triangles, uvs: tf.tensor2d(s.uvs, [s.uvs.length / 2, 2]), uvTriangles: s.uvTriangles };
  const texture = tf.tensor3d(checkerTexture(32, 4), [32, 32, 3]);
  const camera: PerspectiveCamera = { kind: 'perspective', rotation: [0.1, 0.3, 0], translation: [0, 0, 60], focal: 60 };
  const light = { position: [20, -20, 0], color: [0.8, 0.8, 0.8], ambient: [0.3, 0.3, 0.3] };
  const step = (size: number) => tf.tidy(() => {
    const g = tf.grad((t: tf.Tensor) => tf.mean(render(mesh, camera, light, t as tf.Tensor3D, { resolution: [size, size] }).image))(texture);
    g.dataSync();
    render(mesh, camera, light, texture, { resolution: [size, size] }).image.dataSync();
  });
  for (const size of [24, 40]) step(size); // the pool's workspaces reach their sizes
  const used = pixelModule().usedBytes;
  for (let i = 0; i < 5; i++) for (const size of [24, 40]) step(size);
  assert.equal(pixelModule().usedBytes, used);
  tf.dispose([positions, mesh.uvs, texture]);
});

test('gamma: the kernels\' table lookup is the TypeScript powKernel\'s, bit for bit (f64) below 1', async () => {
  const { DECODE, ENCODE, powKernel } = await import('../../src/render/shade.js');
  const mod = pixelModule();
  const n = 4000;
  // Log-spaced from 2⁻²⁰ (below the tables) to 2, plus 0, −0, a negative value, NaN and every segment bound near 0.5.
  const xs = Float64Array.from({ length: n }, (_, i) => (i < 4 ? [0, -0, -0.1, NaN][i] : i < 260 ? 0.5 * (1 + (i - 4) / 256) : 2 ** (-20 + (21 * i) / n)));
  for (const table of [DECODE, ENCODE]) {
    const at = { x: mod.alloc(8 * n), f: mod.alloc(table.f.byteLength), out: mod.alloc(8 * n), slope: mod.alloc(8 * n) };
    new Float64Array(mod.buffer, at.x, n).set(xs);
    new Float64Array(mod.buffer, at.f, table.f.length).set(table.f);
    mod.f64.pow(at.x, at.f, table.p, table.lo, table.clampTop ? 1 : 0, at.out, at.slope, n);
    const out = new Float64Array(n), slope = new Float64Array(n);
    powKernel(xs, table, out, slope);
    const wOut = new Float64Array(mod.buffer, at.out, n), wSlope = new Float64Array(mod.buffer, at.slope, n);
    xs.forEach((x, i) => {
      // From 1 up both call their own Math.pow (AssemblyScript's and V8's differ in the last bit).
      if (Number.isNaN(x)) {
        assert.ok([wOut[i], wSlope[i], out[i], slope[i]].every(Number.isNaN), `p = ${table.p}: NaN stays NaN`);
        return;
      }
      const tol = x < 1 ? 0 : 1e-15 * Math.abs(out[i]);
      assert.ok(Math.abs(wOut[i] - out[i]) <= tol && Math.abs(wSlope[i] - slope[i]) <= tol, `p = ${table.p}, x = ${x}: ${wOut[i]} / ${wSlope[i]} vs ${out[i]} / ${slope[i]}`);
    });
    mod.release(at.x, 8 * n); mod.release(at.f, table.f.byteLength); mod.release(at.out, 8 * n); mod.release(at.slope, 8 * n);
  }
});
