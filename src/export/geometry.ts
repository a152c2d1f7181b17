/**
 * Geometry helpers the exporters share: vertex normals and UV-seam splitting (glTF needs one index per vertex).
 */

/**
 * Area-weighted vertex normals (the sum of the unnormalised face normals around each vertex, normalised).
 * Counter-clockwise triangles give outward normals. Vertices used by no triangle, or only by degenerate ones,
 * get (0, 0, 1).
 */
export function vertexNormals(positions: ArrayLike<number>, triangles: ArrayLike<number>): Float32Array {
  const acc = new Float64Array(positions.length);
  for (let t = 0; t < triangles.length; t += 3) {
    const a = 3 * triangles[t]!;
    const b = 3 * triangles[t + 1]!;
    const c = 3 * triangles[t + 2]!;
    const ux = positions[b]! - positions[a]!;
    const uy = positions[b + 1]! - positions[a + 1]!;
    const uz = positions[b + 2]! - positions[a + 2]!;
    const vx = positions[c]! - positions[a]!;
    const vy = positions[c + 1]! - positions[a + 1]!;
    const vz = positions[c + 2]! - positions[a + 2]!;
    const nx = uy * vz - uz * vy;
    const ny = uz * vx - ux * vz;
    const nz = ux * vy - uy * vx;
    for (const k of [a, b, c]) {
      acc[k] += nx;
      acc[k + 1] += ny;
      acc[k + 2] += nz;
    }
  }
  const out = new Float32Array(positions.length);
  for (let i = 0; i < out.length; i += 3) {
    const len = Math.hypot(acc[i]!, acc[i + 1]!, acc[i + 2]!);
    if (len > 0) {
      out[i] = acc[i]! / len;
      out[i + 1] = acc[i + 1]! / len;
      out[i + 2] = acc[i + 2]! / len;
    } else {
      out[i + 2] = 1;
    }
  }
  return out;
}

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
