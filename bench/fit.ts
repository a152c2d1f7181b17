/**
 * Landmark stage (detection + fit) per 450×450 photo, median over aflw2000-dev images (one core, wasm), and the
 * peak RSS of a whole `ganfit fit` (child process). Run alone: `node --import tsx bench/fit.ts [count]`.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../src/io/image.js';
import { createFitter } from '../src/fit/pipeline.js';
import { median } from './timing.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const aflw = path.resolve(here, '../../shared/data/aflw2000-dev/images');

export interface FitBench {
  images: number;
  /** Median ms: detection, landmark fit, both (the landmark stage incl. detection). */
  detectMs: number;
  landmarkFitMs: number;
  landmarkStageMs: number;
  /** Peak resident memory of `ganfit fit` on one photo, MB. */
  fitPeakRssMb: number;
  fitWallMs: number;
}


export async function benchFit(count = 15): Promise<FitBench | { skipped: string }> {
  if (!existsSync(aflw)) return { skipped: 'needs ../shared/data/aflw2000-dev' };
  const files = (await import('node:fs')).readdirSync(aflw).filter((f) => f.endsWith('.jpg')).sort();
  const step = Math.max(1, Math.floor(files.length / count));
  const chosen = files.filter((_, i) => i % step === 0).slice(0, count);
  const fitter = await createFitter();
  const detect: number[] = [], fit: number[] = [], both: number[] = [];
  for (const f of chosen) {
    const image = await decodeImage(path.join(aflw, f));
    const outcome = await fitter.fit(image, { texture: false }).catch(() => null);
    if (!outcome) continue;
    detect.push(outcome.record.timings.detect);
    fit.push(outcome.record.timings.landmarks);
    both.push(outcome.record.timings.detect + outcome.record.timings.landmarks);
  }
  const out = mkdtempSync(path.join(tmpdir(), 'ganfit-bench-'));
  const start = performance.now();
  const child = spawnSync(process.execPath, ['--import', 'tsx', '-e',
    `const { main } = await import(${JSON.stringify(path.resolve(here, '../src/cli/main.ts'))});` +
    `const code = await main(['fit', ${JSON.stringify(path.join(aflw, chosen[0]))}, '-o', ${JSON.stringify(out + '/o')}, '-q']);` +
    `process.stdout.write(JSON.stringify({ code, maxRss: process.resourceUsage().maxRSS }));`], { encoding: 'utf8', cwd: path.resolve(here, '..') });
  const wall = performance.now() - start;
  const report = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as { maxRss?: number };
  return {
    images: both.length,
    detectMs: Math.round(median(detect)), landmarkFitMs: Math.round(median(fit)), landmarkStageMs: Math.round(median(both)),
    fitPeakRssMb: Math.round((report.maxRss ?? NaN) / 1024), fitWallMs: Math.round(wall),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  console.log(JSON.stringify(await benchFit(Number(process.argv[2] ?? 15)), null, 2));
}
