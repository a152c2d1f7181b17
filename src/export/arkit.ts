/**
 * Which morph targets a GLB gets, named as Apple ARKit blendshapes. The naming itself (`eyeBlink_L` →
 * `eyeBlinkLeft`, `browInnerUp` = `browInnerUp_L` + `browInnerUp_R`, `cheekPuff` likewise) is the model's:
 * `arkitName` / `arkitTargets` in src/model/mesh.ts. On top of it the exporter
 * - adds a zero target for every ARKit name the model lacks (`tongueOut` for ICT), so an ARKit-driven tool finds
 *   all 52 names (`addMissing`, default on);
 * - leaves out the split halves (`browInnerUpLeft`, …) by default: they are not ARKit names and a tool that drives
 *   `browInnerUp` would leave them at their defaults (`keepSplitHalves` adds them after the 52);
 * - keeps any other expression the ARKit set does not cover (none in ICT's 53) under its `arkitName`, last.
 */
import { ARKIT_NAMES, arkitName, arkitTargets } from '../model/mesh.js';

/** One exported morph target: the sum of some source expressions. */
export interface PlannedTarget {
  name: string;
  /** Indices into the model's expression list, summed (empty: a zero target). */
  sources: number[];
}

export interface ArkitPlanOptions {
  /** Also emit the split halves under their ICT-derived names (`browInnerUpLeft`, …). Default false. */
  keepSplitHalves?: boolean;
  /** Emit zero targets for ARKit names the model lacks (`tongueOut`). Default true. */
  addMissing?: boolean;
}

/** The morph targets for a model's expression names: the ARKit ones in ARKIT_NAMES order, then halves, then the rest. */
export function planArkitTargets(expressionNames: readonly string[], options: ArkitPlanOptions = {}): PlannedTarget[] {
  const found = new Map(arkitTargets(expressionNames).map((t) => [t.name, t.sources]));
  const plan: PlannedTarget[] = [];
  for (const name of ARKIT_NAMES) {
    const sources = found.get(name);
    if (sources) plan.push({ name, sources: [...sources] });
    else if (options.addMissing ?? true) plan.push({ name, sources: [] });
  }
  const used = new Set(plan.flatMap((t) => t.sources));
  const halves = new Set(plan.filter((t) => t.sources.length > 1).flatMap((t) => t.sources));
  expressionNames.forEach((name, i) => {
    if (halves.has(i) && options.keepSplitHalves) plan.push({ name: arkitName(name), sources: [i] });
  });
  expressionNames.forEach((name, i) => {
    if (!used.has(i)) plan.push({ name: arkitName(name), sources: [i] });
  });
  return plan;
}
