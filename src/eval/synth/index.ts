/** Synthetic ground truth (issue 9): render known heads (generate.ts), fit them back and score (evaluate.ts). */
export * from './params.js';
export * from './generate.js';
export * from './align.js';
export * from './evaluate.js';
export { modelRegions, vertexColors, backgroundImage, type Regions } from './appearance.js';
export { sampleSeed, sampleRng } from './random.js';
