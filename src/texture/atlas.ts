/**
 * The texture atlas that ganfit writes (texture.png) and the UVs that go with it.
 *
 * ICT-FaceKit spreads its UVs over unit tiles (u in [0,1) face, [1,2) back of the head and sockets, [2,3) gums and
 * tongue, [3,4) teeth) and lets the eyeballs reuse the face tile. One PNG for every tool needs one [0,1]² map:
 * the atlas is four slots wide — face, head, eyeballs (all three projected from the photo), and a palette slot
 * of flat swatches for the parts a photo does not show (mouth interior, teeth) — and every UV is remapped into
 * it (docs/conventions.md "UV maps").
 */
import type { FaceModel } from '../model/types.js';

/** Parts drawn with a flat colour from the palette tile, and their sRGB colours. */
export const PALETTE: Readonly<Record<string, readonly [number, number, number]>> = {
  mouthSocket: [92, 38, 40],
  eyeSocketLeft: [40, 30, 28],
  eyeSocketRight: [40, 30, 28],
  gumsTongue: [176, 84, 88],
  teeth: [226, 218, 196],
};

/** Parts whose texels come from the photo: their source UV tile (floor(u)) and their slot in the atlas. */
export const PROJECTED_TILES: ReadonlyArray<{ tile: number; slot: number; parts: string[] }> = [
  { tile: 0, slot: 0, parts: ['face'] },
  { tile: 1, slot: 1, parts: ['headNeck'] },
  { tile: 0, slot: 2, parts: ['scleraLeft', 'irisLeft', 'scleraRight', 'irisRight'] },
];

const TILES = 4;
const PALETTE_SLOT = 3;
const SWATCH_GRID = 4;

/** Atlas UV (u, v in [0,1], OBJ convention) of the centre of a palette swatch. */
function swatchUv(slot: number): [number, number] {
  const cx = (slot % SWATCH_GRID) + 0.5, cy = Math.floor(slot / SWATCH_GRID) + 0.5;
  return [(PALETTE_SLOT + cx / SWATCH_GRID) / TILES, 1 - cy / SWATCH_GRID];
}

const atlasCache = new WeakMap<FaceModel, Float32Array>();

/**
 * UVs (U×2) remapped into the atlas: projected tiles keep their layout, palette parts point at their swatch.
 * Computed once per model (callers must not modify the array).
 */
export function atlasUvs(model: FaceModel): Float32Array {
  const cached = atlasCache.get(model);
  if (cached) return cached;
  const out = new Float32Array(model.uvs.length);
  atlasCache.set(model, out);
  const paletteSlots = Object.keys(PALETTE);
  const partOfUv = new Int32Array(model.uvs.length / 2).fill(-1);
  model.parts.forEach((part, p) => {
    for (let t = part.triangleStart; t < part.triangleEnd; t++) {
      for (let c = 0; c < 3; c++) {
        const uv = model.uvTriangles[3 * t + c];
        if (partOfUv[uv] < 0) partOfUv[uv] = p;
      }
    }
  });
  for (let i = 0; i < partOfUv.length; i++) {
    const part = partOfUv[i] >= 0 ? model.parts[partOfUv[i]].name : '';
    const slot = paletteSlots.indexOf(part);
    if (slot >= 0) {
      const [u, v] = swatchUv(slot);
      out[2 * i] = u; out[2 * i + 1] = v;
      continue;
    }
    const projected = PROJECTED_TILES.find((t) => t.parts.includes(part));
    const u = model.uvs[2 * i], v = model.uvs[2 * i + 1];
    const tile = projected?.tile ?? Math.floor(u);
    out[2 * i] = ((projected?.slot ?? PALETTE_SLOT) + Math.min(1, Math.max(0, u - tile))) / TILES;
    out[2 * i + 1] = v;
  }
  return out;
}

/**
 * Assemble the atlas image (4R wide, R high, RGB) from the unwrapped tiles (R×R×3 each, in PROJECTED_TILES order).
 */
export function assembleAtlas(tiles: Uint8Array[], resolution: number): { data: Uint8Array; width: number; height: number } {
  const R = resolution, W = TILES * R;
  const data = new Uint8Array(W * R * 3);
  tiles.forEach((tile, k) => {
    const slot = PROJECTED_TILES[k].slot;
    for (let y = 0; y < R; y++) data.set(tile.subarray(y * R * 3, (y + 1) * R * 3), (y * W + slot * R) * 3);
  });
  const slots = Object.values(PALETTE);
  const swatch = R / SWATCH_GRID;
  for (let y = 0; y < R; y++) {
    for (let x = 0; x < R; x++) {
      const slot = Math.floor(y / swatch) * SWATCH_GRID + Math.floor(x / swatch);
      const colour = slots[slot] ?? [0, 0, 0];
      data.set(colour, (y * W + PALETTE_SLOT * R + x) * 3);
    }
  }
  return { data, width: W, height: R };
}
