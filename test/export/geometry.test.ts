import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { planArkitTargets } from '../../src/export/arkit.js';
import { splitUvSeams } from '../../src/export/geometry.js';
import { ARKIT_NAMES } from '../../src/model/mesh.js';
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

describe('ARKit names', () => {
  it('plans exactly the 52 ARKit targets for ICT, merging the split halves and adding tongueOut', () => {
    assert.equal(ARKIT_NAMES.length, 52);
    const plan = planArkitTargets(ICT_EXPRESSIONS);
    assert.deepEqual(plan.map((t) => t.name).sort(), [...ARKIT_NAMES].sort());
    const byName = new Map(plan.map((t) => [t.name, t.sources]));
    assert.deepEqual(byName.get('browInnerUp'), [ICT_EXPRESSIONS.indexOf('browInnerUp_L'), ICT_EXPRESSIONS.indexOf('browInnerUp_R')]);
    assert.deepEqual(byName.get('cheekPuff'), [ICT_EXPRESSIONS.indexOf('cheekPuff_L'), ICT_EXPRESSIONS.indexOf('cheekPuff_R')]);
    assert.deepEqual(byName.get('eyeBlinkLeft'), [ICT_EXPRESSIONS.indexOf('eyeBlink_L')]);
    assert.deepEqual(byName.get('tongueOut'), []);
    // Every ICT expression is used exactly once.
    assert.deepEqual(plan.flatMap((t) => t.sources).sort((a, b) => a - b), ICT_EXPRESSIONS.map((_, i) => i));
  });

  it('keeps halves on request and other expressions last, under their ARKit-style names', () => {
    const plan = planArkitTargets(['PupilDilate_L', 'cheekPuff_R', 'jawOpen', 'cheekPuff_L'], { addMissing: false, keepSplitHalves: true });
    assert.deepEqual(plan.map((t) => [t.name, t.sources]), [
      ['jawOpen', [2]], ['cheekPuff', [3, 1]], ['cheekPuffRight', [1]], ['cheekPuffLeft', [3]], ['PupilDilateLeft', [0]],
    ]);
  });
});
