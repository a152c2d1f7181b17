/** Face detection and 68-point landmarks. See face-api.ts for the pixel conventions. */
export { loadDetector, selectFace, squareAroundLandmarks } from './face-api.js';
export type { DetectedFace, Detector, DetectorOptions, DetectorKind, FaceChoice } from './face-api.js';
