/** The exporters on the committed ICT-FaceKit asset (skipped when assets/ict-face-model.bin is absent). */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';

import { NodeIO } from '@gltf-transform/core';

import { exportGlb } from '../../src/export/glb.js';
import { exportObj } from '../../src/export/obj.js';
import { splitUvSeams } from '../../src/export/geometry.js';
import { parseGlbContainer } from '../../src/io/glb.js';
import { readObj } from '../../src/io/obj.js';
import { DEFAULT_MODEL_URL, loadFaceModel } from '../../src/model/load.js';
import { ARKIT_NAMES, meshFromParams } from '../../src/model/mesh.js';
import { lcg } from './fixtures.js';

const skip = existsSync(DEFAULT_MODEL_URL) ? false : 'assets/ict-face-model.bin not present';

describe('exporters on the ICT-FaceKit model', { skip }, () => {
  it('GLB: 52 ARKit targets, seam-split vertices, metres, local blendshapes, reasonable size', async () => {
    const model = await loadFaceModel();
    const rand = lcg(3);
    const identity = Array.from({ length: model.identityCount }, () => rand());
    const expression = model.expressionNames.map((_, j) => (j % 5 === 0 ? 0.5 : 0));
    const png = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]); // stands in for a texture: embedded as is
    const glb = await exportGlb(model, { identity, expression }, png);
    assert.ok(glb.byteLength < 40e6, `GLB is ${glb.byteLength} bytes`);
    parseGlbContainer(glb);

    const doc = await new NodeIO().readBinary(glb);
    const mesh = doc.getRoot().listMeshes()[0]!;
    const prim = mesh.listPrimitives()[0]!;
    const names = prim.listTargets().map((t) => t.getName());
    assert.deepEqual(names, [...ARKIT_NAMES]);
    const vertexCount = prim.getAttribute('POSITION')!.getCount();
    assert.equal(vertexCount, splitUvSeams(model.triangles, model.uvTriangles).sourceVertex.length);
    assert.ok(vertexCount > model.vertexCount, 'seam vertices were split');
    assert.deepEqual([...prim.getMaterial()!.getBaseColorTexture()!.getImage()!], [...png]);

    // The head is some 0.15–0.4 m across in every axis: metres, not centimetres.
    const position = prim.getAttribute('POSITION')!;
    const min = position.getMin([]);
    const max = position.getMax([]);
    for (let c = 0; c < 3; c++) assert.ok(max[c]! - min[c]! > 0.1 && max[c]! - min[c]! < 0.5, `extent ${c}`);

    // eyeBlinkLeft moves the subject's left eyelid (+x); jawOpen moves the chin a few cm down.
    const delta = (name: string) => prim.listTargets()[names.indexOf(name)]!.getAttribute('POSITION')!;
    const pos = position.getArray()!;
    const blink = delta('eyeBlinkLeft');
    let left = 0;
    let right = 0;
    const el: number[] = [];
    for (let k = 0; k < vertexCount; k++) {
      blink.getElement(k, el);
      const size = Math.hypot(el[0]!, el[1]!, el[2]!);
      if (pos[3 * k]! > 0) left += size;
      else right += size;
    }
    assert.ok(left > 10 * right, `blink left ${left} right ${right}`);
    const jaw = delta('jawOpen');
    let minY = 0;
    for (let k = 0; k < vertexCount; k++) minY = Math.min(minY, jaw.getElement(k, el)[1]!);
    assert.ok(minY < -0.01 && minY > -0.1, `jawOpen lowest Δy ${minY} m`);
    assert.ok(Array.from(delta('tongueOut').getArray()!).every((x) => x === 0));
  });

  it('OBJ: the fitted mesh round-trips', async () => {
    const model = await loadFaceModel();
    const mesh = meshFromParams(model, { identity: [1, -0.5], expression: [0.3] });
    const { obj, mtl } = exportObj(mesh);
    const back = readObj(obj);
    assert.equal(back.positions.length, mesh.positions.length);
    let err = 0;
    back.positions.forEach((x, i) => (err = Math.max(err, Math.abs(x - mesh.positions[i]!))));
    assert.ok(err < 1e-5, `max error ${err} cm`);
    assert.deepEqual(back.triangles, mesh.triangles);
    assert.deepEqual(back.uvTriangles, mesh.uvTriangles);
    assert.equal(back.groups.length, mesh.parts.length);
    assert.match(mtl, /map_Kd texture\.png/);
  });
});
