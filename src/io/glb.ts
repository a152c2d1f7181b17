/**
 * Binary glTF 2.0 (GLB), format only: flat arrays in glTF's own conventions in, bytes out. No knowledge of faces.
 *
 * glTF conventions the caller must already follow: metres, +y up, +z towards the viewer; one index list shared
 * by every attribute (split vertices at UV seams before calling); UVs with the origin at the **top-left**
 * (`v_gltf = 1 − v_obj`); morph targets hold deltas from the base attributes.
 *
 * Written with @gltf-transform/core (platform-neutral `WebIO`, so this also runs in a browser): one scene, one
 * node, one mesh with one triangle primitive, one PBR metallic-roughness material. Morph target names go to
 * `mesh.extras.targetNames`, the convention three.js, Blender and Babylon.js read.
 */
import { Document, Logger, WebIO } from '@gltf-transform/core';

export interface GlbMorphTarget {
  name: string;
  /** V×3 position deltas (metres). */
  positions: Float32Array;
  /** V×3 normal deltas, optional. */
  normals?: Float32Array;
}

export interface GlbMaterial {
  name?: string;
  /** Default 0.6. */
  roughness?: number;
  /** Default 0. */
  metallic?: number;
  /** Linear RGBA multiplier; default white. */
  baseColorFactor?: [number, number, number, number];
  doubleSided?: boolean;
}

export interface GlbInput {
  /** V×3 positions, metres. */
  positions: Float32Array;
  /** V×3 unit normals. */
  normals?: Float32Array;
  /** V×2 texture coordinates, origin top-left. */
  uvs?: Float32Array;
  /** T×3 vertex indices, counter-clockwise front faces. */
  indices: Uint32Array | Uint16Array;
  /** Encoded base-colour image (embedded in the GLB binary chunk). */
  texture?: Uint8Array;
  /** Default 'image/png'. */
  textureMimeType?: 'image/png' | 'image/jpeg';
  material?: GlbMaterial;
  morphTargets?: GlbMorphTarget[];
  /** Default morph weights, one per target (default all 0). */
  weights?: ArrayLike<number>;
  /**
   * Store morph target accessors sparsely (only the vertices a target moves; exact zeros are skipped) wherever
   * that is smaller than dense storage. Valid glTF 2.0 read by three.js, Blender and Babylon.js; much smaller when
   * targets are local. Default false.
   */
  sparseMorphTargets?: boolean;
  meshName?: string;
  nodeName?: string;
  /** `asset.copyright`. */
  copyright?: string;
  /** `asset.generator`; default 'ganfit'. */
  generator?: string;
  /** Extra JSON stored on the mesh (`mesh.extras`, beside `targetNames`). */
  meshExtras?: Record<string, unknown>;
}

function checkLength(name: string, array: ArrayLike<number> | undefined, expected: number): void {
  if (array && array.length !== expected) {
    throw new Error(`GLB: ${name} has length ${array.length}, expected ${expected}`);
  }
}

/** Builds the GLB bytes. */
export async function writeGlb(input: GlbInput): Promise<Uint8Array> {
  const { positions, normals, uvs, indices } = input;
  if (positions.length % 3 !== 0) throw new Error('GLB: positions length must be a multiple of 3');
  if (indices.length % 3 !== 0) throw new Error('GLB: indices length must be a multiple of 3');
  const vertexCount = positions.length / 3;
  checkLength('normals', normals, 3 * vertexCount);
  checkLength('uvs', uvs, 2 * vertexCount);
  for (let i = 0; i < indices.length; i++) {
    if (indices[i]! >= vertexCount) throw new Error(`GLB: index ${indices[i]} out of range (${vertexCount} vertices)`);
  }
  const targets = input.morphTargets ?? [];
  for (const t of targets) {
    checkLength(`morph target '${t.name}' positions`, t.positions, 3 * vertexCount);
    checkLength(`morph target '${t.name}' normals`, t.normals, 3 * vertexCount);
  }
  if (input.weights) checkLength('weights', input.weights, targets.length);

  const doc = new Document();
  const asset = doc.getRoot().getAsset();
  asset.generator = input.generator ?? 'ganfit';
  if (input.copyright) asset.copyright = input.copyright;
  const buffer = doc.createBuffer();

  const vec3 = (array: Float32Array) => doc.createAccessor().setType('VEC3').setArray(array).setBuffer(buffer);
  const prim = doc.createPrimitive().setAttribute('POSITION', vec3(positions));
  if (normals) prim.setAttribute('NORMAL', vec3(normals));
  if (uvs) prim.setAttribute('TEXCOORD_0', doc.createAccessor().setType('VEC2').setArray(uvs).setBuffer(buffer));
  const indexArray = vertexCount <= 65535 && !(indices instanceof Uint16Array) ? Uint16Array.from(indices) : indices;
  prim.setIndices(doc.createAccessor().setType('SCALAR').setArray(indexArray).setBuffer(buffer));

  const m = input.material ?? {};
  const material = doc
    .createMaterial(m.name ?? 'material')
    .setRoughnessFactor(m.roughness ?? 0.6)
    .setMetallicFactor(m.metallic ?? 0)
    .setBaseColorFactor(m.baseColorFactor ?? [1, 1, 1, 1])
    .setDoubleSided(m.doubleSided ?? false);
  if (input.texture) {
    const texture = doc
      .createTexture('baseColor')
      .setImage(input.texture)
      .setMimeType(input.textureMimeType ?? 'image/png');
    material.setBaseColorTexture(texture);
  }
  prim.setMaterial(material);

  const sparse = input.sparseMorphTargets ?? false;
  const indexBytes = vertexCount < 255 ? 1 : vertexCount < 65535 ? 2 : 4;
  const morphAccessor = (deltas: Float32Array) => vec3(deltas).setSparse(sparse && sparseIsSmaller(deltas, indexBytes));
  for (const t of targets) {
    const target = doc.createPrimitiveTarget(t.name);
    target.setAttribute('POSITION', morphAccessor(t.positions));
    if (t.normals) target.setAttribute('NORMAL', morphAccessor(t.normals));
    prim.addTarget(target);
  }

  const mesh = doc.createMesh(input.meshName ?? 'mesh').addPrimitive(prim);
  if (targets.length > 0) mesh.setWeights(Array.from(input.weights ?? new Float32Array(targets.length)));
  if (input.meshExtras) mesh.setExtras({ ...input.meshExtras });
  const node = doc.createNode(input.nodeName ?? 'mesh').setMesh(mesh);
  doc.createScene('scene').addChild(node);
  doc.getRoot().setDefaultScene(doc.getRoot().listScenes()[0]!);

  // Quiet: the library warns about sparse accessors over 50 % full, which sparseIsSmaller already weighed.
  return new WebIO().setLogger(new Logger(Logger.Verbosity.ERROR)).writeBinary(doc);
}

/** Whether sparse storage (index + 3 floats per moved vertex) beats dense storage (3 floats per vertex). */
function sparseIsSmaller(deltas: Float32Array, indexBytes: number): boolean {
  let moved = 0;
  for (let i = 0; i < deltas.length; i += 3) {
    if (deltas[i] !== 0 || deltas[i + 1] !== 0 || deltas[i + 2] !== 0) moved++;
  }
  return moved * (12 + indexBytes) < (deltas.length / 3) * 12;
}

/** The two chunks of a GLB. */
export interface GlbContainer {
  version: number;
  /** Total length from the header. */
  byteLength: number;
  /** The parsed JSON chunk. */
  json: Record<string, unknown>;
  /** The BIN chunk, or null when absent. */
  bin: Uint8Array | null;
}

const GLB_MAGIC = 0x46546c67; // 'glTF'
const CHUNK_JSON = 0x4e4f534a; // 'JSON'
const CHUNK_BIN = 0x004e4942; // 'BIN\0'

/**
 * Checks the GLB container (header, chunk lengths, 4-byte alignment, JSON first, BIN second if present) and
 * returns its chunks. Throws on any violation. Does not validate the glTF JSON itself.
 */
export function parseGlbContainer(bytes: Uint8Array): GlbContainer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 20) throw new Error('GLB: too short');
  if (view.getUint32(0, true) !== GLB_MAGIC) throw new Error('GLB: bad magic');
  const version = view.getUint32(4, true);
  if (version !== 2) throw new Error(`GLB: unsupported version ${version}`);
  const byteLength = view.getUint32(8, true);
  if (byteLength !== bytes.byteLength) {
    throw new Error(`GLB: header length ${byteLength} but ${bytes.byteLength} bytes`);
  }
  let offset = 12;
  let json: Record<string, unknown> | null = null;
  let bin: Uint8Array | null = null;
  let chunkIndex = 0;
  while (offset < byteLength) {
    if (offset + 8 > byteLength) throw new Error('GLB: truncated chunk header');
    const length = view.getUint32(offset, true);
    const type = view.getUint32(offset + 4, true);
    if (length % 4 !== 0) throw new Error(`GLB: chunk ${chunkIndex} length ${length} not 4-byte aligned`);
    const start = offset + 8;
    if (start + length > byteLength) throw new Error(`GLB: chunk ${chunkIndex} overruns the file`);
    const data = bytes.subarray(start, start + length);
    if (chunkIndex === 0) {
      if (type !== CHUNK_JSON) throw new Error('GLB: first chunk is not JSON');
      json = JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;
    } else if (chunkIndex === 1 && type === CHUNK_BIN) {
      bin = data;
    } else if (type === CHUNK_JSON || type === CHUNK_BIN) {
      throw new Error(`GLB: unexpected ${type === CHUNK_JSON ? 'JSON' : 'BIN'} chunk at position ${chunkIndex}`);
    }
    offset = start + length;
    chunkIndex++;
  }
  if (!json) throw new Error('GLB: no JSON chunk');
  return { version, byteLength, json, bin };
}
