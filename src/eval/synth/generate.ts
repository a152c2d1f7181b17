/**
 * Render synthetic samples with known parameters (issue 9). Files per sample, in the output folder:
 *
 * - `NNNN.png`: the render (sRGB, width×height, default 450×450).
 * - `NNNN.verts.bin`: every vertex of the rendered mesh in **camera space**, centimetres, little-endian float32,
 *   V×3 row-major (x right, y down, z forward; docs/conventions.md "Camera space"), no header.
 * - `NNNN.json`: a {@link SynthSample}: every parameter, the 68 landmarks in 2D (AFLW2000-3D convention: 1-based,
 *   the top-left pixel centre is (1, 1), so `nme68` applies unchanged) and in 3D camera space (cm), the landmark
 *   box, the pose and its yaw bin, the model fingerprint and the name of the vertex file.
 *
 * The 68 ground-truth points are the model's fixed landmark vertices (no sliding jaw contour), projected whether
 * visible or not, as AFLW2000-3D's points are. `index.json` lists the set.
 */
import path from 'node:path';
import { tf } from '../../engine/index.js';
import { writeFileAtomic } from '../../io/atomic.js';
import type { FaceModel } from '../../model/types.js';
import { modelPositions } from '../../model/mesh.js';
import { modelToCamera64, projectToPixels64, render, type PerspectiveCamera } from '../../render/index.js';
import { encodePng } from '../../io/image.js';
import { loadTextureGenerator, sampleTextures, TextureWeightsMissingError, type TextureGenerator } from '../../texture/gan.js';
import { drawSynthParams, type SynthParams } from './params.js';
import { backgroundImage, modelRegions, vertexColors, type Regions } from './appearance.js';
import type { YawBin } from '../aflw2000.js';

export const SYNTH_FORMAT = 'ganfit-synth';
export const SYNTH_FORMAT_VERSION = 1;

/** Identifies the face model a sample was made with; evaluation refuses samples of another model. */
export interface ModelFingerprint {
  version: number;
  vertexCount: number;
  identityCount: number;
  expressionCount: number;
  info: string;
}

export function modelFingerprint(model: FaceModel): ModelFingerprint {
  return {
    version: model.version, vertexCount: model.vertexCount, identityCount: model.identityCount,
    expressionCount: model.expressionNames.length, info: model.info,
  };
}

/** One sample's JSON. Its `file`, `width`, `height`, `landmarks2d`, `pose`, `box`, `yaw_bin` match AFLW2000's gt. */
export interface SynthSample {
  format: typeof SYNTH_FORMAT;
  formatVersion: number;
  file: string;
  width: number;
  height: number;
  /** 68×2, AFLW2000 convention: 1-based pixel centres. */
  landmarks2d: [number, number][];
  /** 68×3, camera space, cm. */
  landmarks3d: [number, number, number][];
  /** Tight box of landmarks2d [x, y, w, h] (same 1-based coordinates): the NME normaliser is sqrt(w·h). */
  box: [number, number, number, number];
  pose: { yaw: number; pitch: number; roll: number };
  yaw_bin: YawBin;
  model: ModelFingerprint;
  /** How the albedo was made: `vertex-colour` (per-vertex tones) or `gan` (a texture GAN sample). */
  texture: 'vertex-colour' | 'gan';
  /** The GAN latent when `texture` is `gan`. */
  textureLatent?: number[];
  vertices: { file: string; dtype: 'float32'; shape: [number, number]; frame: 'camera'; units: 'cm' };
  params: SynthParams;
  seed: number;
}

export interface SynthOptions {
  seed: number;
  width?: number;
  height?: number;
  /** 'auto': a trained texture GAN when its weights load, else vertex colours. Default 'vertex'. */
  texture?: 'auto' | 'vertex';
  texturePath?: string;
}

/** Loaded once per set: the model's regions and (if any) the texture generator. */
export interface SynthContext {
  model: FaceModel;
  regions: Regions;
  generator: TextureGenerator | null;
  /** Why the generator is not used (e.g. no weights), for the index. */
  textureNote?: string;
}

export async function createSynthContext(model: FaceModel, options: Pick<SynthOptions, 'texture' | 'texturePath'> = {}): Promise<SynthContext> {
  const context: SynthContext = { model, regions: modelRegions(model), generator: null };
  if (options.texture === 'auto') {
    try {
      context.generator = await loadTextureGenerator(options.texturePath);
    } catch (e) {
      if (!(e instanceof TextureWeightsMissingError)) throw e;
      context.textureNote = `vertex colours: ${e.message.split(':')[0]}`;
    }
  }
  return context;
}

/** Face-tile colours from a GAN map, per face vertex (nearest texel at each vertex's first UV). */
function ganVertexColors(context: SynthContext, colors: Float32Array, seed: number): number[] {
  const { model, generator } = context;
  const sampled = sampleTextures(generator!, 1, seed);
  const map = sampled.maps[0], R = sampled.resolution;
  const face = model.parts.find((p) => p.name === 'face')!;
  for (let t = face.triangleStart; t < face.triangleEnd; t++) {
    for (let c = 0; c < 3; c++) {
      const v = model.triangles[3 * t + c], uv = model.uvTriangles[3 * t + c];
      const u = model.uvs[2 * uv], w = model.uvs[2 * uv + 1];
      if (v >= face.vertexEnd || u < 0 || u >= 1) continue;
      const col = Math.min(R - 1, Math.max(0, Math.round(u * R - 0.5)));
      const row = Math.min(R - 1, Math.max(0, Math.round((1 - w) * R - 0.5)));
      for (let j = 0; j < 3; j++) colors[3 * v + j] = map[(row * R + col) * 3 + j] / 255;
    }
  }
  return Array.from(sampled.latents[0]);
}

export interface RenderedSample {
  json: SynthSample;
  png: Uint8Array;
  /** V×3 float32 camera-space positions (cm), little-endian bytes. */
  vertices: Uint8Array;
}

const r3 = (v: number) => Number(v.toFixed(3));
const r4 = (v: number) => Number(v.toFixed(4));

/** Draw and render sample `index` of set `seed`. */
export async function renderSample(context: SynthContext, index: number, options: SynthOptions): Promise<RenderedSample> {
  const { model } = context;
  const width = options.width ?? 450, height = options.height ?? 450;
  const params = drawSynthParams(model, options.seed, index, width, height);
  const positions = modelPositions(model, {
    identity: Float32Array.from(params.identity),
    expression: Float32Array.from(model.expressionNames, (n) => params.expression[n] ?? 0),
  });
  const colors = vertexColors(model, context.regions, params.appearance);
  const latent = context.generator ? ganVertexColors(context, colors, params.appearance.noiseSeed) : undefined;

  const cam = params.camera;
  const camera: PerspectiveCamera = { kind: 'perspective', rotation: cam.rotation, translation: cam.translation, focal: cam.focal, principal: cam.principal };
  const V = model.vertexCount;
  const bg = backgroundImage(params.background, width, height);
  const pixels = tf.tidy(() => {
    const out = render(
      { positions: tf.tensor2d(positions, [V, 3]), triangles: model.triangles, colors: tf.tensor2d(colors, [V, 3]) },
      camera,
      { position: params.light.position, color: params.light.color, ambient: params.light.ambient, specular: params.light.specular, shininess: params.light.shininess },
      null,
      { resolution: [height, width], background: tf.tensor3d(bg, [height, width, 3]), cull: 'back' },
    );
    return tf.round(tf.mul(tf.clipByValue(out.image, 0, 1), 255));
  });
  const data = Uint8Array.from(pixels.dataSync());
  pixels.dispose();
  const png = await encodePng({ width, height, data });

  const cam64 = { kind: 'perspective' as const, rotation: cam.rotation, translation: cam.translation, focal: cam.focal, principal: cam.principal };
  const camPositions = modelToCamera64(positions, cam64);
  const lmIdx = model.landmarks.landmarks68;
  const lm3 = new Float64Array(68 * 3);
  for (let k = 0; k < 68; k++) for (let j = 0; j < 3; j++) lm3[3 * k + j] = camPositions[3 * lmIdx[k] + j];
  const lm2 = projectToPixels64(lm3, cam64, [height, width]);
  // AFLW2000 convention: 1-based pixel centres.
  const landmarks2d = Array.from({ length: 68 }, (_, k) => [r4(lm2[2 * k] + 1), r4(lm2[2 * k + 1] + 1)] as [number, number]);
  const xs = landmarks2d.map((p) => p[0]), ys = landmarks2d.map((p) => p[1]);
  const box: [number, number, number, number] = [
    Math.min(...xs), Math.min(...ys), r4(Math.max(...xs) - Math.min(...xs)), r4(Math.max(...ys) - Math.min(...ys)),
  ];
  const name = String(index).padStart(4, '0');
  const json: SynthSample = {
    format: SYNTH_FORMAT,
    formatVersion: SYNTH_FORMAT_VERSION,
    file: `${name}.png`,
    width, height,
    landmarks2d,
    landmarks3d: Array.from({ length: 68 }, (_, k) => [r3(lm3[3 * k]), r3(lm3[3 * k + 1]), r3(lm3[3 * k + 2])] as [number, number, number]),
    box,
    pose: params.pose,
    yaw_bin: params.yawBin,
    model: modelFingerprint(model),
    texture: latent ? 'gan' : 'vertex-colour',
    ...(latent ? { textureLatent: latent.map(r4) } : {}),
    vertices: { file: `${name}.verts.bin`, dtype: 'float32', shape: [V, 3], frame: 'camera', units: 'cm' },
    params,
    seed: options.seed,
  };
  const verts = new Float32Array(camPositions);
  const bytes = new Uint8Array(verts.buffer);
  return { json, png, vertices: littleEndian(bytes) };
}

/** Float32 bytes in little-endian order (a no-op on little-endian machines). */
function littleEndian(bytes: Uint8Array): Uint8Array {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) for (let j = 0; j < 4; j++) out[i + j] = bytes[i + 3 - j];
  return out;
}

/** Read a `NNNN.verts.bin` (V×3 float32, little-endian) into a Float32Array. */
export function parseVertices(bytes: Uint8Array, vertexCount: number): Float32Array {
  if (bytes.length !== vertexCount * 12) throw new Error(`vertex file has ${bytes.length} bytes, expected ${vertexCount}×3 float32 (${vertexCount * 12})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(vertexCount * 3);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

export interface SynthIndex {
  format: typeof SYNTH_FORMAT;
  formatVersion: number;
  seed: number;
  count: number;
  width: number;
  height: number;
  model: ModelFingerprint;
  texture: 'vertex-colour' | 'gan';
  textureNote?: string;
  samples: { json: string; image: string; vertices: string; yaw_bin: YawBin }[];
}

/**
 * Write samples 0..n−1 of set `seed` into `dir` (each file written atomically), then `index.json`; every byte
 * depends on the seed and options only (the returned `seconds` is not written).
 * `start` skips the first samples (to extend a set: the samples do not depend on n).
 */
export async function generateSynthSet(
  model: FaceModel,
  dir: string,
  options: SynthOptions & { count: number; start?: number; onSample?: (done: number, total: number, sample: SynthSample) => void },
): Promise<SynthIndex & { seconds: number }> {
  const begin = performance.now();
  const context = await createSynthContext(model, options);
  const samples: SynthIndex['samples'] = [];
  for (let i = options.start ?? 0; i < options.count; i++) {
    const s = await renderSample(context, i, options);
    await writeFileAtomic(path.join(dir, s.json.vertices.file), s.vertices);
    await writeFileAtomic(path.join(dir, s.json.file), s.png);
    const json = s.json.file.replace(/\.png$/, '.json');
    await writeFileAtomic(path.join(dir, json), JSON.stringify(s.json, null, 1) + '\n');
    samples.push({ json, image: s.json.file, vertices: s.json.vertices.file, yaw_bin: s.json.yaw_bin });
    options.onSample?.(samples.length, options.count - (options.start ?? 0), s.json);
  }
  const index: SynthIndex = {
    format: SYNTH_FORMAT,
    formatVersion: SYNTH_FORMAT_VERSION,
    seed: options.seed,
    count: samples.length,
    width: options.width ?? 450,
    height: options.height ?? 450,
    model: modelFingerprint(model),
    texture: context.generator ? 'gan' : 'vertex-colour',
    ...(context.textureNote ? { textureNote: context.textureNote } : {}),
    samples,
  };
  await writeFileAtomic(path.join(dir, 'index.json'), JSON.stringify(index, null, 1) + '\n');
  context.generator?.dispose();
  return { ...index, seconds: (performance.now() - begin) / 1000 };
}
