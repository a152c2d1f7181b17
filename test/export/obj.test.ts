import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { exportObj } from '../../src/export/obj.js';
import { readObj } from '../../src/io/obj.js';
import type { Mesh } from '../../src/model/types.js';
import { syntheticModel } from './fixtures.js';

const model = syntheticModel();
const mesh: Mesh = {
  positions: model.neutral,
  triangles: model.triangles,
  uvs: model.uvs,
  uvTriangles: model.uvTriangles,
  parts: [
    { name: 'lower', vertexStart: 0, vertexEnd: 8, triangleStart: 0, triangleEnd: 6 },
    { name: 'upper', vertexStart: 4, vertexEnd: 12, triangleStart: 6, triangleEnd: 12 },
  ],
};

describe('exportObj', () => {
  it('round-trips positions, UVs and faces (1-based in the text) and names the texture in the MTL', () => {
    const { obj, mtl } = exportObj(mesh, 'face_texture.png', { mtlFile: 'face.mtl' });
    const back = readObj(obj);
    assert.equal(back.positions.length, mesh.positions.length);
    back.positions.forEach((x, i) => assert.ok(Math.abs(x - mesh.positions[i]!) < 1e-6));
    back.uvs.forEach((x, i) => assert.ok(Math.abs(x - mesh.uvs[i]!) < 1e-6));
    assert.deepEqual([...back.triangles], [...mesh.triangles]);
    assert.deepEqual([...back.uvTriangles!], [...mesh.uvTriangles]);
    assert.deepEqual([...back.normalTriangles!], [...mesh.triangles], 'normals share the vertex indices');
    assert.equal(back.normals.length, mesh.positions.length);
    assert.deepEqual(back.groups.map((g) => [g.name, g.triangleStart, g.triangleEnd]), [['lower', 0, 6], ['upper', 6, 12]]);

    // The first face in the text is 1-based: triangle (0, 1, 5) with UVs (0, 1, 6).
    const firstFace = obj.split('\n').find((l) => l.startsWith('f '));
    assert.equal(firstFace, 'f 1/1/1 2/2/2 6/7/6');
    assert.ok(!/\bf [^\n]*\b0\//.test(obj), 'no 0 index anywhere');

    assert.deepEqual(back.mtllibs, ['face.mtl']);
    const material = back.materials[0]!.material;
    assert.match(mtl, new RegExp(`^newmtl ${material}$`, 'm'));
    assert.match(mtl, /^map_Kd face_texture\.png$/m);
  });

  it('defaults to mesh.mtl and texture.png, and can leave normals out', () => {
    const { obj, mtl } = exportObj(mesh, undefined, { normals: false });
    assert.match(obj, /^mtllib mesh\.mtl$/m);
    assert.match(mtl, /^map_Kd texture\.png$/m);
    assert.doesNotMatch(obj, /^vn /m);
  });
});
