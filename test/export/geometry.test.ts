import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ARKIT_BLENDSHAPES, ictToArkitName, planArkitTargets } from '../../src/export/arkit.js';
import { splitUvSeams, vertexNormals } from '../../src/export/geometry.js';
import { ICT_EXPRESSIONS } from './fixtures.js';

describe('splitUvSeams', () => {
  it('makes one vertex per distinct (vertex, uv) pair, in order of first use', () => {
    // Vertex 1 and 2 are on a seam: used with UVs 1/4 and 2/5.
    const split = splitUvSeams([0, 1, 2, 1, 3, 2], [0, 1, 2, 4, 3, 5]);
    assert.deepEqual([...split.sourceVertex], [0, 1, 2, 1, 3, 2]);
    assert.deepEqual([...split.sourceUv], [0, 1, 2, 4, 3, 5]);
    assert.deepEqual([...split.indices], [0, 1, 2, 3, 4, 5]);
    const shared = splitUvSeams([0, 1, 2, 1, 3, 2], [0, 1, 2, 1, 3, 2]);
    assert.deepEqual([...shared.indices], [0, 1, 2, 1, 3, 2]);
    assert.equal(shared.sourceVertex.length, 4);
  });
});

describe('vertexNormals', () => {
  it('gives area-weighted outward unit normals, and +z for unused vertices', () => {
    // A right-angle roof: one triangle in z = 0 facing +z, one in x = 0 facing +x, sharing vertices 0 and 1.
    const positions = [0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 5, 5, 5];
    const n = vertexNormals(positions, [0, 2, 1, 0, 1, 3]);
    const s = Math.SQRT1_2;
    assert.deepEqual([...n].map((x) => Math.round(x * 1e6) / 1e6), [
      s, 0, s, s, 0, s, 0, 0, 1, 1, 0, 0, 0, 0, 1,
    ].map((x) => Math.round(x * 1e6) / 1e6));
  });
});

describe('ARKit names', () => {
  it('maps _L/_R to Left/Right', () => {
    assert.equal(ictToArkitName('eyeBlink_L'), 'eyeBlinkLeft');
    assert.equal(ictToArkitName('mouthSmile_R'), 'mouthSmileRight');
    assert.equal(ictToArkitName('jawOpen'), 'jawOpen');
  });

  it('plans exactly the 52 ARKit targets for ICT, merging the split halves and adding tongueOut', () => {
    assert.equal(ARKIT_BLENDSHAPES.length, 52);
    const plan = planArkitTargets(ICT_EXPRESSIONS);
    assert.deepEqual(plan.map((t) => t.name).sort(), [...ARKIT_BLENDSHAPES].sort());
    const byName = new Map(plan.map((t) => [t.name, t.sources]));
    assert.deepEqual(byName.get('browInnerUp'), [ICT_EXPRESSIONS.indexOf('browInnerUp_L'), ICT_EXPRESSIONS.indexOf('browInnerUp_R')]);
    assert.deepEqual(byName.get('cheekPuff'), [ICT_EXPRESSIONS.indexOf('cheekPuff_L'), ICT_EXPRESSIONS.indexOf('cheekPuff_R')]);
    assert.deepEqual(byName.get('eyeBlinkLeft'), [ICT_EXPRESSIONS.indexOf('eyeBlink_L')]);
    assert.deepEqual(byName.get('tongueOut'), []);
    // Every ICT expression is used exactly once.
    assert.deepEqual(plan.flatMap((t) => t.sources).sort((a, b) => a - b), ICT_EXPRESSIONS.map((_, i) => i));
  });

  it('keeps non-ARKit names as they are', () => {
    const plan = planArkitTargets(['PupilDilate_L', 'jawOpen'], { addMissing: false });
    assert.deepEqual(plan.map((t) => t.name), ['PupilDilate_L', 'jawOpen']);
  });
});
