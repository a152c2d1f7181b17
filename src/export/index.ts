export { exportObj, type ExportObjOptions } from './obj.js';
export { exportGlb, CM_TO_M, DEFAULT_COPYRIGHT, type ExportGlbOptions } from './glb.js';
export { ARKIT_BLENDSHAPES, ictToArkitName, planArkitTargets, type PlannedTarget } from './arkit.js';
export { splitUvSeams, vertexNormals, type SeamSplit } from './geometry.js';
