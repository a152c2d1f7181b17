/**
 * Round trip of every convention (image axes, pose signs, pixel centres, camera frame): render known heads, run
 * `ganfit eval synth` on them (detector + landmark stage), and check the pose comes back.
 *
 * Tolerances (documented in docs/evaluation.md): on the [0,30) and [30,60) bins every face is detected, the yaw
 * sign is right, and the median |yaw error| and |roll error| are ≤ 5°. The [60,90] bin is only reported (the
 * face-api detector often misses profiles). Bad samples (another model, corrupt JSON, missing image) are skipped
 * with a reason, and the rest evaluated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initEngine } from '../../src/engine/index.js';
import { loadFaceModel } from '../../src/model/load.js';
import { main } from '../../src/cli/main.js';
import { generateSynthSet, quantile, type SynthReport } from '../../src/eval/synth/index.js';

test('--stage full is a usage error (exit 2)', async () => {
  const stderr = process.stderr.write;
  let said = '';
  process.stderr.write = ((s: string) => ((said += s), true)) as typeof process.stderr.write;
  try {
    assert.equal(await main(['eval', 'synth', tmpdir(), '--stage', 'full']), 2);
  } finally {
    process.stderr.write = stderr;
  }
  assert.match(said, /not available yet/);
});

test('render → detect → landmark fit recovers the pose; bad samples are skipped', { timeout: 240_000 }, async () => {
  await initEngine();
  const model = await loadFaceModel();
  const dir = await mkdtemp(path.join(tmpdir(), 'ganfit-synth-rt-'));
  try {
    await generateSynthSet(model, dir, { seed: 1, count: 6 });
    const good = await readFile(path.join(dir, '0000.json'), 'utf8');
    const other = JSON.parse(good);
    other.model.vertexCount += 1;
    await writeFile(path.join(dir, '0090.json'), JSON.stringify(other));
    await writeFile(path.join(dir, '0091.json'), good.slice(0, 100));
    await writeFile(path.join(dir, '0092.json'), good.replace('"0000.png"', '"0092.png"'));

    const stderr = process.stderr.write;
    let said = '';
    process.stderr.write = ((s: string) => ((said += s), true)) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main(['eval', 'synth', dir, '--quiet']);
    } finally {
      process.stderr.write = stderr;
    }
    assert.equal(code, 0);
    const report = JSON.parse(await readFile(path.join(dir, 'eval.json'), 'utf8')) as SynthReport;
    const csv = (await readFile(path.join(dir, 'eval.csv'), 'utf8')).trim().split('\n');
    assert.equal(csv.length, 1 + report.samples);

    assert.equal(report.samples, 6);
    assert.equal(report.skipped, 3);
    assert.deepEqual(report.skippedSamples.map((s) => s.file), ['0090.json', '0091.json', '0092.json']);
    assert.match(report.skippedSamples[0].reason, /another face model/);
    assert.match(report.skippedSamples[1].reason, /corrupt JSON/);
    assert.match(report.skippedSamples[2].reason, /0092\.png/);
    assert.equal(said.trim().split('\n').filter((l) => l.startsWith('ganfit: skipped')).length, 3);

    const easy = report.results.filter((r) => r.bin !== '[60,90]');
    assert.equal(easy.length, 4);
    const lines = easy.map((r) => `${r.file} yaw ${r.pose.yaw.toFixed(1)} err ${r.yawError?.toFixed(1)} roll err ${r.rollError?.toFixed(1)} ${r.rigidMm?.toFixed(1)} mm`);
    for (const r of easy) assert.ok(r.detected, `${r.file} not detected`);
    // Sign round trip: a flipped image axis or pose sign flips the fitted yaw (or roll).
    for (const r of easy) {
      assert.equal(Math.sign(r.fitted!.yaw), Math.sign(r.pose.yaw), `yaw sign of ${r.file}: ${lines.join('; ')}`);
      if (Math.abs(r.pose.roll) > 8) assert.equal(Math.sign(r.fitted!.roll), Math.sign(r.pose.roll), `roll sign of ${r.file}`);
    }
    assert.ok(csv.slice(1).every((l) => l.includes('"[')), 'bin labels quoted in the CSV');
    assert.ok(quantile(easy.map((r) => r.yawError!), 0.5) <= 5, lines.join('; '));
    assert.ok(quantile(easy.map((r) => r.rollError!), 0.5) <= 5, lines.join('; '));
    assert.ok(report.overall.rigidMm.median < 15, `rigid 3D error ${report.overall.rigidMm.median} mm`);
    assert.ok(report.bins['[0,30)'].nme.mean < 10, `NME ${report.bins['[0,30)'].nme.mean}%`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
