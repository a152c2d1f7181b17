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
import { discriminatorForward, discriminatorParamSpecs, type DiscriminatorConfig } from './discriminator.js';
import { createLinearProjector, type LinearProjector } from './linear-fit.js';
import { bilinearUp2, convBiasActConst, convSame, dense, downsampleTo, flipFilter, matMulConst, transposeMatrix, upsample2 } from './ops.js';

export interface GeneratorConfig {
  latentSize: number;
  /** Output resolution R (a power of two ≥ 8). */
  resolution: number;
  /**
   * Feature channels per level, from 4×4 up to R×R (log2(R) − 1 entries). Trailing zeros mark levels without
   * layers: there the RGB sum is only upsampled bilinearly (plus the base map and linear path at their level).
   */
  channels: number[];
  /** Pixel-normalise features at resolutions up to this one (cheap at low resolution, costly at high). */
  pixelNormMaxRes: number;
  /**
   * A learned base map `base` [1, r, r, 3] added to the RGB sum at this level (the trainer starts it at the
   * dataset's mean map), so the layers learn departures from the mean face rather than the face itself.
   */
  baseResolution?: number;
  /**
   * A linear path at this level (which must be `baseResolution`): base + W·z, W [D, r·r·3], on the raw latent
   * (not pixel-normalised, so it can scale), added to the convolutional layers' RGB sum. The trainer starts W
   * at the training split's PCA basis (σ-scaled) and the base at its mean, so the untrained generator is the
   * PCA model and the adversarially trained layers learn what a linear model cannot (docs/texture-gan.md).
   */
  linearResolution?: number;
  /**
   * A residual refiner at the output resolution: `x + f(x)` on the RGB sum x, f a stack of conv3×3 layers
   * (leaky ReLU between) with these hidden channels and a last conv3×3 to RGB. That last layer starts at zero, so
   * adding a refiner leaves a generator's maps unchanged until it is trained. It sharpens what the linear path
   * can only blur (features whose place varies between faces), at full resolution where the core is too coarse.
   */
  refiner?: number[];
}

/**
 * The shipped generator's architecture: 128-d latent, 256×256 output. A 64² convolutional core (channels
 * 128 … 8), upsampled bilinearly to 256² (the two top levels have no layers), plus a linear path base + W·z at
 * 256² (docs/texture-gan.md, "Architecture"). ~25.7 M parameters, 25.2 M of them the linear path.
 */
export const DEFAULT_GENERATOR: GeneratorConfig = {
  latentSize: 128,
  resolution: 256,
  channels: [128, 64, 32, 16, 8, 0, 0],
  pixelNormMaxRes: 16,
  baseResolution: 256,
  linearResolution: 256,
};

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
  /**
   * An amortised inversion, where the model has one: maps [B, r, r, 3] in [0, 1] (any resolution r) and their
   * visibility [B, r, r, 1] in [0, 1] → a latent [B, D] to start a fit from. Texels with visibility 0 are
   * ignored. The PCA model's and a generator's with a linear path: the ridge least squares of the linear part
   * (src/texture/linear-fit.ts); a generator whose weights carry a VAE encoder: that encoder's mean.
   */
  encode?(maps: tf.Tensor4D, visibility: tf.Tensor4D): tf.Tensor2D;
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
  const layered = layeredLevels(config);
  if (layered === 0 || config.channels.slice(layered).some((c) => c !== 0)) {
    throw new Error('generator channels: zeros (levels without layers) may only end the list, after the first level');
  }
  if (config.linearResolution !== undefined && config.linearResolution !== config.baseResolution) {
    throw new Error('generator linearResolution must equal baseResolution (the linear path is base + W·z)');
  }
  return Array.from({ length: n - 1 }, (_, i) => 4 << i);
}

/** The refiner's k-th layer's parameter prefix (`refine0`, …): the one place its names are made. */
const refinerLayer = (k: number): string => `refine${k}`;

/** Whether a generator parameter belongs to the refiner (e.g. for a per-parameter learning rate). */
export function isRefinerParam(name: string): boolean {
  return /^refine\d+\//.test(name);
}

/** Channels through the refiner, RGB in and out ([] without one). */
function refinerWidths(config: GeneratorConfig): number[] {
  const hidden = config.refiner ?? [];
  if (hidden.some((c) => !(Number.isInteger(c) && c >= 1))) throw new Error('generator refiner: channels must be positive integers');
  return hidden.length ? [3, ...hidden, 3] : [];
}

/** Levels with layers (non-zero channels), from 4². */
function layeredLevels(config: GeneratorConfig): number {
  const k = config.channels.indexOf(0);
  return k < 0 ? config.channels.length : k;
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
    if (cout === 0) return;
    specs.push({ name: `r${r}/conv/w`, shape: [3, 3, cin, cout], scale: Math.SQRT2 / Math.sqrt(9 * cin), init: 'normal' });
    specs.push({ name: `r${r}/conv/b`, shape: [cout], scale: 1, init: 'zeros' });
    specs.push({ name: `r${r}/rgb/w`, shape: [1, 1, cout, 3], scale: 1 / Math.sqrt(cout), init: 'normal' });
    specs.push({ name: `r${r}/rgb/b`, shape: [3], scale: 1, init: 'zeros' });
  });
  if (config.baseResolution !== undefined) {
    if (!res.includes(config.baseResolution)) throw new Error(`generator baseResolution ${config.baseResolution} is not one of its levels`);
    specs.push({ name: 'base', shape: [1, config.baseResolution, config.baseResolution, 3], scale: 1, init: 'zeros' });
  }
  if (config.linearResolution !== undefined) {
    // Stored ×√n (n = r·r·3 outputs), so Adam's steps are ~1/√n of an entry's typical size.
    const n = config.linearResolution ** 2 * 3;
    specs.push({ name: 'linear/w', shape: [config.latentSize, n], scale: 1 / Math.sqrt(n), init: 'zeros' });
  }
  refinerWidths(config).slice(1).forEach((cout, k, outs) => {
    const cin = k === 0 ? 3 : outs[k - 1]!;
    const last = k === outs.length - 1;
    specs.push({ name: `${refinerLayer(k)}/w`, shape: [3, 3, cin, cout], scale: Math.SQRT2 / Math.sqrt(9 * cin), init: last ? 'zeros' : 'normal' });
    specs.push({ name: `${refinerLayer(k)}/b`, shape: [cout], scale: 1, init: 'zeros' });
  });
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
  /**
   * W's transpose (linear path), for the latent gradient: made on the first gradient and kept (100 MB at 256² with a
   * 128-d latent, which sampling never needs). Undefined without a linear path.
   */
  linearT?: () => tf.Tensor2D;
  /** Disposes what this holds (eff, flipped, the transpose when made). */
  dispose(): void;
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
  let activeLevels = layeredLevels(config);
  const isZero = (name: string): boolean => (params[name]!.dataSync() as Float32Array).every((v) => v === 0);
  while (activeLevels > 1 && isZero(`r${res[activeLevels - 1]}/rgb/w`) && isZero(`r${res[activeLevels - 1]}/rgb/b`)) activeLevels--;
  let transposed: tf.Tensor2D | null = null;
  const out: ConstParams = {
    eff, flipped, activeLevels,
    dispose: () => {
      for (const t of [...Object.values(eff), ...Object.values(flipped)]) t.dispose();
      transposed?.dispose();
    },
  };
  const w = eff['linear/w'] as tf.Tensor2D | undefined;
  // Kept: it is made inside a gradient's scope and must outlive it.
  if (w) out.linearT = () => (transposed ??= tf.keep(transposeMatrix(w)));
  return out;
}

/**
 * The generator's forward pass: z [B, D] → maps [B, R, R, 3], roughly in [−1, 1] (not clipped, so training sees
 * unsaturated gradients). With raw `params` (training) it is differentiable with respect to z and every
 * parameter; with `ConstParams` (a loaded generator) with respect to z only, and faster. `frozenLinearT`
 * (raw params only): the transpose of the effective W, which is then held constant (a trainer that freezes the
 * linear path): its gradient flows to z only and W's own is never computed.
 */
export function generatorForward(
  config: GeneratorConfig, params: ParamMap | ConstParams, z: tf.Tensor2D, frozenLinearT?: tf.Tensor2D,
): tf.Tensor4D {
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
  // At the base level: the base map, plus the linear path W·z when there is one (one dense op with the base as bias).
  const addBase = (rgb: tf.Tensor4D, r: number): tf.Tensor4D => {
    if (config.linearResolution !== r) return tf.add(rgb, get('base')) as tf.Tensor4D;
    const w = get('linear/w') as tf.Tensor2D;
    const baseFlat = tf.reshape(get('base'), [-1]);
    const linearT = constant ? (params as ConstParams).linearT! : frozenLinearT ? () => frozenLinearT : null;
    const lin = linearT ? tf.add(matMulConst(z, w, linearT), baseFlat) as tf.Tensor2D : dense(z, w, baseFlat);
    return tf.add(rgb, tf.reshape(lin, [b, r, r, 3])) as tf.Tensor4D;
  };
  return tf.tidy(() => {
    const zn = pixelNorm(z);
    let h: tf.Tensor = tf.add(tf.matMul(zn, get('dense/w') as tf.Tensor2D), get('dense/b'));
    h = pixelNorm(tf.leakyRelu(tf.reshape(h, [b, 4, 4, ch[0]!]), 0.2));
    let rgb: tf.Tensor4D | null = null;
    const active = constant ? (params as ConstParams).activeLevels : layeredLevels(config);
    for (const [level, r] of res.entries()) {
      if (level >= active) {
        rgb = bilinearUp2(rgb!);
        if (r === config.baseResolution) rgb = addBase(rgb, r);
        continue;
      }
      if (r > 4) h = upsample2(h as tf.Tensor4D);
      h = layer(h as tf.Tensor4D, `r${r}/conv`, true);
      if (r <= config.pixelNormMaxRes) h = pixelNorm(h);
      const y = layer(h as tf.Tensor4D, `r${r}/rgb`, false);
      rgb = rgb === null ? y : tf.add(bilinearUp2(rgb), y) as tf.Tensor4D;
      if (r === config.baseResolution) rgb = addBase(rgb, r);
    }
    const refiners = Math.max(refinerWidths(config).length - 1, 0);
    if (refiners === 0) return rgb!;
    let f = rgb!;
    for (let k = 0; k < refiners; k++) f = layer(f, refinerLayer(k), k < refiners - 1);
    return tf.add(rgb!, f) as tf.Tensor4D;
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
  // A refiner works at the output resolution: grown, it would see other maps.
  if (config.refiner?.length) throw new Error('growGenerator: a generator with a refiner cannot be grown');
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

/** Forward FLOPs (multiply-adds × 2) of the convolutions, the dense layer and the linear path, for sizing. */
export function generatorFlops(config: GeneratorConfig): number {
  const res = levels(config);
  const ch = config.channels;
  let f = 2 * config.latentSize * 16 * ch[0]!;
  res.forEach((r, i) => {
    const cin = i === 0 ? ch[0]! : ch[i - 1]!;
    f += 2 * r * r * (9 * cin * ch[i]! + ch[i]! * 3);
  });
  if (config.linearResolution !== undefined) f += 2 * config.latentSize * config.linearResolution ** 2 * 3;
  const widths = refinerWidths(config);
  for (let k = 1; k < widths.length; k++) f += 2 * config.resolution ** 2 * 9 * widths[k - 1]! * widths[k]!;
  return f;
}

// ---------------------------------------------------------------------------------------------------------------
// Weights file: one `.bin` (magic "GFTG", uint32 LE header length, JSON header, zero padding to 4 bytes, float32
// data) or a folder with `model.json` (the same header) and `weights.bin` (the data).

export const TEXTURE_GAN_FORMAT = 'ganfit-texture-gan';
const MAGIC = 0x47544647; // "GFTG" little-endian

export interface WeightsHeader {
  format: typeof TEXTURE_GAN_FORMAT;
  /** 2 when some tensor is stored in 8 bits (`encoding`), else 1. */
  version: 1 | 2;
  config: GeneratorConfig;
  /**
   * Where each tensor is, `offset` in 4-byte words from the data's start. Plain: float32 values. With
   * `encoding: 'uint8-block'`: per block of QUANT_BLOCK values a float32 pair (lo, step), all pairs first, then
   * one byte q per value (padded to 4 bytes); the value is lo + q·step.
   */
  tensors: { name: string; shape: number[]; offset: number; encoding?: 'uint8-block' }[];
  /** Provenance: training data, steps, licence of the weights. */
  info?: Record<string, unknown>;
  /** The VAE-GAN's encoder (tensors named `encoder/…`), when shipped: `TextureModel.encode`. */
  encoder?: DiscriminatorConfig;
}

/** An encoder to ship with a generator: the discriminator network with 2·latentSize outputs. */
export interface GeneratorEncoder {
  config: DiscriminatorConfig;
  params: ParamMap;
}

const ENCODER_PREFIX = 'encoder/';

/**
 * Generator tensors stored in 8 bits: the linear path and the base map (map-like, most of the file). Affine per
 * block of QUANT_BLOCK values, so a value's error is at most 1/510 of its block's range (≤ 0.4 % of the largest
 * entry of a W block, ≤ 0.5 8-bit units of the base map); the networks' weights stay float32.
 */
export const QUANTIZED_TENSORS: readonly string[] = ['linear/w', 'base'];
const QUANT_BLOCK = 1024;

function quantizedWords(size: number): number {
  return 2 * Math.ceil(size / QUANT_BLOCK) + Math.ceil(size / 4);
}

/** Write `values` as uint8 blocks into `words` (the tensor's slot, quantizedWords(size) long). */
function quantizeInto(values: Float32Array, words: Float32Array): void {
  const blocks = Math.ceil(values.length / QUANT_BLOCK);
  const bytes = new Uint8Array(words.buffer, words.byteOffset + 8 * blocks, values.length);
  for (let k = 0; k < blocks; k++) {
    const block = values.subarray(k * QUANT_BLOCK, (k + 1) * QUANT_BLOCK);
    let lo = Infinity, hi = -Infinity;
    for (const v of block) { if (v < lo) lo = v; if (v > hi) hi = v; }
    const step = hi > lo ? (hi - lo) / 255 : 0;
    words[2 * k] = lo;
    words[2 * k + 1] = step;
    // Quantise against the float32-rounded pair the reader will use, so the error bound holds for the stored values.
    const l = words[2 * k]!, st = words[2 * k + 1]!;
    for (let i = 0; i < block.length; i++) bytes[k * QUANT_BLOCK + i] = st > 0 ? Math.min(255, Math.max(0, Math.round((block[i]! - l) / st))) : 0;
  }
}

function dequantize(words: Float32Array, size: number): Float32Array {
  const blocks = Math.ceil(size / QUANT_BLOCK);
  const bytes = new Uint8Array(words.buffer, words.byteOffset + 8 * blocks, size);
  const out = new Float32Array(size);
  for (let k = 0; k < blocks; k++) {
    const lo = words[2 * k]!, step = words[2 * k + 1]!;
    const end = Math.min(size, (k + 1) * QUANT_BLOCK);
    for (let i = k * QUANT_BLOCK; i < end; i++) out[i] = lo + bytes[i]! * step;
  }
  return out;
}

/** Expand a file's data (4-byte words) into plain float32 tensors: the header with plain offsets, and the values. */
function expandTensors(header: WeightsHeader, words: Float32Array): { header: WeightsHeader; data: Float32Array } {
  if (!header.tensors.some((t) => t.encoding)) return { header, data: words };
  const size = (t: { shape: number[] }): number => t.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(header.tensors.reduce((n, t) => n + size(t), 0));
  let offset = 0;
  const tensors = header.tensors.map((t) => {
    const n = size(t);
    if (t.offset + (t.encoding ? quantizedWords(n) : n) > words.length) {
      throw new Error(`texture GAN weights: tensor '${t.name}' runs past the end of the data (truncated file?)`);
    }
    if (t.encoding === 'uint8-block') data.set(dequantize(words.subarray(t.offset, t.offset + quantizedWords(n)), n), offset);
    else if (t.encoding === undefined) data.set(words.subarray(t.offset, t.offset + n), offset);
    else throw new Error(`texture GAN weights: unknown encoding '${String(t.encoding)}' of '${t.name}'`);
    const plain = { name: t.name, shape: t.shape, offset };
    offset += n;
    return plain;
  });
  return { header: { ...header, version: 1, tensors }, data };
}

/** Serialise generator parameters (values read from `params`) into the single-file format. */
export function encodeGeneratorWeights(
  config: GeneratorConfig, params: ParamMap, info?: Record<string, unknown>, encoder?: GeneratorEncoder,
): Uint8Array {
  const named: [string, number[], tf.Tensor][] = generatorParamSpecs(config).map((s) => [s.name, s.shape, params[s.name]!]);
  if (encoder) {
    for (const s of discriminatorParamSpecs(encoder.config)) named.push([ENCODER_PREFIX + s.name, s.shape, encoder.params[s.name]!]);
  }
  const tensors: WeightsHeader['tensors'] = [];
  let offset = 0;
  for (const [name, shape, t] of named) {
    if (!t) throw new Error(`encodeGeneratorWeights: tensor '${name}' missing`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (QUANTIZED_TENSORS.includes(name)) {
      tensors.push({ name, shape, offset, encoding: 'uint8-block' });
      offset += quantizedWords(size);
    } else {
      tensors.push({ name, shape, offset });
      offset += size;
    }
  }
  const quantized = tensors.some((t) => t.encoding);
  const header: WeightsHeader = { format: TEXTURE_GAN_FORMAT, version: quantized ? 2 : 1, config, tensors };
  if (info) header.info = info;
  if (encoder) header.encoder = encoder.config;
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerEnd = 8 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const out = new Uint8Array(dataStart + offset * 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, json.length, true);
  out.set(json, 8);
  const data = new Float32Array(out.buffer, dataStart, offset);
  named.forEach(([, , t], i) => {
    const e = tensors[i]!;
    const values = t.dataSync() as Float32Array;
    if (e.encoding) quantizeInto(values, data.subarray(e.offset, e.offset + quantizedWords(values.length)));
    else data.set(values, e.offset);
  });
  return out;
}

function parseHeader(json: Uint8Array, source: string): WeightsHeader {
  const header = JSON.parse(new TextDecoder().decode(json)) as WeightsHeader;
  if (header.format !== TEXTURE_GAN_FORMAT) throw new Error(`${source}: not a ganfit texture GAN file`);
  if (header.version !== 1 && header.version !== 2) throw new Error(`${source}: unsupported texture GAN version ${String(header.version)}`);
  return header;
}

/** Parse the single-file layout into a header (plain float32 offsets) and its float32 data (8-bit tensors expanded). */
export function decodeGeneratorWeights(bytes: Uint8Array, source = 'weights'): { header: WeightsHeader; data: Float32Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8 || view.getUint32(0, true) !== MAGIC) throw new Error(`${source}: bad magic, not a texture GAN .bin`);
  const len = view.getUint32(4, true);
  const header = parseHeader(bytes.subarray(8, 8 + len), source);
  const dataStart = Math.ceil((8 + len) / 4) * 4;
  const copy = bytes.slice(dataStart); // aligned copy
  return expandTensors(header, new Float32Array(copy.buffer, 0, copy.byteLength >> 2));
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
  readonly info?: Record<string, unknown>;
  /** Like `generate` but unclipped, in about [−1, 1] (training, gradient checks). */
  forward(latent: tf.Tensor2D): tf.Tensor4D;
}

/**
 * The encoder's mean latent for partly seen maps: maps and visibility are area-averaged to the encoder's
 * resolution, unseen texels filled with the generator's base map (the mean map it started from), as in training
 * where unseen texels carry the reader's fill.
 */
function encodeMaps(encoder: GeneratorEncoder, base: tf.Tensor, latentSize: number, maps: tf.Tensor4D, visibility: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const r = encoder.config.resolution;
    const v = downsampleTo(visibility, r);
    const seen = tf.div(downsampleTo(tf.mul(maps, visibility) as tf.Tensor4D, r), tf.maximum(v, 1e-6));
    const fill = downsampleTo(base as tf.Tensor4D, r);
    const x = tf.add(tf.mul(v, tf.sub(tf.mul(seen, 2), 1)), tf.mul(tf.sub(1, v), fill)) as tf.Tensor4D;
    const q = discriminatorForward(encoder.config, encoder.params, x, v);
    return tf.slice(q, [0, 0], [q.shape[0], latentSize]) as tf.Tensor2D;
  });
}

/**
 * Wrap parameters as a generator. It takes them over (as it does the encoder's): they are disposed once the
 * forward's constant form is made from them (the scaled copies would double the linear path's memory).
 */
export function makeTextureGenerator(
  config: GeneratorConfig, params: ParamMap, info?: Record<string, unknown>, encoder?: GeneratorEncoder,
): TextureGenerator {
  const prepared = prepareConstParams(config, params);
  for (const t of Object.values(params)) t.dispose();
  const base = prepared.eff.base; // a clone of params.base (scale 1): its data lives on
  // The linear path's least squares, the encoder without a VAE encoder (made on first use: sampling never needs it).
  let projector: LinearProjector | null = null;
  const g: TextureGenerator = {
    config, latentSize: config.latentSize, resolution: config.resolution,
    // With a linear path the latent's length matters; without, the pixel norm leaves only its direction.
    directionalLatent: config.linearResolution === undefined,
    forward: (z) => generatorForward(config, prepared, z),
    generate: (z) => tf.tidy(() => tf.clipByValue(tf.add(tf.mul(generatorForward(config, prepared, z), 0.5), 0.5), 0, 1) as tf.Tensor4D),
    dispose: () => {
      prepared.dispose();
      if (encoder) for (const t of Object.values(encoder.params)) t.dispose();
      projector?.dispose();
    },
  };
  if (encoder) {
    if (!base) throw new Error('texture GAN: an encoder needs the generator\'s base map (its fill for unseen texels)');
    if (encoder.config.outputs !== 2 * config.latentSize) throw new Error('texture GAN: the encoder needs 2·latentSize outputs');
    g.encode = (maps, visibility) => encodeMaps(encoder, base, config.latentSize, maps, visibility);
  } else if (prepared.eff['linear/w'] && base) {
    const linear = prepared.eff['linear/w'] as tf.Tensor2D;
    g.encode = (maps, visibility) => (projector ??= createLinearProjector(linear, base, config.linearResolution!)).project(maps, visibility);
  }
  if (info) (g as { info?: Record<string, unknown> }).info = info;
  return g;
}

/** Build a generator from weights in memory (either layout's bytes already split). */
export function generatorFromWeights(header: WeightsHeader, data: Float32Array): TextureGenerator {
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const read = (specs: ParamSpec[], prefix: string): ParamMap => {
    const params: ParamMap = {};
    for (const s of specs) {
      const t = byName.get(prefix + s.name);
      if (!t || t.shape.join() !== s.shape.join()) throw new Error(`texture GAN weights: tensor '${prefix + s.name}' missing or misshapen`);
      const size = s.shape.reduce((a, b) => a * b, 1);
      params[s.name] = tf.tensor(data.subarray(t.offset, t.offset + size), s.shape);
    }
    return params;
  };
  const params = read(generatorParamSpecs(header.config), '');
  const encoder = header.encoder ? { config: header.encoder, params: read(discriminatorParamSpecs(header.encoder), ENCODER_PREFIX) } : undefined;
  return makeTextureGenerator(header.config, params, header.info, encoder);
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
    const expanded = expandTensors(header, new Float32Array(copy.buffer, 0, copy.byteLength >> 2));
    return generatorFromWeights(expanded.header, expanded.data);
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
