/**
 * `ganfit eval synth`: fit every synthetic sample with the default pipeline and compare with what was rendered.
 *
 * Per sample: detection; NME-68 exactly as AFLW2000 (`nme68`, 1-based ground truth, failures scored with the mean
 * shape in the box); 3D face error over the face region (the model's `face` part, ICT vertices 0–9408, same
 * topology so vertex i matches vertex i) as the mean vertex distance in mm after a rigid alignment and, apart,
 * after a similarity alignment, plus a scale-free figure (similarity error / the ground-truth 3D outer-eye-corner
 * distance, %); yaw/pitch/roll error and the geodesic rotation error in degrees; the absolute error of every active
 * blendshape. Summaries (mean, median, 90th percentile) per yaw bin and overall; 3D, pose and expression figures
 * are over the detected samples only.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Fitter } from '../../fit/pipeline.js';
import { decodeImage } from '../../io/image.js';
import { rotationMatrix64 } from '../../render/camera.js';
import { meanShapeInBox, nme68, YAW_BINS, type YawBin } from '../aflw2000.js';
import { alignPoints } from './align.js';
import { modelFingerprint, parseVertices, SYNTH_FORMAT, type SynthSample } from './generate.js';

export interface SynthSampleResult {
  file: string;
  bin: YawBin;
  pose: { yaw: number; pitch: number; roll: number };
  detected: boolean;
  /** The fitted pose (degrees), when detected. */
  fitted?: { yaw: number; pitch: number; roll: number };
  /** NME-68 as a fraction (×100 for %). */
  nme: number;
  rigidMm?: number;
  similarityMm?: number;
  /** Similarity error / 3D outer interocular distance, %. */
  scaleFree?: number;
  yawError?: number;
  pitchError?: number;
  rollError?: number;
  rotationError?: number;
  /** |predicted − true| per active blendshape. */
  expressionErrors?: Record<string, number>;
  error?: string;
  ms: number;
}

export interface Summary {
  count: number;
  mean: number;
  median: number;
  p90: number;
}

export interface SynthGroupReport {
  count: number;
  detected: number;
  detectionRate: number;
  /** NME-68 in %. */
  nme: Summary;
  rigidMm: Summary;
  similarityMm: Summary;
  scaleFreePercent: Summary;
  yawError: Summary;
  pitchError: Summary;
  rollError: Summary;
  rotationError: Summary;
  /** Over every active blendshape of every detected sample. */
  expressionError: Summary;
}

export interface SynthReport {
  dir: string;
  stage: 'landmarks';
  samples: number;
  skipped: number;
  skippedSamples: { file: string; reason: string }[];
  overall: SynthGroupReport;
  bins: Record<YawBin, SynthGroupReport>;
  /** Mean of the three bins' mean NME (%), as AFLW2000's balanced figure. */
  nmeBalanced: number;
  expression: Record<string, Summary>;
  seconds: number;
  medianMs: number;
  results: SynthSampleResult[];
}

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export function summarize(values: number[]): Summary {
  const v = values.filter((x) => Number.isFinite(x));
  return { count: v.length, mean: v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN, median: quantile(v, 0.5), p90: quantile(v, 0.9) };
}

/** |a − b| in degrees, wrapped to [0, 180]. */
export const angleError = (a: number, b: number) => Math.abs(((((a - b) % 360) + 540) % 360) - 180);

/** Angle (degrees) of R_a^T·R_b for two axis-angle rotations. */
export function rotationError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ra = rotationMatrix64(a), rb = rotationMatrix64(b);
  let trace = 0;
  for (let i = 0; i < 3; i++) for (let k = 0; k < 3; k++) trace += ra[3 * k + i] * rb[3 * k + i];
  return (Math.acos(Math.min(1, Math.max(-1, (trace - 1) / 2))) * 180) / Math.PI;
}

/** Sample JSON files of a folder (`NNNN.json`), sorted. */
export async function listSynthSamples(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => /^\d+\.json$/.test(f)).sort();
}

class SkipSample extends Error {}

async function readSample(dir: string, file: string, fitter: Fitter): Promise<{ sample: SynthSample; vertices: Float32Array }> {
  let sample: SynthSample;
  try {
    sample = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as SynthSample;
  } catch (e) {
    throw new SkipSample(`corrupt JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (sample?.format !== SYNTH_FORMAT || !Array.isArray(sample.landmarks2d) || sample.landmarks2d.length !== 68 || !sample.params) {
    throw new SkipSample(`not a ${SYNTH_FORMAT} sample`);
  }
  const want = modelFingerprint(fitter.model), got = sample.model ?? ({} as Partial<typeof want>);
  const keys = ['version', 'vertexCount', 'identityCount', 'expressionCount', 'info'] as const;
  const differs = keys.filter((k) => got[k] !== want[k]);
  if (differs.length) {
    throw new SkipSample(`made with another face model (${differs.map((k) => `${k} ${JSON.stringify(got[k])} ≠ ${JSON.stringify(want[k])}`).join(', ').slice(0, 200)})`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path.join(dir, sample.vertices.file));
  } catch {
    throw new SkipSample(`${sample.vertices?.file}: vertex file missing`);
  }
  try {
    return { sample, vertices: parseVertices(bytes, want.vertexCount) };
  } catch (e) {
    throw new SkipSample(`${sample.vertices.file}: ${(e as Error).message}`);
  }
}

/** Score one fitted sample (or a failed detection when `outcome` is null). */
async function evaluateSample(dir: string, sample: SynthSample, vertices: Float32Array, fitter: Fitter): Promise<SynthSampleResult> {
  const start = performance.now();
  const base = { file: sample.file, bin: sample.yaw_bin, pose: sample.pose };
  // A missing or unreadable image is a bad sample, not a failed detection.
  let image;
  try {
    image = await decodeImage(path.join(dir, sample.file));
  } catch (e) {
    throw new SkipSample((e as Error).message.split('\n')[0]);
  }
  let outcome;
  try {
    outcome = await fitter.fit(image, { texture: false });
  } catch (e) {
    return {
      ...base, detected: false, nme: nme68(meanShapeInBox(fitter.model, sample.box), sample),
      error: (e as Error).message.split('\n')[0], ms: performance.now() - start,
    };
  }
  const model = fitter.model;
  const face = model.parts.find((p) => p.name === 'face')!;
  const indices = Uint32Array.from({ length: face.vertexEnd - face.vertexStart }, (_, i) => face.vertexStart + i);
  // Model-space fit against camera-space truth: both metric, the alignment absorbs the frames.
  const rigid = alignPoints(outcome.positions, vertices, { indices });
  const similar = alignPoints(outcome.positions, vertices, { indices, similarity: true });
  const l3 = sample.landmarks3d;
  const interocular = Math.hypot(l3[36][0] - l3[45][0], l3[36][1] - l3[45][1], l3[36][2] - l3[45][2]);
  const expressionErrors: Record<string, number> = {};
  for (const [name, weight] of Object.entries(sample.params.expression)) {
    const i = model.expressionNames.indexOf(name);
    if (i >= 0) expressionErrors[name] = Math.abs(outcome.landmark.expression[i] - weight);
  }
  const pose = outcome.landmark.pose;
  return {
    ...base,
    detected: true,
    fitted: { yaw: pose.yaw, pitch: pose.pitch, roll: pose.roll },
    nme: nme68(outcome.record.fit.landmarks2d.flat(), sample),
    rigidMm: 10 * rigid.meanDistance,
    similarityMm: 10 * similar.meanDistance,
    scaleFree: (100 * similar.meanDistance) / interocular,
    yawError: angleError(pose.yaw, sample.pose.yaw),
    pitchError: angleError(pose.pitch, sample.pose.pitch),
    rollError: angleError(pose.roll, sample.pose.roll),
    rotationError: rotationError(outcome.landmark.camera.rotation, sample.params.camera.rotation),
    expressionErrors,
    ms: performance.now() - start,
  };
}

function group(results: SynthSampleResult[]): SynthGroupReport {
  const ok = results.filter((r) => r.detected);
  const pick = (f: (r: SynthSampleResult) => number | undefined) => summarize(ok.map((r) => f(r) ?? NaN));
  return {
    count: results.length,
    detected: ok.length,
    detectionRate: results.length ? ok.length / results.length : NaN,
    nme: summarize(results.map((r) => 100 * r.nme)),
    rigidMm: pick((r) => r.rigidMm),
    similarityMm: pick((r) => r.similarityMm),
    scaleFreePercent: pick((r) => r.scaleFree),
    yawError: pick((r) => r.yawError),
    pitchError: pick((r) => r.pitchError),
    rollError: pick((r) => r.rollError),
    rotationError: pick((r) => r.rotationError),
    expressionError: summarize(ok.flatMap((r) => Object.values(r.expressionErrors ?? {}))),
  };
}

export interface SynthEvalOptions {
  limit?: number;
  onSample?: (done: number, total: number, result: SynthSampleResult) => void;
  /** A bad sample, skipped. */
  onSkip?: (file: string, reason: string) => void;
}

export async function evaluateSynth(fitter: Fitter, dir: string, options: SynthEvalOptions = {}): Promise<SynthReport> {
  const start = performance.now();
  let files = await listSynthSamples(dir);
  if (options.limit) files = files.slice(0, options.limit);
  const results: SynthSampleResult[] = [];
  const skippedSamples: SynthReport['skippedSamples'] = [];
  for (const file of files) {
    try {
      const { sample, vertices } = await readSample(dir, file, fitter);
      const result = await evaluateSample(dir, sample, vertices, fitter);
      results.push(result);
      options.onSample?.(results.length + skippedSamples.length, files.length, result);
    } catch (e) {
      if (!(e instanceof SkipSample)) throw e;
      skippedSamples.push({ file, reason: e.message });
      options.onSkip?.(file, e.message);
    }
  }
  const bins = Object.fromEntries(YAW_BINS.map((b) => [b, group(results.filter((r) => r.bin === b))])) as Record<YawBin, SynthGroupReport>;
  const present = YAW_BINS.filter((b) => bins[b].count > 0);
  const names = [...new Set(results.flatMap((r) => Object.keys(r.expressionErrors ?? {})))].sort();
  return {
    dir,
    stage: 'landmarks',
    samples: results.length,
    skipped: skippedSamples.length,
    skippedSamples,
    overall: group(results),
    bins,
    nmeBalanced: present.reduce((a, b) => a + bins[b].nme.mean, 0) / present.length,
    expression: Object.fromEntries(names.map((n) => [n, summarize(results.flatMap((r) => (r.expressionErrors?.[n] !== undefined ? [r.expressionErrors[n]] : [])))])),
    seconds: (performance.now() - start) / 1000,
    medianMs: quantile(results.map((r) => r.ms), 0.5),
    results,
  };
}

const CSV_COLUMNS = [
  'file', 'bin', 'yaw', 'pitch', 'roll', 'fitted_yaw', 'fitted_pitch', 'fitted_roll', 'detected', 'nme_percent', 'rigid_mm', 'similarity_mm', 'scale_free_percent',
  'yaw_error', 'pitch_error', 'roll_error', 'rotation_error', 'expression_mae', 'active_blendshapes', 'ms', 'error',
] as const;

/** One row per evaluated sample (RFC 4180 quoting: the bin labels hold commas). */
export function synthCsv(report: SynthReport): string {
  const num = (v: number | undefined, d = 3) => (v === undefined || !Number.isFinite(v) ? '' : v.toFixed(d));
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const rows = report.results.map((r) => {
    const ex = Object.values(r.expressionErrors ?? {});
    return [
      quote(r.file), quote(r.bin), num(r.pose.yaw, 2), num(r.pose.pitch, 2), num(r.pose.roll, 2),
      num(r.fitted?.yaw, 2), num(r.fitted?.pitch, 2), num(r.fitted?.roll, 2), r.detected ? '1' : '0', num(100 * r.nme),
      num(r.rigidMm), num(r.similarityMm), num(r.scaleFree), num(r.yawError), num(r.pitchError), num(r.rollError),
      num(r.rotationError), ex.length ? num(ex.reduce((a, b) => a + b, 0) / ex.length, 4) : '',
      Object.keys(r.expressionErrors ?? {}).join(' '), num(r.ms, 0), quote(r.error ?? ''),
    ].join(',');
  });
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}
