/**
 * `render()`: camera → clip → rasterize → one fused kernel over the covered pixels (interpolate → texture → shade →
 * gamma → composite → antialias, fused.ts) with a hand-written backward. `renderComposed()` wires the small ops
 * together instead (same signature and outputs; the reference the fused path is tested against).
 */
import { tf, transientValues } from '../engine/index.js';
import { modelToCamera, toClip, type Camera, type Resolution } from './camera.js';
import { rasterize, rasterMask, type Raster } from './rasterize.js';
import { interpolate } from './interpolate.js';
import { sampleTexture, buildPyramid, type TextureOptions } from './texture.js';
import { vertexNormals, srgbToLinear, linearToSrgb, shadePhong, shadeSH, type PointLight } from './shade.js';
import { antialias as antialiasOp, edgeAdjacency, crossingsBackward } from './antialias.js';
import { customOp } from './custom.js';
import { vertexStage } from './vertices.js';
import { readF32, tensorOf, scratchF32 } from './data.js';
import type { ClipData } from './interpolate.js';
import type { Level } from './texture.js';
import {
  acquireWorkspace, releaseWorkspace, fusedForward, fusedBackward, interpolateCompactBackward,
  type FusedScene, type FusedLight, type FusedAlbedo, type FusedGrads,
} from './fused.js';

/** What render() needs of a mesh: tensors where gradients are wanted, typed arrays for topology. */
export interface RenderMesh {
  /** [V,3] model space, cm. */
  positions: tf.Tensor2D;
  /** [T,3], counter-clockwise from outside. */
  triangles: Uint32Array;
  /** [U,2] UVs (OBJ convention) and their [T,3] triangles; needed with a texture. */
  uvs?: tf.Tensor2D;
  uvTriangles?: Uint32Array;
  /** [V,3] per-vertex sRGB albedo, used when no texture is given. */
  colors?: tf.Tensor2D;
  /** [V,3] model-space vertex normals; default: `vertexNormals(positions)` (differentiable). */
  normals?: tf.Tensor2D;
}

/** Spherical-harmonics light: [9,3] irradiance coefficients in camera space (see shadeSH). */
export interface SHLight {
  sh: tf.Tensor2D;
}

export interface RenderOptions {
  resolution: Resolution;
  textureFilter?: TextureOptions['filter'];
  /** sRGB background, [H,W,3] or [B,H,W,3] (e.g. the photo); default black. */
  background?: tf.Tensor;
  /** Analytic silhouette antialiasing (gives outline gradients). Default true. */
  antialias?: boolean;
  /** Default 'back'. */
  cull?: 'none' | 'back' | 'front';
}

/** Per-pixel outputs: [H,W,…] for one camera, [B,H,W,…] for an array of cameras. */
export interface Rendered {
  /** sRGB colour over the background, antialiased. */
  image: tf.Tensor;
  /** Coverage, 0..1 (antialiased when `antialias`). */
  alpha: tf.Tensor;
  /** Camera-space depth Z (cm), 0 where empty. */
  depth: tf.Tensor;
  /** Interpolated UVs (zeros without a texture). */
  uv: tf.Tensor;
  /** Interpolated camera-space vertex normals, not renormalised (0 where empty). */
  normals: tf.Tensor;
  /** Triangle id per pixel (−1 empty) and the rest of the raster. */
  raster: Raster;
}

/**
 * The composed small ops (rasterize, interpolate, sampleTexture, srgbToLinear, shadePhong / shadeSH,
 * linearToSrgb, antialias): same signature and outputs as {@link render}, slower; the reference for tests.
 */
export function renderComposed(mesh: RenderMesh, camera: Camera | Camera[], light: PointLight | SHLight | null, texture: tf.Tensor3D | null, options: RenderOptions): Rendered {
  const res = options.resolution;
  let raster: Raster | undefined;
  const out = tf.tidy(() => {
    const cams = Array.isArray(camera) ? camera : [camera];
    const each = <T extends tf.Tensor>(f: (c: Camera) => T) => (Array.isArray(camera) ? tf.stack(cams.map(f)) : f(camera));
    const cam = each((c) => modelToCamera(mesh.positions, c));
    const clip = each((c) => toClip(modelToCamera(mesh.positions, c), c, res));
    raster = rasterize(clip, mesh.triangles, res, { cull: options.cull ?? 'back' });
    const normals = mesh.normals ? each((c) => modelToCamera(mesh.normals!, { ...c, translation: [0, 0, 0] })) : vertexNormals(cam, mesh.triangles);
    const pos = interpolate(cam, raster, mesh.triangles, clip);
    const nrm = interpolate(normals, raster, mesh.triangles, clip);
    const uv = texture ? interpolate(mesh.uvs!, raster, mesh.uvTriangles!, clip, mesh.triangles) : tf.zeros([...pos.shape.slice(0, -1), 2]);
    const albedo = texture ? sampleTexture(texture, uv, { filter: options.textureFilter }) : interpolate(mesh.colors!, raster, mesh.triangles, clip);
    const lin = light === null ? srgbToLinear(albedo) : 'sh' in light ? shadeSH(srgbToLinear(albedo), nrm, light.sh) : shadePhong(srgbToLinear(albedo), nrm, pos, light);
    const mask = rasterMask(raster);
    const bg = options.background ?? tf.zeros(lin.shape);
    const image = tf.add(tf.mul(linearToSrgb(lin), mask), tf.mul(bg, tf.sub(1, mask)));
    const aa = options.antialias !== false;
    // Depth = the z column, taken with a matMul (slices are slow on wasm).
    const depth = tf.reshape(tf.matMul(tf.reshape(pos, [-1, 3]), tf.tensor2d([[0], [0], [1]])), [...pos.shape.slice(0, -1), 1]);
    return {
      image: aa ? antialiasOp(image, raster, clip, mesh.triangles) : image,
      alpha: aa ? antialiasOp(mask, raster, clip, mesh.triangles) : mask,
      depth, uv, normals: nrm,
    };
  });
  return { ...out, raster: raster! };
}

// ---------------------------------------------------------------------------------------------------------------
// The fused path

const t1 = (p: ArrayLike<number> | tf.Tensor): tf.Tensor => (p instanceof tf.Tensor ? p : tf.tensor1d(Array.from(p)));
const t0 = (p: number | tf.Tensor): tf.Tensor => (p instanceof tf.Tensor ? p : tf.scalar(p));
const f32 = readF32;

const gradBuffer = (key: string, n: number) => scratchF32(`render.${key}`, n, true);

/** Texture data (and pyramid) per tensor data id: tensors are immutable, so a texture read once is reused. */
const textureCache = new WeakMap<object, { data: Float32Array; pyramid: Level[] | null }>();
function texturePyramid(t: tf.Tensor, mip: boolean): Level[] {
  const key = t.dataId as object;
  let e = textureCache.get(key);
  if (!e) textureCache.set(key, (e = { data: f32(t), pyramid: null }));
  const [h, w, C] = t.shape;
  if (!mip) return [{ data: e.data, h, w }];
  // A reshaped tensor shares its data id: rebuild when the shape differs.
  if (!e.pyramid || e.pyramid[0].h !== h || e.pyramid[0].w !== w) e.pyramid = buildPyramid(e.data, h, w, C, Float32Array);
  return e.pyramid;
}

/**
 * Optional per-phase wall-clock totals of render() (ms), for the bench's breakdown: null (default) = off.
 * Phases: vertices (camera maps and normals), rasterize, readInputs, forward (fused kernel), outputs (tensors of the
 * aux outputs), backward (fused backward kernel), verticesBackward (to positions and camera), gradTensors.
 */
export let renderPhases: Record<string, number> | null = null;
export function collectRenderPhases(on: boolean): Record<string, number> | null {
  renderPhases = on ? {} : null;
  return renderPhases;
}
let phaseT0 = 0;
function phase(name: string | null): void {
  if (!renderPhases) return;
  const t = performance.now();
  if (name) renderPhases[name] = (renderPhases[name] ?? 0) + (t - phaseT0);
  phaseT0 = t;
}

/** True while a gradient tape is recording (then the backward pass will need the forward's buffers). */
function tapeRecording(): boolean {
  const state = (tf.engine() as unknown as { state?: { gradientDepth?: number } }).state;
  return state?.gradientDepth === undefined ? true : state.gradientDepth > 0;
}

/**
 * Render a mesh from one camera or several (batch). `light` null renders the albedo unlit.
 * Shading happens in linear light (sRGB albedo decoded with γ 2.2, result re-encoded). Runs the fused kernel of
 * fused.ts over the covered pixels; outputs and gradients equal {@link renderComposed}'s (up to float rounding).
 */
export function render(mesh: RenderMesh, camera: Camera | Camera[], light: PointLight | SHLight | null, texture: tf.Tensor3D | null, options: RenderOptions): Rendered {
  const res = options.resolution;
  const [H, W] = res;
  const cams = Array.isArray(camera) ? camera : [camera];
  const batched = Array.isArray(camera), B = cams.length, D = B * H * W;
  if (texture && (!mesh.uvs || !mesh.uvTriangles)) throw new Error('render: a texture needs mesh.uvs and mesh.uvTriangles');
  if (!texture && !mesh.colors) throw new Error('render: give a texture or mesh.colors');
  if (texture && texture.shape[2] !== 3) throw new Error(`render: the texture must have 3 channels, got ${texture.shape[2]}`);
  const bgT = options.background;
  if (bgT && !((bgT.rank === 3 || (bgT.rank === 4 && bgT.shape[0] === B)) && bgT.shape[bgT.rank - 3] === H && bgT.shape[bgT.rank - 2] === W && bgT.shape[bgT.rank - 1] === 3)) {
    throw new Error(`render: background must be [${H},${W},3]${batched ? ` or [${B},${H},${W},3]` : ''}, got [${bgT.shape}]`);
  }
  const px = (c: number) => (batched ? [B, H, W, c] : [H, W, c]);
  let raster!: Raster;
  let release: (() => void) | null = null;
  const out = tf.tidy(() => {
    phase(null);
    const geo = vertexStage(mesh.positions, mesh.normals, cams, res, mesh.triangles);
    phase('vertices');
    raster = rasterize(geo.clip, mesh.triangles, res, { cull: options.cull ?? 'back', batch: batched ? B : undefined });
    phase('rasterize');
    const aa = options.antialias !== false;
    const V = mesh.positions.shape[0];
    const clipInfo: ClipData = { data: geo.clip, batched, vertexCount: V, triangles: mesh.triangles };
    // Inputs: the vertex stage's (positions, mesh normals, camera tensors), then albedo, light, background.
    const G = geo.inputs.length;
    const inputs: tf.Tensor[] = [...geo.inputs];
    if (texture) inputs.push(mesh.uvs!, texture);
    else inputs.push(mesh.colors!);
    const lightIn: tf.Tensor[] = light === null ? [] : 'sh' in light ? [light.sh] : [t1(light.position), t1(light.color), t1(light.ambient), t0(light.specular ?? 0.2)];
    inputs.push(...lightIn);
    if (bgT) inputs.push(bgT);
    let scene!: FusedScene;
    let fwd!: ReturnType<typeof fusedForward>;
    let crossings: ReturnType<typeof fusedForward>['crossings'] = null;
    let ws!: ReturnType<typeof acquireWorkspace>;
    const image = customOp((...args: tf.Tensor[]) => {
      const ts = args.slice(0, inputs.length); // customGrad appends its `save` function
      const albedo: FusedAlbedo = texture
        ? { kind: 'texture', uvs: f32(ts[G]), uvTriangles: mesh.uvTriangles!, pyramid: texturePyramid(ts[G + 1], options.textureFilter === 'mip'), mip: options.textureFilter === 'mip' }
        : { kind: 'colors', colors: f32(ts[G]) };
      const li = G + (texture ? 2 : 1);
      let L: FusedLight = { kind: 'none' };
      if (light !== null && 'sh' in light) L = { kind: 'sh', coeffs: f32(ts[li]) };
      else if (light !== null) L = { kind: 'phong', position: f32(ts[li]), color: f32(ts[li + 1]), ambient: f32(ts[li + 2]), specular: f32(ts[li + 3]), shininess: light.shininess ?? 20 };
      scene = {
        clip: clipInfo, cam: geo.cam, normals: geo.normals, albedo, light: L,
        background: bgT ? f32(ts[ts.length - 1]) : null, bgBatched: !!bgT && bgT.rank === 4,
        adjacency: aa ? edgeAdjacency(mesh.triangles) : null, stable: true,
      };
      ws = acquireWorkspace(Float32Array);
      phase('readInputs');
      const fw = fusedForward(scene, raster, ws);
      phase('forward');
      fwd = fw;
      crossings = fw.crossings;
      const recording = tapeRecording();
      release = recording ? null : () => { releaseWorkspace(ws); geo.release(); };
      return {
        value: tensorOf(ws.imageOut.subarray(0, 3 * D), px(3)),
        gradFunc: (dy: tf.Tensor) => {
          const g: FusedGrads = { position: null, color: null, ambient: null, specular: null, coeffs: null, background: bgT ? gradBuffer('background', bgT.size) : null };
          if (L.kind === 'phong') { g.position = new Float32Array(3); g.color = new Float32Array(3); g.ambient = new Float32Array(3); g.specular = new Float32Array(1); }
          if (L.kind === 'sh') g.coeffs = new Float32Array(27);
          phase(null);
          // dy read in place (no tf call runs until fusedBackward has copied it into the kernels' memory).
          const gv = fusedBackward(scene, raster, fw, transientValues(dy), g);
          phase('backward');
          // gv views the workspace: consumed before it goes back to the pool.
          const grads = geo.backward(gv.clip, gv.cam, gv.normals);
          phase('verticesBackward');
          grads.push(tensorOf(gv.attr, ts[G].shape));
          if (texture) grads.push(tensorOf(gv.texture!, ts[G + 1].shape));
          releaseWorkspace(ws);
          // This render's other backward passes (alpha, depth, normals, UVs: recorded later) have run already.
          geo.release();
          if (L.kind === 'phong') grads.push(tensorOf(g.position!, ts[li].shape), tensorOf(g.color!, ts[li + 1].shape), tensorOf(g.ambient!, ts[li + 2].shape), tensorOf(g.specular!, ts[li + 3].shape));
          if (L.kind === 'sh') grads.push(tensorOf(g.coeffs!, ts[li].shape));
          if (bgT) grads.push(tensorOf(g.background!, bgT.shape));
          phase('gradTensors');
          return grads;
        },
      };
    })(...inputs);
    // Coverage (antialiased: differentiable w.r.t. the geometry through the silhouette crossings).
    const alpha = !crossings ? tensorOf(ws.alphaOut.subarray(0, D), px(1)) : customOp(() => {
      const cr = crossings!;
      return {
        value: tensorOf(ws.alphaOut.subarray(0, D), px(1)),
        gradFunc: (dy: tf.Tensor) => {
          const mask = Float32Array.from(raster.triangleId, (t) => (t >= 0 ? 1 : 0));
          const gClip = new Float32Array(geo.clip.length), gMask = new Float32Array(D);
          crossingsBackward(mask, 1, raster, clipInfo, cr, f32(dy), gMask, gClip); // only gClip is needed
          return geo.backward(gClip, null, null);
        },
      };
    })(...geo.inputs);
    /**
     * An interpolated attribute as its own op (value from the fused forward; backward through coverage): camera
     * positions (depth), normals, or the UVs (then mesh.uvs is an input too).
     */
    const aux = (which: 'cam' | 'normals' | 'uv', attr: Float32Array, attrBatched: boolean, C: number, tris: Uint32Array, value: Float32Array, outC: number, channel: number) =>
      customOp(() => ({
        value: tensorOf(value, px(outC)),
        gradFunc: (dy: tf.Tensor) => {
          const cov = fwd.cov, d = f32(dy), N = cov.count, dyc = new Float32Array(N * C);
          for (let i = 0; i < N; i++) for (let k = 0; k < outC; k++) dyc[i * C + channel + k] = d[cov.pixels[i] * outC + k];
          const gA = new Float32Array(attr.length), gC = new Float32Array(geo.clip.length);
          interpolateCompactBackward(cov, raster, [{ attr, batched: attrBatched, C, tris, dy: dyc, grad: gA }], clipInfo, gC);
          if (which === 'uv') return [...geo.backward(gC, null, null), tf.tensor(gA, mesh.uvs!.shape)];
          return which === 'cam' ? geo.backward(gC, gA, null) : geo.backward(gC, null, gA);
        },
      }))(...geo.inputs, ...(which === 'uv' ? [mesh.uvs!] : []));
    const depth = aux('cam', geo.cam, batched, 3, mesh.triangles, ws.depth.subarray(0, D) as Float32Array, 1, 2);
    const nrm = aux('normals', geo.normals, batched, 3, mesh.triangles, ws.nrmDense.subarray(0, 3 * D) as Float32Array, 3, 0);
    const uv = texture && scene.albedo.kind === 'texture'
      ? aux('uv', scene.albedo.uvs as Float32Array, false, 2, mesh.uvTriangles!, ws.uvDense.subarray(0, 2 * D) as Float32Array, 2, 0)
      : tf.zeros(px(2));
    phase('outputs');
    return { image, alpha, depth, uv, normals: nrm };
  });
  (release as (() => void) | null)?.();
  return { ...out, raster };
}
