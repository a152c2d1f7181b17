/**
 * The texture GAN's generator G(p_t): latent [B, D] → complete UV map [B, R, R, 3]. Architecture, sizing and
 * training are described in docs/texture-gan.md; in short, a ProGAN/StyleGAN2-"skip" style stack sized for one
 * wasm core:
 *
 *   z → pixel-norm → dense → 4×4×C₄ → conv3×3 → then per resolution r = 8 … R:
 *       nearest ×2 → conv3×3 (C_{r/2} → C_r) → leaky ReLU → [pixel-norm while r ≤ pixelNormMaxRes]
 *   rgb = toRGB₄(h₄); per level rgb ← bilinear ×2 (rgb) + toRGB_r(h_r)  (1×1 convs)
 *
 * Channels shrink as resolution grows, so the top levels (the "learned upsampler": 128 → 256 with a handful of
 * channels adding detail to the bilinearly upsampled colour) cost about as much as the low-resolution core.
 * Weights use the equalised learning rate (stored ~N(0, 1), scaled by gain/√fan_in at run time). Plain (not
 * fused) convolutions are used so a gradient to the latent alone never asks for filter gradients.
 *
 * Row 0 of every map is the top of the UV image (v near 1), as in the PNGs (docs/conventions.md, "UV maps").
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../engine/index.js';
import { Rng } from './random.js';
import { bilinearUp2, convBiasActConst, convSame, flipFilter, upsample2 } from './ops.js';

export interface GeneratorConfig {
  latentSize: number;
  /** Output resolution R (a power of two ≥ 8). */
  resolution: number;
  /** Feature channels per level, from 4×4 up to R×R (log2(R) − 1 entries). */
  channels: number[];
  /** Pixel-normalise features at resolutions up to this one (cheap at low resolution, costly at high). */
  pixelNormMaxRes: number;
  /**
   * A learned base map `base` [1, r, r, 3] added to the RGB sum at this level (the trainer starts it at the
   * dataset's mean map), so the layers learn departures from the mean face rather than the face itself.
   */
  baseResolution?: number;
}

/**
 * The shipped generator's architecture: 128-d latent, 256×256 output. Its 64² core (the first five levels) is
 * what the default training preset trains; the 128² and 256² levels are added by `growGenerator` when the
 * weights are exported (docs/texture-gan.md, "Architecture"). ~0.5 M parameters.
 */
export const DEFAULT_GENERATOR: GeneratorConfig = {
  latentSize: 128,
  resolution: 256,
  channels: [128, 64, 32, 16, 8, 8, 4],
  pixelNormMaxRes: 16,
  baseResolution: 64,
};

/** Levels of DEFAULT_GENERATOR that are trained (4² … 64²); the rest are grown at export. */
export const DEFAULT_TRAINED_LEVELS = 5;

/** Anything that turns latents [B, D] into UV maps [B, R, R, 3] in [0, 1] (the GAN and the PCA baseline). */
export interface TextureModel {
  readonly latentSize: number;
  readonly resolution: number;
  /**
   * True when the map depends on z's direction only (the GAN pixel-normalises its input): a latent fit then
   * starts from a random direction, not from z = 0 where that normalisation is singular.
   */
  readonly directionalLatent?: boolean;
  generate(latent: tf.Tensor2D): tf.Tensor4D;
  dispose(): void;
}

export interface ParamSpec {
  name: string;
  shape: number[];
  /** Run-time multiplier (equalised learning rate); biases use 1. */
  scale: number;
  init: 'normal' | 'zeros';
}

function levels(config: GeneratorConfig): number[] {
  const n = Math.log2(config.resolution);
  if (!Number.isInteger(n) || n < 3) throw new Error(`generator resolution ${config.resolution} must be a power of two ≥ 8`);
  if (config.channels.length !== n - 1) {
    throw new Error(`generator channels: need ${n - 1} entries (4×4 … ${config.resolution}²), got ${config.channels.length}`);
  }
  return Array.from({ length: n - 1 }, (_, i) => 4 << i);
}

/** Every parameter of the generator, in a fixed order. */
export function generatorParamSpecs(config: GeneratorConfig): ParamSpec[] {
  const res = levels(config);
  const ch = config.channels;
  const c0 = ch[0]!;
  const specs: ParamSpec[] = [
    { name: 'dense/w', shape: [config.latentSize, 16 * c0], scale: Math.SQRT2 / Math.sqrt(config.latentSize) / 4, init: 'normal' },
    { name: 'dense/b', shape: [16 * c0], scale: 1, init: 'zeros' },
  ];
  res.forEach((r, i) => {
    const cin = i === 0 ? c0 : ch[i - 1]!;
    const cout = ch[i]!;
    specs.push({ name: `r${r}/conv/w`, shape: [3, 3, cin, cout], scale: Math.SQRT2 / Math.sqrt(9 * cin), init: 'normal' });
    specs.push({ name: `r${r}/conv/b`, shape: [cout], scale: 1, init: 'zeros' });
    specs.push({ name: `r${r}/rgb/w`, shape: [1, 1, cout, 3], scale: 1 / Math.sqrt(cout), init: 'normal' });
    specs.push({ name: `r${r}/rgb/b`, shape: [3], scale: 1, init: 'zeros' });
  });
  if (config.baseResolution !== undefined) {
    if (!res.includes(config.baseResolution)) throw new Error(`generator baseResolution ${config.baseResolution} is not one of its levels`);
    specs.push({ name: 'base', shape: [1, config.baseResolution, config.baseResolution, 3], scale: 1, init: 'zeros' });
  }
  return specs;
}

export type ParamMap = Record<string, tf.Tensor>;

/** Fresh parameters (as variables when `trainable`), drawn from `rng`. */
export function initParams(specs: ParamSpec[], rng: Rng, trainable: boolean): ParamMap {
  const out: ParamMap = {};
  for (const s of specs) {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const values = s.init === 'normal' ? rng.normals(size) : new Float32Array(size);
    const t = tf.tensor(values, s.shape);
    out[s.name] = trainable ? tf.variable(t, true, s.name + '#' + Math.floor(rng.next() * 1e9)) : t;
    if (trainable) t.dispose();
  }
  return out;
}

function pixelNorm(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-8)));
}

/**
 * Parameters ready for a forward pass with constant weights: equalised-LR scales folded in, flipped filters
 * cached for the input gradient. Made once per loaded generator (`prepareConstParams`).
 */
export interface ConstParams {
  eff: ParamMap;
  flipped: ParamMap;
  /**
   * Levels (from 4²) whose features reach the output. The levels above, whose toRGB weights and biases are all
   * zero (those added by `growGenerator` and not trained since), only upsample the RGB sum: their
   * convolutions are skipped, with the same result.
   */
  activeLevels: number;
}

export function prepareConstParams(config: GeneratorConfig, params: ParamMap): ConstParams {
  const eff: ParamMap = {};
  const flipped: ParamMap = {};
  for (const s of generatorParamSpecs(config)) {
    const t = params[s.name];
    if (!t) throw new Error(`generator parameter '${s.name}' missing`);
    eff[s.name] = tf.tidy(() => (s.scale === 1 ? tf.clone(t) : tf.mul(t, s.scale)));
    if (s.name.endsWith('/w') && s.shape.length === 4) flipped[s.name] = flipFilter(eff[s.name] as tf.Tensor4D);
  }
  const res = levels(config);
  let activeLevels = res.length;
  const isZero = (name: string): boolean => (params[name]!.dataSync() as Float32Array).every((v) => v === 0);
  while (activeLevels > 1 && isZero(`r${res[activeLevels - 1]}/rgb/w`) && isZero(`r${res[activeLevels - 1]}/rgb/b`)) activeLevels--;
  return { eff, flipped, activeLevels };
}

/**
 * The generator's forward pass: z [B, D] → maps [B, R, R, 3], roughly in [−1, 1] (not clipped, so training sees
 * unsaturated gradients). With raw `params` (training) it is differentiable with respect to z and every
 * parameter; with `ConstParams` (a loaded generator) with respect to z only, and faster.
 */
export function generatorForward(config: GeneratorConfig, params: ParamMap | ConstParams, z: tf.Tensor2D): tf.Tensor4D {
  const res = levels(config);
  const ch = config.channels;
  const b = z.shape[0];
  const constant = 'eff' in params && 'flipped' in params && !(params.eff instanceof tf.Tensor);
  const specs = new Map(generatorParamSpecs(config).map((s) => [s.name, s]));
  const get = (name: string): tf.Tensor => {
    if (constant) return (params as ConstParams).eff[name]!;
    const t = (params as ParamMap)[name];
    if (!t) throw new Error(`generator parameter '${name}' missing`);
    const s = specs.get(name)!.scale;
    return s === 1 ? t : tf.mul(t, s);
  };
  // conv3×3/1×1 + bias (+ leaky ReLU): one fused kernel with an input-only gradient for constant weights.
  const layer = (x: tf.Tensor4D, prefix: string, act: boolean): tf.Tensor4D => {
    if (constant) {
      const c = params as ConstParams;
      return convBiasActConst(x, c.eff[`${prefix}/w`] as tf.Tensor4D, c.eff[`${prefix}/b`]!, c.flipped[`${prefix}/w`] as tf.Tensor4D,
        act ? 'leakyrelu' : 'linear');
    }
    const y = tf.add(convSame(x, get(`${prefix}/w`) as tf.Tensor4D), get(`${prefix}/b`)) as tf.Tensor4D;
    return act ? tf.leakyRelu(y, 0.2) : y;
  };
  return tf.tidy(() => {
    const zn = pixelNorm(z);
    let h: tf.Tensor = tf.add(tf.matMul(zn, get('dense/w') as tf.Tensor2D), get('dense/b'));
    h = pixelNorm(tf.leakyRelu(tf.reshape(h, [b, 4, 4, ch[0]!]), 0.2));
    let rgb: tf.Tensor4D | null = null;
    const active = constant ? (params as ConstParams).activeLevels : res.length;
    for (const [level, r] of res.entries()) {
      if (level >= active) {
        rgb = bilinearUp2(rgb!);
        if (r === config.baseResolution) rgb = tf.add(rgb, get('base')) as tf.Tensor4D;
        continue;
      }
      if (r > 4) h = upsample2(h as tf.Tensor4D);
      h = layer(h as tf.Tensor4D, `r${r}/conv`, true);
      if (r <= config.pixelNormMaxRes) h = pixelNorm(h);
      const y = layer(h as tf.Tensor4D, `r${r}/rgb`, false);
      rgb = rgb === null ? y : tf.add(bilinearUp2(rgb), y) as tf.Tensor4D;
      if (r === config.baseResolution) rgb = tf.add(rgb, get('base')) as tf.Tensor4D;
    }
    return rgb!;
  });
}

/**
 * The generator grown to `resolution` by new levels (nearest ×2 → conv3×3 → toRGB) with the given channels, one
 * per doubling. A new level's toRGB starts at zero, so the grown generator's maps are exactly the bilinear ×2
 * upsampling of the original's (the skip architecture's fade-in); its convolutions are drawn from `rng` and only
 * matter once the level is trained. Returns new tensors (the originals are cloned, not taken).
 */
export function growGenerator(
  config: GeneratorConfig, params: ParamMap, resolution: number, channels: number[], rng: Rng,
): { config: GeneratorConfig; params: ParamMap } {
  const grown: GeneratorConfig = { ...config, resolution, channels: [...config.channels, ...channels] };
  levels(grown);
  const out: ParamMap = {};
  for (const s of generatorParamSpecs(grown)) {
    const old = params[s.name];
    if (old) {
      out[s.name] = tf.clone(old);
      continue;
    }
    const size = s.shape.reduce((a, b) => a * b, 1);
    const isRgbWeight = s.name.endsWith('/rgb/w');
    out[s.name] = tf.tensor(s.init === 'normal' && !isRgbWeight ? rng.normals(size) : new Float32Array(size), s.shape);
  }
  return { config: grown, params: out };
}

/** Forward FLOPs (multiply-adds × 2) of the convolutions and the dense layer, for sizing. */
export function generatorFlops(config: GeneratorConfig): number {
  const res = levels(config);
  const ch = config.channels;
  let f = 2 * config.latentSize * 16 * ch[0]!;
  res.forEach((r, i) => {
    const cin = i === 0 ? ch[0]! : ch[i - 1]!;
    f += 2 * r * r * (9 * cin * ch[i]! + ch[i]! * 3);
  });
  return f;
}

// ---------------------------------------------------------------------------------------------------------------
// Weights file: one `.bin` (magic "GFTG", uint32 LE header length, JSON header, zero padding to 4 bytes, float32
// data) or a folder with `model.json` (the same header) and `weights.bin` (the data).

export const TEXTURE_GAN_FORMAT = 'ganfit-texture-gan';
const MAGIC = 0x47544647; // "GFTG" little-endian

export interface WeightsHeader {
  format: typeof TEXTURE_GAN_FORMAT;
  version: 1;
  config: GeneratorConfig;
  tensors: { name: string; shape: number[]; offset: number }[];
  /** Provenance: training data, steps, licence of the weights. */
  info?: Record<string, unknown>;
}

/** Serialise generator parameters (values read from `params`) into the single-file format. */
export function encodeGeneratorWeights(config: GeneratorConfig, params: ParamMap, info?: Record<string, unknown>): Uint8Array {
  const specs = generatorParamSpecs(config);
  const tensors: WeightsHeader['tensors'] = [];
  let offset = 0;
  for (const s of specs) {
    tensors.push({ name: s.name, shape: s.shape, offset });
    offset += s.shape.reduce((a, b) => a * b, 1);
  }
  const header: WeightsHeader = { format: TEXTURE_GAN_FORMAT, version: 1, config, tensors };
  if (info) header.info = info;
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerEnd = 8 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const out = new Uint8Array(dataStart + offset * 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, json.length, true);
  out.set(json, 8);
  const data = new Float32Array(out.buffer, dataStart, offset);
  for (const t of tensors) data.set(params[t.name]!.dataSync() as Float32Array, t.offset);
  return out;
}

function parseHeader(json: Uint8Array, source: string): WeightsHeader {
  const header = JSON.parse(new TextDecoder().decode(json)) as WeightsHeader;
  if (header.format !== TEXTURE_GAN_FORMAT) throw new Error(`${source}: not a ganfit texture GAN file`);
  if (header.version !== 1) throw new Error(`${source}: unsupported texture GAN version ${header.version}`);
  return header;
}

/** Parse either layout into a header and its float32 data. */
export function decodeGeneratorWeights(bytes: Uint8Array, source = 'weights'): { header: WeightsHeader; data: Float32Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8 || view.getUint32(0, true) !== MAGIC) throw new Error(`${source}: bad magic, not a texture GAN .bin`);
  const len = view.getUint32(4, true);
  const header = parseHeader(bytes.subarray(8, 8 + len), source);
  const dataStart = Math.ceil((8 + len) / 4) * 4;
  const copy = bytes.slice(dataStart); // aligned copy
  return { header, data: new Float32Array(copy.buffer, 0, copy.byteLength / 4) };
}

/** The shipped weights' default location, `assets/texture-gan.bin` in the package. */
export function defaultGeneratorPath(): string {
  return fileURLToPath(new URL('../../assets/texture-gan.bin', import.meta.url));
}

/** Thrown when no trained weights exist at the requested (or default) path; callers can catch it by class. */
export class TextureWeightsMissingError extends Error {
  constructor(readonly path: string) {
    super(`no trained texture GAN weights at ${path}: train one with trainGan (ganfit texture train) ` +
      `and copy its texture-gan.bin there, or pass the path explicitly`);
    this.name = 'TextureWeightsMissingError';
  }
}

export interface TextureGenerator extends TextureModel {
  readonly config: GeneratorConfig;
  readonly params: ParamMap;
  readonly info?: Record<string, unknown>;
  /** Like `generate` but unclipped, in about [−1, 1] (training, gradient checks). */
  forward(latent: tf.Tensor2D): tf.Tensor4D;
}

/** Wrap parameters (owned by the returned object) as a generator. */
export function makeTextureGenerator(config: GeneratorConfig, params: ParamMap, info?: Record<string, unknown>): TextureGenerator {
  const prepared = prepareConstParams(config, params);
  const g: TextureGenerator = {
    config, params, latentSize: config.latentSize, resolution: config.resolution, directionalLatent: true,
    forward: (z) => generatorForward(config, prepared, z),
    generate: (z) => tf.tidy(() => tf.clipByValue(tf.add(tf.mul(generatorForward(config, prepared, z), 0.5), 0.5), 0, 1) as tf.Tensor4D),
    dispose: () => {
      for (const t of [...Object.values(params), ...Object.values(prepared.eff), ...Object.values(prepared.flipped)]) t.dispose();
    },
  };
  if (info) (g as { info?: Record<string, unknown> }).info = info;
  return g;
}

/** Build a generator from weights in memory (either layout's bytes already split). */
export function generatorFromWeights(header: WeightsHeader, data: Float32Array): TextureGenerator {
  const params: ParamMap = {};
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  for (const s of generatorParamSpecs(header.config)) {
    const t = byName.get(s.name);
    if (!t || t.shape.join() !== s.shape.join()) throw new Error(`texture GAN weights: tensor '${s.name}' missing or misshapen`);
    const size = s.shape.reduce((a, b) => a * b, 1);
    params[s.name] = tf.tensor(data.subarray(t.offset, t.offset + size), s.shape);
  }
  return makeTextureGenerator(header.config, params, header.info);
}

/**
 * Load a trained generator: `file` is a `.bin` or a folder with `model.json` + `weights.bin`; default
 * `assets/texture-gan.bin`. Throws `TextureWeightsMissingError` when nothing is there.
 */
export async function loadTextureGenerator(file: string = defaultGeneratorPath()): Promise<TextureGenerator> {
  const st = await stat(file).catch(() => null);
  if (!st) throw new TextureWeightsMissingError(file);
  if (st.isDirectory()) {
    const json = await readFile(path.join(file, 'model.json')).catch(() => null);
    if (!json) throw new TextureWeightsMissingError(path.join(file, 'model.json'));
    const header = parseHeader(json, file);
    const bin = await readFile(path.join(file, 'weights.bin'));
    const copy = new Uint8Array(bin).slice();
    return generatorFromWeights(header, new Float32Array(copy.buffer, 0, copy.byteLength / 4));
  }
  const bytes = await readFile(file);
  const { header, data } = decodeGeneratorWeights(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
  return generatorFromWeights(header, data);
}

/** Seeded latents [n, D] ~ N(0, I). */
export function sampleLatents(n: number, latentSize: number, seed: number): tf.Tensor2D {
  return tf.tensor2d(new Rng(seed).normals(n * latentSize), [n, latentSize]);
}

export interface SampledTextures {
  /** The latents used, [n][D]. */
  latents: Float32Array[];
  /** RGB maps, R·R·3 bytes each, row 0 = top of the map. */
  maps: Uint8Array[];
  resolution: number;
}

/** Draw `n` textures from any texture model with seeded latents (batches of 4 to bound memory). */
export function sampleTextures(model: TextureModel, n: number, seed: number): SampledTextures {
  const z = new Rng(seed).normals(n * model.latentSize);
  const out: SampledTextures = { latents: [], maps: [], resolution: model.resolution };
  for (let s = 0; s < n; s += 4) {
    const b = Math.min(4, n - s);
    const pixels = tf.tidy(() => {
      const zt = tf.tensor2d(z.subarray(s * model.latentSize, (s + b) * model.latentSize), [b, model.latentSize]);
      return tf.round(tf.mul(model.generate(zt), 255));
    });
    const values = pixels.dataSync();
    pixels.dispose();
    const px = model.resolution * model.resolution * 3;
    for (let k = 0; k < b; k++) {
      out.latents.push(z.slice((s + k) * model.latentSize, (s + k + 1) * model.latentSize));
      out.maps.push(Uint8Array.from(values.subarray(k * px, (k + 1) * px)));
    }
  }
  return out;
}
