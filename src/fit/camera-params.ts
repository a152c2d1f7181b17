/** The fitted camera as plain numbers (JSON-ready, result.json `params.camera`). */

/** Perspective camera, docs/conventions.md "Camera space". */
export interface CameraParams {
  /** Axis-angle rotation R(pose) in model axes (radians). */
  rotation: [number, number, number];
  /** Translation t in camera space, centimetres. */
  translation: [number, number, number];
  /** Focal length in pixels. */
  focal: number;
  /** Principal point in pixels. */
  principal: [number, number];
  /** Image size the camera projects into. */
  width: number;
  height: number;
}

