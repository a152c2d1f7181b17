/**
 * UV-seam splitting for formats with one index list per vertex (glTF). Vertex normals: src/model/mesh.ts.
 */

/** One output vertex per distinct (vertex, UV) corner pair. */
export interface SeamSplit {
  /** Output vertex → source vertex. */
  sourceVertex: Uint32Array;
  /** Output vertex → source UV index. */
  sourceUv: Uint32Array;
  /** T×3 output vertex indices, corner for corner with the source triangles. */
  indices: Uint32Array;
}

/**
 * Splits vertices at UV seams: each distinct (vertex, uv) pair used by a triangle corner becomes one output
 * vertex, numbered in order of first use. Vertices no triangle uses are dropped.
 */
export function splitUvSeams(triangles: ArrayLike<number>, uvTriangles: ArrayLike<number>): SeamSplit {
  if (triangles.length !== uvTriangles.length) throw new Error('splitUvSeams: uvTriangles must match triangles');
  const ids = new Map<number, number>();
  const sourceVertex: number[] = [];
  const sourceUv: number[] = [];
  const indices = new Uint32Array(triangles.length);
  // Key = v · 2^26 + uv: exact in a double for up to 2^26 UVs and 2^27 vertices.
  const UV_SPAN = 2 ** 26;
  for (let i = 0; i < triangles.length; i++) {
    const v = triangles[i]!;
    const uv = uvTriangles[i]!;
    if (uv >= UV_SPAN) throw new Error('splitUvSeams: too many UVs');
    const key = v * UV_SPAN + uv;
    let id = ids.get(key);
    if (id === undefined) {
      id = sourceVertex.length;
      ids.set(key, id);
      sourceVertex.push(v);
      sourceUv.push(uv);
    }
    indices[i] = id;
  }
  return { sourceVertex: Uint32Array.from(sourceVertex), sourceUv: Uint32Array.from(sourceUv), indices };
}
