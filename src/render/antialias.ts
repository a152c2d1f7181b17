/**
 * Analytic antialiasing of silhouettes (the nvdiffrast idea): gives gradients that move the outline of a
 * rendered mesh, which point sampling alone cannot.
 *
 * For every pair of horizontally or vertically adjacent pixels whose triangle ids differ, the nearer pixel's
 * triangle F (background counts as infinitely far) is examined. If one of F's silhouette edges (a mesh boundary
 * edge, or an edge whose neighbouring triangle faces the other way in this view) crosses the segment joining the
 * two pixel centres at fraction t from the nearer centre, a 1-D box filter of width one pixel gives:
 *   t < ½: the nearer pixel is only partly covered by F:   out[near] += (½ − t)·(c[far] − c[near])
 *   t > ½: F spills into the farther pixel:                out[far]  += (t − ½)·(c[near] − c[far])
 * t is a smooth function of the edge's clip positions, so the output is differentiable w.r.t. `color` and the
 * clip positions (for the fixed raster).
 */
import { tf } from '../engine/index.js';
import { customOp } from './custom.js';
import type { Raster } from './rasterize.js';
import type { ClipData, Num } from './interpolate.js';

const adjacencyCache = new WeakMap<Uint32Array, Int32Array>();

/**
 * For triangle t and edge k (k = 0: corners 0→1, 1: 1→2, 2: 2→0), the triangle across that edge, or −1 when
 * the edge is a boundary (or shared by more than two triangles). Cached per triangle array.
 */
export function edgeAdjacency(triangles: Uint32Array): Int32Array {
  const cached = adjacencyCache.get(triangles);
  if (cached) return cached;
  const T = triangles.length / 3;
  let V = 0;
  for (let i = 0; i < triangles.length; i++) if (triangles[i] + 1 > V) V = triangles[i] + 1;
  const first = new Map<number, number>(); // edge key → t·3 + k of the first triangle seen, or −2 if > 2
  const adj = new Int32Array(3 * T).fill(-1);
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < 3; k++) {
      const a = triangles[3 * t + k], b = triangles[3 * t + ((k + 1) % 3)];
      const key = a < b ? a * V + b : b * V + a;
      const seen = first.get(key);
      if (seen === undefined) first.set(key, 3 * t + k);
      else if (seen >= 0 && adj[seen] === -1) {
        adj[seen] = t;
        adj[3 * t + k] = (seen / 3) | 0;
      } else {
        // Non-manifold: treat every triangle on it as a boundary.
        if (seen >= 0) {
          const other = adj[seen];
          adj[seen] = -1;
          if (other >= 0) for (let j = 0; j < 3; j++) if (adj[3 * other + j] === ((seen / 3) | 0)) adj[3 * other + j] = -1;
        }
        first.set(key, -2);
        adj[3 * t + k] = -1;
      }
    }
  }
  adjacencyCache.set(triangles, adj);
  return adj;
}

/** The silhouette crossings found by {@link findCrossings} (recomputed quantities are derived from these). */
export interface Crossings {
  count: number;
  /** Per crossing: view, nearer pixel, farther pixel (indices into [B·H·W]), triangle, edge. */
  data: Int32Array;
  /** Per crossing: the fraction t along the segment from the nearer pixel centre. */
  frac: Float64Array;
}

function screen(clip: ClipData, cb: number, v: number, H: number, W: number): [number, number, number] {
  const o = cb + 4 * v, w = clip.data[o + 3];
  return [(clip.data[o] / w + 1) * (W / 2) - 0.5, (clip.data[o + 1] / w + 1) * (H / 2) - 0.5, w];
}

/** Edge function e(P) = (b − a) × (P − a). */
const edgeFn = (ax: number, ay: number, bx: number, by: number, px: number, py: number) => (bx - ax) * (py - ay) - (by - ay) * (px - ax);

/** Scratch buffers of {@link findCrossings}, reused between calls (grown as needed). */
const scratch = {
  sx: new Float64Array(0), sy: new Float64Array(0), sw: new Float64Array(0), facing: new Uint8Array(0),
  /** Per triangle: seen in the current view's raster; and the list of those triangles. */
  seen: new Uint8Array(0), visible: new Int32Array(0),
};

/**
 * Facing of triangle t in one view, memoised in fac (0 = not yet known): 1 or 2 by the sign of its screen-space
 * signed area, 3 when degenerate or a vertex has w ≤ 0.
 */
function facing(t: number, sx: Float64Array, sy: Float64Array, sw: Float64Array, tr: Uint32Array, fac: Uint8Array): number {
  const known = fac[t];
  if (known !== 0) return known;
  const i0 = tr[3 * t], i1 = tr[3 * t + 1], i2 = tr[3 * t + 2];
  let f = 3;
  if (sw[i0] > 0 && sw[i1] > 0 && sw[i2] > 0) {
    const a = (sx[i1] - sx[i0]) * (sy[i2] - sy[i0]) - (sy[i1] - sy[i0]) * (sx[i2] - sx[i0]);
    f = a > 0 ? 1 : a < 0 ? 2 : 3;
  }
  fac[t] = f;
  return f;
}

/**
 * Which edges of triangle t are silhouette edges in this view (bit k for edge k): a mesh boundary, or an edge
 * whose neighbour faces the other way (or is degenerate / behind the camera).
 */
function silhouetteBits(t: number, sx: Float64Array, sy: Float64Array, sw: Float64Array, tr: Uint32Array, adj: Int32Array, fac: Uint8Array): number {
  const ft = facing(t, sx, sy, sw, tr, fac);
  let m = 0;
  for (let k = 0; k < 3; k++) {
    const nb = adj[3 * t + k];
    if (nb < 0 || ft === 3 || facing(nb, sx, sy, sw, tr, fac) !== ft) m |= 1 << k;
  }
  return m;
}

/**
 * Find the silhouette crossings between neighbouring pixel centres (see the module comment): for each pair with
 * different triangles, the nearer triangle's first silhouette edge (k = 0, 1, 2) that crosses the segment.
 * Searched from the edges: only a triangle that covers some pixel can be the nearer one of a pair, so each such
 * triangle's silhouette edges (few: most edges are interior) are walked row by row (horizontal pairs) and column by
 * column (vertical pairs), and the pairs next to each crossing point are tested with the exact conditions.
 */
export function findCrossings(raster: Raster, clip: ClipData, adj: Int32Array): Crossings {
  const { batch: B, height: H, width: W } = raster;
  const out: Crossings = { count: 0, data: new Int32Array(1024), frac: new Float64Array(256) };
  const tr = clip.triangles, T = tr.length / 3, Vc = clip.vertexCount;
  if (scratch.sx.length < Vc) scratch.sx = new Float64Array(Vc), scratch.sy = new Float64Array(Vc), scratch.sw = new Float64Array(Vc);
  if (scratch.facing.length < T) {
    scratch.facing = new Uint8Array(T); scratch.seen = new Uint8Array(T); scratch.visible = new Int32Array(T);
  }
  const { sx, sy, sw, facing: fac, seen, visible } = scratch;
  for (let b = 0; b < B; b++) {
    screenOf(clip.data, clip.batched ? b * Vc * 4 : 0, Vc, W, H, sx, sy, sw);
    fac.fill(0, 0, T);
    const nVisible = visibleTriangles(raster.triangleId, b * H * W, H * W, seen, visible);
    for (let i = 0; i < nVisible; i++) {
      const t = visible[i];
      seen[t] = 0;
      const mask = silhouetteBits(t, sx, sy, sw, tr, adj, fac);
      for (let k = 0; k < 3; k++) if ((mask >> k) & 1) walkEdge(raster, b, t, k, mask, tr, sx, sy, out);
    }
  }
  return out;
}

/** The triangles covering some pixel of one view (in order of first appearance), marking them in `seen`. */
function visibleTriangles(ids: Int32Array, q0: number, P: number, seen: Uint8Array, visible: Int32Array): number {
  let n = 0;
  for (let q = q0; q < q0 + P; q++) {
    const t = ids[q];
    if (t >= 0 && seen[t] === 0) { seen[t] = 1; visible[n++] = t; }
  }
  return n;
}

/** Screen coordinates (pixel units) and w of every vertex of one view. */
function screenOf(c: Num, cb: number, Vc: number, W: number, H: number, sx: Float64Array, sy: Float64Array, sw: Float64Array): void {
  const hw = W / 2, hh = H / 2;
  for (let v = 0; v < Vc; v++) {
    const o = cb + 4 * v, w = c[o + 3];
    sx[v] = (c[o] / w + 1) * hw - 0.5; sy[v] = (c[o + 1] / w + 1) * hh - 0.5; sw[v] = w;
  }
}

/**
 * The pairs that silhouette edge k of triangle t can cross: for each row the edge spans, the horizontal pairs
 * around its crossing point, and for each column the vertical pairs; each is kept when t is the pair's nearer
 * triangle and k its first crossing silhouette edge (`mask`: t's silhouette edges).
 */
function walkEdge(raster: Raster, b: number, t: number, k: number, mask: number, tr: Uint32Array, sx: Float64Array, sy: Float64Array, out: Crossings): void {
  const { height: H, width: W } = raster;
  const va = tr[3 * t + k], vb = tr[3 * t + (k === 2 ? 0 : k + 1)];
  const ax = sx[va], ay = sy[va], bx = sx[vb], by = sy[vb];
  if (ay !== by) {
    const y0 = Math.max(0, Math.ceil(Math.min(ay, by))), y1 = Math.min(H - 1, Math.floor(Math.max(ay, by)));
    for (let y = y0; y <= y1; y++) {
      const xc = Math.floor(ax + ((y - ay) * (bx - ax)) / (by - ay));
      for (let x = Math.max(0, xc - 1), xe = Math.min(W - 2, xc + 1); x <= xe; x++) testPair(raster, b, x, y, x + 1, y, t, k, mask, tr, sx, sy, out);
    }
  }
  if (ax !== bx) {
    const x0 = Math.max(0, Math.ceil(Math.min(ax, bx))), x1 = Math.min(W - 1, Math.floor(Math.max(ax, bx)));
    for (let x = x0; x <= x1; x++) {
      const yc = Math.floor(ay + ((x - ax) * (by - ay)) / (bx - ax));
      for (let y = Math.max(0, yc - 1), ye = Math.min(H - 2, yc + 1); y <= ye; y++) testPair(raster, b, x, y, x, y + 1, t, k, mask, tr, sx, sy, out);
    }
  }
}

/** Fraction along the segment from the near to the far centre where edge k of t crosses it, or −1 when it does not. */
function crossing(t: number, k: number, tr: Uint32Array, sx: Float64Array, sy: Float64Array, nx: number, ny: number, fx: number, fy: number): number {
  const va = tr[3 * t + k], vb = tr[3 * t + (k === 2 ? 0 : k + 1)];
  const ax = sx[va], ay = sy[va], bx = sx[vb], by = sy[vb];
  const en = edgeFn(ax, ay, bx, by, nx, ny), ef = edgeFn(ax, ay, bx, by, fx, fy);
  if (!(en * ef < 0)) return -1;
  // The crossing must lie on the edge: a and b on either side of the pixel-pair line.
  const da = (fx - nx) * (ay - ny) - (fy - ny) * (ax - nx), db = (fx - nx) * (by - ny) - (fy - ny) * (bx - nx);
  if (da * db > 0) return -1;
  return en / (en - ef);
}

/** Pixel pair (x1, y1)–(x2, y2) of view b: push its crossing if t is its nearer triangle and k t's first crossing edge. */
function testPair(raster: Raster, b: number, x1: number, y1: number, x2: number, y2: number, t: number, k: number, mask: number, tr: Uint32Array, sx: Float64Array, sy: Float64Array, out: Crossings): void {
  const { width: W, height: H, triangleId: ids, depth } = raster;
  const p = b * H * W + y1 * W + x1, q = b * H * W + y2 * W + x2;
  const tp = ids[p], tq = ids[q];
  if (tp === tq) return;
  const pNear = tq < 0 || (tp >= 0 && depth[p] <= depth[q]);
  if ((pNear ? tp : tq) !== t) return;
  const nx = pNear ? x1 : x2, ny = pNear ? y1 : y2, fx = pNear ? x2 : x1, fy = pNear ? y2 : y1;
  for (let j = 0; j < k; j++) if ((mask >> j) & 1 && crossing(t, j, tr, sx, sy, nx, ny, fx, fy) >= 0) return;
  const frac = crossing(t, k, tr, sx, sy, nx, ny, fx, fy);
  if (frac >= 0) pushCrossing(out, b, pNear ? p : q, pNear ? q : p, t, k, frac);
}

function pushCrossing(out: Crossings, b: number, near: number, far: number, t: number, k: number, frac: number): void {
  const n = out.count;
  if (n * 5 + 5 > out.data.length) {
    const grown = new Int32Array(out.data.length * 2);
    grown.set(out.data);
    out.data = grown;
  }
  if (n >= out.frac.length) {
    const gf = new Float64Array(out.frac.length * 2);
    gf.set(out.frac);
    out.frac = gf;
  }
  const o = n * 5, d = out.data;
  d[o] = b; d[o + 1] = near; d[o + 2] = far; d[o + 3] = t; d[o + 4] = k;
  out.frac[n] = frac;
  out.count = n + 1;
}

/** out += the crossings' blends of `color` (out must already hold a copy of color). */
export function applyCrossings(color: Num, C: number, cr: Crossings, out: Num): void {
  const { data, frac } = cr;
  for (let e = 0; e < cr.count; e++) {
    const near = data[5 * e + 1], far = data[5 * e + 2], tc = frac[e];
    const toNear = tc < 0.5;
    const alpha = toNear ? 0.5 - tc : tc - 0.5;
    const dst = (toNear ? near : far) * C, src = (toNear ? far : near) * C;
    for (let c = 0; c < C; c++) out[dst + c] += alpha * (color[src + c] - color[dst + c]);
  }
}

/** Forward kernel: out = color + Σ crossings; returns the crossings for the backward pass. */
export function antialiasKernel(color: Num, C: number, raster: Raster, clip: ClipData, adj: Int32Array, out: Num): Crossings {
  const cr = findCrossings(raster, clip, adj);
  out.set(color);
  applyCrossings(color, C, cr, out);
  return cr;
}

/** Backward kernel: gColor (zeroed or not, accumulated) and gClip (accumulated, may be null). */
export function antialiasBackwardKernel(color: Num, C: number, raster: Raster, clip: ClipData, crossings: Crossings, dy: Num, gColor: Num, gClip: Num | null): void {
  for (let i = 0; i < dy.length; i++) gColor[i] += dy[i];
  crossingsBackward(color, C, raster, clip, crossings, dy, gColor, gClip);
}

/** The crossings' part of {@link antialiasBackwardKernel} (without the identity term gColor += dy). */
export function crossingsBackward(color: Num, C: number, raster: Raster, clip: ClipData, crossings: Crossings, dy: Num, gColor: Num, gClip: Num | null): void {
  const { height: H, width: W } = raster;
  const P = H * W;
  const tr = clip.triangles;
  for (let e = 0; e < crossings.count; e++) {
    const d = crossings.data, b = d[5 * e], near = d[5 * e + 1], far = d[5 * e + 2], t = d[5 * e + 3], k = d[5 * e + 4];
    const cb = clip.batched ? b * clip.vertexCount * 4 : 0;
    const nx = (near - b * P) % W, ny = ((near - b * P - nx) / W) | 0, fx = (far - b * P) % W, fy = ((far - b * P - fx) / W) | 0;
    const va = tr[3 * t + k], vb = tr[3 * t + ((k + 1) % 3)];
    const [ax, ay, wa] = screen(clip, cb, va, H, W), [bx, by, wb] = screen(clip, cb, vb, H, W);
    const en = edgeFn(ax, ay, bx, by, nx, ny), ef = edgeFn(ax, ay, bx, by, fx, fy);
    const tc = en / (en - ef);
    const toNear = tc < 0.5;
    const alpha = toNear ? 0.5 - tc : tc - 0.5;
    const dst = toNear ? near : far, src = toNear ? far : near;
    let gAlpha = 0;
    for (let c = 0; c < C; c++) {
      const g = dy[dst * C + c];
      gColor[src * C + c] += alpha * g;
      gColor[dst * C + c] -= alpha * g;
      gAlpha += g * (color[src * C + c] - color[dst * C + c]);
    }
    if (!gClip || gAlpha === 0) continue;
    const gt = toNear ? -gAlpha : gAlpha;
    const den = en - ef;
    const gen = (gt * -ef) / (den * den), gef = (gt * en) / (den * den);
    // ∂e(P)/∂(ax, ay, bx, by) = (by − Py, Px − bx, Py − ay, ax − Px).
    const gax = gen * (by - ny) + gef * (by - fy), gay = gen * (nx - bx) + gef * (fx - bx);
    const gbx = gen * (ny - ay) + gef * (fy - ay), gby = gen * (ax - nx) + gef * (ax - fx);
    // Screen s = (x/w + 1)·W/2 − ½ ⇒ ∂s/∂x = W/(2w), ∂s/∂w = −x·W/(2w²) (likewise y with H).
    const chain = (v: number, w: number, gsx: number, gsy: number) => {
      const o = cb + 4 * v;
      const x = clip.data[o], y = clip.data[o + 1];
      gClip[o] += (gsx * W) / (2 * w);
      gClip[o + 1] += (gsy * H) / (2 * w);
      gClip[o + 3] -= (gsx * x * W + gsy * y * H) / (2 * w * w);
    };
    chain(va, wa, gax, gay);
    chain(vb, wb, gbx, gby);
  }
}

/**
 * Antialias silhouette edges of a rendered image.
 * @param color [H,W,C] or [B,H,W,C] (matching the raster), background already filled in.
 * @param raster from `rasterize` of the same clip positions.
 * @param clipPositions [V,4] or [B,V,4], differentiable.
 * @param triangles [T,3] the rasterised triangles.
 * @returns the same shape as `color`.
 */
export function antialias(color: tf.Tensor, raster: Raster, clipPositions: tf.Tensor, triangles: Uint32Array): tf.Tensor {
  const C = color.shape[color.rank - 1];
  const adj = edgeAdjacency(triangles);
  const f = (col: tf.Tensor, c: tf.Tensor) => {
    const colorData = col.dataSync() as Float32Array;
    const clip: ClipData = { data: c.dataSync() as Float32Array, batched: c.rank === 3, vertexCount: c.shape[c.rank - 2], triangles };
    const out = new Float32Array(colorData.length);
    const crossings = antialiasKernel(colorData, C, raster, clip, adj, out);
    return {
      value: tf.tensor(out, col.shape),
      gradFunc: (dy: tf.Tensor) => {
        const gCol = new Float32Array(colorData.length), gClip = new Float32Array(clip.data.length);
        antialiasBackwardKernel(colorData, C, raster, clip, crossings, dy.dataSync() as Float32Array, gCol, gClip);
        return [tf.tensor(gCol, col.shape), tf.tensor(gClip, c.shape)];
      },
    };
  };
  return customOp(f)(color, clipPositions);
}
