export { exportObj, type ExportObjOptions } from './obj.js';
export { exportGlb, CM_TO_M, DEFAULT_COPYRIGHT, type ExportGlbOptions } from './glb.js';
export { planArkitTargets, type ArkitPlanOptions, type PlannedTarget } from './arkit.js';
export { splitUvSeams, type SeamSplit } from './geometry.js';
