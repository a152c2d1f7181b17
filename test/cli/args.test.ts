/** The shared option parsers: bounds inclusive or exclusive, usage errors (exit 2) with the option's name. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { numberOption, positiveNumberOption } from '../../src/cli/args.js';
import { ExitCode, GanfitError } from '../../src/io/errors.js';

function usageMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof GanfitError);
    assert.equal(e.code, ExitCode.Usage);
    return e.message;
  }
  assert.fail('expected a usage error');
}

test('numberOption: fallback when absent, the bound inclusive, junk rejected', () => {
  assert.equal(numberOption(undefined, 'x', 3), 3);
  assert.equal(numberOption('0', 'x', 3), 0);
  assert.equal(numberOption('2.5', 'x', 3, 1), 2.5);
  assert.match(usageMessage(() => numberOption('0.5', 'x', 3, 1)), /--x must be a number ≥ 1, got '0.5'/);
  for (const bad of ['', ' ', 'abc', 'Infinity', 'NaN']) usageMessage(() => numberOption(bad, 'x', 3));
});

test('positiveNumberOption: zero and negatives rejected, the bound exclusive', () => {
  assert.equal(positiveNumberOption(undefined, 'lr', 0), 0);
  assert.equal(positiveNumberOption('1e-3', 'lr', 0), 1e-3);
  assert.match(usageMessage(() => positiveNumberOption('0', 'lr', 1)), /--lr must be a number > 0, got '0'/);
  usageMessage(() => positiveNumberOption('-1', 'lr', 1));
});
