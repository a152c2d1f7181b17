/** ganfit's library API: the same pieces the CLI composes. */
export { initEngine, tf, type BackendName } from './engine/index.js';
export { decodeImage, encodePng, type DecodedImage, type RgbImage } from './io/image.js';
export { GanfitError, ExitCode, exitCodeOf } from './io/errors.js';
export { loadFaceModel, parseFaceModel } from './model/load.js';
export { meshFromParams, modelPositions, arkitName } from './model/mesh.js';
export type { FaceModel, Mesh, ShapeParams } from './model/types.js';
export { loadDetector, selectFace, type Detector, type DetectedFace } from './detect/index.js';
export { render, rasterize, interpolate, sampleTexture, antialias } from './render/index.js';
export { fitLandmarks, defaultLandmarkFitConfig, type LandmarkFitConfig, type LandmarkFitResult } from './fit/landmark-fit.js';
export { createFitter, type Fitter, type FitOptions, type FitOutcome, type FitRecord } from './fit/pipeline.js';
export { writeFitOutputs, renderFit } from './export/result-files.js';
export { exportObj, exportGlb } from './export/index.js';
