/**
 * `render()`: the ops composed once (camera → clip → rasterize → interpolate → texture → shade → antialias).
 * Every piece is usable alone; this file only wires them together.
 */
import { tf } from '../engine/index.js';
import { modelToCamera, toClip, type Camera, type Resolution } from './camera.js';
import { rasterize, rasterMask, type Raster } from './rasterize.js';
import { interpolate } from './interpolate.js';
import { sampleTexture, type TextureOptions } from './texture.js';
import { vertexNormals, srgbToLinear, linearToSrgb, shadePhong, shadeSH, type PointLight } from './shade.js';
import { antialias as antialiasOp } from './antialias.js';

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
 * Render a mesh from one camera or several (batch). `light` null renders the albedo unlit.
 * Shading happens in linear light (sRGB albedo decoded with γ 2.2, result re-encoded).
 */
export function render(mesh: RenderMesh, camera: Camera | Camera[], light: PointLight | SHLight | null, texture: tf.Tensor3D | null, options: RenderOptions): Rendered {
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
