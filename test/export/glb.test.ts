import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { NodeIO, type Document } from '@gltf-transform/core';
import sharp from 'sharp';

import { exportGlb } from '../../src/export/glb.js';
import { parseGlbContainer } from '../../src/io/glb.js';
import { ARKIT_NAMES, vertexNormals } from '../../src/model/mesh.js';
import { fullPositions, ICT_EXPRESSIONS, syntheticModel } from './fixtures.js';

const model = syntheticModel();
const identity = [0.7, -1.2];
const expression = ICT_EXPRESSIONS.map((_, j) => (j % 3 === 0 ? 0.1 + 0.8 * ((j * 37) % 11) / 11 : 0));
const jL = ICT_EXPRESSIONS.indexOf('browInnerUp_L');
const jR = ICT_EXPRESSIONS.indexOf('browInnerUp_R');
expression[jL] = 0.9; // asymmetric split pair: exercises the baked residual
expression[jR] = 0.2;
const jBlink = ICT_EXPRESSIONS.indexOf('eyeBlink_L');
expression[jBlink] = 0.4;

async function png(): Promise<Uint8Array> {
  const raw = Buffer.alloc(4 * 4 * 3, 128);
  return new Uint8Array(await sharp(raw, { raw: { width: 4, height: 4, channels: 3 } }).png().toBuffer());
}

async function read(glb: Uint8Array): Promise<Document> {
  return new NodeIO().readBinary(glb);
}

/** glTF vertex → source vertex, found by position (the grid's positions are distinct). */
function sourceOf(gltfBase: Float32Array, sourceBase: Float64Array): number[] {
  const map: number[] = [];
  for (let k = 0; k < gltfBase.length / 3; k++) {
    let best = -1;
    let bestD = Infinity;
    for (let v = 0; v < sourceBase.length / 3; v++) {
      const d = Math.hypot(
        gltfBase[3 * k]! * 100 - sourceBase[3 * v]!,
        gltfBase[3 * k + 1]! * 100 - sourceBase[3 * v + 1]!,
        gltfBase[3 * k + 2]! * 100 - sourceBase[3 * v + 2]!,
      );
      if (d < bestD) [best, bestD] = [v, d];
    }
    assert.ok(bestD < 1e-4, `glTF vertex ${k} matches no source vertex (${bestD})`);
    map.push(best);
  }
  return map;
}

describe('exportGlb (synthetic model)', () => {
  it('writes a valid container with the texture embedded and the ARKit targets named', async () => {
    const texture = await png();
    const glb = await exportGlb(model, { identity, expression }, texture);
    const container = parseGlbContainer(glb);
    assert.equal(container.version, 2);
    const json = container.json as { meshes: { extras: { targetNames: string[] } }[]; asset: { copyright: string } };
    const names = json.meshes[0]!.extras.targetNames;
    assert.equal(names.length, 52);
    assert.deepEqual([...names].sort(), [...ARKIT_NAMES].sort());
    assert.match(json.asset.copyright, /ICT-FaceKit/);

    const doc = await read(glb);
    const prim = doc.getRoot().listMeshes()[0]!.listPrimitives()[0]!;
    assert.deepEqual(prim.listTargets().map((t) => t.getName()), names);
    const material = prim.getMaterial()!;
    assert.deepEqual([...material.getBaseColorTexture()!.getImage()!], [...texture]);
    assert.equal(material.getBaseColorTexture()!.getMimeType(), 'image/png');
    assert.ok(Math.abs(material.getRoughnessFactor() - 0.6) < 1e-6);
    assert.equal(material.getMetallicFactor(), 0);
  });

  it('splits seam vertices, flips v, scales to metres, and morph deltas follow their source vertex', async () => {
    const doc = await read(await exportGlb(model, { identity, expression }, null));
    const mesh = doc.getRoot().listMeshes()[0]!;
    const prim = mesh.listPrimitives()[0]!;
    const pos = prim.getAttribute('POSITION')!.getArray() as Float32Array;
    // 12 used grid vertices + 3 duplicated at the seam; the unused vertex 12 is gone.
    assert.equal(pos.length / 3, 15);
    assert.equal(prim.getIndices()!.getCount(), model.triangles.length);

    // Reference base: neutral + identity + the asymmetric rest of each split pair (see src/export/glb.ts).
    const base = fullPositions(model, identity, []);
    const n = model.vertexCount * 3;
    for (const pair of ['browInnerUp', 'cheekPuff']) {
      const l = ICT_EXPRESSIONS.indexOf(`${pair}_L`);
      const r = ICT_EXPRESSIONS.indexOf(`${pair}_R`);
      const half = (expression[l]! - expression[r]!) / 2;
      for (let i = 0; i < n; i++) {
        base[i] += half * (model.expressionBasis[l * n + i]! - model.expressionBasis[r * n + i]!);
      }
    }
    const src = sourceOf(pos, base);
    assert.equal(new Set(src).size, 12);

    // Bounding box in metres.
    const accessor = prim.getAttribute('POSITION')!;
    const min = [Infinity, Infinity, Infinity];
    const max = [-Infinity, -Infinity, -Infinity];
    for (const v of new Set(src)) {
      for (let c = 0; c < 3; c++) {
        min[c] = Math.min(min[c]!, base[3 * v + c]! / 100);
        max[c] = Math.max(max[c]!, base[3 * v + c]! / 100);
      }
    }
    accessor.getMin([]).forEach((x, c) => assert.ok(Math.abs(x - min[c]!) < 1e-6));
    accessor.getMax([]).forEach((x, c) => assert.ok(Math.abs(x - max[c]!) < 1e-6));
    assert.ok(max[0]! - min[0]! < 0.1, 'a 6 cm grid is 0.06 m wide');

    // Each glTF corner uses the right source vertex and the flipped UV of the source corner.
    const idx = prim.getIndices()!.getArray()!;
    const uv = prim.getAttribute('TEXCOORD_0')!.getArray()!;
    for (let i = 0; i < idx.length; i++) {
      const k = idx[i]!;
      assert.equal(src[k], model.triangles[i]);
      const u = model.uvTriangles[i]!;
      assert.ok(Math.abs(uv[2 * k]! - model.uvs[2 * u]!) < 1e-7);
      assert.ok(Math.abs(uv[2 * k + 1]! - (1 - model.uvs[2 * u + 1]!)) < 1e-7);
    }

    // Morph deltas: eyeBlinkLeft = eyeBlink_L / 100; browInnerUp = (L + R) / 100; tongueOut = 0.
    const targets = new Map(prim.listTargets().map((t) => [t.getName(), t]));
    const delta = (name: string) => targets.get(name)!.getAttribute('POSITION')!.getArray()!;
    const blink = delta('eyeBlinkLeft');
    const brow = delta('browInnerUp');
    let moved = 0;
    for (let k = 0; k < src.length; k++) {
      for (let c = 0; c < 3; c++) {
        const s = 3 * src[k]! + c;
        const expectBlink = model.expressionBasis[jBlink * n + s]! / 100;
        assert.ok(Math.abs(blink[3 * k + c]! - expectBlink) < 1e-8);
        if (expectBlink !== 0) moved++;
        const expectBrow = (model.expressionBasis[jL * n + s]! + model.expressionBasis[jR * n + s]!) / 100;
        assert.ok(Math.abs(brow[3 * k + c]! - expectBrow) < 1e-8);
      }
    }
    assert.ok(moved > 0, 'the blink moves something');
    assert.ok(Array.from(delta('tongueOut')).every((x) => x === 0));

    // Default weights: fitted (single shapes), the mean for the merged pair, 0 for tongueOut.
    const names = prim.listTargets().map((t) => t.getName());
    const weights = mesh.getWeights();
    assert.ok(Math.abs(weights[names.indexOf('eyeBlinkLeft')]! - 0.4) < 1e-6);
    assert.ok(Math.abs(weights[names.indexOf('browInnerUp')]! - 0.55) < 1e-6);
    assert.equal(weights[names.indexOf('tongueOut')], 0);
  });

  it('the default pose (base + Σ weight · delta) is the fitted face, with or without baking', async () => {
    const fitted = fullPositions(model, identity, expression);
    for (const mode of ['weights', 'baked'] as const) {
      const doc = await read(await exportGlb(model, { identity, expression }, null, { expression: mode }));
      const mesh = doc.getRoot().listMeshes()[0]!;
      const prim = mesh.listPrimitives()[0]!;
      const posed = Float64Array.from(prim.getAttribute('POSITION')!.getArray()!);
      const weights = mesh.getWeights();
      if (mode === 'baked') assert.ok(weights.every((w) => w === 0));
      prim.listTargets().forEach((t, i) => {
        const d = t.getAttribute('POSITION')!.getArray()!;
        for (let k = 0; k < posed.length; k++) posed[k] += weights[i]! * d[k]!;
      });
      const idx = prim.getIndices()!.getArray()!;
      for (let i = 0; i < idx.length; i++) {
        const k = idx[i]!;
        const v = model.triangles[i]!;
        for (let c = 0; c < 3; c++) {
          assert.ok(Math.abs(posed[3 * k + c]! * 100 - fitted[3 * v + c]!) < 1e-4, `${mode}: vertex ${v} axis ${c}`);
        }
      }
    }
  });

  it('writes unit base normals and normal deltas that give the morphed normals', async () => {
    const doc = await read(await exportGlb(model, { identity: [], expression: [] }, null));
    const prim = doc.getRoot().listMeshes()[0]!.listPrimitives()[0]!;
    const pos = prim.getAttribute('POSITION')!.getArray() as Float32Array;
    const nrm = prim.getAttribute('NORMAL')!.getArray()!;
    for (let k = 0; k < nrm.length; k += 3) {
      assert.ok(Math.abs(Math.hypot(nrm[k]!, nrm[k + 1]!, nrm[k + 2]!) - 1) < 1e-5);
      assert.ok(nrm[k + 2]! > 0.5, 'the grid faces +z');
    }
    const target = prim.listTargets().find((t) => t.getName() === 'jawOpen')!;
    const dp = target.getAttribute('POSITION')!.getArray()!;
    const dn = target.getAttribute('NORMAL')!.getArray()!;
    // Expected: normals of the morphed *source* mesh (smooth across the UV seam), at each glTF vertex's source.
    const neutral = fullPositions(model, [], []);
    const src = sourceOf(pos, neutral);
    const n = model.vertexCount * 3;
    const j = ICT_EXPRESSIONS.indexOf('jawOpen');
    const moved = neutral.map((x, i) => x + model.expressionBasis[j * n + i]!);
    const expect = vertexNormals(Float32Array.from(moved), model.triangles);
    let changed = 0;
    for (let k = 0; k < src.length; k++) {
      for (let c = 0; c < 3; c++) {
        assert.ok(Math.abs(nrm[3 * k + c]! + dn[3 * k + c]! - expect[3 * src[k]! + c]!) < 1e-5);
        if (dn[3 * k + c] !== 0) changed++;
      }
    }
    assert.ok(changed > 0);
  });

  it('can keep the split halves and drop the zero targets', async () => {
    const doc = await read(await exportGlb(model, { identity, expression }, null, { keepSplitHalves: true, addMissing: false, morphNormals: false }));
    const mesh = doc.getRoot().listMeshes()[0]!;
    const prim = mesh.listPrimitives()[0]!;
    const names = prim.listTargets().map((t) => t.getName());
    assert.equal(names.length, 51 + 4);
    for (const name of ['browInnerUp', 'browInnerUpLeft', 'browInnerUpRight', 'cheekPuff', 'cheekPuffLeft', 'cheekPuffRight']) {
      assert.ok(names.includes(name), name);
    }
    assert.ok(!names.includes('tongueOut'));
    assert.equal(prim.listTargets()[0]!.getAttribute('NORMAL'), null);
    // The halves carry the fitted weights exactly; the merged target rests at 0.
    const w = mesh.getWeights();
    assert.ok(Math.abs(w[names.indexOf('browInnerUpLeft')]! - 0.9) < 1e-6);
    assert.ok(Math.abs(w[names.indexOf('browInnerUpRight')]! - 0.2) < 1e-6);
    assert.equal(w[names.indexOf('browInnerUp')], 0);
  });

  it('rejects parameter vectors longer than the model', async () => {
    await assert.rejects(exportGlb(model, { identity: [0, 0, 0], expression: [] }, null), /identity coefficients/);
    await assert.rejects(exportGlb(model, { identity: [], expression: new Array(54).fill(0) }, null), /expression weights/);
  });
});
