/**
 * `ganfit synth -n N --seed S -o <dir>`: render a synthetic set with known ground truth (src/eval/synth), and
 * `ganfit eval synth <dir>` (dispatched from the eval command): fit it back and score it.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { initEngine } from '../../engine/index.js';
import { usageError } from '../../io/errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { loadFaceModel } from '../../model/load.js';
import { createFitter } from '../../fit/pipeline.js';
import { YAW_BINS } from '../../eval/aflw2000.js';
import { evaluateSynth, generateSynthSet, listSynthSamples, synthCsv } from '../../eval/synth/index.js';
import { choiceOption, intOption, parse } from '../args.js';
import { createProgress } from '../progress.js';
import type { Command } from '../command.js';

const usage = 'ganfit synth -n N [--seed S] -o <dir> [--size PX] [--start I] [--texture vertex|auto] [--quiet]';

export const synthCommand: Command = {
  name: 'synth',
  summary: 'render synthetic heads with known shape, expression and pose (for `ganfit eval synth`)',
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      n: { type: 'string', short: 'n' }, seed: { type: 'string' }, out: { type: 'string', short: 'o' },
      size: { type: 'string' }, start: { type: 'string' }, texture: { type: 'string' }, quiet: { type: 'boolean', short: 'q' },
    }, usage);
    if (positionals.length) throw usageError(`unexpected argument '${positionals[0]}' (usage: ${usage})`);
    if (!values.out) throw usageError(`-o <dir> is required (usage: ${usage})`);
    const count = intOption(values.n as string | undefined, 'n', 0, 1);
    if (!count) throw usageError(`-n N is required (usage: ${usage})`);
    const seed = intOption(values.seed as string | undefined, 'seed', 1);
    const size = intOption(values.size as string | undefined, 'size', 450, 64);
    const start = intOption(values.start as string | undefined, 'start', 0);
    if (start >= count) throw usageError(`--start ${start} must be below -n ${count}`);
    const texture = choiceOption(values.texture as string | undefined, 'texture', ['vertex', 'auto'] as const, 'vertex');
    await initEngine();
    const model = await loadFaceModel();
    const progress = createProgress({ quiet: !!values.quiet });
    const index = await generateSynthSet(model, values.out as string, {
      count, seed, start, width: size, height: size, texture,
      onSample: (done, total, s) => progress.update(done, total, s.file),
    });
    progress.done();
    if (!values.quiet) {
      process.stdout.write(`${index.count} samples (seed ${seed}, ${size}×${size}, ${index.texture}) in ${values.out}: ` +
        `${index.seconds.toFixed(1)} s, ${(index.count / index.seconds).toFixed(2)} samples/s\n`);
      if (index.textureNote) process.stdout.write(`  ${index.textureNote}\n`);
    }
    return 0;
  },
};

export const evalSynthUsage = 'ganfit eval synth <dir> [-o <dir>] [--stage landmarks|full] [--limit N] [--detector ssd|tiny] [--json] [--quiet]';

const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '—');

/** `ganfit eval synth <dir>` (dispatched from the eval command): writes eval.json and eval.csv. */
export async function runEvalSynth(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    out: { type: 'string', short: 'o' }, stage: { type: 'string' }, limit: { type: 'string' }, detector: { type: 'string' },
    json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' },
  }, evalSynthUsage);
  if (positionals.length !== 1) throw usageError(`usage: ${evalSynthUsage}`);
  const stage = choiceOption(values.stage as string | undefined, 'stage', ['landmarks', 'full'] as const, 'landmarks');
  if (stage === 'full') throw usageError('--stage full is not available yet: only the landmark stage can be evaluated (--stage landmarks)');
  const limit = intOption(values.limit as string | undefined, 'limit', 0);
  const detector = choiceOption(values.detector as string | undefined, 'detector', ['ssd', 'tiny'] as const, 'ssd');
  const dir = positionals[0];
  const outDir = (values.out as string | undefined) ?? dir;
  if (!(await stat(dir).catch(() => null))?.isDirectory()) throw usageError(`${dir}: not a folder (give the folder written by \`ganfit synth\`)`);
  if ((await listSynthSamples(dir)).length === 0) throw usageError(`${dir}: no NNNN.json samples (make some with \`ganfit synth\`)`);

  const progress = createProgress({ quiet: !!values.json || !!values.quiet });
  const fitter = await createFitter({ detector: { detector } });
  const report = await evaluateSynth(fitter, dir, {
    limit: limit || undefined,
    onSample: (done, total, r) => progress.update(done, total, `${r.file} ${r.detected ? `${f(100 * r.nme)}% ${f(r.rigidMm ?? NaN)} mm` : 'no face'}`),
    onSkip: (file, reason) => process.stderr.write(`ganfit: skipped ${file}: ${reason}\n`),
  });
  progress.done();
  await writeFileAtomic(path.join(outDir, 'eval.json'), JSON.stringify(report, null, 1) + '\n');
  await writeFileAtomic(path.join(outDir, 'eval.csv'), synthCsv(report));
  if (values.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return 0;
  }
  const row = (name: string, g: typeof report.overall) =>
    `  ${name.padEnd(8)} ${String(g.count).padStart(4)} ${f(100 * g.detectionRate, 1).padStart(6)}% ${f(g.nme.mean).padStart(6)} ` +
    `${f(g.rigidMm.mean).padStart(6)} ${f(g.rigidMm.median).padStart(6)} ${f(g.rigidMm.p90).padStart(6)} ${f(g.similarityMm.mean).padStart(6)} ` +
    `${f(g.scaleFreePercent.mean).padStart(6)} ${f(g.yawError.median, 1).padStart(5)} ${f(g.yawError.p90, 1).padStart(5)} ` +
    `${f(g.pitchError.median, 1).padStart(5)} ${f(g.rollError.median, 1).padStart(5)} ${f(g.expressionError.mean, 3).padStart(6)}`;
  const lines = [
    `synthetic set ${dir}: ${report.samples} samples evaluated, ${report.skipped} skipped, stage ${report.stage}, detector ${detector}`,
    `  |yaw|     n   detect  NME%  rigid mm: mean    med    p90  sim mm  sf%   yaw° med  p90  pitch° roll°  expr`,
    ...YAW_BINS.map((b) => row(b, report.bins[b])),
    row('all', report.overall),
    `  NME-68 balanced ${f(report.nmeBalanced)}%; ${f(report.seconds, 1)} s, median ${Math.round(report.medianMs)} ms per sample`,
    `  wrote ${path.join(outDir, 'eval.json')} and eval.csv`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
