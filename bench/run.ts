/**
 * `npm run bench`: every speed figure of the project, one core, wasm. Each module's bench also runs alone
 * (`node --import tsx bench/<name>.ts`). Timings depend on the machine and its load: compare runs on one machine.
 */
import os from 'node:os';
import { benchModel } from './model.js';
import { benchDetect } from './detect.js';
import { benchFit } from './fit.js';
import { benchRender } from './render.js';
import { benchLosses } from './losses.js';
import { benchTexture } from './texture.js';
import { referenceWorkMs } from './timing.js';

const only = process.argv.slice(2);
const benches: [string, () => Promise<unknown>][] = [
  ['model', () => benchModel()],
  ['detect', () => benchDetect()],
  ['fit', () => benchFit()],
  ['render', () => benchRender()],
  ['losses', () => benchLosses()],
  ['texture', () => benchTexture()],
];
console.log(`# ganfit bench — ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os.loadavg()[0].toFixed(2)}, node ${process.version}, reference workload ${referenceWorkMs()} ms (bench/timing.ts: the machine's speed)`);
for (const [name, run] of benches) {
  if (only.length && !only.includes(name)) continue;
  const start = performance.now();
  const result = await run();
  console.log(`## ${name} (${((performance.now() - start) / 1000).toFixed(1)} s)`);
  console.log(JSON.stringify(result, null, 2));
}
