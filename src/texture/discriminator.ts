/**
 * The texture GAN's discriminator D: [B, R, R, 4] (RGB in [−1, 1] + visibility mask) → logits [B, 1].
 *
 *   fromRGB: conv3×3 (4 → C_R) at R, leaky ReLU
 *   per level r = R … 8: 2×2 average pool → conv3×3 (C_r → C_{r/2}) at r/2, leaky ReLU
 *   at 4×4: minibatch standard deviation (+1 channel) → conv3×3 → dense → dense → 1
 *
 * Pooling before each convolution keeps every level at about the same cost (channels double as resolution
 * halves), with only the first 3×3 convolution at full resolution, which still sees the finest texture detail.
 * Equalised learning rate as in the generator. The same network with 2·latentSize outputs is the VAE-GAN's
 * encoder, shipped with the generator as its amortised inversion (`TextureModel.encode`).
 */
import { tf } from '../engine/index.js';
import type { ParamMap, ParamSpec } from './gan.js';
import { avgPool2, convSame, dense } from './ops.js';

export interface DiscriminatorConfig {
  resolution: number;
  /** Channels per level from R×R down to 4×4 (log2(R) − 1 entries). */
  channels: number[];
  /**
   * Outputs of the last dense layer (default 1, the logit). The VAE-GAN's encoder is this network with
   * 2·latentSize outputs (mean and log-variance) and no minibatch statistics.
   */
  outputs?: number;
  /** The minibatch standard-deviation feature at 4×4 (default true; false for the encoder, per-sample). */
  minibatchStd?: boolean;
}

const IN_CHANNELS = 4;

function levels(config: DiscriminatorConfig): number[] {
  const n = Math.log2(config.resolution);
  if (!Number.isInteger(n) || n < 3 || config.channels.length !== n - 1) {
    throw new Error(`discriminator: resolution ${config.resolution} needs ${n - 1} channel entries, got ${config.channels.length}`);
  }
  return Array.from({ length: n - 1 }, (_, i) => config.resolution >> i);
}

/**
 * The same discriminator at a finer input resolution: one level per doubling is prepended, each with half the
 * channels of the level below it (at least 4), so the added full-resolution levels stay cheap. Used to let D
 * see detail finer than the preset's 64² (e.g. a generator's 256² refiner; docs/texture-gan.md).
 */
export function discriminatorAtResolution(config: DiscriminatorConfig, resolution: number): DiscriminatorConfig {
  levels(config); // throws on a malformed coarse config
  const doublings = Math.log2(resolution / config.resolution);
  if (!Number.isInteger(doublings) || doublings < 0) {
    throw new Error(`discriminator: resolution ${resolution} must be ${config.resolution} times a power of two`);
  }
  const channels = [...config.channels];
  for (let i = 0; i < doublings; i++) channels.unshift(Math.max(4, Math.floor(channels[0]! / 2)));
  return { ...config, resolution, channels };
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
  const cin = c4 + (config.minibatchStd === false ? 0 : 1);
  const outputs = config.outputs ?? 1;
  specs.push({ name: 'out/conv/w', shape: [3, 3, cin, c4], scale: g / Math.sqrt(9 * cin), init: 'normal' });
  specs.push({ name: 'out/conv/b', shape: [c4], scale: 1, init: 'zeros' });
  specs.push({ name: 'out/fc/w', shape: [16 * c4, c4], scale: g / Math.sqrt(16 * c4), init: 'normal' });
  specs.push({ name: 'out/fc/b', shape: [c4], scale: 1, init: 'zeros' });
  specs.push({ name: 'out/logit/w', shape: [c4, outputs], scale: 1 / Math.sqrt(c4), init: 'normal' });
  specs.push({ name: 'out/logit/b', shape: [outputs], scale: 1, init: 'zeros' });
  return specs;
}

/**
 * D(x, m): RGB x [B, R, R, 3] and visibility mask m [B, R, R, 1] → logits [B, outputs]. Differentiable with
 * respect to x, m and the parameters. The first convolution of the 4-channel input is split into an RGB and a
 * mask convolution (the same sum; wasm's channel Concat of the two costs ~10× the convolution).
 */
export function discriminatorForward(config: DiscriminatorConfig, params: ParamMap, x: tf.Tensor4D, mask: tf.Tensor4D): tf.Tensor2D {
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
    const from = get('from/w') as tf.Tensor4D;
    const c0 = from.shape[3];
    const fromRgb = tf.slice(from, [0, 0, 0, 0], [3, 3, 3, c0]) as tf.Tensor4D;
    const fromMask = tf.slice(from, [0, 0, 3, 0], [3, 3, 1, c0]) as tf.Tensor4D;
    let h = tf.leakyRelu(tf.add(tf.add(convSame(x, fromRgb), convSame(mask, fromMask)), get('from/b')), 0.2) as tf.Tensor4D;
    for (let i = 0; i + 1 < res.length; i++) {
      const r = res[i + 1]!;
      h = avgPool2(h);
      h = tf.leakyRelu(tf.add(convSame(h, get(`r${r}/w`) as tf.Tensor4D), get(`r${r}/b`)), 0.2) as tf.Tensor4D;
    }
    const outW = get('out/conv/w') as tf.Tensor4D;
    const c4 = h.shape[3];
    let pre = convSame(h, tf.slice(outW, [0, 0, 0, 0], [3, 3, c4, c4]) as tf.Tensor4D);
    if (config.minibatchStd !== false) {
      // Minibatch standard deviation: one feature, the mean over features of the std over the batch, as an extra
      // constant input channel (its convolution added separately: see the first layer about Concat).
      const mean = tf.mean(h, 0, true);
      const std = tf.mean(tf.sqrt(tf.add(tf.mean(tf.square(tf.sub(h, mean)), 0, true), 1e-8)));
      const ones = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
      pre = tf.add(pre, tf.mul(convSame(ones, tf.slice(outW, [0, 0, c4, 0], [3, 3, 1, c4]) as tf.Tensor4D), std)) as tf.Tensor4D;
    }
    h = tf.leakyRelu(tf.add(pre, get('out/conv/b')), 0.2) as tf.Tensor4D;
    const f = tf.reshape(h, [b, -1]) as tf.Tensor2D;
    const fc = tf.leakyRelu(dense(f, get('out/fc/w') as tf.Tensor2D, get('out/fc/b')), 0.2) as tf.Tensor2D;
    return dense(fc, get('out/logit/w') as tf.Tensor2D, get('out/logit/b'));
  });
}
