/**
 * `ganfit texture dataset`: photos → UV maps of the face tile with visibility masks, for the texture GAN.
 * Each photo is fitted (landmark stage), unwrapped at R×R, and kept unless the fit is doubtful; every decision is
 * logged in progress.jsonl so an interrupted build resumes where it stopped. The maps are training data of the
 * photos' licence: never commit them.
 */
import { appendFile, mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { decodeImage } from '../io/image.js';
import type { Fitter } from '../fit/pipeline.js';
import { cameraRotationMatrix } from '../fit/pipeline.js';
import { PROJECTED_TILES } from '../texture/atlas.js';
import { unwrapSettings, unwrapTexture } from '../texture/unwrap.js';
import { finalizeIndex, writeUvSample, type UvDatasetItem, type UvDatasetRejection } from './uv-dataset-format.js';

export interface UvDatasetOptions {
  resolution: number;
  /** Use at most this many photos (in manifest order when a manifest.csv is there: its first rows are balanced). */
  limit?: number;
  /** Reject fits whose landmark RMS exceeds this fraction of the face size. */
  maxLandmarkError: number;
  /** Reject heads turned further than this (degrees of yaw). */
  maxYaw: number;
  /** Reject maps with less than this fraction of the face tile seen directly. */
  minObserved: number;
  /**
   * Work on shard `index` of `count` only (photos whose position modulo `count` is `index`), so that one process
   * per core can build one dataset; every shard appends to the same progress.jsonl (one short line per photo,
   * appended with O_APPEND) and the index is written over every photo decided so far.
   */
  shard?: { index: number; count: number };
  onProgress?: (done: number, total: number, kept: number) => void;
}

export const defaultUvDatasetOptions: UvDatasetOptions = { resolution: 256, maxLandmarkError: 0.05, maxYaw: 50, minObserved: 0.2 };

/** The photos of a training folder: manifest.csv order (column `file`) when present, else sorted names. */
export async function trainingPhotos(dir: string): Promise<string[]> {
  const manifest = await readFile(path.join(dir, 'manifest.csv'), 'utf8').catch(() => null);
  if (manifest) {
    const [header, ...rows] = manifest.trim().split(/\r?\n/);
    const column = header.split(',').indexOf('file');
    if (column >= 0) return rows.map((r) => r.split(',')[column]).filter(Boolean);
  }
  return (await readdir(dir)).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort();
}

type Decision = { source: string; item?: UvDatasetItem; reason?: string };

/** The decisions logged so far, by source photo. A torn last line (a process killed mid-write) is ignored. */
async function readDecisions(log: string): Promise<Map<string, Decision>> {
  const lines = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const decisions = new Map<string, Decision>();
  for (const line of lines) {
    try {
      const d = JSON.parse(line) as Decision;
      decisions.set(d.source, d);
    } catch {
      // skipped: decided again on resume
    }
  }
  return decisions;
}

export async function buildUvDataset(fitter: Fitter, photosDir: string, outDir: string, options: UvDatasetOptions): Promise<{ kept: number; rejected: number }> {
  const R = options.resolution;
  let photos = await trainingPhotos(photosDir);
  if (options.limit) photos = photos.slice(0, options.limit);
  await mkdir(outDir, { recursive: true });
  const log = path.join(outDir, 'progress.jsonl');
  const done = await readDecisions(log);
  const shard = options.shard ?? { index: 0, count: 1 };
  const mine = photos.filter((_, i) => i % shard.count === shard.index);
  const faceTile = PROJECTED_TILES.find((t) => t.slot === 0)!;
  let kept = mine.filter((p) => done.get(p)?.item).length;
  for (const [i, source] of mine.entries()) {
    if (done.has(source)) continue;
    let decision: Decision;
    try {
      const image = await decodeImage(path.join(photosDir, source));
      const outcome = await fitter.fit(image, { texture: false });
      const { landmark } = outcome;
      if (landmark.rmsNormalised > options.maxLandmarkError) throw new Error(`landmark error ${landmark.rmsNormalised.toFixed(3)} of the face size`);
      if (Math.abs(landmark.pose.yaw) > options.maxYaw) throw new Error(`yaw ${landmark.pose.yaw.toFixed(0)}°`);
      const unwrapped = unwrapTexture(fitter.model, outcome.positions, image, {
        rotation: cameraRotationMatrix(landmark.camera), translation: landmark.camera.translation,
        focal: landmark.camera.focal, principal: landmark.camera.principal,
      }, { resolution: R, tile: faceTile.tile, parts: faceTile.parts, ...unwrapSettings(landmark.faceSize) });
      if (unwrapped.observedFraction < options.minObserved) throw new Error(`only ${(100 * unwrapped.observedFraction).toFixed(0)}% of the face seen`);
      const id = path.parse(source).name.replace(/[^A-Za-z0-9_.-]/g, '_');
      const item = await writeUvSample(outDir, id, unwrapped.rgb, unwrapped.mask, R, {
        source, yaw: Number(landmark.pose.yaw.toFixed(1)), landmarkError: Number(landmark.rmsNormalised.toFixed(4)),
        observed: Number(unwrapped.observedFraction.toFixed(3)),
      });
      decision = { source, item };
    } catch (e) {
      decision = { source, reason: (e as Error).message.split('\n')[0] };
    }
    done.set(source, decision);
    if (decision.item) kept++;
    await appendFile(log, JSON.stringify(decision) + '\n');
    options.onProgress?.(i + 1, mine.length, kept);
  }
  // Other shards may have decided more photos meanwhile: index everything in the log.
  const all = await readDecisions(log);
  const decisions = photos.map((p) => all.get(p)!).filter(Boolean);
  const items = decisions.flatMap((d) => (d.item ? [d.item] : []));
  const rejected: UvDatasetRejection[] = decisions.flatMap((d) => (d.reason ? [{ source: d.source, reason: d.reason }] : []));
  await finalizeIndex(outDir, {
    resolution: R, items, rejected,
    layout: { name: 'ict-facekit face tile (u in [0,1))' },
    description: `UV maps unwrapped by ganfit texture dataset from ${photosDir}; mask 255 = seen, 128 = mirrored, 0 = filled`,
  });
  return { kept: items.length, rejected: rejected.length };
}
