#!/usr/bin/env node
// The ganfit command. Runs the compiled CLI (dist/, built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('ganfit: dist/ is missing: run `npm ci` (or `npm run build`) in the ganfit folder first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
