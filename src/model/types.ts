/**
 * The records every other module consumes. Units and frames: docs/conventions.md.
 */

/** A contiguous run of vertices and triangles that belong to one part of the head (face, eyeballs, teeth, …). */
export interface PartRange {
  name: string;
  /** First vertex, inclusive. */
  vertexStart: number;
  /** One past the last vertex. */
  vertexEnd: number;
  /** First triangle, inclusive. */
  triangleStart: number;
  /** One past the last triangle. */
  triangleEnd: number;
}

/** A triangle mesh in model space: what the renderer, the exporters and the texture code take. */
export interface Mesh {
  /** V×3 vertex positions, model space, centimetres. */
  positions: Float32Array;
  /** T×3 vertex indices, counter-clockwise seen from outside the head. */
  triangles: Uint32Array;
  /** U×2 texture coordinates, OBJ convention: origin at the bottom-left of the UV map, v up. */
  uvs: Float32Array;
  /** T×3 indices into `uvs`, corner for corner with `triangles` (UV seams need their own list). */
  uvTriangles: Uint32Array;
  /**
   * Parts in vertex order. A part's triangles use its own vertices, except along the seams of the head and neck,
   * the mouth socket and the eye sockets, whose border triangles also use face vertices (as in ICT-FaceKit).
   */
  parts: PartRange[];
}

/** The 68-point landmark definition and the jawline alternatives for turned heads (vertex indices). */
export interface LandmarkDefinition {
  /** 68 vertex indices in iBUG / Multi-PIE order. */
  landmarks68: Uint32Array;
  /** Replace points 0–7 when the head turns to its right (ICT "right jawline"). */
  jawRight: Uint32Array;
  /** Replace points 9–16 when the head turns to its left. */
  jawLeft: Uint32Array;
  /** Candidate contour vertices along the right / left jaw (ICT "extended jawline"), ordered chin-wards. */
  jawRightExtended: Uint32Array;
  jawLeftExtended: Uint32Array;
}

/** A linear 3D morphable model: mesh = neutral + Σ identity_i·identityBasis_i + Σ expression_j·expressionBasis_j. */
export interface FaceModel {
  /** Asset format version (bumped when the binary layout changes). */
  version: number;
  /** V×3 neutral positions, centimetres. */
  neutral: Float32Array;
  /** K×V×3 identity deltas (mode-major); coefficients have a N(0, 1) prior. */
  identityBasis: Float32Array;
  identityCount: number;
  /** E×V×3 expression deltas (blendshape-major); weights in [0, 1]. */
  expressionBasis: Float32Array;
  /** E names as in ICT-FaceKit (`eyeBlink_L`, `browInnerUp_R`, …), in basis order. */
  expressionNames: string[];
  vertexCount: number;
  triangles: Uint32Array;
  uvs: Float32Array;
  uvTriangles: Uint32Array;
  parts: PartRange[];
  landmarks: LandmarkDefinition;
  /**
   * Named vertex subsets from ICT-FaceKit's vertex_indices.json: `fitting` (the front-face vertices its own fitter
   * uses) and `rigid` (vertices that barely move with expressions: forehead, nose bridge, back of the head).
   */
  vertexSets: Record<string, Uint32Array>;
  /** Largest |stored − source| delta component measured at import, centimetres (see docs/model-asset.md). */
  deltaTolerance: number;
  /** Provenance and licence line stored in the asset. */
  info: string;
}

/** Shape and expression coefficients of one face. */
export interface ShapeParams {
  /** K identity coefficients (missing trailing entries count as 0). */
  identity: Float32Array | number[];
  /** E expression weights in basis order. */
  expression: Float32Array | number[];
}
