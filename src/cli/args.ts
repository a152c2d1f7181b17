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

/** A finite number ≥ `min` (> `min` when `exclusive`: a learning rate, a scale). */
export function numberOption(value: string | undefined, name: string, fallback: number, min = 0, exclusive = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const inRange = exclusive ? n > min : n >= min;
  if (value.trim() === '' || !Number.isFinite(n) || !inRange) {
    throw usageError(`--${name} must be a number ${exclusive ? '>' : '≥'} ${min}, got '${value}'`);
  }
  return n;
}

export function positiveNumberOption(value: string | undefined, name: string, fallback: number): number {
  return numberOption(value, name, fallback, 0, true);
}

export function choiceOption<T extends string>(value: string | undefined, name: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) throw usageError(`--${name} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}
