/** `ganfit eval aflw2000 <dir>`: NME-68 per yaw bin and balanced (shared/data/aflw2000-dev protocol). */
import { usageError } from '../../io/errors.js';
import { createFitter } from '../../fit/pipeline.js';
import { evaluateAflw2000, YAW_BINS } from '../../eval/aflw2000.js';
import { choiceOption, intOption, parse } from '../args.js';
import { createProgress } from '../progress.js';
import type { Command } from '../command.js';
import { evalSynthUsage, runEvalSynth } from './synth.js';

const usage = `ganfit eval aflw2000 <dir with images/ and gt.json> [--limit N] [--detector ssd|tiny] [--json]\n       ${evalSynthUsage}`;

export const evalCommand: Command = {
  name: 'eval',
  summary: 'benchmarks: aflw2000 (NME-68 by yaw bin), synth (3D error on rendered heads)',
  usage,
  async run(argv) {
    if (argv[0] === 'synth') return runEvalSynth(argv.slice(1));
    const { values, positionals } = parse(argv, {
      limit: { type: 'string' }, detector: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' },
    }, usage);
    if (positionals[0] !== 'aflw2000' || positionals.length !== 2) throw usageError(`usage: ${usage}`);
    const limit = intOption(values.limit as string | undefined, 'limit', 0);
    const detector = choiceOption(values.detector as string | undefined, 'detector', ['ssd', 'tiny'] as const, 'ssd');
    const progress = createProgress({ quiet: !!values.json || !!values.quiet });
    const fitter = await createFitter({ detector: { detector } });
    const report = await evaluateAflw2000(fitter, positionals[1], {
      limit: limit || undefined,
      onImage: (done, total, r) => progress.update(done, total, `${r.file} ${(100 * r.nme).toFixed(2)}%`),
    });
    progress.done();
    if (values.json) {
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      return 0;
    }
    const lines = [
      `AFLW2000-3D NME-68 (%), ${report.images} images, detector ${detector}`,
      ...YAW_BINS.map((b) => `  ${b.padEnd(8)} ${report.bins[b].nme.toFixed(2).padStart(6)}   (${report.bins[b].count} images, ${report.bins[b].failures} failed)`),
      `  balanced ${report.balanced.toFixed(2).padStart(6)}`,
      `  failures ${report.failures} (scored with the mean shape in the ground-truth box)`,
      `  median |yaw error| ${report.medianYawError.toFixed(1)}°, median ${Math.round(report.medianMs)} ms per image (detection + landmark fit)`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
