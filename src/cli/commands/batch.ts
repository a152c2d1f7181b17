/** `ganfit batch <dir|list> -o <outdir>`: many photos, models loaded once; one bad photo never stops the batch. */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeImage } from '../../io/image.js';
import { exitCodeOf, usageError } from '../../io/errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { createFitter } from '../../fit/pipeline.js';
import { writeFitOutputs } from '../../export/result-files.js';
import { parse } from '../args.js';
import { createProgress } from '../progress.js';
import { commonFitSettings, fitOptions } from './fit.js';
import type { Command } from '../command.js';

const usage = 'ganfit batch <folder | list.txt> -o <outdir> [--face N] [--seed S] [--texture-size N] [--detector ssd|tiny] [--json]';
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif']);

/** The photos a batch input names: a folder's images (sorted) or a text file with one path per line. */
export async function batchInputs(input: string): Promise<string[]> {
  const info = await stat(input).catch(() => null);
  if (!info) throw usageError(`${input}: no such folder or list file`);
  if (info.isDirectory()) {
    const names = (await readdir(input)).filter((n) => IMAGE_EXTENSIONS.has(path.extname(n).toLowerCase())).sort();
    return names.map((n) => path.join(input, n));
  }
  const base = path.dirname(input);
  return (await readFile(input, 'utf8'))
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => (path.isAbsolute(l) ? l : path.join(base, l)));
}

interface BatchItem {
  input: string;
  output?: string;
  ok: boolean;
  exitCode: number;
  error?: string;
  yaw?: number;
  ms: number;
}

export const batchCommand: Command = {
  name: 'batch',
  summary: 'reconstruct every photo of a folder or list',
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, fitOptions, usage);
    if (positionals.length !== 1 || !values.out) throw usageError(`batch takes one folder or list and -o <outdir> (usage: ${usage})`);
    const settings = commonFitSettings(values);
    const outRoot = values.out as string;
    const inputs = await batchInputs(positionals[0]);
    if (inputs.length === 0) throw usageError(`${positionals[0]}: no images found`);
    const progress = createProgress({ quiet: !!values.json || !!values.quiet });
    const fitter = await createFitter({ backend: settings.backend, detector: { detector: settings.detector } });
    const items: BatchItem[] = [];
    const usedNames = new Set<string>();
    for (const [i, input] of inputs.entries()) {
      progress.update(i, inputs.length, path.basename(input));
      let stem = path.parse(input).name;
      for (let k = 2; usedNames.has(stem); k++) stem = `${path.parse(input).name}-${k}`;
      usedNames.add(stem);
      const start = performance.now();
      try {
        const image = await decodeImage(input);
        const outcome = await fitter.fit(image, { face: settings.face, seed: settings.seed, textureResolution: settings.textureResolution });
        outcome.record.image.path = input;
        const output = path.join(outRoot, stem);
        await writeFitOutputs(output, outcome, image);
        items.push({ input, output, ok: true, exitCode: 0, yaw: outcome.record.pose.yaw, ms: Math.round(performance.now() - start) });
      } catch (e) {
        const message = (e as Error).message.split('\n')[0];
        items.push({ input, ok: false, exitCode: exitCodeOf(e), error: message, ms: Math.round(performance.now() - start) });
        progress.note(`ganfit: ${path.basename(input)}: ${message}`);
      }
    }
    progress.done();
    const failed = items.filter((it) => !it.ok).length;
    const summary = { version: 1, total: items.length, succeeded: items.length - failed, failed, items };
    await writeFileAtomic(path.join(outRoot, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    if (values.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else if (!values.quiet) process.stderr.write(`ganfit: ${summary.succeeded}/${summary.total} photos reconstructed into ${outRoot}/ (summary.json)\n`);
    return failed === 0 ? 0 : 1;
  },
};
