/**
 * Rasterisation: clip-space triangles → per-pixel triangle id, perspective-correct barycentrics and depth.
 * Not differentiable (like nvdiffrast's `rasterize`); gradients reach positions through `interpolate` and
 * `antialias`, which recompute barycentrics / edge crossings from the clip positions.
 *
 * Pixel centres and NDC follow docs/conventions.md ("Clip space"): pixel (i, j) has its centre at NDC
 * ((2i+1)/W − 1, (2j+1)/H − 1), NDC y grows downwards with the image rows.
 */
import { tf } from '../engine/index.js';

/** The rasteriser's output for B views of H×W pixels (row-major, view-major). */
export interface Raster {
  batch: number;
  height: number;
  width: number;
  /** True when the clip positions had a batch axis ([B,V,4]); ops then return [B,H,W,…], else [H,W,…]. */
  batched: boolean;
  /** [B,H,W] triangle index, −1 where no triangle covers the pixel centre. */
  triangleId: Int32Array;
  /** [B,H,W,2] perspective-correct barycentrics (b0, b1) of the triangle's corners 0 and 1; b2 = 1 − b0 − b1. */
  bary: Float32Array;
  /** [B,H,W] z_ndc = z/w at the pixel (screen-linear), +Infinity where empty. Smaller is nearer. */
  depth: Float32Array;
}

export interface RasterizeOptions {
  /**
   * Which triangles to skip: 'back' drops triangles that are clockwise seen from the camera (the model's
   * triangles are counter-clockwise from outside, so these face away), 'front' the others. Default 'none'.
   */
  cull?: 'none' | 'back' | 'front';
}

/** Clip positions as given to the ops: [V,4] (one view) or [B,V,4]. */
export type ClipInput = Float32Array | Float64Array | tf.Tensor;

/** Reads clip positions into a flat array plus batch info. */
export function readClip(clip: ClipInput, batchHint?: number): { data: Float32Array | Float64Array; batch: number; batched: boolean; vertexCount: number } {
  if (clip instanceof tf.Tensor) {
    const s = clip.shape;
    if (s[s.length - 1] !== 4 || (s.length !== 2 && s.length !== 3)) throw new Error(`clip positions must be [V,4] or [B,V,4], got [${s}]`);
    const data = clip.dataSync() as Float32Array;
    return s.length === 3 ? { data, batch: s[0], batched: true, vertexCount: s[1] } : { data, batch: 1, batched: false, vertexCount: s[0] };
  }
  const b = batchHint ?? 1;
  return { data: clip, batch: b, batched: batchHint !== undefined, vertexCount: clip.length / (4 * b) };
}

/** Per-vertex screen data [sx, sy, z_ndc, w] and in-range flags, reused between calls (grown as needed). */
const scratch = { screen: new Float64Array(0), ok: new Uint8Array(0), edges: new Float64Array(9) };

/**
 * Rasterise triangles given in clip space.
 * @param clipPositions [V,4] or [B,V,4] (typed array: [V,4] unless `batch` is given).
 * @param triangles [T,3] vertex indices.
 * @param resolution [H, W].
 * Triangles with a vertex outside −1 ≤ z_ndc ≤ 1 or with w ≤ 0 are skipped whole (no clipping).
 * Ties on edges follow a top-left-style rule so that a pixel centre on an edge shared by two triangles is
 * covered by exactly one of them; equal depths keep the lower triangle id.
 */
export function rasterize(
  clipPositions: ClipInput,
  triangles: Uint32Array,
  resolution: readonly [number, number],
  options: RasterizeOptions & { batch?: number } = {},
): Raster {
  const [H, W] = resolution;
  const { data: clip, batch: B, batched, vertexCount: V } = readClip(clipPositions, options.batch);
  const cull = options.cull ?? 'none';
  const P = H * W;
  const triangleId = new Int32Array(B * P).fill(-1);
  const bary = new Float32Array(B * P * 2);
  const depth = new Float32Array(B * P).fill(Infinity);
  if (scratch.ok.length < V) {
    scratch.screen = new Float64Array(4 * V); scratch.ok = new Uint8Array(V);
  }
  const { screen, ok, edges } = scratch;
  for (let b = 0; b < B; b++) {
    screenVertices(clip, b * V * 4, V, W, H, screen, ok);
    rasterTriangles(triangles, cull === 'back' ? 1 : cull === 'front' ? -1 : 0, W, H, screen, ok, edges,
      depth.subarray(b * P, (b + 1) * P), triangleId.subarray(b * P, (b + 1) * P), bary.subarray(2 * b * P, 2 * (b + 1) * P));
  }
  return { batch: B, height: H, width: W, batched, triangleId, bary, depth };
}

// The passes are separate small functions: V8 optimises them far better than one large function.

/** Per-vertex screen coordinates (pixel units, centres at integers), z_ndc, w and the in-range flag of one view. */
function screenVertices(clip: Float32Array | Float64Array, cb: number, V: number, W: number, H: number, screen: Float64Array, ok: Uint8Array): void {
  const hw = W / 2, hh = H / 2;
  for (let v = 0; v < V; v++) {
    const x = clip[cb + 4 * v], y = clip[cb + 4 * v + 1], z = clip[cb + 4 * v + 2], w = clip[cb + 4 * v + 3];
    const zn = z / w;
    ok[v] = w > 0 && zn >= -1 && zn <= 1 && Number.isFinite(x / w) && Number.isFinite(y / w) ? 1 : 0;
    screen[4 * v] = (x / w + 1) * hw - 0.5;
    screen[4 * v + 1] = (y / w + 1) * hh - 0.5;
    screen[4 * v + 2] = zn;
    screen[4 * v + 3] = w;
  }
}

/**
 * Depth-tested coverage of one view; cull 1 = drop back faces, −1 = front faces, 0 = none. A pixel that a
 * triangle wins gets that triangle's perspective-correct barycentrics at once (edge values over w, normalised).
 */
function rasterTriangles(triangles: Uint32Array, cull: number, W: number, H: number, screen: Float64Array, ok: Uint8Array, edges: Float64Array, zbuf: Float32Array, ids: Int32Array, bary: Float32Array): void {
  const T = triangles.length / 3;
  for (let t = 0; t < T; t++) {
    const i0 = triangles[3 * t], i1 = triangles[3 * t + 1], i2 = triangles[3 * t + 2];
    if (!ok[i0] || !ok[i1] || !ok[i2]) continue;
    const x0 = screen[4 * i0], y0 = screen[4 * i0 + 1], x1 = screen[4 * i1], y1 = screen[4 * i1 + 1], x2 = screen[4 * i2], y2 = screen[4 * i2 + 1];
    const area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0);
    if (area === 0 || !(area === area)) continue;
    // Counter-clockwise from outside ⇒ negative area in pixel coordinates (y down): front-facing.
    if ((cull === 1 && area > 0) || (cull === -1 && area < 0)) continue;
    // Pixel-centre bounding box first: most triangles of a dense mesh at low resolution cover no centre.
    // Bounds are clamped as floats, then made int32 (integer keys keep typed-array access on the fast path).
    let fx0 = Math.ceil(x0 < x1 ? (x0 < x2 ? x0 : x2) : x1 < x2 ? x1 : x2), fx1 = Math.floor(x0 > x1 ? (x0 > x2 ? x0 : x2) : x1 > x2 ? x1 : x2);
    if (fx0 < 0) fx0 = 0;
    if (fx1 > W - 1) fx1 = W - 1;
    if (fx0 > fx1) continue;
    let fy0 = Math.ceil(y0 < y1 ? (y0 < y2 ? y0 : y2) : y1 < y2 ? y1 : y2), fy1 = Math.floor(y0 > y1 ? (y0 > y2 ? y0 : y2) : y1 > y2 ? y1 : y2);
    if (fy0 < 0) fy0 = 0;
    if (fy1 > H - 1) fy1 = H - 1;
    if (fy0 > fy1) continue;
    const xmin = fx0 | 0, xmax = fx1 | 0, ymin = fy0 | 0, ymax = fy1 | 0;
    const s = area > 0 ? 1 : -1;
    setEdge(edges, 0, i1, x1, y1, i2, x2, y2, s);
    setEdge(edges, 3, i2, x2, y2, i0, x0, y0, s);
    setEdge(edges, 6, i0, x0, y0, i1, x1, y1, s);
    const a0 = edges[0], b0 = edges[1], c0 = edges[2];
    const a1 = edges[3], b1 = edges[4], c1 = edges[5];
    const a2 = edges[6], b2 = edges[7], c2 = edges[8];
    const own0 = a0 > 0 || (a0 === 0 && b0 > 0), own1 = a1 > 0 || (a1 === 0 && b1 > 0), own2 = a2 > 0 || (a2 === 0 && b2 > 0);
    const z0 = screen[4 * i0 + 2], z1 = screen[4 * i1 + 2], z2 = screen[4 * i2 + 2];
    const w0 = screen[4 * i0 + 3], w1 = screen[4 * i1 + 3], w2 = screen[4 * i2 + 3];
    for (let y = ymin; y <= ymax; y++) {
      const r0 = b0 * y + c0, r1 = b1 * y + c1, r2 = b2 * y + c2;
      const row = y * W;
      for (let x = xmin; x <= xmax; x++) {
        const e0 = a0 * x + r0;
        if (e0 < 0 || (e0 === 0 && !own0)) continue;
        const e1 = a1 * x + r1;
        if (e1 < 0 || (e1 === 0 && !own1)) continue;
        const e2 = a2 * x + r2;
        if (e2 < 0 || (e2 === 0 && !own2)) continue;
        const z = (e0 * z0 + e1 * z1 + e2 * z2) / (e0 + e1 + e2);
        const p = row + x;
        if (z < zbuf[p]) {
          zbuf[p] = z;
          ids[p] = t;
          const q0 = e0 / w0, q1 = e1 / w1, q2 = e2 / w2, sum = q0 + q1 + q2;
          bary[2 * p] = q0 / sum;
          bary[2 * p + 1] = q1 / sum;
        }
      }
    }
  }
}

/**
 * Edge function of the directed edge (ip → iq) as e(x, y) = A·x + B·y + C, positive inside a triangle of
 * orientation sign `s`. The coefficients are always computed from the lower vertex index to the higher and then
 * negated as needed, so the two triangles sharing an edge see exactly opposite values (no gaps, no overlaps).
 */
function setEdge(out: Float64Array, o: number, ip: number, px: number, py: number, iq: number, qx: number, qy: number, s: number): void {
  let sign = s;
  if (ip > iq) {
    sign = -sign;
    const tx = px, ty = py;
    px = qx; py = qy; qx = tx; qy = ty;
  }
  const dx = qx - px, dy = qy - py;
  out[o] = -dy * sign;
  out[o + 1] = dx * sign;
  out[o + 2] = (dy * px - dx * py) * sign;
}

/**
 * Slow, obviously-correct reference rasteriser for tests: for every pixel and every triangle, solve for the
 * perspective-correct barycentrics directly in clip space (Σ bᵢ·(xᵢ − sx·wᵢ, yᵢ − sy·wᵢ) = 0, Σ bᵢ = 1) in
 * float64; the pixel is inside when all bᵢ ≥ 0; the smallest z/w wins.
 */
export function rasterizeReference(
  clipPositions: ClipInput,
  triangles: Uint32Array,
  resolution: readonly [number, number],
  options: RasterizeOptions & { batch?: number } = {},
): Raster {
  const [H, W] = resolution;
  const { data: clip, batch: B, batched, vertexCount: V } = readClip(clipPositions, options.batch);
  const cull = options.cull ?? 'none';
  const T = triangles.length / 3;
  const triangleId = new Int32Array(B * H * W).fill(-1);
  const bary = new Float32Array(B * H * W * 2);
  const depth = new Float32Array(B * H * W).fill(Infinity);
  for (let b = 0; b < B; b++) {
    const at = (v: number, k: number) => clip[b * V * 4 + 4 * v + k];
    for (let j = 0; j < H; j++) {
      for (let i = 0; i < W; i++) {
        const px = (2 * i + 1) / W - 1, py = (2 * j + 1) / H - 1;
        let best = Infinity, bestT = -1, bb0 = 0, bb1 = 0;
        for (let t = 0; t < T; t++) {
          const v = [triangles[3 * t], triangles[3 * t + 1], triangles[3 * t + 2]];
          if (v.some((k) => !(at(k, 3) > 0) || at(k, 2) / at(k, 3) < -1 || at(k, 2) / at(k, 3) > 1)) continue;
          const sxy = v.map((k) => [at(k, 0) / at(k, 3), at(k, 1) / at(k, 3)]);
          const area = (sxy[1][0] - sxy[0][0]) * (sxy[2][1] - sxy[0][1]) - (sxy[1][1] - sxy[0][1]) * (sxy[2][0] - sxy[0][0]);
          if (area === 0 || (cull === 'back' && area > 0) || (cull === 'front' && area < 0)) continue;
          const p = v.map((k) => [at(k, 0) - px * at(k, 3), at(k, 1) - py * at(k, 3)]);
          const c = [0, 1, 2].map((k) => {
            const m = p[(k + 1) % 3], n = p[(k + 2) % 3];
            return m[0] * n[1] - m[1] * n[0];
          });
          const d = c[0] + c[1] + c[2];
          if (d === 0) continue;
          const bc = c.map((x) => x / d);
          if (bc.some((x) => x < 0)) continue;
          const z = (bc[0] * at(v[0], 2) + bc[1] * at(v[1], 2) + bc[2] * at(v[2], 2)) / (bc[0] * at(v[0], 3) + bc[1] * at(v[1], 3) + bc[2] * at(v[2], 3));
          if (z < best) {
            best = z; bestT = t; bb0 = bc[0]; bb1 = bc[1];
          }
        }
        const p = b * H * W + j * W + i;
        triangleId[p] = bestT;
        depth[p] = best;
        bary[2 * p] = bb0;
        bary[2 * p + 1] = bb1;
      }
    }
  }
  return { batch: B, height: H, width: W, batched, triangleId, bary, depth };
}

/** Coverage mask as a tensor: [H,W,1] or [B,H,W,1] (1 where a triangle covers the pixel centre). */
export function rasterMask(raster: Raster): tf.Tensor {
  const m = new Float32Array(raster.triangleId.length);
  for (let i = 0; i < m.length; i++) m[i] = raster.triangleId[i] >= 0 ? 1 : 0;
  const shape = raster.batched ? [raster.batch, raster.height, raster.width, 1] : [raster.height, raster.width, 1];
  return tf.tensor(m, shape);
}
