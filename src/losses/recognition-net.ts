/**
 * face-api's face-recognition network (a dlib-style ResNet-34 variant: 150×150×3 → 128-d descriptor), rebuilt as
 * a tfjs function from the weights shipped in @vladmandic/face-api/model/face_recognition_model*.
 *
 * Built for use inside a loss: every convolution is `conv2dWithFastInputGrad`, so backward computes the gradient
 * with respect to the input image only (weights are constants, no Conv2DBackpropFilter). Each conv layer's
 * "scale" layer (per-channel affine) is folded into the conv filter and bias, and the input normalisation
 * ((x − mean RGB) / 255) into the first (valid-padded, hence exactly foldable) convolution.
 *
 * Architecture, as in face-api's FaceRecognitionNet.forwardInput:
 *   conv7×7/2 valid → 32, relu, maxpool 3/2 valid                      (150 → 72 → 35)
 *   3 × residual(32)          → feature 'conv32'    [B, 35, 35, 32]
 *   residualDown(64)  + 3 × residual(64)  → 'conv64'  [B, 17, 17, 64]
 *   residualDown(128) + 2 × residual(128) → 'conv128' [B, 8, 8, 128]
 *   residualDown(256) + 2 × residual(256) → 'conv256' [B, 4, 4, 256]
 *   residualDown(256) → 'conv256_out' [B, 2, 2, 256] → spatial mean → fc 256×128 → embedding (not normalised)
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { tf } from '../engine/index.js';
import { conv2dWithFastInputGrad } from '../engine/kernels/conv2d-fast-input-grad.js';

/** Names of the intermediate activations returned by `embed`, shallow to deep. */
export const RECOGNITION_FEATURES = ['conv32', 'conv64', 'conv128', 'conv256', 'conv256_out'] as const;
export type RecognitionFeature = (typeof RECOGNITION_FEATURES)[number];

/** Side of the square input chip. */
export const RECOGNITION_INPUT_SIZE = 150;

/** face-api's per-channel input mean, in 0..255 units. */
const MEAN_RGB = [122.782, 117.001, 104.298] as const;

export interface EmbedOptions {
  /**
   * Value range of the input pixels: 255 (default; 0..255, what face-api feeds) or 1 (0..1, e.g. renders).
   * Both give the same embedding for the same picture.
   */
  range?: 1 | 255;
}

export type EmbedResult = {
  /** [B, 128] raw descriptor (face-api's `computeFaceDescriptor` output; not unit length). */
  embedding: tf.Tensor2D;
  /** Intermediate activations after each residual stage, keyed by `RECOGNITION_FEATURES`. */
  features: Record<RecognitionFeature, tf.Tensor4D>;
};

export interface RecognitionNet {
  /**
   * Embed RGB images [B, 150, 150, 3] (float, range per `options.range`, default 0..255). Differentiable with
   * respect to `images` only. The caller disposes the returned tensors (or runs inside tf.tidy).
   */
  embed(images: tf.Tensor4D, options?: EmbedOptions): EmbedResult;
  /** Free the weights. */
  dispose(): void;
}

interface ConvLayer {
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
}
interface ResidualLayer {
  conv1: ConvLayer;
  conv2: ConvLayer;
}

/** Directory of face-api's bundled weights. */
export function faceApiModelDirectory(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

async function loadWeightMap(dir: string): Promise<tf.NamedTensorMap> {
  const manifest = JSON.parse(
    await readFile(path.join(dir, 'face_recognition_model-weights_manifest.json'), 'utf8'),
  ) as tf.io.WeightsManifestConfig;
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of manifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(await readFile(path.join(dir, p)));
  }
  const all = Buffer.concat(buffers);
  const arrayBuffer = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.io.decodeWeights(arrayBuffer, specs);
}

/** Fold `conv → +bias → ·scale + shift` into one conv: filter·scale, bias·scale + shift. */
function foldConv(w: tf.NamedTensorMap, prefix: string): ConvLayer {
  return tf.tidy(() => {
    const scale = w[`${prefix}/scale/weights`]!;
    const shift = w[`${prefix}/scale/biases`]!;
    const filter = tf.mul(w[`${prefix}/conv/filters`]!, scale) as tf.Tensor4D;
    const bias = tf.add(tf.mul(w[`${prefix}/conv/bias`]!, scale), shift) as tf.Tensor1D;
    return { filter, bias };
  });
}

function residualParams(w: tf.NamedTensorMap, prefix: string): ResidualLayer {
  return { conv1: foldConv(w, `${prefix}/conv1`), conv2: foldConv(w, `${prefix}/conv2`) };
}

function residual(x: tf.Tensor4D, p: ResidualLayer): tf.Tensor4D {
  const a = conv2dWithFastInputGrad(x, p.conv1.filter, 1, 'same', { bias: p.conv1.bias, activation: 'relu' });
  const b = conv2dWithFastInputGrad(a, p.conv2.filter, 1, 'same', { bias: p.conv2.bias });
  return tf.relu(tf.add(b, x));
}

function residualDown(x: tf.Tensor4D, p: ResidualLayer): tf.Tensor4D {
  const a = conv2dWithFastInputGrad(x, p.conv1.filter, 2, 'valid', { bias: p.conv1.bias, activation: 'relu' });
  let b = conv2dWithFastInputGrad(a, p.conv2.filter, 1, 'same', { bias: p.conv2.bias });
  let pooled = tf.avgPool(x, 2, 2, 'valid') as tf.Tensor4D;
  // face-api pads the conv branch with a zero row and column when the pooled branch is larger (odd sizes).
  const dh = pooled.shape[1] - b.shape[1];
  const dw = pooled.shape[2] - b.shape[2];
  if (dh > 0 || dw > 0) b = tf.pad(b, [[0, 0], [0, dh], [0, dw], [0, 0]]);
  const dc = b.shape[3] - pooled.shape[3];
  if (dc > 0) pooled = tf.pad(pooled, [[0, 0], [0, 0], [0, 0], [0, dc]]);
  return tf.relu(tf.add(pooled, b));
}

/** Load the network from face-api's bundled weights (no network access). */
export async function loadRecognitionNet(modelDir = faceApiModelDirectory()): Promise<RecognitionNet> {
  const w = await loadWeightMap(modelDir);
  const first = foldConv(w, 'conv32_down');
  // Input normalisation folded into the first conv (valid padding: exact). For range r:
  // conv((r'·x − mean)/255) = conv_{W·r'/255}(x) − Σ W·mean/255, with r' = 255/r.
  const meanTerm = tf.tidy(() =>
    tf.sum(tf.mul(first.filter, tf.reshape(tf.tensor1d(MEAN_RGB.map((m) => m / 255)), [1, 1, 3, 1])), [0, 1, 2]),
  );
  const firstBias = tf.sub(first.bias, meanTerm) as tf.Tensor1D;
  const firstFilter: Record<1 | 255, tf.Tensor4D> = {
    1: first.filter,
    255: tf.div(first.filter, 255) as tf.Tensor4D,
  };
  const names = [
    'conv32_1', 'conv32_2', 'conv32_3', 'conv64_down', 'conv64_1', 'conv64_2', 'conv64_3',
    'conv128_down', 'conv128_1', 'conv128_2', 'conv256_down', 'conv256_1', 'conv256_2', 'conv256_down_out',
  ] as const;
  const res = Object.fromEntries(names.map((n) => [n, residualParams(w, n)])) as Record<(typeof names)[number], ResidualLayer>;
  const fc = tf.clone(w['fc']!) as tf.Tensor2D;
  tf.dispose(Object.values(w));
  meanTerm.dispose();
  first.bias.dispose();

  const all: tf.Tensor[] = [firstBias, firstFilter[1], firstFilter[255], fc];
  for (const r of Object.values(res)) all.push(r.conv1.filter, r.conv1.bias, r.conv2.filter, r.conv2.bias);

  return {
    embed(images: tf.Tensor4D, options: EmbedOptions = {}): EmbedResult {
      const range = options.range ?? 255;
      if (images.shape[1] !== RECOGNITION_INPUT_SIZE || images.shape[2] !== RECOGNITION_INPUT_SIZE || images.shape[3] !== 3) {
        throw new Error(`recognition net expects [B, 150, 150, 3], got [${images.shape.join(', ')}]`);
      }
      return tf.tidy((): EmbedResult => {
        let out = conv2dWithFastInputGrad(images, firstFilter[range], 2, 'valid', { bias: firstBias, activation: 'relu' });
        out = tf.maxPool(out, 3, 2, 'valid');
        out = residual(out, res.conv32_1);
        out = residual(out, res.conv32_2);
        const conv32 = residual(out, res.conv32_3);
        out = residualDown(conv32, res.conv64_down);
        out = residual(out, res.conv64_1);
        out = residual(out, res.conv64_2);
        const conv64 = residual(out, res.conv64_3);
        out = residualDown(conv64, res.conv128_down);
        out = residual(out, res.conv128_1);
        const conv128 = residual(out, res.conv128_2);
        out = residualDown(conv128, res.conv256_down);
        out = residual(out, res.conv256_1);
        const conv256 = residual(out, res.conv256_2);
        const conv256_out = residualDown(conv256, res.conv256_down_out);
        const embedding: tf.Tensor2D = tf.matMul(tf.mean(conv256_out, [1, 2]) as tf.Tensor2D, fc);
        return { embedding, features: { conv32, conv64, conv128, conv256, conv256_out } };
      });
    },
    dispose(): void {
      tf.dispose(all);
    },
  };
}
