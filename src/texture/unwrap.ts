/**
 * Texture by projection: carry the photo's visible pixels into the model's UV map.
 *
 * For every texel of a UV tile: find its point on the fitted mesh (rasterising the UV triangles), project it
 * with the fitted camera, keep it if that surface point is the one the camera sees (z-buffer) and faces the
 * camera; otherwise try the mirrored point on the other half of the face; fill what is left smoothly
 * (push–pull). The result is the preview texture and the raw material of the texture GAN's training set.
 */
import type { FaceModel, PartRange } from '../model/types.js';
import type { RgbImage } from '../io/image.js';
import { rasterize } from '../render/rasterize.js';

/** Texel provenance in the mask (one byte per texel). */
export const TEXEL_OBSERVED = 255;
export const TEXEL_MIRRORED = 128;
export const TEXEL_FILLED = 0;

export interface UnwrapCamera {
  /** Row-major 3×3 camera rotation (model → camera axes, F·R of docs/conventions.md). */
  rotation: ArrayLike<number>;
  translation: ArrayLike<number>;
  focal: number;
  principal: ArrayLike<number>;
}

export interface UnwrapOptions {
  /** Side of the square UV tile in texels. */
  resolution: number;
  /** UV tile to unwrap: texels with floor(u) = tile (0 = face, 1 = back of the head; docs/conventions.md). */
  tile: number;
  /** Parts (by name) whose triangles are drawn into the tile. */
  parts: string[];
  /** Minimum cosine between the surface normal and the direction to the camera for a texel to count as seen. */
  minFacing: number;
  /** Depth tolerance of the visibility test, cm. */
  depthTolerance: number;
  /**
   * Keep texels whose pixel lies at least this many pixels inside the head's outline in the photo: the fitted
   * outline is never exact, and pixels at it often show background or hair.
   */
  silhouetteMargin: number;
  /** Use the mirrored point for texels the camera cannot see. */
  mirror: boolean;
}

/**
 * The visibility settings ganfit uses, for a face of `faceSize` pixels (√(w·h) of its landmark box): texels seen
 * at grazing angles (cosine < 0.3) or within 2 % of the face size from the outline are taken from the mirrored
 * side or filled instead.
 */
export function unwrapSettings(faceSize: number): Pick<UnwrapOptions, 'minFacing' | 'depthTolerance' | 'silhouetteMargin' | 'mirror'> {
  return { minFacing: 0.3, depthTolerance: 0.5, silhouetteMargin: Math.max(1, Math.round(0.02 * faceSize)), mirror: true };
}

export interface UnwrapResult {
  /** R×R×3 sRGB texels, row 0 = top of the map (v = 1). */
  rgb: Uint8Array;
  /** R×R provenance: TEXEL_OBSERVED, TEXEL_MIRRORED or TEXEL_FILLED. */
  mask: Uint8Array;
  resolution: number;
  /** Fraction of the tile's covered texels that were observed directly. */
  observedFraction: number;
}

/** Camera-space positions (V×3) and projected pixels (V×2) of model-space positions. */
export function projectVertices(positions: ArrayLike<number>, cam: UnwrapCamera): { camera: Float64Array; pixels: Float64Array } {
  const n = positions.length / 3;
  const r = cam.rotation, t = cam.translation;
  const camera = new Float64Array(n * 3);
  const pixels = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const x = positions[3 * i], y = positions[3 * i + 1], z = positions[3 * i + 2];
    const X = r[0] * x + r[1] * y + r[2] * z + t[0];
    const Y = r[3] * x + r[4] * y + r[5] * z + t[1];
    const Z = r[6] * x + r[7] * y + r[8] * z + t[2];
    camera[3 * i] = X; camera[3 * i + 1] = Y; camera[3 * i + 2] = Z;
    pixels[2 * i] = (cam.focal * X) / Z + cam.principal[0];
    pixels[2 * i + 1] = (cam.focal * Y) / Z + cam.principal[1];
  }
  return { camera, pixels };
}

/** Clip positions (V×4) of projected vertices for an image of W×H (docs/conventions.md "Clip space"). */
export function clipFromPixels(camera: Float64Array, pixels: Float64Array, width: number, height: number, near = 1): Float32Array {
  const n = pixels.length / 2;
  const clip = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const Z = camera[3 * i + 2];
    clip[4 * i] = ((2 * pixels[2 * i] + 1) / width - 1) * Z;
    clip[4 * i + 1] = ((2 * pixels[2 * i + 1] + 1) / height - 1) * Z;
    clip[4 * i + 2] = Z - 2 * near;
    clip[4 * i + 3] = Z;
  }
  return clip;
}

function trianglesOfParts(model: FaceModel, names: string[]): { parts: PartRange[]; indices: Uint32Array } {
  const parts = model.parts.filter((p) => names.includes(p.name));
  const list: number[] = [];
  for (const p of parts) for (let t = p.triangleStart; t < p.triangleEnd; t++) list.push(t);
  return { parts, indices: Uint32Array.from(list) };
}

const mirrorCache = new WeakMap<FaceModel, Int32Array>();

/** For every vertex, the vertex nearest to its mirror image (−x, y, z) on the neutral head (grid search). */
export function mirrorVertices(model: FaceModel): Int32Array {
  const cached = mirrorCache.get(model);
  if (cached) return cached;
  const n = model.neutral;
  const count = model.vertexCount;
  const cell = 0.5;
  const key = (x: number, y: number, z: number) => `${Math.floor(x / cell)},${Math.floor(y / cell)},${Math.floor(z / cell)}`;
  const grid = new Map<string, number[]>();
  for (let i = 0; i < count; i++) {
    const k = key(n[3 * i], n[3 * i + 1], n[3 * i + 2]);
    const list = grid.get(k);
    if (list) list.push(i); else grid.set(k, [i]);
  }
  const out = new Int32Array(count).fill(-1);
  for (let i = 0; i < count; i++) {
    const x = -n[3 * i], y = n[3 * i + 1], z = n[3 * i + 2];
    let best = -1, bestD = Infinity;
    const cx = Math.floor(x / cell), cy = Math.floor(y / cell), cz = Math.floor(z / cell);
    for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) for (let dz = -1; dz <= 1; dz++) {
      const list = grid.get(`${cx + dx},${cy + dy},${cz + dz}`);
      if (!list) continue;
      for (const j of list) {
        const d = (n[3 * j] - x) ** 2 + (n[3 * j + 1] - y) ** 2 + (n[3 * j + 2] - z) ** 2;
        if (d < bestD) { bestD = d; best = j; }
      }
    }
    out[i] = best;
  }
  mirrorCache.set(model, out);
  return out;
}

/** Bilinear sample of an RGB image at pixel coordinates (pixel centres at integers); writes 3 floats. */
function sampleBilinear(img: RgbImage, x: number, y: number, out: Float64Array): void {
  const x0 = Math.max(0, Math.min(img.width - 1, Math.floor(x)));
  const y0 = Math.max(0, Math.min(img.height - 1, Math.floor(y)));
  const x1 = Math.min(img.width - 1, x0 + 1), y1 = Math.min(img.height - 1, y0 + 1);
  const fx = Math.max(0, Math.min(1, x - x0)), fy = Math.max(0, Math.min(1, y - y0));
  const d = img.data, w = img.width;
  for (let c = 0; c < 3; c++) {
    const top = d[(y0 * w + x0) * 3 + c] * (1 - fx) + d[(y0 * w + x1) * 3 + c] * fx;
    const bottom = d[(y1 * w + x0) * 3 + c] * (1 - fx) + d[(y1 * w + x1) * 3 + c] * fx;
    out[c] = top * (1 - fy) + bottom * fy;
  }
}

/**
 * Fill the texels whose weight is 0 from their neighbourhood (push–pull: average down a pyramid of masked
 * means, then fill each level's holes from the coarser level). `rgb` is R×R×3 floats, `weight` R×R.
 */
export function pushPullFill(rgb: Float64Array, weight: Float64Array, size: number): void {
  if (size <= 1) return;
  const half = Math.ceil(size / 2);
  const coarse = new Float64Array(half * half * 3);
  const coarseW = new Float64Array(half * half);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const w = weight[y * size + x];
      if (w <= 0) continue;
      const j = (y >> 1) * half + (x >> 1);
      coarseW[j] += w;
      for (let c = 0; c < 3; c++) coarse[j * 3 + c] += w * rgb[(y * size + x) * 3 + c];
    }
  }
  for (let j = 0; j < half * half; j++) {
    if (coarseW[j] > 0) for (let c = 0; c < 3; c++) coarse[j * 3 + c] /= coarseW[j];
    coarseW[j] = Math.min(1, coarseW[j]);
  }
  if (coarseW.some((w) => w === 0)) pushPullFill(coarse, coarseW, half);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      if (weight[i] > 0) continue;
      const j = (y >> 1) * half + (x >> 1);
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = coarse[j * 3 + c];
    }
  }
}

/**
 * Unwrap the photo into one UV tile of the fitted mesh.
 * @param positions fitted model-space vertex positions (V×3, cm).
 */
export function unwrapTexture(
  model: FaceModel,
  positions: Float32Array,
  image: RgbImage,
  camera: UnwrapCamera,
  options: UnwrapOptions,
): UnwrapResult {
  const R = options.resolution;
  const { camera: camPos, pixels } = projectVertices(positions, camera);
  // Image-space z-buffer over the whole head, so hair-free occluders (nose, cheeks) hide what is behind them.
  const imageRaster = rasterize(clipFromPixels(camPos, pixels, image.width, image.height), model.triangles, [image.height, image.width], { cull: 'back' });

  // UV-space raster of the tile's triangles.
  const { indices } = trianglesOfParts(model, options.parts);
  const uvTris = new Uint32Array(indices.length * 3);
  for (let i = 0; i < indices.length; i++) uvTris.set(model.uvTriangles.subarray(indices[i] * 3, indices[i] * 3 + 3), i * 3);
  const uvCount = model.uvs.length / 2;
  const uvClip = new Float32Array(uvCount * 4);
  for (let i = 0; i < uvCount; i++) {
    uvClip[4 * i] = 2 * (model.uvs[2 * i] - options.tile) - 1;
    uvClip[4 * i + 1] = 1 - 2 * model.uvs[2 * i + 1];
    uvClip[4 * i + 2] = 0;
    uvClip[4 * i + 3] = 1;
  }
  const uvRaster = rasterize(uvClip, uvTris, [R, R], { cull: 'none' });

  const mirror = options.mirror ? mirrorVertices(model) : null;
  const rgb = new Float64Array(R * R * 3);
  const weight = new Float64Array(R * R);
  const mask = new Uint8Array(R * R);
  const colour = new Float64Array(3);
  const tris = model.triangles;
  let covered = 0, observed = 0;

  /**
   * Try to read the photo at the surface point with barycentrics (b0, b1, b2) on vertices (a, b, c); `winding` is
   * −1 for a mirrored triangle, whose corners run the other way round.
   */
  const look = (a: number, b: number, c: number, b0: number, b1: number, b2: number, winding: 1 | -1): boolean => {
    const X = b0 * camPos[3 * a] + b1 * camPos[3 * b] + b2 * camPos[3 * c];
    const Y = b0 * camPos[3 * a + 1] + b1 * camPos[3 * b + 1] + b2 * camPos[3 * c + 1];
    const Z = b0 * camPos[3 * a + 2] + b1 * camPos[3 * b + 2] + b2 * camPos[3 * c + 2];
    if (Z <= 0) return false;
    const px = (camera.focal * X) / Z + camera.principal[0];
    const py = (camera.focal * Y) / Z + camera.principal[1];
    const ix = Math.round(px), iy = Math.round(py);
    if (ix < 0 || iy < 0 || ix >= image.width || iy >= image.height) return false;
    // Facing: the triangle's normal against the direction to the camera.
    const e1x = camPos[3 * b] - camPos[3 * a], e1y = camPos[3 * b + 1] - camPos[3 * a + 1], e1z = camPos[3 * b + 2] - camPos[3 * a + 2];
    const e2x = camPos[3 * c] - camPos[3 * a], e2y = camPos[3 * c + 1] - camPos[3 * a + 1], e2z = camPos[3 * c + 2] - camPos[3 * a + 2];
    // Camera axes are a reflection of model axes (F = diag(1,−1,−1) has det +1, so orientation is kept).
    const nx = e1y * e2z - e1z * e2y, ny = e1z * e2x - e1x * e2z, nz = e1x * e2y - e1y * e2x;
    const nLen = Math.hypot(nx, ny, nz), vLen = Math.hypot(X, Y, Z);
    if (nLen === 0) return false;
    const facing = (-winding * (nx * X + ny * Y + nz * Z)) / (nLen * vLen);
    if (facing < options.minFacing) return false;
    // Visible: the surface the camera sees at that pixel is at (about) the same depth.
    const p = iy * image.width + ix;
    const t = imageRaster.triangleId[p];
    if (t < 0) return false;
    const m = options.silhouetteMargin;
    if (m > 0) {
      for (const [dx, dy] of [[-m, 0], [m, 0], [0, -m], [0, m]]) {
        const qx = ix + dx, qy = iy + dy;
        if (qx < 0 || qy < 0 || qx >= image.width || qy >= image.height || imageRaster.triangleId[qy * image.width + qx] < 0) return false;
      }
    }
    const q0 = imageRaster.bary[2 * p], q1 = imageRaster.bary[2 * p + 1];
    const seenZ = q0 * camPos[3 * tris[3 * t] + 2] + q1 * camPos[3 * tris[3 * t + 1] + 2] + (1 - q0 - q1) * camPos[3 * tris[3 * t + 2] + 2];
    if (Z > seenZ + options.depthTolerance) return false;
    sampleBilinear(image, px, py, colour);
    return true;
  };

  for (let i = 0; i < R * R; i++) {
    const local = uvRaster.triangleId[i];
    if (local < 0) continue;
    covered++;
    const t = indices[local];
    const b0 = uvRaster.bary[2 * i], b1 = uvRaster.bary[2 * i + 1], b2 = 1 - b0 - b1;
    const a = tris[3 * t], b = tris[3 * t + 1], c = tris[3 * t + 2];
    let state = TEXEL_FILLED;
    if (look(a, b, c, b0, b1, b2, 1)) state = TEXEL_OBSERVED;
    else if (mirror && mirror[a] >= 0 && mirror[b] >= 0 && mirror[c] >= 0 && look(mirror[a], mirror[b], mirror[c], b0, b1, b2, -1)) state = TEXEL_MIRRORED;
    if (state === TEXEL_FILLED) continue;
    if (state === TEXEL_OBSERVED) observed++;
    rgb.set(colour, i * 3);
    weight[i] = 1;
    mask[i] = state;
  }
  if (weight.some((w) => w > 0)) pushPullFill(rgb, weight, R);
  const out = new Uint8Array(R * R * 3);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(rgb[i])));
  return { rgb: out, mask, resolution: R, observedFraction: covered ? observed / covered : 0 };
}
