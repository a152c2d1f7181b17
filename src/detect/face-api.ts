/**
 * Face detection and 68-point landmarks with @vladmandic/face-api (SSD-MobileNetV1 or TinyFaceDetector, then
 * faceLandmark68Net), on the shared tfjs instance from src/engine.
 *
 * Coordinates: every box and point this module returns is in the caller's image pixels, in the convention of
 * docs/conventions.md ("Image and pixel coordinates": (0, 0) is the centre of the top-left pixel, the image spans
 * [−0.5, W − 0.5]). face-api itself works in corner-origin continuous coordinates (its boxes and landmark
 * fractions are scaled by the image or crop size, so 0 is the left edge of pixel 0 and pixel i's centre is
 * i + 0.5). The conversion is:
 *  - detector boxes: x_ours = x_faceapi − 0.5 (same for y; widths unchanged);
 *  - landmarks: we do not use face-api's crop-and-shift (it crops at floor(box) but shifts by the unfloored box,
 *    pads odd differences asymmetrically and resizes with the legacy, non-half-pixel bilinear mapping, each worth
 *    up to half a pixel or more). Instead we cut the 112×112 network input ourselves with an exact affine map:
 *    network pixel j (centre at j + 0.5 in the network's corner-origin frame) samples image point
 *    x0 + (j + 0.5)·S/112, where [x0, x0 + S] is the crop square in our frame (x0 is the square's left edge).
 *    The network's output fraction f is then a corner-origin position in that square: x_ours = x0 + f·S.
 *  Checked on aflw2000-dev (scratch/detect/nme.ts): against the ground truth (1-based, so +1 to ours), the mean
 *  offset of the 51 inner points is dx −1.61 / −1.67 / −1.54 px for crops 0.8× / 1× / 1.25× the detector box:
 *  constant in image pixels, so it is not a half-pixel slip in the network frame (that would scale with the
 *  crop: −1.60 / −1.22 / −0.95 in network pixels). It is the annotation difference between face-api's training
 *  labels and AFLW2000-3D's model-fitted points, and is left uncorrected. face-api's stock pipeline (read as
 *  corner-origin, −0.5) lands about 0.5 px right and 0.8 px down of ours (dx −1.15, dy +0.44), mostly from its
 *  floor(box) crop shifted back by the unfloored box.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { tf, initEngine } from '../engine/index.js';
import type { RgbImage } from '../io/image.js';
import { usageError } from '../io/errors.js';

type FaceApi = typeof import('@vladmandic/face-api/types/face-api.js');
/** face-api's types name its own bundled tfjs; at run time it is our instance, so tensors pass through as is. */
type NetInput = Parameters<FaceApi['nets']['ssdMobilenetv1']['locateFaces']>[0];
const asNetInput = (t: tf.Tensor): NetInput => t as unknown as NetInput;

/** One detected face, in the caller's image pixels and our pixel convention. */
export interface DetectedFace {
  /** [x, y, w, h]: x, y are the box's top-left edge (a box covering pixel 0 starts at −0.5). */
  box: [number, number, number, number];
  /** Detector confidence in [0, 1]. */
  score: number;
  /** 68 points × (x, y), iBUG order (conventions.md, Landmarks), pixel centres at integers. */
  landmarks: Float32Array;
}

export type DetectorKind = 'ssd' | 'tiny';

export interface DetectorOptions {
  /** 'ssd' (SSD-MobileNetV1, default: fewer misses at large yaw) or 'tiny' (TinyFaceDetector, ~4× faster). */
  detector?: DetectorKind;
  /**
   * Minimum detector score. Default 0.2 for SSD: on aflw2000-dev it keeps misses at 18/240 (all at |yaw| ≥ 30°)
   * where face-api's own default 0.5 loses many more profile faces; lower (0.05) finds 6 more faces but lets
   * false positives into group photos. Default 0.3 for tiny.
   */
  minScore?: number;
  /** At most this many faces (default 50). */
  maxFaces?: number;
  /**
   * Border added on every side before detection, as a fraction of the longest side (default 0). Tight face
   * crops (UTKFace 200×200) need it: SSD is trained on faces with context around them.
   */
  pad?: number;
  /** When nothing is found, detect again with this padding (default 0.3; 0 disables the retry). */
  retryPad?: number;
  /** TinyFaceDetector input size, a multiple of 32 (default 416). */
  tinyInputSize?: number;
  /**
   * Second landmark pass on a square re-centred on the first pass's points (sized like a detector box relative
   * to the points); one more landmark-net forward per face. Default false: on aflw2000-dev it lowers NME-68 at
   * |yaw| < 60° (3.49 → 3.32 %, 10.27 → 10.24 %) but raises it at [60, 90] (16.12 → 16.63 %), balanced 9.96 →
   * 10.06 %; on the 51 inner points it helps in every bin but the last (balanced 7.45 → 7.39 %).
   */
  refine?: boolean;
  /**
   * Average the landmark net's answers on the crop and on its mirror image (one more landmark-net forward, about
   * 40 ms). Default true: on aflw2000-dev the detector's NME-68 goes from 3.49 / 9.66 / 14.17 % to 3.19 / 9.51 /
   * 14.14 % by yaw bin, and the fitted model's from 4.24 / 9.78 / 15.01 to 4.01 / 9.68 / 15.11 %.
   */
  flip?: boolean;
  /** Directory with face-api's weight files. Default: the package's own `model/` folder. */
  modelDir?: string;
}

export interface Detector {
  readonly options: Readonly<Required<Omit<DetectorOptions, 'modelDir'>>>;
  /** All faces, largest box first. */
  detect(image: RgbImage): Promise<DetectedFace[]>;
  /** 68 landmarks for a given face box [x, y, w, h] (our convention), e.g. a ground-truth box. */
  landmarksInBox(image: RgbImage, box: readonly [number, number, number, number]): Promise<Float32Array>;
}

const require = createRequire(import.meta.url);

let faceapiModule: FaceApi | undefined;
const loadedNets = new Map<string, Promise<void>>();

function faceapi(): FaceApi {
  // The node-wasm build requires '@tensorflow/tfjs' itself: the same CommonJS instance src/engine imports.
  faceapiModule ??= require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
  return faceapiModule;
}

function defaultModelDir(): string {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

async function loadNet(name: 'ssdMobilenetv1' | 'tinyFaceDetector' | 'faceLandmark68Net', dir: string): Promise<void> {
  const key = `${name}:${dir}`;
  let p = loadedNets.get(key);
  if (!p) {
    p = faceapi().nets[name].loadFromDisk(dir);
    loadedNets.set(key, p);
  }
  return p;
}

/** Load the networks (from disk, no network access) and return a detector. */
export async function loadDetector(options: DetectorOptions = {}): Promise<Detector> {
  await initEngine();
  const kind = options.detector ?? 'ssd';
  const opts = {
    detector: kind,
    minScore: options.minScore ?? (kind === 'ssd' ? 0.2 : 0.3),
    maxFaces: options.maxFaces ?? 50,
    pad: options.pad ?? 0,
    retryPad: options.retryPad ?? 0.3,
    tinyInputSize: options.tinyInputSize ?? 416,
    refine: options.refine ?? false,
    flip: options.flip ?? true,
  } as const;
  const dir = options.modelDir ?? defaultModelDir();
  await Promise.all([loadNet(kind === 'ssd' ? 'ssdMobilenetv1' : 'tinyFaceDetector', dir), loadNet('faceLandmark68Net', dir)]);
  return {
    options: opts,
    detect: (image) => detectFaces(image, opts),
    landmarksInBox: (image, box) => withImageTensor(image, (t) => landmarksForBox(t, box, opts.refine, opts.flip)),
  };
}

async function withImageTensor<T>(image: RgbImage, fn: (t: tf.Tensor3D) => Promise<T>): Promise<T> {
  checkImage(image);
  const t = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
  const f = tf.cast(t, 'float32') as tf.Tensor3D;
  t.dispose();
  try {
    return await fn(f);
  } finally {
    f.dispose();
  }
}

function checkImage(image: RgbImage): void {
  if (image.data.length !== image.width * image.height * 3) {
    throw new Error(`detect: image data has ${image.data.length} bytes, expected ${image.width}×${image.height}×3`);
  }
}

type Box = [number, number, number, number];

async function detectFaces(image: RgbImage, opts: Detector['options']): Promise<DetectedFace[]> {
  // Images too small to hold a face detector's smallest anchor are answered without running the network.
  if (image.width < 8 || image.height < 8) return [];
  return withImageTensor(image, async (t) => {
    let boxes = await detectBoxes(t, opts, opts.pad);
    if (boxes.length === 0 && opts.retryPad > 0 && opts.retryPad !== opts.pad) {
      boxes = await detectBoxes(t, opts, opts.retryPad);
    }
    const faces: DetectedFace[] = [];
    for (const { box, score } of boxes) {
      faces.push({ box, score, landmarks: await landmarksForBox(t, box, opts.refine, opts.flip) });
    }
    return faces.sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
  });
}

/** Detector boxes in our convention, for the image padded by `pad` × its longest side on each side. */
async function detectBoxes(image: tf.Tensor3D, opts: Detector['options'], pad: number): Promise<{ box: Box; score: number }[]> {
  const api = faceapi();
  const [h, w] = image.shape;
  const border = Math.round(pad * Math.max(w, h));
  // Pad with mid grey: neutral for both detectors' input normalisation, and not an edge that looks like hair.
  const input = border > 0 ? tf.pad(image, [[border, border], [border, border], [0, 0]], 128) : image;
  try {
    const found =
      opts.detector === 'ssd'
        ? await api.nets.ssdMobilenetv1.locateFaces(asNetInput(input), { minConfidence: opts.minScore, maxResults: opts.maxFaces })
        : await api.nets.tinyFaceDetector.locateFaces(
            asNetInput(input),
            new api.TinyFaceDetectorOptions({ inputSize: opts.tinyInputSize, scoreThreshold: opts.minScore }),
          );
    return found.slice(0, opts.maxFaces).map((d) => {
      const b = d.box; // corner-origin pixels of the (padded) input
      return { box: [b.x - 0.5 - border, b.y - 0.5 - border, b.width, b.height] as Box, score: d.score };
    });
  } finally {
    if (input !== image) input.dispose();
  }
}

/** Landmark-net input side (face-api's faceLandmark68Net is fixed at 112). */
const NET = 112;

/**
 * Crop the square [x0, x0 + side] × [y0, y0 + side] (our convention: x0, y0 are the left/top edges) to NET×NET,
 * so that network pixel j samples the image at x0 + (j + 0.5)·side/NET. Outside the image is black, as in
 * face-api's own padding. Large squares are box-filtered first so the bilinear sampling does not alias.
 */
function cropSquare(image: tf.Tensor3D, x0: number, y0: number, side: number): tf.Tensor4D {
  return tf.tidy(() => {
    let src: tf.Tensor3D = image;
    let k = Math.floor(side / NET / 1.5);
    let toSrc = (v: number) => v; // image coordinate → source-pixel coordinate
    if (k >= 2) {
      // Pooled pixel p averages image pixels p·k … p·k + k − 1, so its centre is at image coordinate p·k + (k − 1)/2.
      src = tf.avgPool(image, k, k, 'valid');
      const kk = k;
      toSrc = (v: number) => (v - (kk - 1) / 2) / kk;
    } else {
      k = 1;
    }
    const [h, w] = src.shape;
    const step = side / NET;
    // Sample positions (image coordinates) of the first and last network pixels, in source-pixel coordinates.
    const ya = toSrc(y0 + 0.5 * step);
    const yb = toSrc(y0 + (NET - 0.5) * step);
    const xa = toSrc(x0 + 0.5 * step);
    const xb = toSrc(x0 + (NET - 0.5) * step);
    // cropAndResize maps output pixel j to y1·(h − 1) + j·(y2 − y1)·(h − 1)/(NET − 1): normalise accordingly.
    const box = tf.tensor2d([[ya / (h - 1), xa / (w - 1), yb / (h - 1), xb / (w - 1)]]);
    return tf.image.cropAndResize(src.expandDims(0) as tf.Tensor4D, box, [0], [NET, NET], 'bilinear', 0);
  });
}

/** iBUG-68 index of each point's mirror image (left ↔ right). */
export const MIRROR_68: readonly number[] = [
  16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, // jaw
  26, 25, 24, 23, 22, 21, 20, 19, 18, 17, // brows
  27, 28, 29, 30, 35, 34, 33, 32, 31, // nose
  45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40, // eyes
  54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, // outer lips
  64, 63, 62, 61, 60, 67, 66, 65, // inner lips
];

/**
 * Run faceLandmark68Net on a square; return the 68 points in image coordinates (our convention). With `flip`,
 * the net also sees the mirrored crop and the two answers are averaged (mirrored back, points renumbered).
 */
async function landmarksInSquare(image: tf.Tensor3D, x0: number, y0: number, side: number, flip: boolean): Promise<Float32Array> {
  const api = faceapi();
  const crop = cropSquare(image, x0, y0, side);
  const run = async (input: tf.Tensor4D): Promise<Float32Array> => {
    const out = (await api.nets.faceLandmark68Net.forward(asNetInput(input))) as unknown as tf.Tensor2D;
    const f = out.dataSync() as Float32Array;
    out.dispose();
    return f;
  };
  try {
    const f = Float32Array.from(await run(crop));
    if (flip) {
      const mirrored = tf.reverse(crop, 2) as tf.Tensor4D;
      const g = await run(mirrored).finally(() => mirrored.dispose());
      for (let i = 0; i < 68; i++) {
        const j = MIRROR_68[i]!;
        f[2 * i] = (f[2 * i]! + (1 - g[2 * j]!)) / 2;
        f[2 * i + 1] = (f[2 * i + 1]! + g[2 * j + 1]!) / 2;
      }
    }
    const pts = new Float32Array(136);
    for (let i = 0; i < 68; i++) {
      pts[2 * i] = x0 + f[2 * i]! * side;
      pts[2 * i + 1] = y0 + f[2 * i + 1]! * side;
    }
    return pts;
  } finally {
    crop.dispose();
  }
}

/**
 * Where an SSD box's square sits relative to the landmarks face-api predicts in it: medians over the 237
 * aflw2000-dev photos with a detection, from the detector's own output only (no ground truth involved):
 * side ≈ REFINE_SIDE × (landmark box diagonal / √2), centre ≈ landmark box centre + REFINE_DY × side in y.
 */
export const REFINE_SIDE = 1.279;
export const REFINE_DY = -0.082;

async function landmarksForBox(image: tf.Tensor3D, box: readonly [number, number, number, number], refine: boolean, flip: boolean): Promise<Float32Array> {
  const [x, y, w, h] = box;
  const side = Math.max(w, h);
  let pts = await landmarksInSquare(image, x + w / 2 - side / 2, y + h / 2 - side / 2, side, flip);
  if (refine) {
    const sq = squareAroundLandmarks(pts);
    pts = await landmarksInSquare(image, sq[0], sq[1], sq[2], flip);
  }
  return pts;
}

/** The detector-like square [x0, y0, side] for a set of 68 landmarks (see REFINE_SIDE). */
export function squareAroundLandmarks(pts: Float32Array): [number, number, number] {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let i = 0; i < 68; i++) {
    minX = Math.min(minX, pts[2 * i]!);
    maxX = Math.max(maxX, pts[2 * i]!);
    minY = Math.min(minY, pts[2 * i + 1]!);
    maxY = Math.max(maxY, pts[2 * i + 1]!);
  }
  const size = Math.hypot(maxX - minX, maxY - minY) / Math.SQRT2;
  const side = REFINE_SIDE * size;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2 + REFINE_DY * side;
  return [cx - side / 2, cy - side / 2, side];
}

/** The face to reconstruct, and a one-line note when the image holds several. */
export interface FaceChoice {
  face: DetectedFace;
  index: number;
  note?: string;
}

/**
 * Pick face `index` (0-based, default 0 = the largest). Out of range → usage error (exit 2). With several faces
 * the note says which was taken and how to pick another (`--face N`). No faces → the caller raises noFaceError.
 */
export function selectFace(faces: readonly DetectedFace[], index = 0): FaceChoice {
  if (faces.length === 0) throw new Error('selectFace: no faces (raise noFaceError before selecting)');
  if (!Number.isInteger(index) || index < 0 || index >= faces.length) {
    throw usageError(
      `--face ${index}: out of range, the image has ${faces.length} face${faces.length === 1 ? '' : 's'} (valid: 0–${faces.length - 1})`,
    );
  }
  const face = faces[index]!;
  if (faces.length === 1) return { face, index };
  const [x, y, w, h] = face.box.map((v) => Math.round(v));
  return {
    face,
    index,
    note:
      `${faces.length} faces found; using face ${index} (box ${w}×${h} at ${x},${y}` +
      `${index === 0 ? ', the largest' : ''}); pick another with --face N (0–${faces.length - 1}, largest first)`,
  };
}
