/**
 * src/model: the ICT-FaceKit morphable model — importer, compact asset, loader, evaluation.
 * The tfjs version (`tensor-model.ts`) is not re-exported here, so importing the model does not load tfjs.
 */
export type { FaceModel, Mesh, ShapeParams, PartRange, LandmarkDefinition } from './types.js';
export {
  ASSET_MAGIC, ASSET_VERSION, DEFAULT_DROP_THRESHOLD, encodeFaceModel, parseFaceModel, modeSlices, FaceModelFormatError,
  type FaceModelSource, type EncodeOptions,
} from './asset-format.js';
export { loadFaceModel, readFaceModelBytes, DEFAULT_MODEL_URL } from './load.js';
export {
  meshFromParams, modelPositions, vertexNormals, landmarkPositions, arkitName, arkitTargets, ARKIT_NAMES, ARKIT_COMBINED,
  type ArkitTarget,
} from './mesh.js';
