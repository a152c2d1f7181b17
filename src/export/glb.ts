/**
 * FaceModel + fitted parameters + texture → GLB (docs/conventions.md, "Model space" and "UV maps").
 *
 * - Units: model space is centimetres, glTF is metres: every position and delta is scaled by 0.01. The axes map
 *   directly (+y up, +z out of the face = towards the viewer of a glTF scene).
 * - UVs: `v_gltf = 1 − v` (glTF's origin is top-left).
 * - Base positions: neutral + the fitted identity. The expression is not baked by default: the 52 ARKit-named
 *   morph targets carry the expression blendshapes and the fitted weights are the mesh's default morph weights,
 *   so a viewer shows the fitted face and an animation tool can drive or reset it (`expression: 'baked'` bakes
 *   it into the base instead and leaves all weights 0).
 * - ICT's split `browInnerUp_L/_R` and `cheekPuff_L/_R` become one ARKit target each, whose delta is the sum of
 *   the halves and whose default weight is their mean; the asymmetric rest (`(e_L − e_R)/2 · (L − R)`) is baked
 *   into the base, so the default pose is exactly the fitted face. `tongueOut`, which ICT lacks, is a zero
 *   target. See src/export/arkit.ts.
 * - Vertices are split at UV seams (one glTF vertex per distinct (vertex, uv) pair); each split vertex carries
 *   its source vertex's position, normal and morph deltas, so seams stay closed under any morph.
 * - Normals: area-weighted vertex normals of the base; morph NORMAL deltas are the normals of (base + delta)
 *   minus the base normals (`morphNormals: false` drops them).
 * - Morph targets are stored as sparse accessors by default (only moved vertices; each blendshape is local).
 */
import { writeGlb } from '../io/glb.js';
import { modelPositions, vertexNormals } from '../model/mesh.js';
import type { FaceModel, ShapeParams } from '../model/types.js';
import { planArkitTargets, type ArkitPlanOptions } from './arkit.js';
import { splitUvSeams } from './geometry.js';

/** glTF is metres, the model centimetres. */
export const CM_TO_M = 0.01;

export interface ExportGlbOptions extends ArkitPlanOptions {
  /** 'weights' (default): fitted expression as default morph weights; 'baked': in the base positions. */
  expression?: 'weights' | 'baked';
  /** Write morph NORMAL deltas. Default true. */
  morphNormals?: boolean;
  /** Sparse morph accessors. Default true. */
  sparse?: boolean;
  /** Name of the mesh and node. Default 'face'. */
  name?: string;
  /** asset.copyright. Default: the ICT-FaceKit attribution. */
  copyright?: string;
}

export const DEFAULT_COPYRIGHT =
  'Geometry from ICT-FaceKit (c) University of Southern California Institute for Creative Technologies, MIT licence';

/** Builds the GLB bytes of a fitted face. `texturePng` (the UV texture, PNG) may be null for an untextured mesh. */
export async function exportGlb(
  model: FaceModel,
  params: ShapeParams,
  texturePng: Uint8Array | null,
  options: ExportGlbOptions = {},
): Promise<Uint8Array> {
  const n = model.vertexCount * 3;
  const E = model.expressionNames.length;
  if (params.identity.length > model.identityCount) {
    throw new Error(`exportGlb: ${params.identity.length} identity coefficients, model has ${model.identityCount}`);
  }
  if (params.expression.length > E) {
    throw new Error(`exportGlb: ${params.expression.length} expression weights, model has ${E}`);
  }
  const weightOf = (j: number): number => params.expression[j] ?? 0;
  const expr = (j: number): Float32Array => model.expressionBasis.subarray(j * n, (j + 1) * n);

  const plan = planArkitTargets(model.expressionNames, options);

  // Default weights, and what of the expression goes into the base instead (see the module comment).
  const baked = new Float64Array(E);
  const weights = new Array<number>(plan.length).fill(0);
  if (options.expression === 'baked') {
    for (let j = 0; j < E; j++) baked[j] = weightOf(j);
  } else {
    const covered = new Uint8Array(E);
    plan.forEach((t, i) => {
      if (t.sources.length === 1) {
        weights[i] = weightOf(t.sources[0]!);
        covered[t.sources[0]!] = 1;
      }
    });
    plan.forEach((t, i) => {
      if (t.sources.length < 2 || t.sources.every((s) => covered[s])) return;
      const mean = t.sources.reduce((acc, s) => acc + weightOf(s), 0) / t.sources.length;
      weights[i] = mean;
      for (const s of t.sources) baked[s] += weightOf(s) - mean;
    });
  }
  // Base: neutral + identity + the baked part of the expression.
  const basePositions = modelPositions(model, { identity: params.identity, expression: Array.from(baked) });
  const baseNormals = vertexNormals(basePositions, model.triangles);
  const split = splitUvSeams(model.triangles, model.uvTriangles);
  const count = split.sourceVertex.length;

  /** Source V×3 values → glTF vertices, scaled. */
  const gather3 = (src: ArrayLike<number>, scale: number): Float32Array => {
    const out = new Float32Array(3 * count);
    for (let k = 0; k < count; k++) {
      const s = 3 * split.sourceVertex[k]!;
      out[3 * k] = src[s]! * scale;
      out[3 * k + 1] = src[s + 1]! * scale;
      out[3 * k + 2] = src[s + 2]! * scale;
    }
    return out;
  };

  const uvs = new Float32Array(2 * count);
  for (let k = 0; k < count; k++) {
    const u = split.sourceUv[k]!;
    uvs[2 * k] = model.uvs[2 * u]!;
    uvs[2 * k + 1] = 1 - model.uvs[2 * u + 1]!;
  }

  const morphNormals = options.morphNormals ?? true;
  const morphTargets = plan.map((t) => {
    const delta = new Float32Array(n);
    for (const s of t.sources) {
      const d = expr(s);
      for (let i = 0; i < n; i++) delta[i] += d[i]!;
    }
    let normals: Float32Array | undefined;
    if (morphNormals) {
      const moved = new Float32Array(n);
      for (let i = 0; i < n; i++) moved[i] = basePositions[i]! + delta[i]!;
      const nrm = vertexNormals(moved, model.triangles);
      // Exactly 0 wherever nothing around a vertex moved (same inputs, same arithmetic): sparse stays sparse.
      for (let i = 0; i < n; i++) nrm[i] = nrm[i]! - baseNormals[i]!;
      normals = gather3(nrm, 1);
    }
    return { name: t.name, positions: gather3(delta, CM_TO_M), normals };
  });

  const name = options.name ?? 'face';
  return writeGlb({
    positions: gather3(basePositions, CM_TO_M),
    normals: gather3(baseNormals, 1),
    uvs,
    indices: split.indices,
    texture: texturePng ?? undefined,
    material: { name, roughness: 0.6, metallic: 0 },
    morphTargets,
    weights,
    sparseMorphTargets: options.sparse ?? true,
    meshName: name,
    nodeName: name,
    copyright: options.copyright ?? DEFAULT_COPYRIGHT,
  });
}
