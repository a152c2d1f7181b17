/** Argument parsing shared by the commands: node:util parseArgs with usage errors (exit 2) instead of throws. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from '../io/errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parse(argv: string[], options: Options, usage: string): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (e) {
    throw usageError(`${(e as Error).message.split("\n")[0]} (usage: ${usage})`);
  }
}

export function intOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw usageError(`--${name} must be an integer ≥ ${min}, got '${value}'`);
  return n;
}

export function numberOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min) throw usageError(`--${name} must be a number ≥ ${min}, got '${value}'`);
  return n;
}

/** A number > 0 (a learning rate, a scale): like `numberOption`, the bound exclusive. */
export function positiveNumberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !(n > 0)) throw usageError(`--${name} must be a number > 0, got '${value}'`);
  return n;
}

export function choiceOption<T extends string>(value: string | undefined, name: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) throw usageError(`--${name} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}
