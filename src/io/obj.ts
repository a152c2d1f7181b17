/**
 * Wavefront OBJ / MTL, format only: flat arrays in, text out (and back). No knowledge of faces.
 *
 * Indices in the arrays are 0-based; the text is 1-based as OBJ requires. Positions and UVs have separate
 * index lists (`triangles`, `uvTriangles`) because a vertex on a UV seam has several UVs. UVs are in OBJ's own
 * convention (origin bottom-left, v up). Normals, when given, are per vertex and share the position indices.
 */

export type NumberArray = ArrayLike<number>;

/** A named run of triangles, written as `g name`. */
export interface ObjGroup {
  name: string;
  /** First triangle, inclusive. */
  triangleStart: number;
  /** One past the last triangle. */
  triangleEnd: number;
}

export interface ObjWriteInput {
  /** V×3 positions. */
  positions: NumberArray;
  /** V×3 normals, one per position (written as `vn`, referenced with the position index). */
  normals?: NumberArray;
  /** U×2 texture coordinates, origin bottom-left. */
  uvs: NumberArray;
  /** T×3 position indices, 0-based. */
  triangles: NumberArray;
  /** T×3 UV indices, 0-based, corner for corner with `triangles`. */
  uvTriangles: NumberArray;
  /** `mtllib` file name (omitted when absent). */
  mtlName?: string;
  /** `usemtl` material name (omitted when absent). */
  materialName?: string;
  /** Non-overlapping triangle ranges written as `g` groups. */
  groups?: ObjGroup[];
  /** Comment lines written at the top (without the leading `#`). */
  comments?: string[];
  /** Decimal places for positions, normals and UVs (trailing zeros trimmed). Default 6. */
  precision?: number;
}

function formatter(precision: number): (x: number) => string {
  return (x: number): string => {
    if (!Number.isFinite(x)) throw new Error(`OBJ: non-finite value ${x}`);
    let s = x.toFixed(precision);
    if (s.indexOf('.') >= 0) {
      let end = s.length;
      while (s.charCodeAt(end - 1) === 48 /* 0 */) end--;
      if (s.charCodeAt(end - 1) === 46 /* . */) end--;
      s = s.slice(0, end);
    }
    return s === '-0' ? '0' : s;
  };
}

function checkIndices(name: string, indices: NumberArray, limit: number): void {
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i]!;
    if (!(k >= 0 && k < limit && Number.isInteger(k))) {
      throw new Error(`OBJ: ${name}[${i}] = ${k} out of range [0, ${limit})`);
    }
  }
}

/** Writes an OBJ: `v`, `vt`, optional `vn`, then `f v/vt[/vn]` triangles, 1-based. */
export function writeObj(input: ObjWriteInput): string {
  const { positions, normals, uvs, triangles, uvTriangles } = input;
  const f = formatter(input.precision ?? 6);
  if (positions.length % 3 !== 0) throw new Error('OBJ: positions length must be a multiple of 3');
  if (uvs.length % 2 !== 0) throw new Error('OBJ: uvs length must be a multiple of 2');
  if (triangles.length % 3 !== 0) throw new Error('OBJ: triangles length must be a multiple of 3');
  if (uvTriangles.length !== triangles.length) throw new Error('OBJ: uvTriangles must match triangles');
  if (normals && normals.length !== positions.length) throw new Error('OBJ: normals must match positions');
  const vertexCount = positions.length / 3;
  const uvCount = uvs.length / 2;
  checkIndices('triangles', triangles, vertexCount);
  checkIndices('uvTriangles', uvTriangles, uvCount);

  const lines: string[] = [];
  for (const c of input.comments ?? []) lines.push(`# ${c}`);
  if (input.mtlName) lines.push(`mtllib ${input.mtlName}`);
  for (let i = 0; i < positions.length; i += 3) {
    lines.push(`v ${f(positions[i]!)} ${f(positions[i + 1]!)} ${f(positions[i + 2]!)}`);
  }
  for (let i = 0; i < uvs.length; i += 2) lines.push(`vt ${f(uvs[i]!)} ${f(uvs[i + 1]!)}`);
  if (normals) {
    for (let i = 0; i < normals.length; i += 3) {
      lines.push(`vn ${f(normals[i]!)} ${f(normals[i + 1]!)} ${f(normals[i + 2]!)}`);
    }
  }
  if (input.materialName) lines.push(`usemtl ${input.materialName}`);

  const groupAt = new Map<number, string>();
  for (const g of input.groups ?? []) {
    if (g.triangleStart < g.triangleEnd) groupAt.set(g.triangleStart, g.name);
  }
  const triangleCount = triangles.length / 3;
  for (let t = 0; t < triangleCount; t++) {
    const group = groupAt.get(t);
    if (group !== undefined) lines.push(`g ${group}`);
    let line = 'f';
    for (let c = 0; c < 3; c++) {
      const v = triangles[3 * t + c]! + 1;
      const vt = uvTriangles[3 * t + c]! + 1;
      line += normals ? ` ${v}/${vt}/${v}` : ` ${v}/${vt}`;
    }
    lines.push(line);
  }
  lines.push('');
  return lines.join('\n');
}

export interface MtlWriteInput {
  materialName: string;
  /** Diffuse texture file, relative to the MTL (`map_Kd`). */
  texturePath?: string;
}

/** Writes a one-material MTL: white diffuse (the texture carries the colour), no specular, `map_Kd`. */
export function writeMtl(input: MtlWriteInput): string {
  const lines = [
    `newmtl ${input.materialName}`,
    'Ka 1 1 1',
    'Kd 1 1 1',
    'Ks 0 0 0',
    'Ns 10',
    'd 1',
    'illum 1',
  ];
  if (input.texturePath) lines.push(`map_Kd ${input.texturePath}`);
  lines.push('');
  return lines.join('\n');
}

/** A named run of triangles from `usemtl`. */
export interface ObjMaterialRange {
  material: string;
  triangleStart: number;
  triangleEnd: number;
}

export interface ObjData {
  /** V×3 positions (extra per-vertex values such as colours are dropped). */
  positions: Float32Array;
  /** U×2 texture coordinates (a third `w` component is dropped). */
  uvs: Float32Array;
  /** N×3 normals as listed (`vn`). */
  normals: Float32Array;
  /** T×3 position indices, 0-based; polygons are split into fans (quad abcd → abc, acd). */
  triangles: Uint32Array;
  /** T×3 UV indices, or null when some face corner has no UV. */
  uvTriangles: Uint32Array | null;
  /** T×3 normal indices, or null when some face corner has no normal. */
  normalTriangles: Uint32Array | null;
  /** `g` / `o` groups as triangle ranges, in file order. */
  groups: ObjGroup[];
  /** `usemtl` runs as triangle ranges, in file order. */
  materials: ObjMaterialRange[];
  /** `mtllib` file names. */
  mtllibs: string[];
}

/** Growable typed array. */
class Buf<T extends Float32Array | Uint32Array> {
  data: T;
  length = 0;
  constructor(private readonly make: (n: number) => T) {
    this.data = make(1024);
  }
  push(x: number): void {
    if (this.length === this.data.length) {
      const next = this.make(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = x;
  }
  done(): T {
    return this.data.slice(0, this.length) as T;
  }
}

/**
 * Parses the geometry of an OBJ: `v`, `vt`, `vn`, `f` (any polygon, `v`, `v/vt`, `v//vn`, `v/vt/vn`, negative
 * relative indices), `g`/`o`, `usemtl`, `mtllib`. Other statements are ignored; line continuations are not
 * supported.
 */
export function readObj(text: string): ObjData {
  const pos = new Buf((n) => new Float32Array(n));
  const uv = new Buf((n) => new Float32Array(n));
  const nrm = new Buf((n) => new Float32Array(n));
  const tri = new Buf((n) => new Uint32Array(n));
  const uvTri = new Buf((n) => new Uint32Array(n));
  const nTri = new Buf((n) => new Uint32Array(n));
  let allUv = true;
  let allNormal = true;
  const groups: ObjGroup[] = [];
  const materials: ObjMaterialRange[] = [];
  const mtllibs: string[] = [];
  const triangleCount = (): number => tri.length / 3;
  const closeLast = <R extends { triangleEnd: number }>(list: R[]): void => {
    const last = list[list.length - 1];
    if (last) last.triangleEnd = triangleCount();
  };

  const resolve = (token: string | undefined, count: number, lineNo: number): number => {
    const k = Number(token);
    if (!Number.isInteger(k) || k === 0) throw new Error(`OBJ line ${lineNo}: bad index ${JSON.stringify(token)}`);
    const i = k > 0 ? k - 1 : count + k;
    if (i < 0 || i >= count) throw new Error(`OBJ line ${lineNo}: index ${k} out of range (${count} defined)`);
    return i;
  };

  const lines = text.split(/\r?\n/);
  const cv: number[] = [];
  const ct: number[] = [];
  const cn: number[] = [];
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l]!.trim();
    if (line.length === 0 || line.charCodeAt(0) === 35 /* # */) continue;
    const parts = line.split(/\s+/);
    const key = parts[0];
    switch (key) {
      case 'v':
        pos.push(Number(parts[1]));
        pos.push(Number(parts[2]));
        pos.push(Number(parts[3]));
        break;
      case 'vt':
        uv.push(Number(parts[1]));
        uv.push(Number(parts[2] ?? 0));
        break;
      case 'vn':
        nrm.push(Number(parts[1]));
        nrm.push(Number(parts[2]));
        nrm.push(Number(parts[3]));
        break;
      case 'f': {
        cv.length = ct.length = cn.length = 0;
        for (let i = 1; i < parts.length; i++) {
          const [a, b, c] = parts[i]!.split('/');
          cv.push(resolve(a, pos.length / 3, l + 1));
          if (b) ct.push(resolve(b, uv.length / 2, l + 1));
          else allUv = false;
          if (c) cn.push(resolve(c, nrm.length / 3, l + 1));
          else allNormal = false;
        }
        if (cv.length < 3) throw new Error(`OBJ line ${l + 1}: face with fewer than 3 corners`);
        for (let i = 1; i + 1 < cv.length; i++) {
          for (const k of [0, i, i + 1]) {
            tri.push(cv[k]!);
            uvTri.push(ct[k] ?? 0);
            nTri.push(cn[k] ?? 0);
          }
        }
        break;
      }
      case 'g':
      case 'o':
        closeLast(groups);
        groups.push({ name: parts.slice(1).join(' '), triangleStart: triangleCount(), triangleEnd: triangleCount() });
        break;
      case 'usemtl':
        closeLast(materials);
        materials.push({ material: parts.slice(1).join(' '), triangleStart: triangleCount(), triangleEnd: triangleCount() });
        break;
      case 'mtllib':
        mtllibs.push(parts.slice(1).join(' '));
        break;
      default:
        break;
    }
  }
  closeLast(groups);
  closeLast(materials);
  return {
    positions: pos.done(),
    uvs: uv.done(),
    normals: nrm.done(),
    triangles: tri.done(),
    uvTriangles: allUv ? uvTri.done() : null,
    normalTriangles: allNormal ? nTri.done() : null,
    groups,
    materials,
    mtllibs,
  };
}
