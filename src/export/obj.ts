/**
 * Mesh → OBJ + MTL text (docs/conventions.md "Model space", "UV maps": OBJ keeps centimetres and the
 * bottom-left UV origin, so nothing is converted). Each part becomes a `g` group; per-vertex normals are written.
 */
import { writeMtl, writeObj } from '../io/obj.js';
import type { Mesh } from '../model/types.js';
import { vertexNormals } from '../model/mesh.js';

export interface ExportObjOptions {
  /** Name of the MTL file the OBJ refers to (`mtllib`). Default 'mesh.mtl'. */
  mtlFile?: string;
  /** Material name. Default 'face'. */
  materialName?: string;
  /** Write vertex normals. Default true. */
  normals?: boolean;
}

/** The OBJ and MTL texts of a mesh whose texture will be saved as `textureFile` beside them. */
export function exportObj(
  mesh: Mesh,
  textureFile = 'texture.png',
  options: ExportObjOptions = {},
): { obj: string; mtl: string } {
  const materialName = options.materialName ?? 'face';
  const obj = writeObj({
    positions: mesh.positions,
    normals: options.normals ?? true ? vertexNormals(mesh.positions, mesh.triangles) : undefined,
    uvs: mesh.uvs,
    triangles: mesh.triangles,
    uvTriangles: mesh.uvTriangles,
    mtlName: options.mtlFile ?? 'mesh.mtl',
    materialName,
    groups: mesh.parts.map((p) => ({ name: p.name, triangleStart: p.triangleStart, triangleEnd: p.triangleEnd })),
    comments: ['ganfit face mesh; units: centimetres, +y up, +z out of the face'],
  });
  return { obj, mtl: writeMtl({ materialName, texturePath: textureFile }) };
}
