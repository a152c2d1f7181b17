/**
 * GANFIT stage 1 (alignment): fit camera, identity and expression to 68 detected landmarks.
 *
 * Levenberg–Marquardt in float64 over only the landmark vertices (a few hundred numbers per iteration), so it
 * is exact, deterministic and takes milliseconds. The jaw points on the side turned away from the camera follow
 * the silhouette (detectors put them on the visible outline, not on the hidden 3D jaw): every few iterations each
 * of them is re-assigned to the outermost vertex of its horizontal band of the model.
 */
import type { FaceModel } from '../model/types.js';
import { axisAngleFromRotation, poseFromRotation, rotationMatrix64, type PoseAngles } from '../render/camera.js';
import { matMul3, solveSpd } from '../engine/linalg.js';
import type { CameraParams } from './camera-params.js';

export interface LandmarkFitConfig {
  /** Identity modes optimised (the rest stay 0). */
  identityModes: number;
  /** Weight of the N(0,1) identity prior relative to the landmark term. */
  identityPrior: number;
  /** Weight of the L2 expression prior (weights live in [0, 1]). */
  expressionPrior: number;
  /** Expected landmark noise per coordinate, as a fraction of the face size. */
  landmarkSigma: number;
  /** Relative weight of the 17 jaw points (detectors place them least reliably). */
  jawWeight: number;
  /** Focal length as a multiple of the image's longer side (phone portraits: about 1–1.5). */
  focalFactor: number;
  /** Rigid-only iterations, then joint iterations. */
  rigidIterations: number;
  jointIterations: number;
  /** Re-assign silhouette jaw points every this many joint iterations. */
  contourEvery: number;
  /** Use the sliding jaw contour on the side turned away from the camera. */
  contour: boolean;
  /** Initial yaw guesses (degrees, model axes) tried for the rigid stage; the best one is kept. */
  yawStarts: number[];
}

/**
 * Defaults chosen on synthetic heads with known shape (`ganfit synth`, 150 samples, seed 1) and checked on
 * aflw2000-dev (cached detections): 40 identity modes with priors of 20 give 5.4 mm mean 3D face error and 9.54 %
 * balanced NME; 100 modes with priors of 1 fit the 2D points closer (9.27 %) but the shape far worse (8.1 mm) —
 * 68 detected points cannot pin down more identity — and take three times as long.
 */
export const defaultLandmarkFitConfig: LandmarkFitConfig = {
  identityModes: 40,
  identityPrior: 20,
  expressionPrior: 20,
  landmarkSigma: 0.02,
  jawWeight: 0.5,
  focalFactor: 1.2,
  rigidIterations: 15,
  jointIterations: 30,
  contourEvery: 5,
  contour: true,
  yawStarts: [0, -50, 50],
};

export interface LandmarkFitInput {
  /** 68×2 detected landmarks, pixels (docs/conventions.md). */
  landmarks: Float32Array | Float64Array | number[];
  width: number;
  height: number;
}

export interface LandmarkFitResult {
  identity: Float64Array;
  expression: Float64Array;
  camera: CameraParams;
  pose: PoseAngles;
  /** 68×2: the model's 68 landmark vertices projected into the image (pixels). */
  landmarks2d: Float64Array;
  /** 68×3: the same vertices in camera space (cm). */
  landmarks3d: Float64Array;
  /** The vertex each of the 68 detected points was matched to at the end (jaw points may slide). */
  correspondence: Uint32Array;
  /** Root-mean-square landmark distance in pixels against the matched vertices, and normalised by face size. */
  rmsPixels: number;
  rmsNormalised: number;
  /** √(w·h) of the detected landmarks' box, pixels (the normaliser of rmsNormalised). */
  faceSize: number;
  iterations: number;
}

/** Linear basis restricted to a set of vertices: position(v) = neutral + Σ α·identity + Σ β·expression. */
interface SubsetBasis {
  vertices: Uint32Array;
  neutral: Float64Array; // S×3
  identity: Float64Array; // K×S×3
  expression: Float64Array; // E×S×3
  identityCount: number;
  expressionCount: number;
}

function subsetBasis(model: FaceModel, vertices: Uint32Array, identityModes: number): SubsetBasis {
  const s = vertices.length;
  const v3 = model.vertexCount * 3;
  const k = Math.min(identityModes, model.identityCount);
  const e = model.expressionNames.length;
  const neutral = new Float64Array(s * 3);
  const identity = new Float64Array(k * s * 3);
  const expression = new Float64Array(e * s * 3);
  for (let i = 0; i < s; i++) {
    for (let c = 0; c < 3; c++) {
      const src = vertices[i] * 3 + c;
      neutral[i * 3 + c] = model.neutral[src];
      for (let m = 0; m < k; m++) identity[(m * s + i) * 3 + c] = model.identityBasis[m * v3 + src];
      for (let m = 0; m < e; m++) expression[(m * s + i) * 3 + c] = model.expressionBasis[m * v3 + src];
    }
  }
  return { vertices, neutral, identity, expression, identityCount: k, expressionCount: e };
}

/** Model-space positions (R×3) of the given rows of the subset, for the given coefficients. */
function subsetPositions(b: SubsetBasis, alpha: Float64Array, beta: Float64Array, rows: ArrayLike<number>): Float64Array {
  const s = b.vertices.length;
  const out = new Float64Array(rows.length * 3);
  for (let r = 0; r < rows.length; r++) {
    const base = rows[r] * 3;
    let x = b.neutral[base], y = b.neutral[base + 1], z = b.neutral[base + 2];
    for (let m = 0; m < b.identityCount; m++) {
      const a = alpha[m];
      if (a === 0) continue;
      const o = m * s * 3 + base;
      x += a * b.identity[o]; y += a * b.identity[o + 1]; z += a * b.identity[o + 2];
    }
    for (let m = 0; m < b.expressionCount; m++) {
      const e = beta[m];
      if (e === 0) continue;
      const o = m * s * 3 + base;
      x += e * b.expression[o]; y += e * b.expression[o + 1]; z += e * b.expression[o + 2];
    }
    out[r * 3] = x; out[r * 3 + 1] = y; out[r * 3 + 2] = z;
  }
  return out;
}

/** Camera rotation (model → camera axes): F·R with F = diag(1, −1, −1). */
function cameraRotation(r: Float64Array): Float64Array {
  return new Float64Array([r[0], r[1], r[2], -r[3], -r[4], -r[5], -r[6], -r[7], -r[8]]);
}

/** Jaw-contour candidates: for each jaw point, the face vertices in its horizontal band on its side of the face. */
function jawCandidates(model: FaceModel): Map<number, Uint32Array> {
  const lm = model.landmarks.landmarks68;
  const face = model.parts.find((p) => p.name === 'face') ?? { vertexStart: 0, vertexEnd: model.vertexCount };
  const n = model.neutral;
  const out = new Map<number, Uint32Array>();
  const jawPoints = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16];
  for (const k of jawPoints) {
    const v = lm[k];
    const x = n[v * 3], y = n[v * 3 + 1], z = n[v * 3 + 2];
    const neighbour = lm[k < 8 ? k + 1 : k - 1];
    const band = Math.max(0.25, 0.5 * Math.abs(n[neighbour * 3 + 1] - y));
    const side = Math.sign(x);
    const list: number[] = [v];
    for (let i = face.vertexStart; i < face.vertexEnd; i++) {
      const xi = n[i * 3], yi = n[i * 3 + 1], zi = n[i * 3 + 2];
      if (i === v || Math.sign(xi) !== side || Math.abs(yi - y) > band) continue;
      // From the jaw point towards the cheek's side, not round the back of the head nor onto the lips.
      if (Math.abs(xi) < Math.abs(x) - 1.5 || zi < z - 4 || zi > z + 3) continue;
      list.push(i);
    }
    out.set(k, Uint32Array.from(list));
  }
  return out;
}

/** Add one Jacobian row to the lower triangle of JᵀJ and to Jᵀr. */
function accumulateNormalEquations(jtj: Float64Array, jtr: Float64Array, jRow: Float64Array, n: number, residual: number): void {
  for (let a = 0; a < n; a++) {
    const ja = jRow[a];
    if (ja === 0) continue;
    jtr[a] += ja * residual;
    const rowStart = a * n;
    for (let b = 0; b <= a; b++) jtj[rowStart + b] += ja * jRow[b];
  }
}

interface LandmarkBasis {
  candidates: Map<number, Uint32Array>;
  /** Vertex index → row of the subset basis. */
  row: Map<number, number>;
  basis: SubsetBasis;
}

const basisCache = new WeakMap<FaceModel, Map<string, LandmarkBasis>>();

/** One basis over the 68 landmark vertices and every contour candidate; built once per model and settings. */
function landmarkBasis(model: FaceModel, contour: boolean, identityModes: number): LandmarkBasis {
  const key = `${contour}:${identityModes}`;
  let perModel = basisCache.get(model);
  if (!perModel) basisCache.set(model, (perModel = new Map()));
  const cached = perModel.get(key);
  if (cached) return cached;
  const candidates = contour ? jawCandidates(model) : new Map<number, Uint32Array>();
  const allVertices = new Set<number>(model.landmarks.landmarks68);
  for (const c of candidates.values()) for (const v of c) allVertices.add(v);
  const vertices = Uint32Array.from([...allVertices].sort((a, b) => a - b));
  const row = new Map<number, number>();
  vertices.forEach((v, i) => row.set(v, i));
  const built = { candidates, row, basis: subsetBasis(model, vertices, identityModes) };
  perModel.set(key, built);
  return built;
}

/**
 * Fit the model to 68 detected landmarks. Deterministic: the same input gives the same output.
 */
export function fitLandmarks(
  model: FaceModel,
  input: LandmarkFitInput,
  config: LandmarkFitConfig = defaultLandmarkFitConfig,
): LandmarkFitResult {
  const det = Float64Array.from(input.landmarks as ArrayLike<number>);
  if (det.length !== 136) throw new Error(`expected 68×2 landmarks, got ${det.length / 2} points`);
  const lm68 = model.landmarks.landmarks68;
  const { candidates, row, basis } = landmarkBasis(model, config.contour, config.identityModes);
  const K = basis.identityCount, E = basis.expressionCount;

  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let k = 0; k < 68; k++) {
    minX = Math.min(minX, det[2 * k]); maxX = Math.max(maxX, det[2 * k]);
    minY = Math.min(minY, det[2 * k + 1]); maxY = Math.max(maxY, det[2 * k + 1]);
  }
  const faceSize = Math.max(1, Math.sqrt((maxX - minX) * (maxY - minY)));
  const sigma = config.landmarkSigma * faceSize;
  const pointWeight = new Float64Array(68).fill(1);
  for (let k = 0; k <= 16; k++) pointWeight[k] = config.jawWeight;

  const focal = config.focalFactor * Math.max(input.width, input.height);
  const cx = (input.width - 1) / 2, cy = (input.height - 1) / 2;
  const correspondence = Uint32Array.from(lm68);

  // --- parameters ---
  let rotation: Float64Array = new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  const translation = new Float64Array(3);
  const alpha = new Float64Array(K);
  const beta = new Float64Array(E);

  const rowsOf = (vs: ArrayLike<number>) => Int32Array.from(vs as ArrayLike<number>, (v) => row.get(v)!);
  const project = (pos: Float64Array, i: number, rc: Float64Array, out: Float64Array) => {
    const x = pos[i * 3], y = pos[i * 3 + 1], z = pos[i * 3 + 2];
    const X = rc[0] * x + rc[1] * y + rc[2] * z + translation[0];
    const Y = rc[3] * x + rc[4] * y + rc[5] * z + translation[1];
    const Z = rc[6] * x + rc[7] * y + rc[8] * z + translation[2];
    out[0] = X; out[1] = Y; out[2] = Z;
    out[3] = (focal * X) / Z + cx;
    out[4] = (focal * Y) / Z + cy;
  };

  const landmarkCost = (): number => {
    const pos = subsetPositions(basis, alpha, beta, rowsOf(correspondence));
    const rc = cameraRotation(rotation);
    const p = new Float64Array(5);
    let cost = 0;
    for (let k = 0; k < 68; k++) {
      project(pos, k, rc, p);
      const w = pointWeight[k] / sigma;
      cost += (w * (p[3] - det[2 * k])) ** 2 + (w * (p[4] - det[2 * k + 1])) ** 2;
    }
    return cost;
  };
  const priorCost = (): number => {
    let c = 0;
    for (let i = 0; i < K; i++) c += config.identityPrior * alpha[i] * alpha[i];
    for (let j = 0; j < E; j++) c += config.expressionPrior * beta[j] * beta[j];
    return c;
  };

  /**
   * One LM solve over the chosen blocks. Parameter order: rotation update (3), translation (3), identity (K),
   * expression (E). Returns the cost after the step.
   */
  let damping = 1e-3;
  const step = (withShape: boolean): number => {
    const n = 6 + (withShape ? K + E : 0);
    const rows = rowsOf(correspondence);
    const pos = subsetPositions(basis, alpha, beta, rows);
    const rc = cameraRotation(rotation);
    const jtj = new Float64Array(n * n);
    const jtr = new Float64Array(n);
    const p = new Float64Array(5);
    const jRow = new Float64Array(n);
    const s = basis.vertices.length;
    for (let k = 0; k < 68; k++) {
      const i = rows[k];
      project(pos, k, rc, p);
      const [X, Y, Z] = p;
      const w = pointWeight[k] / sigma;
      // d(pixel)/d(camera point), 2×3.
      const dx = [focal / Z, 0, (-focal * X) / (Z * Z)];
      const dy = [0, focal / Z, (-focal * Y) / (Z * Z)];
      // Camera point minus translation, for the rotation derivative: d(exp(δ)·v)/dδ = −[v]×, in camera axes
      // the update is applied as R ← exp(δ)·R on the model-axis rotation, so the camera point moves by F·(δ × R·x).
      const mx = pos[k * 3], my = pos[k * 3 + 1], mz = pos[k * 3 + 2];
      const rx = rotation[0] * mx + rotation[1] * my + rotation[2] * mz;
      const ry = rotation[3] * mx + rotation[4] * my + rotation[5] * mz;
      const rz = rotation[6] * mx + rotation[7] * my + rotation[8] * mz;
      // δ × r for unit δ along each axis, then F = diag(1,−1,−1).
      const dRot = [
        [0, -rz, ry], // δ = e_x: (0, −rz, ry)... as (x, y, z) of e_x × r = (0, −r_z, r_y)
        [rz, 0, -rx], // e_y × r = (r_z, 0, −r_x)
        [-ry, rx, 0], // e_z × r = (−r_y, r_x, 0)
      ].map(([a, b, c]) => [a, -b, -c]);
      for (let axis = 0; axis < 2; axis++) {
        const d = axis === 0 ? dx : dy;
        const residual = w * ((axis === 0 ? p[3] : p[4]) - det[2 * k + axis]);
        jRow.fill(0);
        for (let r = 0; r < 3; r++) jRow[r] = w * (d[0] * dRot[r][0] + d[1] * dRot[r][1] + d[2] * dRot[r][2]);
        for (let t = 0; t < 3; t++) jRow[3 + t] = w * d[t];
        if (withShape) {
          // d(camera point)/d(model point) = rc; so d(pixel)/d(model point) = d·rc.
          const g0 = w * (d[0] * rc[0] + d[1] * rc[3] + d[2] * rc[6]);
          const g1 = w * (d[0] * rc[1] + d[1] * rc[4] + d[2] * rc[7]);
          const g2 = w * (d[0] * rc[2] + d[1] * rc[5] + d[2] * rc[8]);
          for (let m = 0; m < K; m++) {
            const o = (m * s + i) * 3;
            jRow[6 + m] = g0 * basis.identity[o] + g1 * basis.identity[o + 1] + g2 * basis.identity[o + 2];
          }
          for (let m = 0; m < E; m++) {
            const o = (m * s + i) * 3;
            jRow[6 + K + m] = g0 * basis.expression[o] + g1 * basis.expression[o + 1] + g2 * basis.expression[o + 2];
          }
        }
        accumulateNormalEquations(jtj, jtr, jRow, n, residual);
      }
    }
    if (withShape) {
      for (let m = 0; m < K; m++) {
        jtj[(6 + m) * n + 6 + m] += config.identityPrior;
        jtr[6 + m] += config.identityPrior * alpha[m];
      }
      for (let m = 0; m < E; m++) {
        jtj[(6 + K + m) * n + 6 + K + m] += config.expressionPrior;
        jtr[6 + K + m] += config.expressionPrior * beta[m];
      }
    }
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) jtj[a * n + b] = jtj[b * n + a];
    if (withShape) {
      // Active set of the [0, 1] bounds: an expression weight at a bound that the step would push outside stays put.
      for (let m = 0; m < E; m++) {
        const i = 6 + K + m;
        if ((beta[m] <= 0 && jtr[i] > 0) || (beta[m] >= 1 && jtr[i] < 0)) {
          for (let b = 0; b < n; b++) { jtj[i * n + b] = 0; jtj[b * n + i] = 0; }
          jtj[i * n + i] = 1;
          jtr[i] = 0;
        }
      }
    }

    const before = landmarkCost() + (withShape ? priorCost() : 0);
    const saved = { rotation, translation: Float64Array.from(translation), alpha: Float64Array.from(alpha), beta: Float64Array.from(beta) };
    for (let attempt = 0; attempt < 5; attempt++) {
      const a = Float64Array.from(jtj);
      for (let d = 0; d < n; d++) a[d * n + d] += damping * (jtj[d * n + d] + 1e-6);
      const delta = solveSpd(a, jtr.map((v) => -v), n);
      if (delta) {
        rotation = matMul3(rotationMatrix64([delta[0], delta[1], delta[2]]), saved.rotation);
        for (let t = 0; t < 3; t++) translation[t] = saved.translation[t] + delta[3 + t];
        if (withShape) {
          for (let m = 0; m < K; m++) alpha[m] = saved.alpha[m] + delta[6 + m];
          for (let m = 0; m < E; m++) beta[m] = Math.min(1, Math.max(0, saved.beta[m] + delta[6 + K + m]));
        }
        // Keep the head in front of the camera.
        if (translation[2] > 1) {
          const after = landmarkCost() + (withShape ? priorCost() : 0);
          if (after < before) {
            damping = Math.max(1e-7, damping / 3);
            return after;
          }
        }
      }
      rotation = saved.rotation;
      translation.set(saved.translation);
      alpha.set(saved.alpha);
      beta.set(saved.beta);
      damping = Math.min(1e8, damping * 10);
    }
    return before;
  };

  /** Re-assign the jaw points of the side turned away from the camera to the silhouette. */
  const updateContour = () => {
    if (!config.contour) return;
    const rc = cameraRotation(rotation);
    const p = new Float64Array(5);
    for (const [sideSign, points] of [[-1, [0, 1, 2, 3, 4, 5, 6, 7]], [1, [9, 10, 11, 12, 13, 14, 15, 16]]] as const) {
      // The side's outward direction in camera space; away from the camera means positive depth component.
      const outX = rc[0] * sideSign, outY = rc[3] * sideSign, outZ = rc[6] * sideSign;
      const turnedAway = outZ > Math.sin((10 * Math.PI) / 180);
      const norm = Math.hypot(outX, outY) || 1;
      for (const k of points) {
        if (!turnedAway) {
          correspondence[k] = lm68[k];
          continue;
        }
        let best = lm68[k], bestScore = -Infinity;
        const list = candidates.get(k)!;
        const pos = subsetPositions(basis, alpha, beta, rowsOf(list));
        for (let c = 0; c < list.length; c++) {
          const v = list[c];
          project(pos, c, rc, p);
          const score = (p[3] * outX + p[4] * outY) / norm;
          if (score > bestScore) { bestScore = score; best = v; }
        }
        correspondence[k] = best;
      }
    }
  };

  // --- initialisation: mean shape, centred, at the distance that matches the detected face size ---
  const initRigid = (yawDeg: number) => {
    rotation = rotationMatrix64([0, (yawDeg * Math.PI) / 180, 0]);
    alpha.fill(0); beta.fill(0);
    correspondence.set(lm68);
    const pos = subsetPositions(basis, alpha, beta, rowsOf(lm68));
    let spread = 0;
    let mx = 0, my = 0, dx = 0, dy = 0;
    for (let k = 0; k < 68; k++) {
      mx += pos[k * 3] / 68; my += pos[k * 3 + 1] / 68;
      dx += det[2 * k] / 68; dy += det[2 * k + 1] / 68;
    }
    for (let k = 0; k < 68; k++) {
      spread += Math.hypot(pos[k * 3] - mx, pos[k * 3 + 1] - my);
    }
    let detSpread = 0;
    for (let k = 0; k < 68; k++) detSpread += Math.hypot(det[2 * k] - dx, det[2 * k + 1] - dy);
    const z = (focal * spread) / Math.max(detSpread, 1e-6);
    translation[2] = z;
    translation[0] = ((dx - cx) * z) / focal - mx;
    translation[1] = ((dy - cy) * z) / focal + my;
    damping = 1e-3;
  };

  let iterations = 0;
  let bestStart = 0, bestCost = Infinity;
  for (const yaw of config.yawStarts) {
    initRigid(yaw);
    let cost = Infinity;
    for (let it = 0; it < config.rigidIterations; it++) {
      cost = step(false);
      iterations++;
      if (it % config.contourEvery === config.contourEvery - 1) updateContour();
    }
    if (cost < bestCost) { bestCost = cost; bestStart = yaw; }
  }
  initRigid(bestStart);
  for (let it = 0; it < config.rigidIterations; it++) {
    step(false);
    iterations++;
    if (it % config.contourEvery === config.contourEvery - 1) updateContour();
  }
  let previous = Infinity;
  damping = 1e-3;
  for (let it = 0; it < config.jointIterations; it++) {
    if (config.contour && it % config.contourEvery === 0) updateContour();
    const cost = step(true);
    iterations++;
    // Converged (no step lowers the cost any more): stop, unless a contour re-assignment may still change things.
    if (it > 0 && previous - cost <= 1e-7 * previous) {
      if (!config.contour) break;
      it += config.contourEvery - 1 - (it % config.contourEvery);
    }
    previous = cost;
  }

  // --- outputs ---
  const pos = subsetPositions(basis, alpha, beta, rowsOf(lm68));
  const matched = subsetPositions(basis, alpha, beta, rowsOf(correspondence));
  const rc = cameraRotation(rotation);
  const p = new Float64Array(5);
  const landmarks2d = new Float64Array(136);
  const landmarks3d = new Float64Array(204);
  for (let k = 0; k < 68; k++) {
    project(pos, k, rc, p);
    landmarks2d[2 * k] = p[3]; landmarks2d[2 * k + 1] = p[4];
    landmarks3d.set([p[0], p[1], p[2]], 3 * k);
  }
  let sq = 0;
  for (let k = 0; k < 68; k++) {
    project(matched, k, rc, p);
    sq += (p[3] - det[2 * k]) ** 2 + (p[4] - det[2 * k + 1]) ** 2;
  }
  const rmsPixels = Math.sqrt(sq / 68);
  const identity = new Float64Array(model.identityCount);
  identity.set(alpha);
  const camera: CameraParams = {
    rotation: Array.from(axisAngleFromRotation(rotation)) as [number, number, number],
    translation: [translation[0], translation[1], translation[2]],
    focal,
    principal: [cx, cy],
    width: input.width,
    height: input.height,
  };
  return {
    identity, expression: Float64Array.from(beta), camera, pose: poseFromRotation(rotation),
    landmarks2d, landmarks3d, correspondence: Uint32Array.from(correspondence),
    rmsPixels, rmsNormalised: rmsPixels / faceSize, faceSize, iterations,
  };
}
