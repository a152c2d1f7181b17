/** The differentiable renderer: small ops (nvdiffrast-shaped) plus one composing `render()`. */
export * from './camera.js';
export { rasterize, rasterizeReference, rasterMask, type Raster, type RasterizeOptions, type ClipInput } from './rasterize.js';
export { interpolate } from './interpolate.js';
export { sampleTexture, type TextureOptions } from './texture.js';
export { vertexNormals, srgbToLinear, linearToSrgb, shadePhong, shadeSH, shBasis, type PointLight } from './shade.js';
export { antialias, edgeAdjacency } from './antialias.js';
export { render, renderComposed, type RenderMesh, type RenderOptions, type Rendered, type SHLight } from './render.js';
export { collectRenderPhases } from './render.js';
