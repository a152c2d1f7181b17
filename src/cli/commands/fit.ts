/** `ganfit fit <photo> -o <dir>`: one photo → result.json, mesh, texture, GLB, renders. */
import path from 'node:path';
import { decodeImage } from '../../io/image.js';
import { usageError } from '../../io/errors.js';
import { createFitter, type FitPhase } from '../../fit/pipeline.js';
import { writeFitOutputs } from '../../export/result-files.js';
import { choiceOption, intOption, parse } from '../args.js';
import { createProgress } from '../progress.js';
import type { Command } from '../command.js';

const usage = 'ganfit fit <photo> [-o <dir>] [--face N] [--seed S] [--texture-size N] [--detector ssd|tiny] [--backend wasm|cpu] [--json]';

export const fitOptions = {
  out: { type: 'string', short: 'o' },
  face: { type: 'string' },
  seed: { type: 'string' },
  'texture-size': { type: 'string' },
  detector: { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

/** The options `fit` and `batch` share, checked. */
export function commonFitSettings(values: { [K in keyof typeof fitOptions]?: string | boolean }) {
  return {
    face: intOption(values.face as string | undefined, 'face', 0),
    seed: intOption(values.seed as string | undefined, 'seed', 0),
    textureResolution: intOption(values['texture-size'] as string | undefined, 'texture-size', 512, 16),
    detector: choiceOption(values.detector as string | undefined, 'detector', ['ssd', 'tiny'] as const, 'ssd'),
    backend: choiceOption(values.backend as string | undefined, 'backend', ['wasm', 'cpu'] as const, 'wasm'),
  };
}

const phaseLabel: Record<FitPhase, string> = { detect: 'detecting the face', landmarks: 'fitting landmarks', texture: 'unwrapping the texture' };

export const fitCommand: Command = {
  name: 'fit',
  summary: 'reconstruct the 3D face in one photo',
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, fitOptions, usage);
    if (positionals.length !== 1) throw usageError(`fit takes one photo, got ${positionals.length} (usage: ${usage})`);
    const photo = positionals[0];
    const settings = commonFitSettings(values);
    const outDir = (values.out as string | undefined) ?? path.join('out', path.parse(photo).name);
    const progress = createProgress({ quiet: !!values.json || !!values.quiet });
    const steps: FitPhase[] = ['detect', 'landmarks', 'texture'];
    progress.update(0, steps.length + 2, 'loading models');
    const image = await decodeImage(photo);
    const fitter = await createFitter({ backend: settings.backend, detector: { detector: settings.detector } });
    const outcome = await fitter.fit(image, {
      face: settings.face,
      seed: settings.seed,
      textureResolution: settings.textureResolution,
      onPhase: (phase) => progress.update(steps.indexOf(phase) + 1, steps.length + 2, phaseLabel[phase]),
    });
    outcome.record.image.path = photo;
    if (outcome.record.face.note) progress.note(`ganfit: ${outcome.record.face.note}`);
    progress.update(steps.length + 1, steps.length + 2, 'writing files');
    await writeFitOutputs(outDir, outcome, image);
    progress.done();
    if (values.json) process.stdout.write(JSON.stringify(outcome.record, null, 2) + '\n');
    else if (!values.quiet) process.stderr.write(`ganfit: wrote ${outDir.replace(/\/+$/, '')}/ (yaw ${outcome.record.pose.yaw}°, landmark rms ${outcome.record.losses.landmarkRmsPixels} px)\n`);
    return 0;
  },
};
