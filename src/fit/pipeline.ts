/**
 * Photo → fitted face: detection, the landmark stage, and the projected texture. Produces parameters and
 * arrays only; src/export turns them into files.
 */
import { initEngine, type BackendName } from '../engine/index.js';
import { noFaceError } from '../io/errors.js';
import { toOriginalPixels, type DecodedImage } from '../io/image.js';
import { loadDetector, selectFace, type Detector, type DetectorOptions } from '../detect/index.js';
import { loadFaceModel } from '../model/load.js';
import { modelPositions } from '../model/mesh.js';
import type { FaceModel } from '../model/types.js';
import { rotationMatrix64, type PoseAngles } from '../render/camera.js';
import { assembleAtlas, PROJECTED_TILES } from '../texture/atlas.js';
import { unwrapSettings, unwrapTexture, type UnwrapCamera } from '../texture/unwrap.js';
import type { CameraParams } from './camera-params.js';
import { defaultLandmarkFitConfig, fitLandmarks, type LandmarkFitConfig, type LandmarkFitResult } from './landmark-fit.js';

export const GANFIT_VERSION = '0.1.0';

export interface FitterOptions {
  backend?: BackendName;
  detector?: DetectorOptions;
  /** Model asset path; default the committed ICT-FaceKit asset. */
  modelPath?: string;
}

export interface FitOptions {
  /** Which detected face (0 = largest). */
  face?: number;
  /** Seed of every random choice (the landmark stage itself is deterministic). */
  seed?: number;
  landmarkFit?: Partial<LandmarkFitConfig>;
  /** Side of each UV tile of the texture atlas, texels. */
  textureResolution?: number;
  /** Skip the texture (e.g. for evaluation). */
  texture?: boolean;
  /** Called when a phase starts, for progress display. */
  onPhase?: (phase: FitPhase) => void;
}

export type FitPhase = 'detect' | 'landmarks' | 'texture';

/** The JSON record of one fit (result.json). Pixels are those of the original image, 0-based centres. */
export interface FitRecord {
  version: string;
  image: { path?: string; width: number; height: number };
  face: { box: [number, number, number, number]; score: number; index: number; count: number; note?: string };
  detected: { landmarks2d: [number, number][] };
  fit: { landmarks2d: [number, number][]; landmarks3d: [number, number, number][] };
  pose: PoseAngles;
  params: {
    identity: number[];
    expression: Record<string, number>;
    camera: CameraParams;
  };
  losses: { landmarkRmsPixels: number; landmarkRmsNormalised: number };
  timings: Record<string, number>;
}

/** Everything a fit produced: the record and the arrays the exporters need (in the decoded image's pixels). */
export interface FitOutcome {
  record: FitRecord;
  model: FaceModel;
  /** Fitted model-space positions, V×3, cm. */
  positions: Float32Array;
  /** Camera in the decoded image's pixels (what the renderer needs to redraw the photo's view). */
  camera: CameraParams;
  /** Texture atlas (src/texture/atlas.ts), or null when not asked for. */
  texture: { data: Uint8Array; width: number; height: number } | null;
  /** The detected 68 landmarks in the decoded image's pixels. */
  detected: Float32Array;
  /** How much of the face tile was seen directly in the photo. */
  observedFraction: number;
  landmark: LandmarkFitResult;
}

export interface Fitter {
  model: FaceModel;
  detector: Detector;
  fit(image: DecodedImage, options?: FitOptions): Promise<FitOutcome>;
}

const round = (v: number, digits = 3) => Number(v.toFixed(digits));
const pairs = (a: ArrayLike<number>, digits = 3): [number, number][] =>
  Array.from({ length: a.length / 2 }, (_, i) => [round(a[2 * i], digits), round(a[2 * i + 1], digits)]);

/** Camera rotation (model → camera axes) F·R as the unwrapper wants it. */
export function cameraRotationMatrix(camera: CameraParams): Float64Array {
  const r = rotationMatrix64(camera.rotation);
  return new Float64Array([r[0], r[1], r[2], -r[3], -r[4], -r[5], -r[6], -r[7], -r[8]]);
}

/** Map a camera fitted on a downscaled image to the original image's pixels. */
function cameraToOriginal(camera: CameraParams, image: DecodedImage): CameraParams {
  const sx = image.scaleX, sy = image.scaleY;
  return {
    ...camera,
    focal: camera.focal / sx,
    principal: [(camera.principal[0] + 0.5) / sx - 0.5, (camera.principal[1] + 0.5) / sy - 0.5],
    width: image.originalWidth,
    height: image.originalHeight,
  };
}

/** Load the model and the detector once; fit many photos. */
export async function createFitter(options: FitterOptions = {}): Promise<Fitter> {
  await initEngine({ backend: options.backend });
  const [model, detector] = await Promise.all([loadFaceModel(options.modelPath), loadDetector(options.detector)]);
  return {
    model,
    detector,
    fit: (image, fitOptions) => fitImage(model, detector, image, fitOptions),
  };
}

async function fitImage(model: FaceModel, detector: Detector, image: DecodedImage, options: FitOptions = {}): Promise<FitOutcome> {
  const timings: Record<string, number> = {};
  const timed = async <T>(phase: FitPhase, f: () => T | Promise<T>): Promise<T> => {
    options.onPhase?.(phase);
    const start = performance.now();
    const value = await f();
    timings[phase] = Math.round(performance.now() - start);
    return value;
  };

  const faces = await timed('detect', () => detector.detect(image));
  if (faces.length === 0) throw noFaceError(`${image.name ?? 'image'}: no face found`);
  const choice = selectFace(faces, options.face ?? 0);

  const config = { ...defaultLandmarkFitConfig, ...options.landmarkFit };
  const landmark = await timed('landmarks', () =>
    fitLandmarks(model, { landmarks: choice.face.landmarks, width: image.width, height: image.height }, config),
  );
  const positions = modelPositions(model, { identity: Float32Array.from(landmark.identity), expression: Float32Array.from(landmark.expression) });

  let texture: FitOutcome['texture'] = null;
  let observedFraction = 0;
  if (options.texture !== false) {
    texture = await timed('texture', () => {
      const R = options.textureResolution ?? 512;
      const cam: UnwrapCamera = {
        rotation: cameraRotationMatrix(landmark.camera),
        translation: landmark.camera.translation,
        focal: landmark.camera.focal,
        principal: landmark.camera.principal,
      };
      const tiles = PROJECTED_TILES.map(({ tile, parts }) => {
        const result = unwrapTexture(model, positions, image, cam, {
          resolution: R, tile, parts, ...unwrapSettings(landmark.faceSize),
        });
        if (tile === 0) observedFraction = result.observedFraction;
        return result.rgb;
      });
      return assembleAtlas(tiles, R);
    });
  }

  const expression: Record<string, number> = {};
  model.expressionNames.forEach((name, i) => (expression[name] = round(landmark.expression[i], 4)));
  const box = choice.face.box;
  const [bx, by] = toOriginalPixels([box[0] + 0.5, box[1] + 0.5], image);
  const [bx2, by2] = toOriginalPixels([box[0] + box[2] + 0.5, box[1] + box[3] + 0.5], image);
  const record: FitRecord = {
    version: GANFIT_VERSION,
    image: { path: image.name, width: image.originalWidth, height: image.originalHeight },
    face: {
      box: [round(bx - 0.5, 2), round(by - 0.5, 2), round(bx2 - bx, 2), round(by2 - by, 2)],
      score: round(choice.face.score, 4),
      index: choice.index,
      count: faces.length,
      ...(choice.note ? { note: choice.note } : {}),
    },
    detected: { landmarks2d: pairs(toOriginalPixels(Array.from(choice.face.landmarks), image)) },
    fit: {
      landmarks2d: pairs(toOriginalPixels(Array.from(landmark.landmarks2d), image)),
      landmarks3d: Array.from({ length: 68 }, (_, k) => [
        round(landmark.landmarks3d[3 * k]), round(landmark.landmarks3d[3 * k + 1]), round(landmark.landmarks3d[3 * k + 2]),
      ]),
    },
    pose: { yaw: round(landmark.pose.yaw, 2), pitch: round(landmark.pose.pitch, 2), roll: round(landmark.pose.roll, 2) },
    params: {
      identity: Array.from(landmark.identity, (v) => round(v, 4)),
      expression,
      camera: cameraToOriginal(landmark.camera, image),
    },
    losses: { landmarkRmsPixels: round(landmark.rmsPixels / image.scaleX, 3), landmarkRmsNormalised: round(landmark.rmsNormalised, 5) },
    timings,
  };
  return { record, model, positions, camera: landmark.camera, texture, detected: choice.face.landmarks, observedFraction, landmark };
}
