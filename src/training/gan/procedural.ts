/**
 * A procedural stand-in for the UV dataset (tests, smoke runs, checking that training learns before the real
 * set exists): smooth random colour fields around skin tones, each with a random partial visibility mask
 * (an ellipse shifted sideways, as a turned head shows one side), written in the real format.
 */
import { Rng } from '../../texture/random.js';
import { finalizeIndex, writeUvSample, type UvDatasetIndex } from '../uv-dataset-format.js';

/** One procedural sample: RGB R·R·3 and mask R·R bytes. */
export function proceduralSample(r: number, rng: Rng): { rgb: Uint8Array; mask: Uint8Array } {
  const base = [150 + 60 * rng.next(), 100 + 50 * rng.next(), 80 + 40 * rng.next()];
  const waves = Array.from({ length: 3 }, () => ({
    fx: 1 + 2 * rng.next(), fy: 1 + 2 * rng.next(), ph: 2 * Math.PI * rng.next(),
    amp: [30 * rng.normal(), 30 * rng.normal(), 30 * rng.normal()],
  }));
  const cx = 0.5 + 0.25 * (rng.next() - 0.5);
  const rx = 0.25 + 0.2 * rng.next();
  const ry = 0.3 + 0.15 * rng.next();
  const rgb = new Uint8Array(r * r * 3);
  const mask = new Uint8Array(r * r);
  for (let y = 0; y < r; y++) {
    for (let x = 0; x < r; x++) {
      const u = (x + 0.5) / r;
      const v = (y + 0.5) / r;
      const i = y * r + x;
      for (let c = 0; c < 3; c++) {
        let val = base[c]!;
        for (const w of waves) val += w.amp[c]! * Math.sin(2 * Math.PI * (w.fx * u + w.fy * v) + w.ph);
        // A darker vertical band down the middle: a symmetric feature a generator should learn.
        val -= 40 * Math.exp(-(((u - 0.5) / 0.06) ** 2));
        rgb[i * 3 + c] = Math.max(0, Math.min(255, Math.round(val)));
      }
      mask[i] = ((u - cx) / rx) ** 2 + ((v - 0.5) / ry) ** 2 <= 1 ? 255 : 0;
    }
  }
  return { rgb, mask };
}

/** Write a procedural dataset of `n` items at resolution `r` into `dir`. */
export async function writeProceduralUvDataset(dir: string, n: number, r: number, seed: number): Promise<UvDatasetIndex> {
  const rng = new Rng(seed);
  const items = [];
  for (let k = 0; k < n; k++) {
    const { rgb, mask } = proceduralSample(r, rng);
    items.push(await writeUvSample(dir, `proc${String(k).padStart(5, '0')}`, rgb, mask, r, { source: 'procedural', seed, k }));
  }
  return finalizeIndex(dir, {
    resolution: r, items, rejected: [{ source: 'procedural-none', reason: 'example rejection' }],
    layout: { name: 'procedural', symmetricU: true }, description: 'procedural colour fields (not faces)',
  });
}
