/**
 * The `ganfit` command line. Every user error ends as one line on stderr and the exit code of src/io/errors.ts
 * (0 ok, 2 usage, 3 no face, 4 unreadable image, 1 other); GANFIT_DEBUG=1 adds the stack.
 */
import { ExitCode, exitCodeOf, GanfitError } from '../io/errors.js';
import type { Command } from './command.js';
import { fitCommand } from './commands/fit.js';
import { batchCommand } from './commands/batch.js';
import { evalCommand } from './commands/eval.js';
import { modelCommand } from './commands/model.js';
import { synthCommand } from './commands/synth.js';
import { textureCommand } from './commands/texture.js';

const commands: Command[] = [fitCommand, batchCommand, evalCommand, textureCommand, modelCommand, synthCommand];

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'ganfit — 3D face reconstruction from one photo (GANFIT in TypeScript)',
    '',
    'usage: ganfit <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'ganfit <command> --help shows the usage of a command. Exit codes: 0 ok, 1 other error, 2 usage, 3 no face found,',
    '4 unreadable or unsupported image.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name ? ExitCode.Ok : ExitCode.Usage;
  }
  if (name === '--version' || name === '-v') {
    const { GANFIT_VERSION } = await import('../fit/pipeline.js');
    process.stdout.write(GANFIT_VERSION + '\n');
    return ExitCode.Ok;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`ganfit: unknown command '${name}' (commands: ${commands.map((c) => c.name).join(', ')})\n`);
    return ExitCode.Usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: ${command.usage}\n`);
    return ExitCode.Ok;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    const code = exitCodeOf(e);
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    process.stderr.write(`ganfit: ${e instanceof GanfitError ? '' : 'error: '}${message}\n`);
    if (process.env.GANFIT_DEBUG && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
    return code;
  }
}
