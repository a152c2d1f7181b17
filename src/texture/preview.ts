/**
 * Frontal preview of a UV map (the face tile, docs/conventions.md "UV maps") on the model's mean head: a
 * 256×256 perspective view from the front, one white light at the camera with ambient 0.35, black background.
 * What `ganfit texture sample` writes beside each map and what the texture evaluation shows the face detector
 * (src/eval/texture.ts), so both see the same picture.
 */
import { tf } from '../engine/index.js';
import type { FaceModel } from '../model/types.js';
import { modelPositions } from '../model/mesh.js';
import { modelToCamera, projectToPixels, type Camera } from '../render/camera.js';
import { render } from '../render/render.js';
import type { PointLight } from '../render/shade.js';

/** Side of the preview image, pixels. */
export const PREVIEW_SIZE = 256;

/** The camera: the mean head 90 cm in front of it, centred 2 cm below the model origin (the face fills the view). */
export const PREVIEW_CAMERA: Camera = { kind: 'perspective', rotation: [0, 0, 0], translation: [0, 2, 90], focal: 700 };

/** Neutral light: white, at the camera, ambient 0.35. */
export const PREVIEW_LIGHT: PointLight = { position: [0, 0, 0], color: [1, 1, 1], ambient: [0.35, 0.35, 0.35] };

export interface FrontalPreview {
  readonly width: number;
  readonly height: number;
  /** The mean head's 68 landmarks in the preview image (x0, y0, x1, y1, … in pixels; docs/conventions.md). */
  readonly landmarks: Float32Array;
  /** Render one R×R RGB map (R·R·3 bytes, row 0 = top of the map) → PREVIEW_SIZE² RGB bytes. */
  render(map: Uint8Array, resolution: number): Uint8Array;
  /** Free the mesh tensors. */
  dispose(): void;
}

/** Set up the mean head's face part once; render many maps on it. */
export function createFrontalPreview(model: FaceModel): FrontalPreview {
  const faceParts = model.parts.filter((p) => p.name === 'face');
  const pick = (all: Uint32Array) => Uint32Array.from(faceParts.flatMap((p) => Array.from(all.subarray(3 * p.triangleStart, 3 * p.triangleEnd))));
  const triangles = pick(model.triangles);
  const uvTriangles = pick(model.uvTriangles);
  const positions = tf.tensor2d(modelPositions(model, { identity: [], expression: [] }), [model.vertexCount, 3]);
  const uvs = tf.tensor2d(model.uvs, [model.uvs.length / 2, 2]);
  const mesh = { positions, triangles, uvs, uvTriangles };
  const landmarks = tf.tidy(() => {
    const points = tf.gather(positions, Int32Array.from(model.landmarks.landmarks68));
    return projectToPixels(modelToCamera(points, PREVIEW_CAMERA), PREVIEW_CAMERA, [PREVIEW_SIZE, PREVIEW_SIZE]).dataSync() as Float32Array;
  });
  return {
    width: PREVIEW_SIZE,
    height: PREVIEW_SIZE,
    landmarks,
    render(map, resolution) {
      if (map.length !== resolution * resolution * 3) {
        throw new Error(`frontal preview: map has ${map.length} bytes, expected ${resolution}×${resolution}×3`);
      }
      return tf.tidy(() => {
        const texture = tf.div(tf.tensor3d(map, [resolution, resolution, 3], 'float32'), 255) as tf.Tensor3D;
        const r = render(mesh, PREVIEW_CAMERA, PREVIEW_LIGHT, texture, { resolution: [PREVIEW_SIZE, PREVIEW_SIZE] });
        return Uint8Array.from(r.image.dataSync(), (v) => Math.max(0, Math.min(255, Math.round(v * 255))));
      });
    },
    dispose() {
      positions.dispose();
      uvs.dispose();
    },
  };
}
