/**
 * Differentiable face alignment for the recognition network: a similarity transform estimated by least squares
 * from landmarks to a fixed template in the 150×150 chip, and a bilinear warp of the image (photo or render) into
 * the chip that passes gradients to the image and to the transform (hence to the landmarks).
 *
 * Pixel convention: docs/conventions.md "Image and pixel coordinates" ((0, 0) = centre of the top-left pixel), in
 * both the image and the chip.
 *
 * The template (`CHIP_TEMPLATE_68`) is the mean position, in face-api's own recognition chip, of face-api's 68
 * landmarks over the 37 identity portraits of shared/data/portraits (face-api crops the landmarks' bounding box
 * grown by 20%, pads it to a square and resizes to 150; see scratch/losses/template.ts). A similarity fit to it
 * therefore reproduces face-api's crop for upright faces, and also removes in-plane rotation, which face-api's
 * axis-aligned crop does not.
 */
import { tf } from '../engine/index.js';

export const CHIP_SIZE = 150;

/** 68 template points (x0, y0, x1, y1, …) in chip pixels, iBUG order. */
export const CHIP_TEMPLATE_68: readonly number[] = [
  13.47, 41.24, 15.4, 58.06, 18.59, 73.67, 21.97, 87.06, 27.48, 102.08, 36.26, 113.34, 46.92, 121.08, 60.27, 129.48,
  79.57, 133.89, 98.19, 128.42, 110.18, 120.56, 119.43, 112.62, 127.52, 100.01, 133.14, 85.03, 135.65, 70.68, 138.03, 55.7,
  138.07, 39.24, 26.88, 26.38, 34.3, 20.69, 43.75, 19.16, 52.51, 19.98, 60.52, 22.87, 92.16, 22.64, 99.65, 19.74,
  108.28, 18.18, 117.97, 19.47, 124.91, 24.6, 76.64, 41.57, 77.08, 52.61, 77.31, 62.73, 77.13, 72.02, 67.3, 77.66,
  71.9, 79.5, 77.65, 80.56, 83.62, 78.85, 88.08, 77.72, 39.37, 39.32, 44.96, 37.42, 52.81, 37.31, 59.9, 40.88,
  53.94, 43.58, 45.5, 42.95, 92.78, 40.35, 99.98, 36.39, 108.04, 36.37, 113.19, 38.94, 107.69, 42.59, 99.48, 42.08,
  54.81, 96.93, 62.96, 93.31, 72.95, 90.87, 78.18, 91.77, 83.07, 90.39, 93.94, 93.42, 102.45, 96.67, 93.71, 103.53,
  86.52, 107.5, 78.46, 108.77, 71.25, 107.85, 63.21, 104.68, 56.01, 97.07, 70.65, 95.77, 78.19, 95.82, 85.42, 95.96,
  100.45, 96.5, 85.67, 100.47, 78.6, 101.45, 71.53, 101.02,
];

/**
 * The five alignment points as averages of the 68: image-left eye centre (36–41), image-right eye centre (42–47),
 * nose tip (30), mouth corners (48, 54). Robust to jaw and brow errors of the detectors.
 */
const FIVE_POINT_GROUPS: readonly (readonly number[])[] = [[36, 37, 38, 39, 40, 41], [42, 43, 44, 45, 46, 47], [30], [48], [54]];

function fivePointMatrix(): tf.Tensor2D {
  const m = new Float32Array(5 * 68);
  FIVE_POINT_GROUPS.forEach((g, r) => g.forEach((i) => (m[r * 68 + i] = 1 / g.length)));
  return tf.tensor2d(m, [5, 68]);
}

/** [..., 68, 2] landmarks → [..., 5, 2] alignment points (differentiable). */
export function fivePoints(landmarks68: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const m = fivePointMatrix();
    if (landmarks68.rank === 2) return tf.matMul(m, landmarks68 as tf.Tensor2D);
    const b = landmarks68.shape[0]!;
    return tf.matMul(tf.tile(tf.expandDims(m, 0), [b, 1, 1]) as tf.Tensor3D, landmarks68 as tf.Tensor3D);
  });
}

/** The template's five alignment points [5, 2] in chip pixels. */
export function chipTemplate5(): tf.Tensor2D {
  return tf.tidy(() => fivePoints(tf.tensor2d(CHIP_TEMPLATE_68 as number[], [68, 2])) as tf.Tensor2D);
}

/**
 * Least-squares similarity transform from `src` [B, N, 2] to `dst` [N, 2] (or [B, N, 2]): the parameters
 * [B, 4] = (a, b, tx, ty) of  dst ≈ [[a, −b], [b, a]]·src + t  (scale·rotation, no reflection). Closed form, hence
 * differentiable with respect to both point sets.
 */
export function similarityTransform(src: tf.Tensor3D, dst: tf.Tensor2D | tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const d = dst.rank === 2 ? tf.expandDims(dst, 0) : dst;
    const ms = tf.mean(src, 1, true);
    const md = tf.mean(d, 1, true);
    const s = tf.sub(src, ms);
    const t = tf.sub(d, md);
    const [sx, sy] = tf.split(s, 2, 2);
    const [tx, ty] = tf.split(t, 2, 2);
    const den = tf.sum(tf.add(tf.square(sx!), tf.square(sy!)), [1, 2]);
    const a = tf.div(tf.sum(tf.add(tf.mul(sx!, tx!), tf.mul(sy!, ty!)), [1, 2]), den);
    const b = tf.div(tf.sum(tf.sub(tf.mul(sx!, ty!), tf.mul(sy!, tx!)), [1, 2]), den);
    const [msx, msy] = tf.split(tf.reshape(ms, [-1, 2]), 2, 1);
    const [mdx, mdy] = tf.split(tf.reshape(md, [-1, 2]), 2, 1);
    const a1 = tf.reshape(a, [-1, 1]);
    const b1 = tf.reshape(b, [-1, 1]);
    const ttx = tf.sub(mdx!, tf.sub(tf.mul(a1, msx!), tf.mul(b1, msy!)));
    const tty = tf.sub(mdy!, tf.add(tf.mul(b1, msx!), tf.mul(a1, msy!)));
    return tf.concat([a1, b1, ttx, tty], 1) as tf.Tensor2D;
  });
}

/**
 * Chip transform [B, 4] from landmarks [B, 68, 2] (or [B, 5, 2] already reduced) in image pixels, fitted on the five
 * alignment points (`points: 5`, default) or on all 68.
 */
export function chipTransformFromLandmarks(landmarks: tf.Tensor3D, points: 5 | 68 = 5): tf.Tensor2D {
  return tf.tidy(() => {
    const n = landmarks.shape[1];
    if (points === 68 && n === 68) return similarityTransform(landmarks, tf.tensor2d(CHIP_TEMPLATE_68 as number[], [68, 2]));
    const src = n === 5 ? landmarks : (fivePoints(landmarks) as tf.Tensor3D);
    return similarityTransform(src, chipTemplate5());
  });
}

/**
 * Chip transform [1, 4] for an axis-aligned square crop of side `side` centred at (cx, cy) (image pixels), scaled to
 * the chip. For roughly aligned photos (LFW: 250×250, face ≈ 110 px centred).
 */
export function squareCropTransform(cx: number, cy: number, side: number, size = CHIP_SIZE): tf.Tensor2D {
  const a = size / side;
  const c = (size - 1) / 2;
  return tf.tensor2d([[a, 0, c - a * cx, c - a * cy]]);
}

/** Clipped sampling positions [B, S²] in the image for every chip pixel, from transform [B, 4]. */
function samplePositions(tr: tf.Tensor, B: number, H: number, W: number, size: number): [tf.Tensor, tf.Tensor] {
  const [a, b, tx, ty] = tf.split(tf.reshape(tr, [B, 4, 1]), 4, 1).map((t) => tf.reshape(t, [B, 1]));
  const q = new Float32Array(size * size * 2);
  for (let j = 0; j < size; j++) for (let i = 0; i < size; i++) {
    q[2 * (j * size + i)] = i;
    q[2 * (j * size + i) + 1] = j;
  }
  const [qx, qy] = tf.split(tf.tensor2d(q, [size * size, 2]), 2, 1).map((t) => tf.reshape(t, [1, size * size]));
  // p = A⁻¹(q − t), A⁻¹ = [[a, b], [−b, a]] / (a² + b²)
  const inv = tf.reciprocal(tf.add(tf.square(a!), tf.square(b!)));
  const dx = tf.sub(qx!, tx!);
  const dy = tf.sub(qy!, ty!);
  const px = tf.mul(tf.add(tf.mul(a!, dx), tf.mul(b!, dy)), inv);
  const py = tf.mul(tf.sub(tf.mul(a!, dy), tf.mul(b!, dx)), inv);
  return [tf.clipByValue(px, 0, W - 1), tf.clipByValue(py, 0, H - 1)];
}

/**
 * Warp images [B, H, W, C] into chips [B, size, size, C]: chip pixel q samples the image at T⁻¹(q), bilinearly,
 * with edge clamping. `transform` [B, 4] (or [1, 4], shared) maps image → chip, as returned above. Gradients flow
 * to the image and to the transform.
 *
 * The bilinear sampling has a hand-written gradient (tfjs cannot keep the Cast that forms the integer indices out
 * of an automatic gradient): image gradient = Σ over the four corners of UnsortedSegmentSum(dy·w_corner), position
 * gradient = dy · the local finite differences of the image; the positions' dependence on the transform (and the
 * clamping) is differentiated by tfjs.
 */
export function warpToChip(images: tf.Tensor4D, transform: tf.Tensor2D, size = CHIP_SIZE): tf.Tensor4D {
  const [B, H, W, C] = images.shape;
  const S2 = size * size;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [img, cx, cy, save] = args as [tf.Tensor4D, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const x0 = tf.floor(cx);
    const y0 = tf.floor(cy);
    const x1 = tf.minimum(tf.add(x0, 1), W - 1);
    const y1 = tf.minimum(tf.add(y0, 1), H - 1);
    // Flat indices, formed in float32 (exact below 2^24 = B·H·W).
    const base = tf.reshape(tf.mul(tf.range(0, B, 1, 'float32'), H * W), [B, 1]);
    const flatIndex = (yy: tf.Tensor, xx: tf.Tensor) =>
      tf.cast(tf.reshape(tf.add(base, tf.add(tf.mul(yy, W), xx)), [-1]), 'int32');
    const idx = [flatIndex(y0, x0), flatIndex(y0, x1), flatIndex(y1, x0), flatIndex(y1, x1)];
    const corners = (im: tf.Tensor) => {
      const flat = tf.reshape(im, [B * H * W, C]);
      return idx.map((i) => tf.reshape(tf.gather(flat, i), [B, S2, C]));
    };
    const weights = () => [tf.expandDims(tf.sub(cx, x0), 2), tf.expandDims(tf.sub(cy, y0), 2)];
    const [wx, wy] = weights();
    const [v00, v01, v10, v11] = corners(img);
    const top = tf.add(tf.mul(v00!, tf.sub(1, wx!)), tf.mul(v01!, wx!));
    const bottom = tf.add(tf.mul(v10!, tf.sub(1, wx!)), tf.mul(v11!, wx!));
    const value = tf.reshape(tf.add(tf.mul(top, tf.sub(1, wy!)), tf.mul(bottom, wy!)), [B, size, size, C]);
    save([img, cx, cy, x0, y0, ...idx]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sImg, sx, sy, sx0, sy0, ...sIdx] = saved as tf.Tensor[];
        const d = tf.reshape(dy, [B, S2, C]);
        const gx = tf.expandDims(tf.sub(sx!, sx0!), 2);
        const gy = tf.expandDims(tf.sub(sy!, sy0!), 2);
        const flat = tf.reshape(sImg!, [B * H * W, C]);
        const [a00, a01, a10, a11] = sIdx.map((i) => tf.reshape(tf.gather(flat, i), [B, S2, C]));
        const ux = tf.sub(1, gx);
        const uy = tf.sub(1, gy);
        const cw = [tf.mul(ux, uy), tf.mul(gx, uy), tf.mul(ux, gy), tf.mul(gx, gy)];
        let dImg: tf.Tensor = tf.zeros([B * H * W, C]);
        cw.forEach((w, k) => {
          dImg = tf.add(dImg, tf.unsortedSegmentSum(tf.reshape(tf.mul(d, w), [B * S2, C]), sIdx[k] as tf.Tensor1D, B * H * W));
        });
        const dcx = tf.sum(tf.mul(d, tf.add(tf.mul(uy, tf.sub(a01!, a00!)), tf.mul(gy, tf.sub(a11!, a10!)))), 2);
        const dcy = tf.sum(tf.mul(d, tf.add(tf.mul(ux, tf.sub(a10!, a00!)), tf.mul(gx, tf.sub(a11!, a01!)))), 2);
        return [tf.reshape(dImg, [B, H, W, C]), dcx, dcy];
      },
    };
  });
  return tf.tidy(() => {
    const tr = transform.shape[0] === B ? transform : tf.tile(transform, [B, 1]);
    const [cx, cy] = samplePositions(tr, B, H, W, size);
    return op(images, cx, cy) as tf.Tensor4D;
  });
}

/** Landmarks [B, N, 2] from image pixels to chip pixels under `transform` [B, 4] (for checks and drawings). */
export function transformPoints(points: tf.Tensor3D, transform: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const B = points.shape[0];
    const tr = transform.shape[0] === B ? transform : tf.tile(transform, [B, 1]);
    const [a, b, tx, ty] = tf.split(tf.reshape(tr, [B, 4, 1]), 4, 1).map((t) => tf.reshape(t, [B, 1]));
    const [x, y] = tf.split(points, 2, 2).map((t) => tf.reshape(t, [B, -1]));
    const u = tf.add(tf.sub(tf.mul(a!, x!), tf.mul(b!, y!)), tx!);
    const v = tf.add(tf.add(tf.mul(b!, x!), tf.mul(a!, y!)), ty!);
    return tf.stack([u, v], 2) as tf.Tensor3D;
  });
}
