/** `ganfit model import-ict <FaceXModel dir> -o <file>`: build the compact model asset from ICT-FaceKit. */
import { usageError } from '../../io/errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { importIct } from '../../model/import-ict.js';
import { parse } from '../args.js';
import { createProgress } from '../progress.js';
import type { Command } from '../command.js';

const usage = 'ganfit model import-ict <FaceXModel dir> -o <file>';

export const modelCommand: Command = {
  name: 'model',
  summary: 'model assets: import-ict converts ICT-FaceKit into the compact asset',
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { out: { type: 'string', short: 'o' }, quiet: { type: 'boolean', short: 'q' } }, usage);
    if (positionals[0] !== 'import-ict' || positionals.length !== 2 || !values.out) throw usageError(`usage: ${usage}`);
    const progress = createProgress({ quiet: !!values.quiet });
    const bytes = await importIct(positionals[1], (done, total) => progress.update(done, total, 'modes'));
    await writeFileAtomic(values.out as string, bytes);
    progress.done();
    if (!values.quiet) process.stderr.write(`ganfit: wrote ${values.out} (${(bytes.length / 1e6).toFixed(1)} MB)\n`);
    return 0;
  },
};
