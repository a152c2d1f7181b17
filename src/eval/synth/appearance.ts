/**
 * Albedo without a texture model: per-vertex sRGB colours (skin, lips, brows, hair, eyes, mouth interior) for
 * render()'s `colors`, and a procedural background that is not a face. Regions are found once on the model's
 * neutral mesh (model space, docs/conventions.md) and blended per sample.
 */
import type { FaceModel } from '../../model/types.js';
import { PALETTE } from '../../texture/atlas.js';
import { Rng } from './random.js';
import type { SynthAppearance, SynthBackground } from './params.js';

/** Per-vertex weights 0..1 of the regions an appearance colours (computed once per model). */
export interface Regions {
  lips: Float32Array;
  brows: Float32Array;
  hair: Float32Array;
  /** Eyeball vertices: 1 = iris, 2 = pupil, 0 = sclera, −1 = not an eyeball. */
  eye: Int8Array;
  /** Part index of each vertex. */
  part: Int16Array;
}

const smooth = (e0: number, e1: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
};

function distToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax, dy = by - ay;
  const t = Math.min(1, Math.max(0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}

function insidePolygon(x: number, y: number, poly: number[][]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i], [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Hairline height above the brows (cm) by model depth z (cm): [z, height] knots, z decreasing. */
const HAIRLINE: readonly (readonly [number, number])[] = [[10, 5.5], [7, 4.5], [3, 1.5], [0, 1], [-2, -2], [-4, -8], [-10, -11]];

function piecewise(x: number, knots: readonly (readonly [number, number])[]): number {
  if (x >= knots[0][0]) return knots[0][1];
  for (let k = 1; k < knots.length; k++) {
    const [x0, y0] = knots[k - 1], [x1, y1] = knots[k];
    if (x >= x1) return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
  }
  return knots[knots.length - 1][1];
}

/** Region weights from the neutral mesh. */
export function modelRegions(model: FaceModel): Regions {
  const V = model.vertexCount, n = model.neutral, lm = model.landmarks.landmarks68;
  const P = (k: number) => [n[3 * lm[k]], n[3 * lm[k] + 1], n[3 * lm[k] + 2]];
  const part = new Int16Array(V);
  model.parts.forEach((p, i) => part.fill(i, p.vertexStart, p.vertexEnd));
  const partName = (v: number) => model.parts[part[v]].name;
  const lips = new Float32Array(V), brows = new Float32Array(V), hair = new Float32Array(V);
  const eye = new Int8Array(V).fill(-1);

  const outerLip = Array.from({ length: 12 }, (_, i) => P(48 + i));
  const lipZ = Math.min(...outerLip.map((p) => p[2])) - 1.5;
  const browY = Math.max(...Array.from({ length: 10 }, (_, i) => P(17 + i)[1]));
  for (let v = 0; v < V; v++) {
    const x = n[3 * v], y = n[3 * v + 1], z = n[3 * v + 2];
    const name = partName(v);
    if (name === 'face') {
      if (z > lipZ && insidePolygon(x, y, outerLip)) lips[v] = 1;
      // Brows: a band 0.45 cm around the polyline of each brow, on the front of the face.
      let d = Infinity;
      for (const [a, b] of [[17, 21], [22, 26]]) {
        for (let k = a; k < b; k++) d = Math.min(d, distToSegment(x, y, P(k)[0], P(k)[1], P(k + 1)[0], P(k + 1)[1]));
      }
      if (z > 4) brows[v] = 1 - smooth(0.4, 0.75, d);
    }
    if (name === 'face' || name === 'headNeck') {
      // Hair: above a hairline 5.5 cm over the brows at the front, above the ears at the sides, down to the nape
      // at the back (heights in cm relative to the brows, by depth z).
      const hairline = browY + piecewise(z, HAIRLINE);
      hair[v] = smooth(hairline - 0.5, hairline + 0.5, y);
    }
  }
  // Eyeballs: iris and pupil discs around each eye's frontmost point (both sclera and iris parts are coloured).
  for (const side of ['Left', 'Right']) {
    const ids = model.parts.filter((p) => p.name === `sclera${side}` || p.name === `iris${side}`);
    let front = -1;
    for (const p of ids) for (let v = p.vertexStart; v < p.vertexEnd; v++) if (front < 0 || n[3 * v + 2] > n[3 * front + 2]) front = v;
    for (const p of ids) {
      for (let v = p.vertexStart; v < p.vertexEnd; v++) {
        const r = Math.hypot(n[3 * v] - n[3 * front], n[3 * v + 1] - n[3 * front + 1]);
        const facing = n[3 * v + 2] > n[3 * front + 2] - 0.8;
        eye[v] = facing && r < 0.22 ? 2 : facing && r < 0.58 ? 1 : 0;
      }
    }
  }
  return { lips, brows, hair, eye, part };
}

const hexOf = (c: readonly number[]) => c.map((v) => v / 255) as [number, number, number];
const SCLERA = [0.88, 0.85, 0.82];
const PUPIL = [0.02, 0.02, 0.02];

/** Per-vertex sRGB albedo (V×3, 0..1) of one appearance. */
export function vertexColors(model: FaceModel, regions: Regions, a: SynthAppearance): Float32Array {
  const V = model.vertexCount, n = model.neutral;
  const out = new Float32Array(3 * V);
  const rng = new Rng(a.noiseSeed);
  // Low-frequency blotches (a few sinusoids) and per-vertex grain, so the skin is not flat.
  const waves = Array.from({ length: 4 }, () => [rng.normal() * 0.4, rng.normal() * 0.4, rng.normal() * 0.4, rng.next() * 6.28]);
  const fixed: Record<string, [number, number, number]> = Object.fromEntries(Object.entries(PALETTE).map(([k, c]) => [k, hexOf(c)]));
  for (let v = 0; v < V; v++) {
    const name = model.parts[regions.part[v]].name;
    let c: readonly number[];
    if (regions.eye[v] >= 0) {
      c = regions.eye[v] === 2 ? PUPIL : regions.eye[v] === 1 ? a.iris : SCLERA;
    } else if (fixed[name]) {
      c = fixed[name];
    } else {
      const x = n[3 * v], y = n[3 * v + 1], z = n[3 * v + 2];
      let low = 0;
      for (const [wx, wy, wz, ph] of waves) low += Math.sin(wx * x + wy * y + wz * z + ph);
      const shade = 1 + 0.03 * low + 0.025 * (rng.next() - 0.5);
      let s = a.skin.map((k) => k * shade);
      s = mixTo(s, a.lips, regions.lips[v]);
      s = mixTo(s, a.brows, 0.85 * regions.brows[v]);
      if (a.hair) s = mixTo(s, a.hair.map((k) => k * (1 + 0.08 * (rng.next() - 0.5))), regions.hair[v]);
      c = s;
    }
    for (let j = 0; j < 3; j++) out[3 * v + j] = Math.min(1, Math.max(0, c[j]));
  }
  return out;
}

function mixTo(a: readonly number[], b: readonly number[], t: number): number[] {
  return t <= 0 ? [...a] : a.map((v, i) => v + (b[i] - v) * t);
}

/** Procedural sRGB background (H×W×3, 0..1): a gradient, smooth value noise (4 octaves), and soft blobs. */
export function backgroundImage(bg: SynthBackground, width: number, height: number): Float32Array {
  const rng = new Rng(bg.seed);
  const out = new Float32Array(width * height * 3);
  const fade = (t: number) => t * t * (3 - 2 * t);
  // Gradient.
  const dx = Math.cos(bg.angle), dy = Math.sin(bg.angle);
  const [c0, c1] = bg.colors;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const g = Math.min(1, Math.max(0, 0.5 + (x / (width - 1) - 0.5) * dx + (y / (height - 1) - 0.5) * dy));
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) out[i + c] = c0[c] + (c1[c] - c0[c]) * g;
    }
  }
  // Value noise: a random grid per octave, interpolated with smoothstep weights precomputed per column and row.
  for (const cells of [3, 6, 12, 24]) {
    const row = cells + 2, amp = bg.noise / Math.sqrt(cells / 3);
    const grid = Float32Array.from({ length: row * row * 3 }, () => amp * (rng.next() - 0.5));
    const axis = (n: number) => {
      const i0 = new Int32Array(n), f = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        const g = (k / (n - 1)) * cells;
        i0[k] = Math.min(cells, Math.floor(g));
        f[k] = fade(g - i0[k]);
      }
      return { i0, f };
    };
    const ax = axis(width), ay = axis(height);
    for (let y = 0; y < height; y++) {
      const j = ay.i0[y], fy = ay.f[y];
      for (let x = 0; x < width; x++) {
        const i = ax.i0[x], fx = ax.f[x];
        const a = (j * row + i) * 3, b = a + 3, c = a + row * 3, d = c + 3;
        const o = (y * width + x) * 3;
        for (let ch = 0; ch < 3; ch++) {
          const top = grid[a + ch] + (grid[b + ch] - grid[a + ch]) * fx;
          const bottom = grid[c + ch] + (grid[d + ch] - grid[c + ch]) * fx;
          out[o + ch] += top + (bottom - top) * fy;
        }
      }
    }
  }
  // Soft blobs (out-of-focus shapes).
  for (let k = 0; k < bg.blobs; k++) {
    const bx = rng.next() * width, by = rng.next() * height, r = (0.05 + 0.2 * rng.next()) * width;
    const col = [rng.next(), rng.next(), rng.next()], alpha = 0.3 + 0.5 * rng.next();
    const reach = 3.5 * r, inv = 1 / (2 * r * r);
    for (let y = Math.max(0, Math.floor(by - reach)); y < Math.min(height, Math.ceil(by + reach)); y++) {
      for (let x = Math.max(0, Math.floor(bx - reach)); x < Math.min(width, Math.ceil(bx + reach)); x++) {
        const w = alpha * Math.exp(-((x - bx) ** 2 + (y - by) ** 2) * inv);
        const o = (y * width + x) * 3;
        for (let c = 0; c < 3; c++) out[o + c] += (col[c] - out[o + c]) * w;
      }
    }
  }
  // Grain, then clamp.
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, out[i] + 0.02 * (rng.next() - 0.5)));
  return out;
}
