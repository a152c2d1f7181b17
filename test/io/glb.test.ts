import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { NodeIO } from '@gltf-transform/core';
import sharp from 'sharp';

import { parseGlbContainer, writeGlb } from '../../src/io/glb.js';

async function tinyPng(): Promise<Uint8Array> {
  const raw = Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
  return new Uint8Array(await sharp(raw, { raw: { width: 2, height: 2, channels: 3 } }).png().toBuffer());
}

// A unit quad in the z = 0 plane, two triangles.
const positions = new Float32Array([0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0]);
const normals = new Float32Array([0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1]);
const uvs = new Float32Array([0, 1, 1, 1, 1, 0, 0, 0]);
const indices = new Uint32Array([0, 1, 2, 0, 2, 3]);
const lift = new Float32Array([0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0, 0, 0.25]);
const shift = new Float32Array([0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

describe('writeGlb', () => {
  for (const sparse of [false, true]) {
    it(`writes a valid GLB that reads back (sparse morph targets: ${sparse})`, async () => {
      const png = await tinyPng();
      const glb = await writeGlb({
        positions, normals, uvs, indices, texture: png,
        morphTargets: [
          { name: 'lift', positions: lift, normals: new Float32Array(12) },
          { name: 'shift', positions: shift },
        ],
        weights: [0.25, 0],
        sparseMorphTargets: sparse,
        copyright: 'test',
      });

      const container = parseGlbContainer(glb);
      assert.equal(container.version, 2);
      assert.ok(container.bin && container.bin.byteLength > png.byteLength);
      const json = container.json as {
        meshes: { extras: { targetNames: string[] }; weights: number[] }[];
        accessors: { sparse?: unknown; bufferView?: number }[];
        asset: { copyright: string; generator: string };
      };
      assert.deepEqual(json.meshes[0]!.extras.targetNames, ['lift', 'shift']);
      assert.deepEqual(json.meshes[0]!.weights, [0.25, 0]);
      assert.equal(json.asset.copyright, 'test');
      assert.equal(json.accessors.some((a) => a.sparse !== undefined), sparse);

      const doc = await new NodeIO().readBinary(glb);
      const mesh = doc.getRoot().listMeshes()[0]!;
      assert.deepEqual(mesh.getWeights(), [0.25, 0]);
      const prim = mesh.listPrimitives()[0]!;
      assert.deepEqual([...prim.getAttribute('POSITION')!.getArray()!], [...positions]);
      assert.deepEqual([...prim.getAttribute('NORMAL')!.getArray()!], [...normals]);
      assert.deepEqual([...prim.getAttribute('TEXCOORD_0')!.getArray()!], [...uvs]);
      assert.deepEqual([...prim.getIndices()!.getArray()!], [...indices]);
      const position = prim.getAttribute('POSITION')!;
      assert.deepEqual(position.getMin([]), [0, 0, 0]);
      assert.deepEqual(position.getMax([]), [1, 1, 0]);
      const targets = prim.listTargets();
      assert.deepEqual(targets.map((t) => t.getName()), ['lift', 'shift']);
      assert.deepEqual([...targets[0]!.getAttribute('POSITION')!.getArray()!], [...lift]);
      assert.deepEqual([...targets[0]!.getAttribute('NORMAL')!.getArray()!], new Array(12).fill(0));
      assert.deepEqual([...targets[1]!.getAttribute('POSITION')!.getArray()!], [...shift]);
      assert.equal(targets[1]!.getAttribute('NORMAL'), null);

      const material = prim.getMaterial()!;
      assert.equal(material.getRoughnessFactor(), 0.6);
      assert.equal(material.getMetallicFactor(), 0);
      const texture = material.getBaseColorTexture()!;
      assert.equal(texture.getMimeType(), 'image/png');
      assert.deepEqual([...texture.getImage()!], [...png]);
    });
  }

  it('rejects inconsistent input', async () => {
    await assert.rejects(writeGlb({ positions, indices: new Uint32Array([0, 1, 4]) }), /out of range/);
    await assert.rejects(writeGlb({ positions, indices, uvs: new Float32Array(6) }), /uvs has length 6/);
    await assert.rejects(
      writeGlb({ positions, indices, morphTargets: [{ name: 'a', positions: lift }], weights: [0, 1] }),
      /weights/,
    );
  });
});

describe('parseGlbContainer', () => {
  it('rejects broken containers', async () => {
    const glb = await writeGlb({ positions, indices });
    assert.doesNotThrow(() => parseGlbContainer(glb));
    const badMagic = glb.slice();
    badMagic[0] = 0;
    assert.throws(() => parseGlbContainer(badMagic), /bad magic/);
    assert.throws(() => parseGlbContainer(glb.subarray(0, glb.byteLength - 4)), /header length/);
    const badChunk = glb.slice();
    new DataView(badChunk.buffer).setUint32(12, 3, true);
    assert.throws(() => parseGlbContainer(badChunk), /aligned/);
  });
});
