/**
 * Face-model timings: asset load + parse, meshFromParams (all 153 modes), landmarkPositions (68 points), vertex
 * normals, and the tfjs version on the 68 landmarks (forward, forward + gradient). wasm backend, one thread.
 * Run alone: `node --import tsx bench/model.ts`.
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tf, initEngine } from '../src/engine/index.js';
import { loadFaceModel, DEFAULT_MODEL_URL } from '../src/model/load.js';
import { meshFromParams, landmarkPositions, vertexNormals } from '../src/model/mesh.js';
import { toTensors, vertexPositions, disposeTensors } from '../src/model/tensor-model.js';
import { medianMs } from './timing.js';

export interface ModelBench {
  assetBytes: number;
  /** Median milliseconds per call, after one warm-up call. */
  ms: {
    load: number;
    meshFromParams: number;
    landmarkPositions68: number;
    vertexNormals: number;
    tensorLandmarks68: number;
    tensorLandmarks68Grad: number;
  };
}


export async function benchModel(runs = 7): Promise<ModelBench> {
  await initEngine();
  const model = await loadFaceModel();
  const params = {
    identity: Float32Array.from({ length: 100 }, (_, i) => Math.sin(i)),
    expression: Float32Array.from({ length: 53 }, (_, i) => (i % 4) / 4),
  };
  const mesh = meshFromParams(model, params);
  const lm = model.landmarks.landmarks68;
  const sub = toTensors(model, lm);
  const id = tf.tensor1d(params.identity), ex = tf.tensor1d(params.expression);
  const grad = tf.grads((a: tf.Tensor, b: tf.Tensor) => vertexPositions(sub, a as tf.Tensor1D, b as tf.Tensor1D).square().sum());
  const ms = {
    load: await medianMs(runs, () => loadFaceModel()),
    meshFromParams: await medianMs(runs, () => meshFromParams(model, params)),
    landmarkPositions68: await medianMs(runs * 10, () => landmarkPositions(model, params, lm)),
    vertexNormals: await medianMs(runs, () => vertexNormals(mesh.positions, mesh.triangles)),
    tensorLandmarks68: await medianMs(runs * 10, () => tf.tidy(() => vertexPositions(sub, id, ex).dataSync())),
    tensorLandmarks68Grad: await medianMs(runs * 10, () => tf.tidy(() => grad([id, ex]).map((g) => g.dataSync()))),
  };
  disposeTensors(sub);
  tf.dispose([id, ex]);
  return { assetBytes: statSync(fileURLToPath(DEFAULT_MODEL_URL)).size, ms };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await benchModel(), null, 2));
}
