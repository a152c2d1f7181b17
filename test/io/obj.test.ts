import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { readObj, writeMtl, writeObj } from '../../src/io/obj.js';

// Two triangles sharing an edge whose shared vertices have different UVs on each side (a seam).
const positions = new Float32Array([0, 0, 0, 1.5, 0, 0, 1.5, 2.25, 0, 0, 2.25, -0.125]);
const uvs = new Float32Array([0, 0, 0.5, 0, 0.5, 1, 0.75, 0, 0.75, 1, 1, 0.5]);
const triangles = new Uint32Array([0, 1, 2, 0, 2, 3]);
const uvTriangles = new Uint32Array([0, 1, 2, 3, 4, 5]);

describe('writeObj / readObj', () => {
  it('round-trips positions, UVs and faces with separate UV indices', () => {
    const text = writeObj({ positions, uvs, triangles, uvTriangles, mtlName: 'mesh.mtl', materialName: 'face' });
    const back = readObj(text);
    assert.deepEqual([...back.positions], [...positions]);
    assert.deepEqual([...back.uvs], [...uvs]);
    assert.deepEqual([...back.triangles], [...triangles]);
    assert.deepEqual([...back.uvTriangles!], [...uvTriangles]);
    assert.equal(back.normalTriangles, null);
    assert.deepEqual(back.mtllibs, ['mesh.mtl']);
    assert.deepEqual(back.materials, [{ material: 'face', triangleStart: 0, triangleEnd: 2 }]);
  });

  it('writes 1-based v/vt/vn corners and compact numbers', () => {
    const normals = new Float32Array([0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1]);
    const text = writeObj({ positions, normals, uvs, triangles, uvTriangles });
    const lines = text.trim().split('\n');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('f ')),
      ['f 1/1/1 2/2/2 3/3/3', 'f 1/4/1 3/5/3 4/6/4'],
    );
    assert.ok(lines.includes('v 1.5 2.25 0'));
    assert.ok(lines.includes('v 0 2.25 -0.125'));
    assert.ok(lines.includes('vt 0.75 1'));
    assert.equal(lines.filter((l) => l.startsWith('vn ')).length, 4);
    assert.ok(!lines.some((l) => l.startsWith('mtllib') || l.startsWith('usemtl')));
    const back = readObj(text);
    assert.deepEqual([...back.normals], [...normals]);
    assert.deepEqual([...back.normalTriangles!], [...triangles]);
  });

  it('writes groups at their first triangle', () => {
    const text = writeObj({
      positions, uvs, triangles, uvTriangles,
      groups: [{ name: 'left', triangleStart: 0, triangleEnd: 1 }, { name: 'right', triangleStart: 1, triangleEnd: 2 }],
    });
    assert.match(text, /g left\nf 1\/1 2\/2 3\/3\ng right\nf 1\/4 3\/5 4\/6\n/);
    assert.deepEqual(readObj(text).groups, [
      { name: 'left', triangleStart: 0, triangleEnd: 1 },
      { name: 'right', triangleStart: 1, triangleEnd: 2 },
    ]);
  });

  it('rejects out-of-range indices and mismatched lists', () => {
    assert.throws(() => writeObj({ positions, uvs, triangles: new Uint32Array([0, 1, 4]), uvTriangles: new Uint32Array([0, 1, 2]) }), /out of range/);
    assert.throws(() => writeObj({ positions, uvs, triangles, uvTriangles: new Uint32Array([0, 1, 2]) }), /must match/);
  });

  it('reads quads and polygons as fans, negative indices, v//vn and faces without UVs', () => {
    const text = [
      '# comment', 'v 0 0 0', 'v 1 0 0', 'v 1 1 0', 'v 0 1 0', 'v 0.5 1.5 0',
      'vt 0 0', 'vt 1 0', 'vt 1 1', 'vt 0 1', 'vn 0 0 1',
      'o quad', 'f 1/1 2/2 3/3 4/4',
      'g pent', 'f -5//1 -4//1 -3//1 -1//1 -2//1',
    ].join('\r\n');
    const back = readObj(text);
    assert.deepEqual([...back.triangles], [0, 1, 2, 0, 2, 3, 0, 1, 2, 0, 2, 4, 0, 4, 3]);
    assert.equal(back.uvTriangles, null, 'the pentagon has no UVs');
    assert.equal(back.normalTriangles, null, 'the quad has no normals');
    assert.deepEqual(back.groups, [
      { name: 'quad', triangleStart: 0, triangleEnd: 2 },
      { name: 'pent', triangleStart: 2, triangleEnd: 5 },
    ]);
    assert.throws(() => readObj('v 0 0 0\nf 1 2 3\n'), /line 2: index 2 out of range/);
  });
});

describe('writeMtl', () => {
  it('names the material and the texture', () => {
    const mtl = writeMtl({ materialName: 'face', texturePath: 'texture.png' });
    assert.match(mtl, /^newmtl face$/m);
    assert.match(mtl, /^map_Kd texture\.png$/m);
    assert.doesNotMatch(writeMtl({ materialName: 'plain' }), /map_Kd/);
  });
});
