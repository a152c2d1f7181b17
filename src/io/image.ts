/**
 * Raster images in and out: decode any image sharp reads into 8-bit RGB, encode RGB/RGBA/float arrays as PNG.
 *
 * Format-only: nothing here knows about faces. Pixel coordinates follow docs/conventions.md, "Image and pixel
 * coordinates": (0, 0) is the centre of the top-left pixel.
 *
 * Decoding rules (decodeImage):
 * - EXIF orientation is applied, so width/height are those of the upright image.
 * - Grayscale, CMYK, palette and 16-bit images become 8-bit sRGB; an alpha channel is composited on **white**
 *   (transparent PNG backgrounds are usually meant as paper, and a white surround reads as background to a face
 *   detector rather than as hair or shadow).
 * - Images with more than `maxPixels` (default 50 Mpx) are refused with exit code 4 before any pixel is decoded.
 * - Images whose longest side exceeds `maxSide` (default 2048) are shrunk to it (shrink-on-load where the format
 *   allows, then a Lanczos-3 resample). The returned `scaleX`/`scaleY` (working / original, ≤ 1) map working
 *   coordinates back with {@link toOriginalPixels}; results reported to the user are in original pixels.
 * - Missing files, directories, empty or truncated files, and anything that is not a decodable image throw a
 *   {@link GanfitError} with exit code 4 and a one-line message naming the file.
 */
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { imageError, GanfitError } from './errors.js';

/** 8-bit RGB, row-major, 3 bytes per pixel: `data[(y * width + x) * 3 + c]`. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** 8-bit RGBA, row-major, 4 bytes per pixel (straight, not premultiplied, alpha). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
  channels: 4;
}

/** A decoded image at working size, with what is needed to map coordinates back to the original file. */
export interface DecodedImage extends RgbImage {
  /** Size of the upright (EXIF-oriented) original image. */
  originalWidth: number;
  originalHeight: number;
  /** width / originalWidth and height / originalHeight (1 when not downscaled). */
  scaleX: number;
  scaleY: number;
  /** File name (base name) for messages, or `<buffer>`. */
  name: string;
}

export interface DecodeOptions {
  /** Refuse images with more pixels than this (exit 4). Default 50e6. */
  maxPixels?: number;
  /** Downscale so that the longest side is at most this many pixels. Default 2048; 0 or Infinity: never. */
  maxSide?: number;
  /** Background that alpha is composited on. Default white. */
  background?: 'white' | 'black';
}

export const DEFAULT_MAX_PIXELS = 50_000_000;
export const DEFAULT_MAX_SIDE = 2048;

/** Decode a file path or encoded bytes into 8-bit RGB at working size. See the module notes for the rules. */
export async function decodeImage(source: string | Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const maxSideOption = options.maxSide ?? DEFAULT_MAX_SIDE;
  const maxSide = maxSideOption > 0 && Number.isFinite(maxSideOption) ? maxSideOption : Infinity;
  const background = options.background === 'black' ? { r: 0, g: 0, b: 0 } : { r: 255, g: 255, b: 255 };

  const name = typeof source === 'string' ? path.basename(source) : '<buffer>';
  const bytes = typeof source === 'string' ? await readImageFile(source) : source;
  if (bytes.length === 0) throw imageError(`${name}: the file is empty (0 bytes)`);

  // failOn 'truncated': a cut-off JPEG/PNG is an error, not a half-grey picture. limitInputPixels is checked
  // against the header, before decoding, so a huge image is refused without allocating its pixels.
  const open = () => sharp(bytes, { failOn: 'truncated', limitInputPixels: false, sequentialRead: true });

  let meta: Metadata;
  try {
    meta = await open().metadata();
  } catch (e) {
    throw imageError(`${name}: not a readable image (${shortReason(e)})`, e);
  }
  if (!meta.width || !meta.height) throw imageError(`${name}: not a readable image (no dimensions)`);
  if (meta.width * meta.height > maxPixels) {
    throw imageError(
      `${name}: image is too large (${meta.width}×${meta.height} = ${(meta.width * meta.height / 1e6).toFixed(1)} Mpx; ` +
        `the limit is ${(maxPixels / 1e6).toFixed(0)} Mpx)`,
    );
  }
  const swap = (meta.orientation ?? 1) >= 5;
  const originalWidth = swap ? meta.height : meta.width;
  const originalHeight = swap ? meta.width : meta.height;

  let width = originalWidth;
  let height = originalHeight;
  const longest = Math.max(width, height);
  if (longest > maxSide) {
    const s = maxSide / longest;
    width = Math.max(1, Math.round(originalWidth * s));
    height = Math.max(1, Math.round(originalHeight * s));
  }

  let pipeline = open().autoOrient();
  if (width !== originalWidth || height !== originalHeight) {
    pipeline = pipeline.resize(width, height, { fit: 'fill', kernel: 'lanczos3' });
  }
  pipeline = pipeline.flatten({ background }).toColourspace('srgb').removeAlpha();

  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw imageError(`${name}: the image data is damaged or truncated (${shortReason(e)})`, e);
  }
  const { info } = raw;
  if (info.width !== width || info.height !== height || info.channels !== 3 || raw.data.length !== width * height * 3) {
    throw imageError(
      `${name}: unexpected decoder output (${info.width}×${info.height}×${info.channels}, ${raw.data.length} bytes)`,
    );
  }
  return {
    width,
    height,
    data: new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.length),
    originalWidth,
    originalHeight,
    scaleX: width / originalWidth,
    scaleY: height / originalHeight,
    name,
  };
}

async function readImageFile(file: string): Promise<Uint8Array> {
  const name = path.basename(file);
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw imageError(`${file}: no such file`);
    if (code === 'EACCES') throw imageError(`${file}: permission denied`);
    throw imageError(`${file}: cannot be read (${code ?? shortReason(e)})`, e);
  }
  if (stat.isDirectory()) throw imageError(`${file}: is a directory, not an image file`);
  if (!stat.isFile()) throw imageError(`${file}: is not a regular file`);
  try {
    return await fs.readFile(file);
  } catch (e) {
    throw imageError(`${name}: cannot be read (${(e as NodeJS.ErrnoException).code ?? shortReason(e)})`, e);
  }
}

/** First line of a library error, trimmed, for use inside our one-line messages. */
function shortReason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return (text.split('\n').find((l) => l.trim().length > 0) ?? 'unknown error').trim().replace(/\.$/, '');
}

/**
 * Map points from working-image pixels to original-image pixels, in place. `points` is interleaved x, y.
 * Pixel centres map to pixel centres: x_orig = (x + 0.5) / scaleX − 0.5 (conventions.md, pixel coordinates).
 */
export function toOriginalPixels<T extends Float32Array | Float64Array | number[]>(
  points: T,
  image: Pick<DecodedImage, 'scaleX' | 'scaleY'>,
): T {
  for (let i = 0; i + 1 < points.length; i += 2) {
    points[i] = (points[i]! + 0.5) / image.scaleX - 0.5;
    points[i + 1] = (points[i + 1]! + 0.5) / image.scaleY - 0.5;
  }
  return points;
}

/** Map a box [x, y, w, h] (x, y: top-left edge in our pixel convention) from working to original pixels. */
export function boxToOriginalPixels(
  box: readonly [number, number, number, number],
  image: Pick<DecodedImage, 'scaleX' | 'scaleY'>,
): [number, number, number, number] {
  const [x, y, w, h] = box;
  return [(x + 0.5) / image.scaleX - 0.5, (y + 0.5) / image.scaleY - 0.5, w / image.scaleX, h / image.scaleY];
}

function isRgba(image: RgbImage | RgbaImage): image is RgbaImage {
  return (image as RgbaImage).channels === 4;
}

/** Encode 8-bit RGB or RGBA as PNG bytes. */
export async function encodePng(image: RgbImage | RgbaImage): Promise<Uint8Array> {
  const channels = isRgba(image) ? 4 : 3;
  const expected = image.width * image.height * channels;
  if (image.data.length !== expected) {
    throw new GanfitError(1, `encodePng: data has ${image.data.length} bytes, expected ${image.width}×${image.height}×${channels}`);
  }
  const out = await sharp(image.data, { raw: { width: image.width, height: image.height, channels } })
    .png()
    .toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Encode a float image (H×W×3, row-major, values 0..1, clamped, rounded) as an 8-bit PNG. */
export async function encodePngFloat(data: Float32Array, width: number, height: number): Promise<Uint8Array> {
  if (data.length !== width * height * 3) {
    throw new GanfitError(1, `encodePngFloat: data has ${data.length} values, expected ${width}×${height}×3`);
  }
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    bytes[i] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
  }
  return encodePng({ width, height, data: bytes });
}

/** Resize an RGB image to exactly width×height (Lanczos-3 when shrinking, bicubic-like when enlarging). */
export async function resizeImage(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
