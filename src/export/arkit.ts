/**
 * Mapping ICT-FaceKit expression blendshapes to Apple ARKit blendshape names for exported morph targets.
 *
 * - `<name>_L` / `<name>_R` → `<name>Left` / `<name>Right` (ICT's `_L` is the subject's left, as ARKit's `Left`).
 * - ICT splits two ARKit shapes in halves (`browInnerUp_L/_R`, `cheekPuff_L/_R`): each pair becomes one target
 *   with the ARKit name, whose delta is the **sum** of both halves (the halves partition the full shape).
 * - ARKit's `tongueOut` has no ICT counterpart: `planArkitTargets` lists it with no sources (a zero target), so an
 *   ARKit-driven tool finds all 52 names.
 * - Names that are not ARKit shapes (e.g. a `PupilDilate_L` from a larger ICT model) keep their ICT name.
 */

/** The 52 ARKit face blendshape names (ARFaceAnchor.BlendShapeLocation raw values). */
export const ARKIT_BLENDSHAPES: readonly string[] = [
  'browDownLeft', 'browDownRight', 'browInnerUp', 'browOuterUpLeft', 'browOuterUpRight',
  'cheekPuff', 'cheekSquintLeft', 'cheekSquintRight',
  'eyeBlinkLeft', 'eyeBlinkRight', 'eyeLookDownLeft', 'eyeLookDownRight', 'eyeLookInLeft', 'eyeLookInRight',
  'eyeLookOutLeft', 'eyeLookOutRight', 'eyeLookUpLeft', 'eyeLookUpRight', 'eyeSquintLeft', 'eyeSquintRight',
  'eyeWideLeft', 'eyeWideRight',
  'jawForward', 'jawLeft', 'jawOpen', 'jawRight',
  'mouthClose', 'mouthDimpleLeft', 'mouthDimpleRight', 'mouthFrownLeft', 'mouthFrownRight', 'mouthFunnel',
  'mouthLeft', 'mouthLowerDownLeft', 'mouthLowerDownRight', 'mouthPressLeft', 'mouthPressRight', 'mouthPucker',
  'mouthRight', 'mouthRollLower', 'mouthRollUpper', 'mouthShrugLower', 'mouthShrugUpper', 'mouthSmileLeft',
  'mouthSmileRight', 'mouthStretchLeft', 'mouthStretchRight', 'mouthUpperUpLeft', 'mouthUpperUpRight',
  'noseSneerLeft', 'noseSneerRight',
  'tongueOut',
];

const ARKIT_SET = new Set(ARKIT_BLENDSHAPES);

/** `eyeBlink_L` → `eyeBlinkLeft`, `jawOpen` → `jawOpen` (suffix rule only; no check against the ARKit list). */
export function ictToArkitName(ictName: string): string {
  const m = /^(.*)_([LR])$/.exec(ictName);
  return m ? `${m[1]}${m[2] === 'L' ? 'Left' : 'Right'}` : ictName;
}

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

/**
 * Plans the morph targets for a model's expression names: ARKit names in source order, each split pair merged
 * at the position of its first half, missing ARKit names (zero targets) at the end.
 */
export function planArkitTargets(expressionNames: readonly string[], options: ArkitPlanOptions = {}): PlannedTarget[] {
  const plan: PlannedTarget[] = [];
  const byName = new Map<string, PlannedTarget>();
  const add = (name: string, source: number): void => {
    const existing = byName.get(name);
    if (existing) {
      existing.sources.push(source);
      return;
    }
    const target = { name, sources: [source] };
    byName.set(name, target);
    plan.push(target);
  };
  expressionNames.forEach((ictName, i) => {
    const arkit = ictToArkitName(ictName);
    if (ARKIT_SET.has(arkit)) {
      add(arkit, i);
      return;
    }
    const whole = ictName.replace(/_[LR]$/, '');
    if (whole !== ictName && ARKIT_SET.has(whole)) {
      add(whole, i);
      if (options.keepSplitHalves) add(arkit, i);
      return;
    }
    add(ictName, i);
  });
  if (options.addMissing ?? true) {
    for (const name of ARKIT_BLENDSHAPES) {
      if (!byName.has(name)) {
        const target = { name, sources: [] };
        byName.set(name, target);
        plan.push(target);
      }
    }
  }
  return plan;
}
