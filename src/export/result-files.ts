/**
 * A fit's files: result.json, mesh.obj + mesh.mtl + texture.png, face.glb, render.png, overlay.png.
 * Everything is staged and moved into place together (src/io/atomic.ts), so a failure leaves no partial output.
 */
import { tf } from '../engine/index.js';
import { withOutput } from '../io/atomic.js';
import { encodePng, type DecodedImage, type RgbImage } from '../io/image.js';
import { render } from '../render/render.js';
import { atlasUvs } from '../texture/atlas.js';
import type { FitOutcome } from '../fit/pipeline.js';
import type { Mesh } from '../model/types.js';
import { exportObj } from './obj.js';
import { exportGlb } from './glb.js';

export const RESULT_FILES = ['result.json', 'mesh.obj', 'mesh.mtl', 'texture.png', 'face.glb', 'render.png', 'overlay.png'] as const;

/**
 * Draw the textured model with the fitted camera at the decoded image's size.
 * Returns the RGB render on black and its coverage (0..1 per pixel).
 */
export function renderFit(outcome: FitOutcome, image: RgbImage): { rgb: Uint8Array; alpha: Float32Array } {
  if (!outcome.texture) throw new Error('renderFit needs the texture (fit with texture enabled)');
  const { model, camera, texture } = outcome;
  return tf.tidy(() => {
    const rendered = render(
      {
        positions: tf.tensor2d(outcome.positions, [model.vertexCount, 3]),
        triangles: model.triangles,
        uvs: tf.tensor2d(atlasUvs(model), [model.uvs.length / 2, 2]),
        uvTriangles: model.uvTriangles,
      },
      { kind: 'perspective', rotation: camera.rotation, translation: camera.translation, focal: camera.focal, principal: camera.principal },
      null,
      tf.div(tf.tensor3d(texture.data, [texture.height, texture.width, 3], 'float32'), 255) as tf.Tensor3D,
      { resolution: [image.height, image.width] },
    );
    const rgb = Uint8Array.from(rendered.image.dataSync(), (v) => Math.max(0, Math.min(255, Math.round(v * 255))));
    return { rgb, alpha: rendered.alpha.dataSync() as Float32Array };
  });
}

/** The render over the photo, with the detected (red) and fitted (green) landmarks. */
export function overlayImage(photo: RgbImage, rgb: Uint8Array, alpha: Float32Array, detected: ArrayLike<number>, fitted: ArrayLike<number>): RgbImage {
  const out = Uint8Array.from(photo.data);
  for (let i = 0; i < photo.width * photo.height; i++) {
    const a = alpha[i] * 0.85;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(out[i * 3 + c] * (1 - a) + rgb[i * 3 + c] * a);
  }
  const radius = Math.max(1, Math.round(Math.max(photo.width, photo.height) / 300));
  const dot = (x: number, y: number, colour: [number, number, number]) => {
    for (let dy = -radius; dy <= radius; dy++) {
      for (let dx = -radius; dx <= radius; dx++) {
        const px = Math.round(x) + dx, py = Math.round(y) + dy;
        if (px < 0 || py < 0 || px >= photo.width || py >= photo.height) continue;
        out.set(colour, (py * photo.width + px) * 3);
      }
    }
  };
  for (let k = 0; k < detected.length / 2; k++) dot(detected[2 * k], detected[2 * k + 1], [255, 40, 40]);
  for (let k = 0; k < fitted.length / 2; k++) dot(fitted[2 * k], fitted[2 * k + 1], [40, 255, 80]);
  return { width: photo.width, height: photo.height, data: out };
}

/** Write every file of a fit into `dir` (created if needed) atomically. */
export async function writeFitOutputs(dir: string, outcome: FitOutcome, image: DecodedImage): Promise<void> {
  if (!outcome.texture) throw new Error('writeFitOutputs needs the texture');
  const { model, positions, texture, landmark } = outcome;
  const texturePng = await encodePng({ width: texture.width, height: texture.height, data: texture.data });
  const uvs = atlasUvs(model);
  const mesh: Mesh = { positions, triangles: model.triangles, uvs, uvTriangles: model.uvTriangles, parts: model.parts };
  const { obj, mtl } = exportObj(mesh, 'texture.png');
  const glb = await exportGlb({ ...model, uvs }, {
    identity: Float32Array.from(landmark.identity),
    expression: Float32Array.from(landmark.expression),
  }, texturePng);
  const { rgb, alpha } = renderFit(outcome, image);
  const renderPng = await encodePng({ width: image.width, height: image.height, data: rgb });
  const overlayPng = await encodePng(overlayImage(image, rgb, alpha, outcome.detected, landmark.landmarks2d));
  await withOutput(dir, async (out) => {
    await out.write('result.json', JSON.stringify(outcome.record, null, 2) + '\n');
    await out.write('mesh.obj', obj);
    await out.write('mesh.mtl', mtl);
    await out.write('texture.png', texturePng);
    await out.write('face.glb', glb);
    await out.write('render.png', renderPng);
    await out.write('overlay.png', overlayPng);
  });
}
