/** Run the CLI from source in a child process, as a user would run `npx ganfit`. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

const entry = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const sharedDir = fileURLToPath(new URL('../../../shared/', import.meta.url));
export const hasShared = existsSync(sharedDir + 'data/portraits');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): CliRun {
  const r = spawnSync(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: options.cwd ?? repoRoot,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    env: { ...process.env, GANFIT_DEBUG: '' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
