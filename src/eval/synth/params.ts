/**
 * What one synthetic sample is made of, drawn from a seeded stream: identity, a sparse expression, pose, camera,
 * light, skin/eye/hair colours and background. Plain numbers only (JSON-ready); frames and units as in
 * docs/conventions.md. The drawing is deterministic for (seed, index) and independent of the sample count.
 */
import type { FaceModel } from '../../model/types.js';
import { landmarkPositions } from '../../model/mesh.js';
import { axisAngleFromRotation, rotationFromPose, type PoseAngles } from '../../render/camera.js';
import type { CameraParams } from '../../fit/camera-params.js';
import { YAW_BINS, type YawBin } from '../aflw2000.js';
import { pick, randInt, sampleRng, uniform, type Rng } from './random.js';

/** |yaw| range drawn per AFLW bin; sample i goes to bin i mod 3, so the bins fill evenly. */
export const YAW_RANGES: Record<YawBin, readonly [number, number]> = {
  '[0,30)': [0, 30],
  '[30,60)': [30, 60],
  '[60,90]': [60, 80],
};
export const PITCH_MAX = 30;
export const ROLL_MAX = 25;

/** Blendshapes a sample may activate, with the range of a natural weight. */
export const EXPRESSION_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  jawOpen: [0.1, 0.6],
  mouthSmile_L: [0.2, 0.9], mouthSmile_R: [0.2, 0.9],
  eyeBlink_L: [0.3, 1], eyeBlink_R: [0.3, 1],
  browInnerUp_L: [0.2, 0.9], browInnerUp_R: [0.2, 0.9],
  browOuterUp_L: [0.2, 0.8], browOuterUp_R: [0.2, 0.8],
  browDown_L: [0.2, 0.8], browDown_R: [0.2, 0.8],
  mouthFrown_L: [0.2, 0.7], mouthFrown_R: [0.2, 0.7],
};
/** Largest number of active blendshapes (a mirrored pair counts two). */
export const MAX_ACTIVE = 4;

/** Face height (chin to hairline) used to frame the shot, cm; `faceFraction` of the image height. */
export const FRAMING_HEIGHT_CM = 19;

export interface SynthLight {
  /** Point light position in camera space, cm. */
  position: [number, number, number];
  /** Linear RGB colours. */
  color: [number, number, number];
  ambient: [number, number, number];
  specular: number;
  shininess: number;
}

export interface SynthAppearance {
  /** sRGB 0..1 albedos. */
  skin: [number, number, number];
  lips: [number, number, number];
  brows: [number, number, number];
  /** Null: bald. */
  hair: [number, number, number] | null;
  iris: [number, number, number];
  /** Seed of the per-vertex albedo noise. */
  noiseSeed: number;
}

export interface SynthBackground {
  /** Seed of the procedural noise. */
  seed: number;
  /** Two gradient colours (sRGB 0..1) and the gradient angle (radians). */
  colors: [[number, number, number], [number, number, number]];
  angle: number;
  /** Amplitude of the value noise and the number of soft blobs. */
  noise: number;
  blobs: number;
}

export interface SynthParams {
  index: number;
  /** The seed of this sample's own stream (see random.ts sampleSeed). */
  sampleSeed: number;
  yawBin: YawBin;
  /** Model-space shape (docs/conventions.md "Model space"). */
  identity: number[];
  /** Active blendshapes only (all others 0). */
  expression: Record<string, number>;
  pose: PoseAngles;
  /** Perspective camera in the image's pixels (rotation = axis-angle of R(pose)). */
  camera: CameraParams;
  /** Fraction of the image height the framing height takes. */
  faceFraction: number;
  light: SynthLight;
  appearance: SynthAppearance;
  background: SynthBackground;
}

const round = (v: number, digits = 6) => Number(v.toFixed(digits));
const mix3 = (a: readonly number[], b: readonly number[], t: number): [number, number, number] =>
  [0, 1, 2].map((c) => a[c] + (b[c] - a[c]) * t) as [number, number, number];
const jitter3 = (rng: Rng, c: readonly number[], amount: number): [number, number, number] =>
  c.map((v) => round(Math.min(1, Math.max(0, v + uniform(rng, -amount, amount))), 4)) as [number, number, number];

const SKIN_LIGHT = [0.96, 0.8, 0.7];
const SKIN_DARK = [0.33, 0.21, 0.15];
const HAIR = [[0.06, 0.05, 0.04], [0.22, 0.14, 0.08], [0.45, 0.3, 0.16], [0.75, 0.62, 0.4], [0.55, 0.53, 0.5]];
const IRIS = [[0.28, 0.16, 0.08], [0.12, 0.07, 0.04], [0.25, 0.42, 0.6], [0.3, 0.45, 0.28], [0.45, 0.35, 0.2]];

function drawExpression(rng: Rng, names: readonly string[]): Record<string, number> {
  const candidates = Object.keys(EXPRESSION_RANGES).filter((n) => names.includes(n));
  const count = randInt(rng, MAX_ACTIVE + 1);
  const active: Record<string, number> = {};
  while (Object.keys(active).length < count) {
    const name = pick(rng, candidates);
    if (name in active) continue;
    const [a, b] = EXPRESSION_RANGES[name];
    const w = uniform(rng, a, b);
    active[name] = round(w, 4);
    // Faces are mostly symmetric: the mirror shape comes along (with a similar weight) when there is room.
    const mirror = name.endsWith('_L') ? name.slice(0, -2) + '_R' : name.endsWith('_R') ? name.slice(0, -2) + '_L' : null;
    if (mirror && !(mirror in active) && Object.keys(active).length < count && rng.next() < 0.7) {
      active[mirror] = round(Math.min(b, Math.max(a, w + uniform(rng, -0.1, 0.1))), 4);
    }
  }
  return Object.fromEntries(Object.entries(active).sort(([x], [y]) => names.indexOf(x) - names.indexOf(y)));
}

/** Draw sample `index` of the set `seed` for `model`, rendered at width×height. */
export function drawSynthParams(model: FaceModel, seed: number, index: number, width: number, height: number): SynthParams {
  const rng = sampleRng(seed, index);
  const sampleSeedValue = rng.state;
  const yawBin = YAW_BINS[index % 3];
  const identity = Array.from({ length: model.identityCount }, () => round(rng.normal(), 5));
  const expression = drawExpression(rng, model.expressionNames);

  const [y0, y1] = YAW_RANGES[yawBin];
  const yaw = round(uniform(rng, y0, y1) * (rng.next() < 0.5 ? -1 : 1), 4);
  const pose: PoseAngles = { yaw, pitch: round(uniform(rng, -PITCH_MAX, PITCH_MAX), 4), roll: round(uniform(rng, -ROLL_MAX, ROLL_MAX), 4) };

  // Phone portrait: horizontal field of view 35–60°, the face 40–60 % of the image height, framed off-centre a bit.
  const fov = uniform(rng, 35, 60) * (Math.PI / 180);
  const focal = round(width / 2 / Math.tan(fov / 2), 4);
  const faceFraction = round(uniform(rng, 0.4, 0.6), 4);
  const distance = (focal * FRAMING_HEIGHT_CM) / (faceFraction * height);
  // Put the landmarks' centroid (rotated) at the image point (cx + ox, cy + oy).
  const R = rotationFromPose(pose);
  const params = { identity, expression: model.expressionNames.map((n) => expression[n] ?? 0) };
  const lm = landmarkPositions(model, params, model.landmarks.landmarks68);
  const c = [0, 0, 0];
  for (let k = 0; k < 68; k++) for (let j = 0; j < 3; j++) c[j] += lm[3 * k + j] / 68;
  const rc = [0, 1, 2].map((i) => R[3 * i] * c[0] + R[3 * i + 1] * c[1] + R[3 * i + 2] * c[2]);
  const ox = uniform(rng, -0.08, 0.08) * width, oy = uniform(rng, -0.08, 0.08) * height;
  // Camera point of the centroid: (rc.x + tx, −rc.y + ty, −rc.z + tz), projected to (ox, oy) from the centre.
  const tz = distance + rc[2];
  const translation: [number, number, number] = [
    round((ox * distance) / focal - rc[0], 5),
    round((oy * distance) / focal + rc[1], 5),
    round(tz, 5),
  ];
  const camera: CameraParams = {
    rotation: Array.from(axisAngleFromRotation(R), (v) => round(v, 8)) as [number, number, number],
    translation,
    focal,
    principal: [(width - 1) / 2, (height - 1) / 2],
    width,
    height,
  };

  // A key light in front of the face, somewhere on the camera's side, warm to cool; ambient fill.
  const az = uniform(rng, -1.1, 1.1), el = uniform(rng, -0.3, 0.9), lightDistance = uniform(rng, 60, 150);
  const head = [translation[0], translation[1], translation[2]];
  const tint = uniform(rng, -0.12, 0.12), strength = uniform(rng, 0.55, 0.95), ambient = uniform(rng, 0.2, 0.45);
  const light: SynthLight = {
    position: [
      round(head[0] + lightDistance * Math.sin(az) * Math.cos(el), 3),
      round(head[1] - lightDistance * Math.sin(el), 3),
      round(head[2] - lightDistance * Math.cos(az) * Math.cos(el), 3),
    ],
    color: [round(strength * (1 + tint), 4), round(strength, 4), round(strength * (1 - tint), 4)],
    ambient: [round(ambient * (1 + tint / 2), 4), round(ambient, 4), round(ambient * (1 - tint / 2), 4)],
    specular: round(uniform(rng, 0.05, 0.25), 4),
    shininess: round(uniform(rng, 10, 30), 2),
  };

  const skin = jitter3(rng, mix3(SKIN_LIGHT, SKIN_DARK, rng.next()), 0.03);
  const appearance: SynthAppearance = {
    skin,
    lips: jitter3(rng, [skin[0] * 0.82, skin[1] * 0.55, skin[2] * 0.6], 0.02),
    brows: jitter3(rng, mix3(pick(rng, HAIR), [0, 0, 0], 0.3), 0.02),
    hair: rng.next() < 0.12 ? null : jitter3(rng, pick(rng, HAIR), 0.03),
    iris: jitter3(rng, pick(rng, IRIS), 0.03),
    noiseSeed: (rng.next() * 2 ** 32) >>> 0,
  };

  const bgColor = (): [number, number, number] => jitter3(rng, [rng.next(), rng.next(), rng.next()], 0);
  const background: SynthBackground = {
    seed: (rng.next() * 2 ** 32) >>> 0,
    colors: [bgColor(), bgColor()],
    angle: round(uniform(rng, 0, 2 * Math.PI), 4),
    noise: round(uniform(rng, 0.1, 0.4), 4),
    blobs: randInt(rng, 7),
  };

  return { index, sampleSeed: sampleSeedValue, yawBin, identity, expression, pose, camera, faceFraction, light, appearance, background };
}
