/**
 * The per-vertex stage of `render()` in typed arrays: model → camera and model → clip are affine (X ↦ [1, X]·q),
 * with the blocks q from camera.ts (`affineBlocks64`, float64, the same maps as `modelToCamera` / `toClip`), then
 * camera-space vertex normals (area-weighted, from the camera-space positions, or `mesh.normals` rotated).
 * One backward takes the clip / camera-position / normal gradients of any render output to the model positions,
 * the mesh normals and every tensor camera parameter, without tf ops in between.
 */
import { tf } from '../engine/index.js';
import { affineBlocks64, affineBlocksBackward64, type Camera, type Camera64, type Resolution } from './camera.js';
import { vertexNormalsKernel, vertexNormalsBackwardKernel } from './shade.js';
import type { Num } from './interpolate.js';
import { readF32, tensorOf, scratchF32, acquireF32, releaseF32 } from './data.js';

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
  if (k === 3 || k === 4) {
    affineBackward34(x, q, k, dy, gx, gq);
    return;
  }
  const V = x.length / 3;
  const acc = new Float64Array(4 * k);
  for (let v = 0; v < V; v++) {
    const x0 = x[3 * v], x1 = x[3 * v + 1], x2 = x[3 * v + 2], o = v * k;
    let g0 = 0, g1 = 0, g2 = 0;
    for (let c = 0; c < k; c++) {
      const g = dy[o + c];
      acc[c] += g; acc[k + c] += x0 * g; acc[2 * k + c] += x1 * g; acc[3 * k + c] += x2 * g;
      g0 += g * q[k + c]; g1 += g * q[2 * k + c]; g2 += g * q[3 * k + c];
    }
    gx[3 * v] += g0; gx[3 * v + 1] += g1; gx[3 * v + 2] += g2;
  }
  for (let i = 0; i < 4 * k; i++) gq[i] += acc[i];
}

/** {@link affineBackwardKernel} unrolled for k = 3 and 4, with the block sums in local (float64) variables. */
function affineBackward34(x: Num, q: Num, k: number, dy: Num, gx: Num, gq: Num): void {
  const V = x.length / 3, four = k === 4;
  const a00 = q[k], a01 = q[k + 1], a02 = q[k + 2], a03 = four ? q[k + 3] : 0;
  const a10 = q[2 * k], a11 = q[2 * k + 1], a12 = q[2 * k + 2], a13 = four ? q[2 * k + 3] : 0;
  const a20 = q[3 * k], a21 = q[3 * k + 1], a22 = q[3 * k + 2], a23 = four ? q[3 * k + 3] : 0;
  let t0 = 0, t1 = 0, t2 = 0, t3 = 0, s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0, s20 = 0, s21 = 0, s22 = 0, s23 = 0;
  for (let v = 0, i = 0, o = 0; v < V; v++, i += 3, o += k) {
    const d0 = dy[o], d1 = dy[o + 1], d2 = dy[o + 2], d3 = four ? dy[o + 3] : 0;
    // Most vertices get no gradient (hidden, or outside the image): skip them.
    if (d0 === 0 && d1 === 0 && d2 === 0 && d3 === 0) continue;
    const x0 = x[i], x1 = x[i + 1], x2 = x[i + 2];
    t0 += d0; t1 += d1; t2 += d2; t3 += d3;
    s00 += x0 * d0; s01 += x0 * d1; s02 += x0 * d2; s03 += x0 * d3;
    s10 += x1 * d0; s11 += x1 * d1; s12 += x1 * d2; s13 += x1 * d3;
    s20 += x2 * d0; s21 += x2 * d1; s22 += x2 * d2; s23 += x2 * d3;
    gx[i] += d0 * a00 + d1 * a01 + d2 * a02 + d3 * a03;
    gx[i + 1] += d0 * a10 + d1 * a11 + d2 * a12 + d3 * a13;
    gx[i + 2] += d0 * a20 + d1 * a21 + d2 * a22 + d3 * a23;
  }
  const sums = [t0, t1, t2, t3, s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23];
  for (let r = 0; r < 4; r++) for (let c = 0; c < k; c++) gq[r * k + c] += sums[4 * r + c];
}

type ParamKey = 'rotation' | 'translation' | 'scale' | 'principal';

/** One view: its float64 camera, blocks, and which stage input (if any) each camera parameter is. */
interface View {
  camera: Camera64;
  cam: Float64Array;
  clip: Float64Array;
  /** Rotation-only block (row 0 zero), for mesh.normals. */
  nrm: Float64Array;
  input: Record<ParamKey, number>;
}

/**
 * Camera-space positions, clip positions and camera-space normals of every view ([B,V,·] in view-major order, or
 * [V,·] for one camera), with their backward. `inputs` are the tensors the backward returns gradients for: the
 * positions, mesh.normals when given, then each distinct tensor camera parameter.
 */
export interface VertexStage {
  inputs: tf.Tensor[];
  clip: Float32Array;
  cam: Float32Array;
  normals: Float32Array;
  /**
   * Gradients w.r.t. `inputs` (one tensor each) from gradients of clip, cam and normals (same layouts; null = zero).
   * gCam is accumulated into when normals are computed from the positions.
   */
  backward(gClip: Num | null, gCam: Num | null, gNrm: Num | null): tf.Tensor[];
  /** Hands clip, cam and normals back to the pool: call once nothing (no later backward) reads them. */
  release(): void;
}

const values = (p: tf.Tensor | ArrayLike<number> | number): Num | number => (p instanceof tf.Tensor ? readF32(p) : typeof p === 'number' ? p : Float64Array.from(p));

/**
 * The vertex stage of `render()` for one camera or several.
 * @param positions [V,3] model space. @param meshNormals [V,3] model-space normals, or undefined to compute them.
 */
export function vertexStage(positions: tf.Tensor2D, meshNormals: tf.Tensor2D | undefined, cameras: Camera[], resolution: Resolution, triangles: Uint32Array): VertexStage {
  const inputs: tf.Tensor[] = [positions];
  if (meshNormals) inputs.push(meshNormals);
  const inputOf = (p: unknown): number => {
    if (!(p instanceof tf.Tensor)) return -1;
    const i = inputs.indexOf(p);
    return i >= 0 ? i : inputs.push(p) - 1;
  };
  const pos = readF32(positions), V = pos.length / 3, B = cameras.length;
  const mn = meshNormals ? readF32(meshNormals) : null;
  const clip = acquireF32(4 * V * B), cam = acquireF32(3 * V * B), normals = acquireF32(3 * V * B);
  const len = mn ? null : acquireF32(V * B);
  const views: View[] = cameras.map((c, b) => {
    const rotation = values(c.rotation) as Num, translation = values(c.translation) as Num;
    const principal = c.principal === undefined ? undefined : (values(c.principal) as Num);
    const s = values(c.kind === 'perspective' ? c.focal : c.scale);
    const scale = typeof s === 'number' ? s : s[0];
    const camera: Camera64 = c.kind === 'perspective'
      ? { kind: 'perspective', rotation, translation, focal: scale, principal, near: c.near }
      : { kind: 'orthographic', rotation, translation, scale, principal, near: c.near, far: c.far };
    const blocks = affineBlocks64(camera, resolution);
    const nrm = blocks.cam.slice();
    nrm.fill(0, 0, 3);
    const view: View = {
      camera, cam: blocks.cam, clip: blocks.clip, nrm,
      input: { rotation: inputOf(c.rotation), translation: inputOf(c.translation), scale: inputOf(c.kind === 'perspective' ? c.focal : c.scale), principal: inputOf(c.principal) },
    };
    const cb = cam.subarray(3 * V * b, 3 * V * (b + 1)), nb = normals.subarray(3 * V * b, 3 * V * (b + 1));
    affineKernel(pos, blocks.cam, 3, cb);
    affineKernel(pos, blocks.clip, 4, clip.subarray(4 * V * b, 4 * V * (b + 1)));
    if (mn) affineKernel(mn, nrm, 3, nb);
    else vertexNormalsKernel(cb, triangles, nb, len!.subarray(V * b, V * (b + 1)));
    return view;
  });

  const backward = (gClip: Num | null, gCam: Num | null, gNrm: Num | null): tf.Tensor[] => {
    const gPos = scratchF32('vertices.gPos', 3 * V, true);
    const gMn = mn ? scratchF32('vertices.gNormals', 3 * V, true) : null;
    const gIn: (Float64Array | null)[] = inputs.map(() => null);
    const add = (i: number, g: ArrayLike<number>) => {
      if (i < 0) return;
      const acc = (gIn[i] ??= new Float64Array(g.length));
      for (let k = 0; k < g.length; k++) acc[k] += g[k];
    };
    if (gNrm && !mn && !gCam) gCam = new Float32Array(3 * V * B);
    for (let b = 0; b < B; b++) {
      const view = views[b], gqCam = new Float64Array(12), gqClip = new Float64Array(16);
      const s3 = (a: Num) => a.subarray(3 * V * b, 3 * V * (b + 1));
      if (gNrm && mn) {
        const gqN = new Float64Array(12);
        affineBackwardKernel(mn, view.nrm, 3, s3(gNrm), gMn!, gqN);
        for (let i = 3; i < 12; i++) gqCam[i] += gqN[i];
      } else if (gNrm) {
        vertexNormalsBackwardKernel(s3(cam), triangles, s3(normals), len!.subarray(V * b, V * (b + 1)), s3(gNrm), s3(gCam!));
      }
      if (gCam) affineBackwardKernel(pos, view.cam, 3, s3(gCam), gPos, gqCam);
      if (gClip) affineBackwardKernel(pos, view.clip, 4, gClip.subarray(4 * V * b, 4 * V * (b + 1)), gPos, gqClip);
      const g = affineBlocksBackward64(view.camera, resolution, gqCam, gqClip);
      add(view.input.rotation, g.rotation);
      add(view.input.translation, g.translation);
      add(view.input.scale, [g.focal]);
      add(view.input.principal, g.principal);
    }
    return inputs.map((t, i) => {
      if (i === 0) return tensorOf(gPos, t.shape);
      if (gMn && i === 1) return tensorOf(gMn, t.shape);
      return tf.tensor(Float32Array.from(gIn[i] ?? new Float64Array(t.size)), t.shape);
    });
  };
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    releaseF32(clip, cam, normals, ...(len ? [len] : []));
  };
  return { inputs, clip, cam, normals, backward, release };
}
