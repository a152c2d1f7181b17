/**
 * AFLW2000-3D NME-68, per the protocol of shared/data/aflw2000-dev/README.md: mean point-to-point distance over
 * the 68 points divided by sqrt(w·h) of the ground-truth landmark box; mean per |yaw| bin; balanced = mean of the
 * three bin means. Ground truth is 1-based (MATLAB), ganfit's pixels are 0-based: predictions get +1.
 * Failed detections are not dropped: they are scored with the model's mean landmarks placed in the ground-truth
 * box, and counted.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GanfitError, ExitCode } from '../io/errors.js';
import { decodeImage } from '../io/image.js';
import type { Fitter, FitOptions } from '../fit/pipeline.js';
import type { FaceModel } from '../model/types.js';

export const YAW_BINS = ['[0,30)', '[30,60)', '[60,90]'] as const;
export type YawBin = (typeof YAW_BINS)[number];

export interface AflwGroundTruthImage {
  file: string;
  width: number;
  height: number;
  landmarks2d: [number, number][];
  pose: { yaw: number; pitch: number; roll: number };
  box: [number, number, number, number];
  yaw_bin: YawBin;
}

export interface AflwImageResult {
  file: string;
  bin: YawBin;
  nme: number;
  failed: boolean;
  yawError?: number;
  error?: string;
  ms: number;
}

export interface AflwReport {
  images: number;
  bins: Record<YawBin, { count: number; nme: number; failures: number }>;
  balanced: number;
  failures: number;
  medianYawError: number;
  medianMs: number;
  results: AflwImageResult[];
}

/** NME of 68 predicted points (0-based pixels) against 1-based ground truth, normalised by the box. */
export function nme68(predicted: ArrayLike<number>, gt: AflwGroundTruthImage): number {
  let sum = 0;
  for (let k = 0; k < 68; k++) {
    sum += Math.hypot(predicted[2 * k] + 1 - gt.landmarks2d[k][0], predicted[2 * k + 1] + 1 - gt.landmarks2d[k][1]);
  }
  return sum / 68 / Math.sqrt(gt.box[2] * gt.box[3]);
}

/** The model's frontal mean landmarks (x right, y down) stretched over a box (0-based pixels). */
export function meanShapeInBox(model: FaceModel, box: [number, number, number, number]): Float64Array {
  const lm = model.landmarks.landmarks68;
  const xs = Array.from(lm, (v) => model.neutral[3 * v]);
  const ys = Array.from(lm, (v) => -model.neutral[3 * v + 1]);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const out = new Float64Array(136);
  for (let k = 0; k < 68; k++) {
    out[2 * k] = box[0] - 1 + ((xs[k] - minX) / (maxX - minX)) * box[2];
    out[2 * k + 1] = box[1] - 1 + ((ys[k] - minY) / (maxY - minY)) * box[3];
  }
  return out;
}

export async function readAflwGroundTruth(dir: string): Promise<AflwGroundTruthImage[]> {
  const file = path.join(dir, 'gt.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new GanfitError(ExitCode.Usage, `${file}: not found (give the folder holding images/ and gt.json)`);
  }
  const gt = JSON.parse(text) as { images?: AflwGroundTruthImage[] };
  if (!Array.isArray(gt.images)) throw new GanfitError(ExitCode.Usage, `${file}: no "images" list`);
  return gt.images;
}

const median = (v: number[]) => {
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Fit every image of the set and score it. */
export async function evaluateAflw2000(
  fitter: Fitter,
  dir: string,
  options: { limit?: number; fit?: FitOptions; onImage?: (done: number, total: number, r: AflwImageResult) => void } = {},
): Promise<AflwReport> {
  let images = await readAflwGroundTruth(dir);
  if (options.limit) {
    // An even spread over the bins, so a quick run still reports all three.
    images = YAW_BINS.flatMap((bin) => images.filter((im) => im.yaw_bin === bin).slice(0, Math.ceil(options.limit! / 3)));
  }
  const results: AflwImageResult[] = [];
  for (const gt of images) {
    const start = performance.now();
    let result: AflwImageResult;
    try {
      const image = await decodeImage(path.join(dir, 'images', gt.file));
      const outcome = await fitter.fit(image, { ...options.fit, texture: false });
      const predicted = outcome.record.fit.landmarks2d.flat();
      result = {
        file: gt.file, bin: gt.yaw_bin, nme: nme68(predicted, gt), failed: false,
        yawError: Math.abs(outcome.record.pose.yaw - gt.pose.yaw), ms: performance.now() - start,
      };
    } catch (e) {
      result = {
        file: gt.file, bin: gt.yaw_bin, nme: nme68(meanShapeInBox(fitter.model, gt.box), gt), failed: true,
        error: (e as Error).message.split('\n')[0], ms: performance.now() - start,
      };
    }
    results.push(result);
    options.onImage?.(results.length, images.length, result);
  }
  const bins = Object.fromEntries(
    YAW_BINS.map((bin) => {
      const inBin = results.filter((r) => r.bin === bin);
      const nme = inBin.length ? inBin.reduce((a, r) => a + r.nme, 0) / inBin.length : NaN;
      return [bin, { count: inBin.length, nme: 100 * nme, failures: inBin.filter((r) => r.failed).length }];
    }),
  ) as AflwReport['bins'];
  const present = YAW_BINS.filter((b) => bins[b].count > 0);
  return {
    images: results.length,
    bins,
    balanced: present.reduce((a, b) => a + bins[b].nme, 0) / present.length,
    failures: results.filter((r) => r.failed).length,
    medianYawError: median(results.filter((r) => !r.failed).map((r) => r.yawError!)),
    medianMs: median(results.map((r) => r.ms)),
    results,
  };
}
