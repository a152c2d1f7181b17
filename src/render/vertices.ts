/**
 * Per-vertex camera maps as typed-array ops: model → camera and model → clip are affine (X ↦ X·A + t), so
 * `projectVertices` gets each map's 4×k block [t; A] from camera.ts's own functions applied to four basis points
 * (tiny tf ops, autodiff reaches every camera parameter) and runs the V-sized part in one custom op with a
 * hand-written backward. Same values as `toClip(modelToCamera(X))` up to float rounding, far fewer wasm ops.
 */
import { tf } from '../engine/index.js';
import { customOp } from './custom.js';
import { modelToCamera, toClip, type Camera, type Resolution } from './camera.js';
import type { Num } from './interpolate.js';
import { readF32, tensorOf, scratchF32 } from './data.js';

/** Kernel: out[v,c] = q[0,c] + Σⱼ x[v,j]·q[1+j,c]; x [V,3], q [4,k] row-major, out [V,k]. */
export function affineKernel(x: Num, q: Num, k: number, out: Num): void {
  const V = x.length / 3;
  if (k === 3 || k === 4) {
    // Unrolled for the two maps render() uses (camera: k = 3, clip: k = 4).
    const t0 = q[0], t1 = q[1], t2 = q[2], a00 = q[k], a01 = q[k + 1], a02 = q[k + 2];
    const a10 = q[2 * k], a11 = q[2 * k + 1], a12 = q[2 * k + 2], a20 = q[3 * k], a21 = q[3 * k + 1], a22 = q[3 * k + 2];
    const t3 = k === 4 ? q[3] : 0, a03 = k === 4 ? q[7] : 0, a13 = k === 4 ? q[11] : 0, a23 = k === 4 ? q[15] : 0;
    for (let v = 0, i = 0, o = 0; v < V; v++, i += 3, o += k) {
      const x0 = x[i], x1 = x[i + 1], x2 = x[i + 2];
      out[o] = t0 + x0 * a00 + x1 * a10 + x2 * a20;
      out[o + 1] = t1 + x0 * a01 + x1 * a11 + x2 * a21;
      out[o + 2] = t2 + x0 * a02 + x1 * a12 + x2 * a22;
      if (k === 4) out[o + 3] = t3 + x0 * a03 + x1 * a13 + x2 * a23;
    }
    return;
  }
  for (let v = 0; v < V; v++) {
    const x0 = x[3 * v], x1 = x[3 * v + 1], x2 = x[3 * v + 2], o = v * k;
    for (let c = 0; c < k; c++) out[o + c] = q[c] + x0 * q[k + c] + x1 * q[2 * k + c] + x2 * q[3 * k + c];
  }
}

/** Backward of {@link affineKernel}: accumulates gx [V,3] and gq [4,k] (sums in float64). */
export function affineBackwardKernel(x: Num, q: Num, k: number, dy: Num, gx: Num, gq: Num): void {
  const V = x.length / 3;
  const acc = new Float64Array(4 * k);
  for (let v = 0; v < V; v++) {
    const x0 = x[3 * v], x1 = x[3 * v + 1], x2 = x[3 * v + 2], o = v * k;
    let g0 = 0, g1 = 0, g2 = 0;
    for (let c = 0; c < k; c++) {
      const g = dy[o + c];
      if (g === 0) continue;
      acc[c] += g; acc[k + c] += x0 * g; acc[2 * k + c] += x1 * g; acc[3 * k + c] += x2 * g;
      g0 += g * q[k + c]; g1 += g * q[2 * k + c]; g2 += g * q[3 * k + c];
    }
    gx[3 * v] += g0; gx[3 * v + 1] += g1; gx[3 * v + 2] += g2;
  }
  for (let i = 0; i < 4 * k; i++) gq[i] += acc[i];
}

/** X [V,3] ↦ X·A + t with q = [t; A] [4,k]; differentiable w.r.t. X and q. */
export function affineVertices(x: tf.Tensor2D, q: tf.Tensor2D): tf.Tensor2D {
  const k = q.shape[1];
  return customOp((xt: tf.Tensor, qt: tf.Tensor) => {
    const xd = readF32(xt), qd = qt.dataSync() as Float32Array;
    const out = scratchF32(`affine.out${k}`, (xd.length / 3) * k, false);
    affineKernel(xd, qd, k, out);
    return {
      value: tensorOf(out, [xd.length / 3, k]),
      gradFunc: (dy: tf.Tensor) => {
        const gx = scratchF32('affine.gx', xd.length, true), gq = new Float64Array(4 * k);
        affineBackwardKernel(xd, qd, k, readF32(dy), gx, gq);
        return [tensorOf(gx, xt.shape), tf.tensor2d(Float32Array.from(gq), [4, k])];
      },
    };
  })(x, q) as tf.Tensor2D;
}

const BASIS = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]];
/** Rows [f(0); f(e₁) − f(0); f(e₂) − f(0); f(e₃) − f(0)] of an affine f evaluated on BASIS. */
const TO_BLOCK = [[1, 0, 0, 0], [-1, 1, 0, 0], [-1, 0, 1, 0], [-1, 0, 0, 1]];

/**
 * Camera-space positions [V,3] and clip positions [V,4] of model-space `positions` (camera.ts conventions),
 * differentiable w.r.t. the positions and every tensor camera parameter.
 */
export function projectVertices(positions: tf.Tensor2D, camera: Camera, resolution: Resolution): { cam: tf.Tensor2D; clip: tf.Tensor2D } {
  return tf.tidy(() => {
    const basis = tf.tensor2d(BASIS);
    const camB = modelToCamera(basis, camera);
    const clipB = toClip(camB, camera, resolution);
    const block = tf.tensor2d(TO_BLOCK);
    const qCam = tf.matMul(block, camB) as tf.Tensor2D, qClip = tf.matMul(block, clipB) as tf.Tensor2D;
    return { cam: affineVertices(positions, qCam), clip: affineVertices(positions, qClip) };
  });
}
