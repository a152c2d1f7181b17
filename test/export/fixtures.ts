/** A small synthetic FaceModel for the exporter tests: a 4×3 vertex grid with a UV seam, ICT's 53 names. */
import type { FaceModel } from '../../src/model/types.js';

/** ICT-FaceKit's 53 expression names, in its order (vertex_indices.json). */
export const ICT_EXPRESSIONS = [
  'browDown_L', 'browDown_R', 'browInnerUp_L', 'browInnerUp_R', 'browOuterUp_L', 'browOuterUp_R', 'cheekPuff_L',
  'cheekPuff_R', 'cheekSquint_L', 'cheekSquint_R', 'eyeBlink_L', 'eyeBlink_R', 'eyeLookDown_L', 'eyeLookDown_R',
  'eyeLookIn_L', 'eyeLookIn_R', 'eyeLookOut_L', 'eyeLookOut_R', 'eyeLookUp_L', 'eyeLookUp_R', 'eyeSquint_L',
  'eyeSquint_R', 'eyeWide_L', 'eyeWide_R', 'jawForward', 'jawLeft', 'jawOpen', 'jawRight', 'mouthClose',
  'mouthDimple_L', 'mouthDimple_R', 'mouthFrown_L', 'mouthFrown_R', 'mouthFunnel', 'mouthLeft', 'mouthLowerDown_L',
  'mouthLowerDown_R', 'mouthPress_L', 'mouthPress_R', 'mouthPucker', 'mouthRight', 'mouthRollLower',
  'mouthRollUpper', 'mouthShrugLower', 'mouthShrugUpper', 'mouthSmile_L', 'mouthSmile_R', 'mouthStretch_L',
  'mouthStretch_R', 'mouthUpperUp_L', 'mouthUpperUp_R', 'noseSneer_L', 'noseSneer_R',
];

/** Deterministic pseudo-random numbers in [−1, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

/**
 * Grid vertices v = 4·row + col at (col·2 − 3, row·2 − 2, 0) cm, rows 0..2, cols 0..3; six quads. Column 2 is a
 * UV seam: the quads left of it use one UV column, those right of it a duplicated one, so vertices 2, 6, 10 each
 * have two UVs. Vertex 12 is unused. Identity and expression deltas are random; each expression moves a few
 * vertices only (the rest exactly 0).
 */
export function syntheticModel(): FaceModel {
  const rand = lcg(7);
  const V = 13;
  const neutral = new Float32Array(V * 3);
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 4; col++) {
      const v = 4 * row + col;
      neutral.set([col * 2 - 3, row * 2 - 2, 0.25 * Math.sin(v)], 3 * v);
    }
  }
  neutral.set([9, 9, 9], 36); // unused vertex 12
  // UVs: columns 0, 1, 2 (left side of the seam), 2' (right side), 3 → 5 UV columns × 3 rows.
  const uvs = new Float32Array(15 * 2);
  const uvCols = [0, 0.25, 0.5, 0.6, 0.9];
  for (let row = 0; row < 3; row++) {
    for (let c = 0; c < 5; c++) uvs.set([uvCols[c]!, row / 2], 2 * (5 * row + c));
  }
  const triangles: number[] = [];
  const uvTriangles: number[] = [];
  for (let row = 0; row < 2; row++) {
    for (let col = 0; col < 3; col++) {
      const a = 4 * row + col, b = a + 1, c = a + 5, d = a + 4;
      const uc = col < 2 ? col : col + 1; // right of the seam: shifted UV column
      const ua = 5 * row + uc, ub = ua + 1, ucc = ua + 6, ud = ua + 5;
      triangles.push(a, b, c, a, c, d);
      uvTriangles.push(ua, ub, ucc, ua, ucc, ud);
    }
  }
  const K = 2;
  const E = ICT_EXPRESSIONS.length;
  const identityBasis = new Float32Array(K * V * 3).map(() => 0.5 * rand());
  const expressionBasis = new Float32Array(E * V * 3);
  for (let j = 0; j < E; j++) {
    for (let m = 0; m < 3; m++) {
      const v = (j * 5 + m * 3) % 12;
      for (let c = 0; c < 3; c++) expressionBasis[j * V * 3 + 3 * v + c] = rand();
    }
  }
  return {
    version: 1,
    neutral,
    identityBasis,
    identityCount: K,
    expressionBasis,
    expressionNames: [...ICT_EXPRESSIONS],
    vertexCount: V,
    triangles: Uint32Array.from(triangles),
    uvs,
    uvTriangles: Uint32Array.from(uvTriangles),
    parts: [{ name: 'face', vertexStart: 0, vertexEnd: 12, triangleStart: 0, triangleEnd: 12 }],
    landmarks: {
      landmarks68: new Uint32Array(68),
      jawRight: new Uint32Array(8),
      jawLeft: new Uint32Array(8),
      jawRightExtended: new Uint32Array(0),
      jawLeftExtended: new Uint32Array(0),
    },
    vertexSets: {},
    deltaTolerance: 0,
    info: 'synthetic test model',
  };
}

/** neutral + Σ identity + Σ expression, float64 (the reference the exports are checked against). */
export function fullPositions(model: FaceModel, identity: number[], expression: number[]): Float64Array {
  const n = model.vertexCount * 3;
  const out = Float64Array.from(model.neutral);
  identity.forEach((w, k) => {
    for (let i = 0; i < n; i++) out[i] += w * model.identityBasis[k * n + i]!;
  });
  expression.forEach((w, j) => {
    for (let i = 0; i < n; i++) out[i] += w * model.expressionBasis[j * n + i]!;
  });
  return out;
}
