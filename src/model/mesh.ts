/**
 * Evaluating the face model on plain typed arrays: whole meshes, normals, a few vertices, ARKit names.
 * Model space: docs/conventions.md "Model space (ICT-FaceKit)".
 */
import type { FaceModel, Mesh, ShapeParams } from './types.js';

/** Add Σ_k coeffs[k]·basis_k (only the `stride`-sized rows with a non-zero coefficient) to `out`. */
function addModes(out: Float32Array, basis: Float32Array, coeffs: ArrayLike<number>, count: number, stride: number): void {
  const n = Math.min(coeffs.length, count);
  for (let k = 0; k < n; k++) {
    const c = coeffs[k];
    if (c === 0) continue;
    if (!Number.isFinite(c)) throw new Error(`coefficient ${k} is not finite: ${c}`);
    const row = basis.subarray(k * stride, (k + 1) * stride);
    for (let i = 0; i < stride; i++) out[i] += c * row[i];
  }
}

/** Vertex positions (V×3) of `neutral + Σ identity·identityBasis + Σ expression·expressionBasis`. */
export function modelPositions(model: FaceModel, params: ShapeParams): Float32Array {
  const expressionCount = model.expressionNames.length;
  if (params.identity.length > model.identityCount) {
    throw new Error(`${params.identity.length} identity coefficients for a model with ${model.identityCount}`);
  }
  if (params.expression.length > expressionCount) {
    throw new Error(`${params.expression.length} expression weights for a model with ${expressionCount}`);
  }
  const stride = model.vertexCount * 3;
  const positions = model.neutral.slice();
  addModes(positions, model.identityBasis, params.identity, model.identityCount, stride);
  addModes(positions, model.expressionBasis, params.expression, expressionCount, stride);
  return positions;
}

/**
 * The mesh of one face. Positions are new; triangles, UVs and parts are the model's own arrays (shared, do not
 * modify them).
 */
export function meshFromParams(model: FaceModel, params: ShapeParams): Mesh {
  return {
    positions: modelPositions(model, params),
    triangles: model.triangles,
    uvs: model.uvs,
    uvTriangles: model.uvTriangles,
    parts: model.parts,
  };
}

/**
 * Unit vertex normals (V×3): the area-weighted sum of the normals of the triangles around each vertex, so they
 * point outwards for counter-clockwise triangles. A vertex used by no triangle gets (0, 0, 0).
 */
export function vertexNormals(positions: Float32Array, triangles: Uint32Array): Float32Array {
  const normals = new Float32Array(positions.length);
  for (let t = 0; t < triangles.length; t += 3) {
    const a = 3 * triangles[t], b = 3 * triangles[t + 1], c = 3 * triangles[t + 2];
    const ux = positions[b] - positions[a], uy = positions[b + 1] - positions[a + 1], uz = positions[b + 2] - positions[a + 2];
    const vx = positions[c] - positions[a], vy = positions[c + 1] - positions[a + 1], vz = positions[c + 2] - positions[a + 2];
    // u × v has length 2·area: summing it weights each triangle by its area.
    const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    for (const i of [a, b, c]) {
      normals[i] += nx;
      normals[i + 1] += ny;
      normals[i + 2] += nz;
    }
  }
  for (let i = 0; i < normals.length; i += 3) {
    const len = Math.hypot(normals[i], normals[i + 1], normals[i + 2]);
    if (len > 0) {
      normals[i] /= len;
      normals[i + 1] /= len;
      normals[i + 2] /= len;
    }
  }
  return normals;
}

/**
 * Positions (N×3) of the vertices `indices` only: O(N·(K + E)) work, for landmark fitting loops.
 */
export function landmarkPositions(model: FaceModel, params: ShapeParams, indices: ArrayLike<number>): Float32Array {
  const stride = model.vertexCount * 3;
  const out = new Float32Array(indices.length * 3);
  const id = params.identity, ex = params.expression;
  const K = Math.min(id.length, model.identityCount);
  const E = Math.min(ex.length, model.expressionNames.length);
  for (let j = 0; j < indices.length; j++) {
    const v = indices[j];
    if (!(v >= 0 && v < model.vertexCount)) throw new Error(`vertex index ${v} out of range`);
    for (let c = 0; c < 3; c++) {
      const i = 3 * v + c;
      let x = model.neutral[i];
      for (let k = 0; k < K; k++) if (id[k] !== 0) x += id[k] * model.identityBasis[k * stride + i];
      for (let e = 0; e < E; e++) if (ex[e] !== 0) x += ex[e] * model.expressionBasis[e * stride + i];
      out[3 * j + c] = x;
    }
  }
  return out;
}

/** The two ARKit blendshapes ICT-FaceKit splits into `_L`/`_R` halves; ARKit has one shape for both sides. */
export const ARKIT_COMBINED: Readonly<Record<string, readonly [string, string]>> = {
  browInnerUp: ['browInnerUp_L', 'browInnerUp_R'],
  cheekPuff: ['cheekPuff_L', 'cheekPuff_R'],
};

/** The 52 ARKit blendshape names (Apple's ARFaceAnchor.BlendShapeLocation), in Apple's documented grouping. */
export const ARKIT_NAMES: readonly string[] = [
  'eyeBlinkLeft', 'eyeLookDownLeft', 'eyeLookInLeft', 'eyeLookOutLeft', 'eyeLookUpLeft', 'eyeSquintLeft', 'eyeWideLeft',
  'eyeBlinkRight', 'eyeLookDownRight', 'eyeLookInRight', 'eyeLookOutRight', 'eyeLookUpRight', 'eyeSquintRight',
  'eyeWideRight', 'jawForward', 'jawLeft', 'jawRight', 'jawOpen', 'mouthClose', 'mouthFunnel', 'mouthPucker',
  'mouthLeft', 'mouthRight', 'mouthSmileLeft', 'mouthSmileRight', 'mouthFrownLeft', 'mouthFrownRight',
  'mouthDimpleLeft', 'mouthDimpleRight', 'mouthStretchLeft', 'mouthStretchRight', 'mouthRollLower', 'mouthRollUpper',
  'mouthShrugLower', 'mouthShrugUpper', 'mouthPressLeft', 'mouthPressRight', 'mouthLowerDownLeft',
  'mouthLowerDownRight', 'mouthUpperUpLeft', 'mouthUpperUpRight', 'browDownLeft', 'browDownRight', 'browInnerUp',
  'browOuterUpLeft', 'browOuterUpRight', 'cheekPuff', 'cheekSquintLeft', 'cheekSquintRight', 'noseSneerLeft',
  'noseSneerRight', 'tongueOut',
];

/**
 * ARKit-style name of an ICT expression: `_L` → `Left`, `_R` → `Right` (the subject's own left/right in both),
 * other names unchanged. The halves of the combined shapes keep their side (`browInnerUp_L` → `browInnerUpLeft`,
 * `cheekPuff_R` → `cheekPuffRight`): those two are not ARKit names; ARKit's `browInnerUp` / `cheekPuff` are the
 * sums of both halves (see `arkitTargets`).
 */
export function arkitName(ictName: string): string {
  const m = /^(.*)_([LR])$/.exec(ictName);
  if (!m) return ictName;
  return m[1] + (m[2] === 'L' ? 'Left' : 'Right');
}

/** One ARKit blendshape as a sum of model expressions (indices into `expressionNames`). */
export interface ArkitTarget {
  name: string;
  sources: number[];
}

/**
 * The ARKit blendshapes the model can make, in ARKIT_NAMES order: each is one ICT expression, except `browInnerUp`
 * and `cheekPuff`, which sum their `_L` and `_R` halves. ARKit names the model lacks (`tongueOut` for ICT) are left
 * out.
 */
export function arkitTargets(expressionNames: readonly string[]): ArkitTarget[] {
  const byArkit = new Map<string, number>();
  expressionNames.forEach((n, i) => byArkit.set(arkitName(n), i));
  const out: ArkitTarget[] = [];
  for (const name of ARKIT_NAMES) {
    const halves = ARKIT_COMBINED[name];
    if (halves) {
      const sources = halves.map((h) => expressionNames.indexOf(h));
      if (sources.every((s) => s >= 0)) out.push({ name, sources });
    } else if (byArkit.has(name)) {
      out.push({ name, sources: [byArkit.get(name)!] });
    }
  }
  return out;
}
