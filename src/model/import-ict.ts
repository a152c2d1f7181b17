/**
 * ICT-FaceKit "Face Model Light" → the compact asset (docs/model-asset.md).
 *
 * Input: the folder of /work/shared/models/ict-facekit (README there): `generic_neutral_mesh.obj` with faces and
 * UVs, one `.obj.gz` (or `.obj`) per identity mode and expression holding only `v` lines, `vertex_indices.json`.
 * Output: the asset bytes. Model space: docs/conventions.md "Model space (ICT-FaceKit)".
 */
import { readFile, access } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import path from 'node:path';
import { encodeFaceModel, type EncodeOptions } from './asset-format.js';
import type { LandmarkDefinition, PartRange } from './types.js';

const gunzipAsync = promisify(gunzip);

/** Vertices kept: 0–24590 (face … eyeballs); lacrimal fluid, eye blend, eye occlusion and eyelashes are dropped. */
export const ICT_KEPT_VERTICES = 24591;
/** Identity modes in ICT-FaceKit Light. */
export const ICT_IDENTITY_COUNT = 100;

/** Part vertex ranges from the ICT-FaceKit README (inclusive start, exclusive end), in vertex order. */
export const ICT_PARTS: ReadonlyArray<{ name: string; vertexStart: number; vertexEnd: number }> = [
  { name: 'face', vertexStart: 0, vertexEnd: 9409 },
  { name: 'headNeck', vertexStart: 9409, vertexEnd: 11248 },
  { name: 'mouthSocket', vertexStart: 11248, vertexEnd: 13294 },
  { name: 'eyeSocketLeft', vertexStart: 13294, vertexEnd: 13678 },
  { name: 'eyeSocketRight', vertexStart: 13678, vertexEnd: 14062 },
  { name: 'gumsTongue', vertexStart: 14062, vertexEnd: 17039 },
  { name: 'teeth', vertexStart: 17039, vertexEnd: 21451 },
  { name: 'scleraLeft', vertexStart: 21451, vertexEnd: 22221 },
  { name: 'irisLeft', vertexStart: 22221, vertexEnd: 23021 },
  { name: 'scleraRight', vertexStart: 23021, vertexEnd: 23791 },
  { name: 'irisRight', vertexStart: 23791, vertexEnd: 24591 },
];

/** Landmark and jawline vertex indices as listed in the ICT-FaceKit README. */
export const ICT_LANDMARKS = {
  landmarks68: [
    1225, 1888, 1052, 367, 1719, 1722, 2199, 1447, 966, 3661, 4390, 3927, 3924, 2608, 3272, 4088, 3443, 268, 493, 1914,
    2044, 1401, 3615, 4240, 4114, 2734, 2509, 978, 4527, 4942, 4857, 1140, 2075, 1147, 4269, 3360, 1507, 1542, 1537,
    1528, 1518, 1511, 3742, 3751, 3756, 3721, 3725, 3732, 5708, 5695, 2081, 0, 4275, 6200, 6213, 6346, 6461, 5518,
    5957, 5841, 5702, 5711, 5533, 6216, 6207, 6470, 5517, 5966,
  ],
  jawRight: [1278, 1272, 12, 1834, 243, 781, 2199, 1447],
  jawLeft: [3661, 4390, 3022, 2484, 4036, 2253, 3490, 3496],
  jawRightExtended: [1280, 1278, 1275, 1272, 1248, 12, 820, 1834, 1902, 243, 844, 781, 1673, 2199, 801, 1447, 800],
  jawLeftExtended: [3041, 3661, 3042, 4390, 3880, 3022, 3085, 2484, 4102, 4036, 3061, 2253, 3466, 3490, 3493, 3496, 3498],
} as const;

/** Vertex sets copied from vertex_indices.json (name in the asset ← key in the JSON). */
const VERTEX_SETS: Record<string, string> = { fitting: 'idx_to_fitting_verts', rigid: 'idx_to_rigid_verts' };

/** Mesh topology of the neutral OBJ, restricted to the kept vertices. */
export interface ObjTopology {
  positions: Float64Array;
  uvs: Float32Array;
  /** Triangles (quads split along their 0–2 diagonal, keeping the OBJ's counter-clockwise winding). */
  triangles: Uint32Array;
  uvTriangles: Uint32Array;
  /** Index of the OBJ polygon each triangle came from. */
  triangleFace: Uint32Array;
}

/** Parse the `v` lines of an OBJ into a flat float64 array (first `limit` vertices). */
export function parseObjVertices(text: string, limit = Infinity): Float64Array {
  const out: number[] = [];
  let start = 0;
  let count = 0;
  while (start < text.length && count < limit) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (text.charCodeAt(start) === 118 /* v */ && text.charCodeAt(start + 1) === 32) {
      const parts = text.slice(start + 2, end).trim().split(/\s+/);
      out.push(Number(parts[0]), Number(parts[1]), Number(parts[2]));
      count++;
    }
    start = end + 1;
  }
  return Float64Array.from(out);
}

/**
 * Parse `v`, `vt` and `f v/vt…` of an OBJ, keeping polygons whose vertices are all < `keepVertices`. Polygons are
 * fanned into triangles from their first corner (a quad 0 1 2 3 → 0 1 2, 0 2 3), which keeps their winding.
 * UV coordinates are renumbered to the ones kept polygons use, in their original order.
 */
export function parseObjTopology(text: string, keepVertices = Infinity): ObjTopology {
  const pos: number[] = [];
  const uv: number[] = [];
  const tri: number[] = [];
  const uvTri: number[] = [];
  const triFace: number[] = [];
  let face = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('v ')) {
      const p = line.slice(2).trim().split(/\s+/);
      pos.push(Number(p[0]), Number(p[1]), Number(p[2]));
    } else if (line.startsWith('vt ')) {
      const p = line.slice(3).trim().split(/\s+/);
      uv.push(Number(p[0]), Number(p[1]));
    } else if (line.startsWith('f ')) {
      const corners = line.slice(2).trim().split(/\s+/).map((c) => {
        const [v, t] = c.split('/');
        const vi = Number(v), ti = Number(t);
        if (!Number.isInteger(vi) || !Number.isInteger(ti)) throw new Error(`OBJ face needs v/vt corners: ${line}`);
        // OBJ indices are 1-based; negative ones count back from the end.
        return [vi > 0 ? vi - 1 : pos.length / 3 + vi, ti > 0 ? ti - 1 : uv.length / 2 + ti];
      });
      const faceIndex = face++;
      const inside = corners.filter(([v]) => v < keepVertices).length;
      if (inside === 0) continue;
      if (inside !== corners.length) throw new Error(`OBJ polygon ${faceIndex} mixes kept and dropped vertices`);
      for (let k = 1; k + 1 < corners.length; k++) {
        tri.push(corners[0][0], corners[k][0], corners[k + 1][0]);
        uvTri.push(corners[0][1], corners[k][1], corners[k + 1][1]);
        triFace.push(faceIndex);
      }
    }
  }
  const V = Math.min(pos.length / 3, keepVertices);
  // Renumber UVs: keep the used ones, in original order.
  const used = new Uint8Array(uv.length / 2);
  for (const t of uvTri) used[t] = 1;
  const remap = new Int32Array(used.length).fill(-1);
  const uvs: number[] = [];
  for (let t = 0; t < used.length; t++) {
    if (!used[t]) continue;
    remap[t] = uvs.length / 2;
    uvs.push(uv[2 * t], uv[2 * t + 1]);
  }
  return {
    positions: Float64Array.from(pos.slice(0, V * 3)),
    uvs: Float32Array.from(uvs),
    triangles: Uint32Array.from(tri),
    uvTriangles: Uint32Array.from(uvTri, (t) => remap[t]),
    triangleFace: Uint32Array.from(triFace),
  };
}

/**
 * Triangle ranges of the parts: a polygon belongs to the part of its highest vertex (seam polygons of the head,
 * mouth and eye sockets also use face vertices), and its triangles with it. `triangleFace` maps triangles to their
 * source polygons (default: each triangle is its own polygon). Throws unless each part's triangles are contiguous
 * and the parts come in vertex order.
 */
export function partRanges(
  triangles: Uint32Array,
  parts: ReadonlyArray<{ name: string; vertexStart: number; vertexEnd: number }>,
  triangleFace?: Uint32Array,
): PartRange[] {
  const T = triangles.length / 3;
  const partOf = (v: number): number => parts.findIndex((p) => v >= p.vertexStart && v < p.vertexEnd);
  const faceOf = (t: number): number => (triangleFace ? triangleFace[t] : t);
  const faceMax = new Map<number, number>();
  for (let t = 0; t < T; t++) {
    const m = Math.max(triangles[3 * t], triangles[3 * t + 1], triangles[3 * t + 2]);
    faceMax.set(faceOf(t), Math.max(m, faceMax.get(faceOf(t)) ?? 0));
  }
  const starts = new Array<number>(parts.length).fill(-1);
  const ends = new Array<number>(parts.length).fill(-1);
  let last = -1;
  for (let t = 0; t < T; t++) {
    const p = partOf(faceMax.get(faceOf(t))!);
    if (p < 0) throw new Error(`triangle ${t} is outside every part`);
    if (p < last) throw new Error(`triangle ${t} of part ${parts[p].name} comes after part ${parts[last].name}`);
    if (p !== last) starts[p] = t;
    ends[p] = t + 1;
    last = p;
  }
  return parts.map((p, i) => {
    if (starts[i] < 0) throw new Error(`part ${p.name} has no triangles`);
    return { name: p.name, vertexStart: p.vertexStart, vertexEnd: p.vertexEnd, triangleStart: starts[i], triangleEnd: ends[i] };
  });
}

async function readMaybeGzipped(dir: string, base: string): Promise<string> {
  const gz = path.join(dir, `${base}.obj.gz`);
  try {
    await access(gz);
    return (await gunzipAsync(await readFile(gz))).toString('latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return (await readFile(path.join(dir, `${base}.obj`))).toString('latin1');
}

function sameList(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Convert an ICT-FaceKit FaceXModel folder into the asset bytes (docs/model-asset.md).
 * `onProgress(done, total)` is called after each mode file (total = identity modes + expressions).
 */
export async function importIct(
  dir: string,
  onProgress?: (done: number, total: number) => void,
  options: EncodeOptions = {},
): Promise<Uint8Array> {
  const V = ICT_KEPT_VERTICES;
  const json = JSON.parse(await readFile(path.join(dir, 'vertex_indices.json'), 'utf8')) as Record<string, unknown>;
  const expressionNames = json.expressions as string[];
  if (!Array.isArray(expressionNames) || expressionNames.length === 0) {
    throw new Error('vertex_indices.json has no "expressions" list');
  }
  const jsonLandmarks = json.idx_to_landmark_verts as number[] | undefined;
  if (jsonLandmarks && !sameList(jsonLandmarks, ICT_LANDMARKS.landmarks68)) {
    throw new Error('vertex_indices.json idx_to_landmark_verts differs from the README landmark list');
  }
  const vertexSets: Record<string, Uint32Array> = {};
  for (const [name, key] of Object.entries(VERTEX_SETS)) {
    const list = json[key] as number[] | undefined;
    if (!list) continue;
    if (list.some((v) => v >= V)) throw new Error(`${key} has vertices outside the kept range`);
    vertexSets[name] = Uint32Array.from(list);
  }

  const neutralText = (await readFile(path.join(dir, 'generic_neutral_mesh.obj'))).toString('latin1');
  const topo = parseObjTopology(neutralText, V);
  if (topo.positions.length !== V * 3) throw new Error(`neutral mesh has fewer than ${V} vertices`);
  const parts = partRanges(topo.triangles, ICT_PARTS, topo.triangleFace);

  const modeNames = [
    ...Array.from({ length: ICT_IDENTITY_COUNT }, (_, i) => `identity${String(i).padStart(3, '0')}`),
    ...expressionNames,
  ];
  const modes: Float64Array[] = [];
  for (let i = 0; i < modeNames.length; i++) {
    const verts = parseObjVertices(await readMaybeGzipped(dir, modeNames[i]), V);
    if (verts.length !== V * 3) throw new Error(`${modeNames[i]} has fewer than ${V} vertices`);
    for (let j = 0; j < verts.length; j++) verts[j] -= topo.positions[j];
    modes.push(verts);
    onProgress?.(i + 1, modeNames.length);
  }

  const landmarks: LandmarkDefinition = {
    landmarks68: Uint32Array.from(ICT_LANDMARKS.landmarks68),
    jawRight: Uint32Array.from(ICT_LANDMARKS.jawRight),
    jawLeft: Uint32Array.from(ICT_LANDMARKS.jawLeft),
    jawRightExtended: Uint32Array.from(ICT_LANDMARKS.jawRightExtended),
    jawLeftExtended: Uint32Array.from(ICT_LANDMARKS.jawLeftExtended),
  };
  return encodeFaceModel(
    {
      vertexCount: V,
      neutral: Float32Array.from(topo.positions),
      triangles: topo.triangles,
      uvs: topo.uvs,
      uvTriangles: topo.uvTriangles,
      parts,
      landmarks,
      vertexSets,
      expressionNames,
      identityModes: modes.slice(0, ICT_IDENTITY_COUNT),
      expressionModes: modes.slice(ICT_IDENTITY_COUNT),
      info:
        'ICT-FaceKit Face Model Light (FaceXModel), Copyright (c) 2020 USC Institute for Creative Technologies, ' +
        'MIT licence (ICT-FaceKit-LICENSE.txt); vertices 0-24590, 100 identity modes, 53 expressions; ' +
        'converted by ganfit importIct',
    },
    options,
  );
}
