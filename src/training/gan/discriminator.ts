/**
 * The texture GAN's discriminator D: [B, R, R, 4] (RGB in [−1, 1] + visibility mask) → logits [B, 1].
 *
 *   fromRGB: conv3×3 (4 → C_R) at R, leaky ReLU
 *   per level r = R … 8: 2×2 average pool → conv3×3 (C_r → C_{r/2}) at r/2, leaky ReLU
 *   at 4×4: minibatch standard deviation (+1 channel) → conv3×3 → dense → dense → 1
 *
 * Pooling before each convolution keeps every level at about the same cost (channels double as resolution
 * halves), with only the first 3×3 convolution at full resolution, which still sees the finest texture detail.
 * Equalised learning rate as in the generator.
 */
import { tf } from '../../engine/index.js';
import type { ParamMap, ParamSpec } from '../../texture/gan.js';
import { convSame } from '../../texture/ops.js';

export interface DiscriminatorConfig {
  resolution: number;
  /** Channels per level from R×R down to 4×4 (log2(R) − 1 entries). */
  channels: number[];
}

export const DEFAULT_DISCRIMINATOR: DiscriminatorConfig = {
  resolution: 256,
  channels: [8, 16, 32, 64, 128, 256, 256],
};

const IN_CHANNELS = 4;

function levels(config: DiscriminatorConfig): number[] {
  const n = Math.log2(config.resolution);
  if (!Number.isInteger(n) || n < 3 || config.channels.length !== n - 1) {
    throw new Error(`discriminator: resolution ${config.resolution} needs ${n - 1} channel entries, got ${config.channels.length}`);
  }
  return Array.from({ length: n - 1 }, (_, i) => config.resolution >> i);
}

export function discriminatorParamSpecs(config: DiscriminatorConfig): ParamSpec[] {
  const res = levels(config);
  const ch = config.channels;
  const g = Math.SQRT2;
  const specs: ParamSpec[] = [
    { name: 'from/w', shape: [3, 3, IN_CHANNELS, ch[0]!], scale: g / Math.sqrt(9 * IN_CHANNELS), init: 'normal' },
    { name: 'from/b', shape: [ch[0]!], scale: 1, init: 'zeros' },
  ];
  for (let i = 0; i + 1 < res.length; i++) {
    const r = res[i + 1]!;
    specs.push({ name: `r${r}/w`, shape: [3, 3, ch[i]!, ch[i + 1]!], scale: g / Math.sqrt(9 * ch[i]!), init: 'normal' });
    specs.push({ name: `r${r}/b`, shape: [ch[i + 1]!], scale: 1, init: 'zeros' });
  }
  const c4 = ch[ch.length - 1]!;
  specs.push({ name: 'out/conv/w', shape: [3, 3, c4 + 1, c4], scale: g / Math.sqrt(9 * (c4 + 1)), init: 'normal' });
  specs.push({ name: 'out/conv/b', shape: [c4], scale: 1, init: 'zeros' });
  specs.push({ name: 'out/fc/w', shape: [16 * c4, c4], scale: g / Math.sqrt(16 * c4), init: 'normal' });
  specs.push({ name: 'out/fc/b', shape: [c4], scale: 1, init: 'zeros' });
  specs.push({ name: 'out/logit/w', shape: [c4, 1], scale: 1 / Math.sqrt(c4), init: 'normal' });
  specs.push({ name: 'out/logit/b', shape: [1], scale: 1, init: 'zeros' });
  return specs;
}

/** D(x): x [B, R, R, 4] → logits [B, 1]. Differentiable with respect to x and the parameters. */
export function discriminatorForward(config: DiscriminatorConfig, params: ParamMap, x: tf.Tensor4D): tf.Tensor2D {
  const specs = new Map(discriminatorParamSpecs(config).map((s) => [s.name, s]));
  const get = (name: string): tf.Tensor => {
    const t = params[name];
    if (!t) throw new Error(`discriminator parameter '${name}' missing`);
    const s = specs.get(name)!.scale;
    return s === 1 ? t : tf.mul(t, s);
  };
  const res = levels(config);
  const b = x.shape[0];
  return tf.tidy(() => {
    let h = tf.leakyRelu(tf.add(convSame(x, get('from/w') as tf.Tensor4D), get('from/b')), 0.2) as tf.Tensor4D;
    for (let i = 0; i + 1 < res.length; i++) {
      const r = res[i + 1]!;
      h = tf.avgPool(h, 2, 2, 'valid');
      h = tf.leakyRelu(tf.add(convSame(h, get(`r${r}/w`) as tf.Tensor4D), get(`r${r}/b`)), 0.2) as tf.Tensor4D;
    }
    // Minibatch standard deviation: one feature, the mean over features of the std over the batch.
    const mean = tf.mean(h, 0, true);
    const std = tf.sqrt(tf.add(tf.mean(tf.square(tf.sub(h, mean)), 0, true), 1e-8));
    const s = tf.mul(tf.ones([b, 4, 4, 1]), tf.mean(std));
    h = tf.concat([h, s], 3) as tf.Tensor4D;
    h = tf.leakyRelu(tf.add(convSame(h, get('out/conv/w') as tf.Tensor4D), get('out/conv/b')), 0.2) as tf.Tensor4D;
    const f = tf.reshape(h, [b, -1]) as tf.Tensor2D;
    const fc = tf.leakyRelu(tf.add(tf.matMul(f, get('out/fc/w') as tf.Tensor2D), get('out/fc/b')), 0.2) as tf.Tensor2D;
    return tf.add(tf.matMul(fc, get('out/logit/w') as tf.Tensor2D), get('out/logit/b')) as tf.Tensor2D;
  });
}
