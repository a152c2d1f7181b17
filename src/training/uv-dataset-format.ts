/**
 * The UV dataset: a directory of UV texture maps unwrapped from photos, each with a visibility mask, the
 * texture GAN's and the PCA model's training set. Format (docs/texture-gan.md, "Dataset format"):
 *
 *   index.json        { format, version, resolution, items: [{ id, uv, mask, meta? }], rejected: [{ source, reason }],
 *                       stats: { mean, coverage }, layout? }
 *   uv/<id>.png       RGB, R×R, 8-bit sRGB, the model's UV layout (row 0 = top of the map = v near 1; conventions.md)
 *   mask/<id>.png     single channel, R×R, 255 = texel observed in the photo, 0 = not observed (soft values allowed)
 *   stats/mean.png    RGB: per-texel mean of the observed values (global mean colour where never observed), over
 *                     the training split (items not `isHeldOut`)
 *   stats/coverage.png single channel: fraction of items observing each texel (255 = all)
 *
 * The builder writes samples with `writeUvSample` and closes the set with `finalizeIndex`, which also writes the
 * stats. Readers open it with `openUvDataset` and draw shuffled batches as tensors.
 */
import { mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { tf } from '../engine/index.js';
import { writeFileAtomic } from '../io/atomic.js';
import { Rng } from '../texture/random.js';

export const UV_DATASET_FORMAT = 'ganfit-uv-dataset';
export const UV_DATASET_VERSION = 1;

export interface UvDatasetItem {
  id: string;
  /** Path of the RGB map, relative to the dataset directory. */
  uv: string;
  /** Path of the visibility mask, relative to the dataset directory. */
  mask: string;
  /** Free-form provenance (source photo name, fitted pose, fit loss, …). */
  meta?: Record<string, unknown>;
}

export interface UvDatasetRejection {
  source: string;
  reason: string;
}

export interface UvDatasetIndex {
  format: typeof UV_DATASET_FORMAT;
  version: number;
  resolution: number;
  items: UvDatasetItem[];
  rejected: UvDatasetRejection[];
  stats?: { mean: string; coverage: string };
  /** Layout facts: `symmetricU` true when texel (c, r) mirrors texel (R-1-c, r) on the face (left/right). */
  layout?: { name?: string; symmetricU?: boolean };
  description?: string;
}

const ID_PATTERN = /^[A-Za-z0-9_.-]+$/;

async function encodePng(pixels: Uint8Array, r: number, channels: 1 | 3): Promise<Buffer> {
  return sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
    raw: { width: r, height: r, channels },
  }).png({ compressionLevel: 6 }).toBuffer();
}

/** Decode a PNG to raw 8-bit pixels with exactly `channels` channels, resized to r×r if it differs. */
export async function decodePng(file: string, channels: 1 | 3, r?: number): Promise<Uint8Array> {
  let img = sharp(file);
  if (channels === 1) img = img.toColourspace('b-w').extractChannel(0);
  else img = img.removeAlpha().toColourspace('srgb');
  if (r !== undefined) img = img.resize(r, r, { fit: 'fill', kernel: 'linear' });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) throw new Error(`${file}: expected ${channels} channels, got ${info.channels}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Write one sample: `uvRgb` is R·R·3 bytes (row-major, row 0 = top of the map), `mask` R·R bytes (255 =
 * observed). Returns the index entry to pass to `finalizeIndex`.
 */
export async function writeUvSample(
  dir: string, id: string, uvRgb: Uint8Array, mask: Uint8Array, r: number, meta?: Record<string, unknown>,
): Promise<UvDatasetItem> {
  if (!ID_PATTERN.test(id)) throw new Error(`writeUvSample: id '${id}' must match ${ID_PATTERN}`);
  if (uvRgb.length !== r * r * 3) throw new Error(`writeUvSample: uvRgb has ${uvRgb.length} bytes, expected ${r * r * 3}`);
  if (mask.length !== r * r) throw new Error(`writeUvSample: mask has ${mask.length} bytes, expected ${r * r}`);
  await mkdir(path.join(dir, 'uv'), { recursive: true });
  await mkdir(path.join(dir, 'mask'), { recursive: true });
  const item: UvDatasetItem = { id, uv: `uv/${id}.png`, mask: `mask/${id}.png` };
  if (meta) item.meta = meta;
  await writeFileAtomic(path.join(dir, item.uv), await encodePng(uvRgb, r, 3));
  await writeFileAtomic(path.join(dir, item.mask), await encodePng(mask, r, 1));
  return item;
}

export interface FinalizeOptions {
  resolution: number;
  /** The entries returned by `writeUvSample`; when omitted, every uv/*.png with a mask/*.png is listed. */
  items?: UvDatasetItem[];
  rejected?: UvDatasetRejection[];
  layout?: UvDatasetIndex['layout'];
  description?: string;
}

/** Per-texel mean of observed values and coverage, over all items (8-bit PNGs in stats/). */
async function computeStats(dir: string, items: UvDatasetItem[], r: number): Promise<void> {
  const n = r * r;
  const sum = new Float64Array(n * 3);
  const weight = new Float64Array(n);
  const global = [0, 0, 0];
  let globalW = 0;
  for (const item of items) {
    const rgb = await decodePng(path.join(dir, item.uv), 3, r);
    const m = await decodePng(path.join(dir, item.mask), 1, r);
    for (let i = 0; i < n; i++) {
      const w = m[i]! / 255;
      if (w === 0) continue;
      weight[i]! += w;
      for (let c = 0; c < 3; c++) {
        sum[i * 3 + c]! += w * rgb[i * 3 + c]!;
        global[c]! += w * rgb[i * 3 + c]!;
      }
      globalW += w;
    }
  }
  const fallback = global.map((g) => (globalW > 0 ? g / globalW : 128));
  const mean = new Uint8Array(n * 3);
  const coverage = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      mean[i * 3 + c] = Math.round(weight[i]! > 0 ? sum[i * 3 + c]! / weight[i]! : fallback[c]!);
    }
    coverage[i] = Math.round((255 * weight[i]!) / Math.max(1, items.length));
  }
  await mkdir(path.join(dir, 'stats'), { recursive: true });
  await writeFileAtomic(path.join(dir, 'stats', 'mean.png'), await encodePng(mean, r, 3));
  await writeFileAtomic(path.join(dir, 'stats', 'coverage.png'), await encodePng(coverage, r, 1));
}

/** Write index.json (and stats/) for the samples in `dir`. Returns the index written. */
export async function finalizeIndex(dir: string, options: FinalizeOptions): Promise<UvDatasetIndex> {
  let items = options.items;
  if (!items) {
    const uvFiles = (await readdir(path.join(dir, 'uv')).catch(() => [] as string[])).filter((f) => f.endsWith('.png'));
    const masks = new Set(await readdir(path.join(dir, 'mask')).catch(() => [] as string[]));
    items = uvFiles.filter((f) => masks.has(f)).sort()
      .map((f) => ({ id: f.slice(0, -4), uv: `uv/${f}`, mask: `mask/${f}` }));
  }
  const ids = new Set<string>();
  for (const it of items) {
    if (ids.has(it.id)) throw new Error(`finalizeIndex: duplicate id '${it.id}'`);
    ids.add(it.id);
  }
  // Stats from the training split only: the models start from them, and the evaluation's mean-map reference
  // must not have seen the held-out maps.
  const train = items.filter((it) => !isHeldOut(it.id));
  await computeStats(dir, train.length > 0 ? train : items, options.resolution);
  const index: UvDatasetIndex = {
    format: UV_DATASET_FORMAT,
    version: UV_DATASET_VERSION,
    resolution: options.resolution,
    items,
    rejected: options.rejected ?? [],
    stats: { mean: 'stats/mean.png', coverage: 'stats/coverage.png' },
  };
  if (options.layout) index.layout = options.layout;
  if (options.description) index.description = options.description;
  await writeFileAtomic(path.join(dir, 'index.json'), JSON.stringify(index, null, 1) + '\n');
  return index;
}

/** Permutation of 0..n-1 for one epoch; a pure function of (seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  const rng = new Rng((seed * 1000003 + epoch * 7919) >>> 0);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** A texel counts as seen in the photo when its mask is at least this (255; 128 = mirrored, 0 = filled). */
export const SEEN_THRESHOLD = 0.99;

export type FillMode = 'none' | 'mean' | 'symmetric+mean';

/** One item in HELD_OUT_EVERY is held out from training, chosen by a hash of its id (stable as the set grows). */
export const HELD_OUT_EVERY = 7;

/** FNV-1a, 32 bits. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Whether the item with this id belongs to the held-out split (evaluation of the texture models). */
export function isHeldOut(id: string): boolean {
  return fnv1a(id) % HELD_OUT_EVERY === 0;
}

/** Which items a reader sees: `train` (not held out), `heldout`, or `all`. */
export type UvSplit = 'train' | 'heldout' | 'all';

export interface OpenOptions {
  /** Load at this resolution (resampled from the stored one); default: the stored resolution. */
  resolution?: number;
  /**
   * What to put in unobserved texels (mask 0) of the returned images: `none` keeps the photo's values,
   * `mean` the dataset's per-texel mean, `symmetric+mean` (default when the layout is symmetricU, else `mean`)
   * the mirrored texel when it is observed, else the mean. Masks are returned unchanged either way.
   */
  fill?: FillMode;
  /** Items to read (default `all`); the texture models train on `train` and are evaluated on `heldout`. */
  split?: UvSplit;
  /** Keep every decoded map in memory (8-bit, at the read resolution): training reads each item many times. */
  cache?: boolean;
}

export interface UvBatch {
  /** [B, R, R, 3] in [-1, 1], row 0 = top of the map. */
  images: tf.Tensor4D;
  /** [B, R, R, 1] in [0, 1], 1 = observed. */
  masks: tf.Tensor4D;
  ids: string[];
}

export interface BatchCursor {
  epoch: number;
  /** Index of the next batch in this epoch. */
  batch: number;
}

export interface UvDataset {
  readonly dir: string;
  readonly index: UvDatasetIndex;
  readonly resolution: number;
  readonly size: number;
  /** Per-texel mean map, R·R·3 floats in [0, 1]. */
  readonly mean: Float32Array;
  /** Per-texel coverage, R·R floats in [0, 1]. */
  readonly coverage: Float32Array;
  /** Load the items at these positions of `index.items` as one batch. */
  load(indices: number[]): Promise<UvBatch>;
  /** Batches per epoch (the last partial batch is dropped when there is at least one full one). */
  batchesPerEpoch(batchSize: number): number;
  /**
   * Endless shuffled batches starting at `from` (default epoch 0, batch 0); each epoch's order depends only on
   * (seed, epoch), so a trainer that saves the cursor resumes on the same sequence. The next batch is
   * decoded while the caller works on the current one.
   */
  batches(batchSize: number, seed: number, from?: BatchCursor): AsyncGenerator<UvBatch & { cursor: BatchCursor }>;
}

/** Open a dataset written by `writeUvSample` + `finalizeIndex`. */
export async function openUvDataset(dir: string, options: OpenOptions = {}): Promise<UvDataset> {
  const stored = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as UvDatasetIndex;
  if (stored.format !== UV_DATASET_FORMAT) throw new Error(`${dir}: not a ganfit UV dataset (format '${stored.format}')`);
  if (stored.version > UV_DATASET_VERSION) throw new Error(`${dir}: dataset version ${stored.version} is newer than this reader`);
  const split = options.split ?? 'all';
  const index: UvDatasetIndex = split === 'all' ? stored
    : { ...stored, items: stored.items.filter((it) => isHeldOut(it.id) === (split === 'heldout')) };
  if (index.items.length === 0) throw new Error(`${dir}: the dataset has no items${split === 'all' ? '' : ` in the '${split}' split`}`);
  const r = options.resolution ?? index.resolution;
  const fill: FillMode = options.fill ?? (index.layout?.symmetricU ? 'symmetric+mean' : 'mean');
  const n = r * r;
  const mean = new Float32Array(n * 3);
  const coverage = new Float32Array(n);
  if (index.stats) {
    const m8 = await decodePng(path.join(dir, index.stats.mean), 3, r);
    const c8 = await decodePng(path.join(dir, index.stats.coverage), 1, r);
    for (let i = 0; i < n * 3; i++) mean[i] = m8[i]! / 255;
    for (let i = 0; i < n; i++) coverage[i] = c8[i]! / 255;
  } else {
    mean.fill(0.5);
  }

  const decoded = new Map<string, Promise<[Uint8Array, Uint8Array]>>();
  const decode = (item: UvDatasetItem): Promise<[Uint8Array, Uint8Array]> => {
    const cached = decoded.get(item.id);
    if (cached) return cached;
    const pending = Promise.all([decodePng(path.join(dir, item.uv), 3, r), decodePng(path.join(dir, item.mask), 1, r)]);
    if (options.cache) decoded.set(item.id, pending);
    return pending;
  };

  async function loadOne(item: UvDatasetItem, rgbOut: Float32Array, maskOut: Float32Array, o: number): Promise<void> {
    const [rgb, m] = await decode(item);
    for (let row = 0; row < r; row++) {
      for (let col = 0; col < r; col++) {
        const i = row * r + col;
        const w = m[i]! / 255;
        maskOut[o + i] = w;
        let fw = 0; // weight of the filler
        let f0 = 0, f1 = 0, f2 = 0;
        if (fill !== 'none' && w < 1) {
          fw = 1 - w;
          const j = row * r + (r - 1 - col);
          const wm = fill === 'symmetric+mean' ? m[j]! / 255 : 0;
          f0 = (wm * rgb[j * 3]! / 255) + (1 - wm) * mean[i * 3]!;
          f1 = (wm * rgb[j * 3 + 1]! / 255) + (1 - wm) * mean[i * 3 + 1]!;
          f2 = (wm * rgb[j * 3 + 2]! / 255) + (1 - wm) * mean[i * 3 + 2]!;
        }
        const keep = fill === 'none' ? 1 : w;
        rgbOut[(o + i) * 3] = 2 * (keep * rgb[i * 3]! / 255 + fw * f0) - 1;
        rgbOut[(o + i) * 3 + 1] = 2 * (keep * rgb[i * 3 + 1]! / 255 + fw * f1) - 1;
        rgbOut[(o + i) * 3 + 2] = 2 * (keep * rgb[i * 3 + 2]! / 255 + fw * f2) - 1;
      }
    }
  }

  const dataset: UvDataset = {
    dir, index, resolution: r, size: index.items.length, mean, coverage,
    async load(indices) {
      const b = indices.length;
      const rgb = new Float32Array(b * n * 3);
      const masks = new Float32Array(b * n);
      await Promise.all(indices.map((k, bi) => loadOne(index.items[k]!, rgb, masks, bi * n)));
      return {
        images: tf.tensor4d(rgb, [b, r, r, 3]),
        masks: tf.tensor4d(masks, [b, r, r, 1]),
        ids: indices.map((k) => index.items[k]!.id),
      };
    },
    batchesPerEpoch(batchSize) {
      return Math.max(1, Math.floor(index.items.length / batchSize));
    },
    async *batches(batchSize, seed, from = { epoch: 0, batch: 0 }) {
      const per = dataset.batchesPerEpoch(batchSize);
      let cursor = { ...from };
      const indicesAt = (c: BatchCursor): number[] => {
        const order = epochOrder(index.items.length, seed, c.epoch);
        const start = c.batch * batchSize;
        const out: number[] = [];
        for (let k = 0; k < batchSize; k++) out.push(order[(start + k) % order.length]!);
        return out;
      };
      const advance = (c: BatchCursor): BatchCursor => (c.batch + 1 >= per ? { epoch: c.epoch + 1, batch: 0 } : { epoch: c.epoch, batch: c.batch + 1 });
      let pending = dataset.load(indicesAt(cursor));
      try {
        for (;;) {
          const batch = await pending;
          const next = advance(cursor);
          pending = dataset.load(indicesAt(next));
          yield { ...batch, cursor: next };
          cursor = next;
        }
      } finally {
        // A consumer that stops leaves one prefetched batch behind: free it.
        const left = await pending.catch(() => null);
        left?.images.dispose();
        left?.masks.dispose();
      }
    },
  };
  return dataset;
}
