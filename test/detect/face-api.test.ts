import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage, type RgbImage } from '../../src/io/image.js';
import { loadDetector, selectFace, type Detector, type DetectedFace } from '../../src/detect/index.js';
import { GanfitError, ExitCode } from '../../src/io/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const portraits = path.resolve(here, '../../../shared/data/portraits');
const havePortraits = existsSync(path.join(portraits, 'manifest.csv'));
const skipPortraits = havePortraits ? false : `shared/data/portraits not found at ${portraits}`;
if (!havePortraits) console.log(`# skipping photo tests: ${skipPortraits}`);

function manifest(): { file: string; kind: string }[] {
  const [header, ...lines] = readFileSync(path.join(portraits, 'manifest.csv'), 'utf8').trim().split('\n');
  const cols = header!.split(',');
  return lines.map((l) => {
    const v = l.split(',');
    return { file: v[cols.indexOf('file')]!, kind: v[cols.indexOf('kind')]! };
  });
}

let detector: Detector;
before(async () => {
  detector = await loadDetector();
});

const solid = (w: number, h: number, v: number): RgbImage => ({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(v) });
const pt = (f: DetectedFace, i: number) => [f.landmarks[2 * i]!, f.landmarks[2 * i + 1]!] as const;
const mean = (f: DetectedFace, from: number, to: number) => {
  let x = 0, y = 0;
  for (let i = from; i <= to; i++) [x, y] = [x + pt(f, i)[0], y + pt(f, i)[1]];
  return [x / (to - from + 1), y / (to - from + 1)] as const;
};
const iou = (a: readonly number[], b: readonly number[]) => {
  const ix = Math.max(0, Math.min(a[0]! + a[2]!, b[0]! + b[2]!) - Math.max(a[0]!, b[0]!));
  const iy = Math.max(0, Math.min(a[1]! + a[3]!, b[1]! + b[3]!) - Math.max(a[1]!, b[1]!));
  return (ix * iy) / (a[2]! * a[3]! + b[2]! * b[3]! - ix * iy);
};

/** Landmark sanity: brows above eyes above nose tip above mouth above chin; image-left eye left of the other. */
function assertPlausible(f: DetectedFace, label: string): void {
  assert.equal(f.landmarks.length, 136);
  assert.ok(f.landmarks.every(Number.isFinite), `${label}: finite landmarks`);
  const brows = mean(f, 17, 26), eyeL = mean(f, 36, 41), eyeR = mean(f, 42, 47), mouth = mean(f, 48, 67);
  const nose = pt(f, 30), chin = pt(f, 8);
  assert.ok(brows[1] < (eyeL[1] + eyeR[1]) / 2, `${label}: brows above eyes`);
  assert.ok(Math.max(eyeL[1], eyeR[1]) < nose[1] && nose[1] < mouth[1] && mouth[1] < chin[1], `${label}: eyes > nose > mouth > chin`);
  assert.ok(eyeL[0] < eyeR[0], `${label}: eye 36–41 is on the image left`);
  const [x, y, w, h] = f.box;
  assert.ok(nose[0] > x && nose[0] < x + w && nose[1] > y && nose[1] < y + h, `${label}: nose tip inside the box`);
}

test('no face on blank, tiny and 1×1 images', async () => {
  assert.deepEqual(await detector.detect(solid(1, 1, 0)), []);
  assert.deepEqual(await detector.detect(solid(320, 240, 200)), []);
  assert.deepEqual(await detector.detect(solid(7, 300, 90)), []);
});

test('selectFace: largest by default, note with several, usage error (exit 2) out of range', () => {
  const face = (w: number): DetectedFace => ({ box: [0, 0, w, w], score: 0.9, landmarks: new Float32Array(136) });
  assert.equal(selectFace([face(50)]).note, undefined);
  const many = [face(80), face(60), face(40)];
  const c = selectFace(many);
  assert.equal(c.face, many[0]);
  assert.match(c.note!, /3 faces found; using face 0 .*--face N \(0–2/);
  assert.equal(selectFace(many, 2).face, many[2]);
  for (const bad of [3, -1, 1.5]) {
    assert.throws(() => selectFace(many, bad), (e: unknown) => e instanceof GanfitError && e.code === ExitCode.Usage && /--face/.test(e.message));
  }
});

test('landmarks follow the box exactly under an integer translation (pixel bookkeeping)', { skip: skipPortraits }, async () => {
  const img = await decodeImage(path.join(portraits, 'Colin_Powell_0004.jpg'));
  const [face] = await detector.detect(img);
  assert.ok(face);
  // The same photo with 13 columns and 7 rows of grey added on the left and top.
  const dx = 13, dy = 7, W = img.width + dx, H = img.height + dy;
  const shifted = solid(W, H, 128);
  for (let y = 0; y < img.height; y++) shifted.data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y + dy) * W + dx) * 3);
  const [x, y0, w, h] = face.box;
  const a = await detector.landmarksInBox(img, face.box);
  const b = await detector.landmarksInBox(shifted, [x + dx, y0 + dy, w, h]);
  for (let i = 0; i < 68; i++) {
    assert.ok(Math.abs(b[2 * i]! - dx - a[2 * i]!) < 0.02 && Math.abs(b[2 * i + 1]! - dy - a[2 * i + 1]!) < 0.02, `point ${i}`);
  }
});

test('identity portraits: one face each, centred, plausible landmarks', { skip: skipPortraits }, async () => {
  const files = manifest().filter((r) => r.kind !== 'multi-face').map((r) => r.file);
  assert.ok(files.length >= 36);
  for (const file of files) {
    const img = await decodeImage(path.join(portraits, file));
    const faces = await detector.detect(img);
    assert.equal(faces.length, 1, `${file}: ${faces.length} faces`);
    const f = faces[0]!;
    const [x, y, w, h] = f.box;
    // LFW deep-funneled crops centre a ~100–120 px face in 250×250.
    assert.ok(Math.abs(x + w / 2 - 124.5) < 25 && Math.abs(y + h / 2 - 124.5) < 35, `${file}: face centred (${f.box})`);
    assert.ok(w > 70 && w < 170, `${file}: face width ${w}`);
    assertPlausible(f, file);
  }
});

test('group photos: every annotated face found, largest first', { skip: skipPortraits }, async () => {
  // dlib's annotations of these two PASCAL VOC photos (shared/data/portraits/README.md), [x, y, w, h].
  const annotated: Record<string, number[][]> = {
    '2008_001322.jpg': [[104, 162, 76, 76], [232, 218, 63, 63], [344, 155, 90, 90]],
    '2008_007676.jpg': [[226, 62, 37, 37], [194, 113, 44, 44], [262, 130, 37, 37], [366, 134, 37, 37], [314, 122, 37, 37], [107, 141, 52, 53], [137, 84, 44, 44]],
  };
  for (const [file, boxes] of Object.entries(annotated)) {
    const faces = await detector.detect(await decodeImage(path.join(portraits, file)));
    assert.ok(faces.length >= boxes.length && faces.length <= boxes.length + 1, `${file}: ${faces.length} faces, ${boxes.length} annotated`);
    for (const b of boxes) assert.ok(faces.some((f) => iou(f.box, b) > 0.3), `${file}: annotated face ${b} found`);
    for (let i = 1; i < faces.length; i++) assert.ok(faces[i - 1]!.box[2] * faces[i - 1]!.box[3] >= faces[i]!.box[2] * faces[i]!.box[3]);
    faces.forEach((f, i) => assertPlausible(f, `${file} face ${i}`));
    assert.match(selectFace(faces).note!, new RegExp(`^${faces.length} faces found`));
  }
});

test('a tight face crop is found thanks to padding; landmarks come back in the crop’s pixels', { skip: skipPortraits }, async () => {
  const img = await decodeImage(path.join(portraits, 'Laura_Bush_0001.jpg'));
  const [face] = await detector.detect(img);
  assert.ok(face);
  // Crop the detector box itself, edge to edge, the way UTKFace crops are tight.
  const [bx, by, bw, bh] = face.box.map(Math.round) as [number, number, number, number];
  const x0 = bx + 1, y0 = by + 1;
  const crop = solid(bw, bh, 0);
  for (let y = 0; y < bh; y++) crop.data.set(img.data.subarray(((y + y0) * img.width + x0) * 3, ((y + y0) * img.width + x0 + bw) * 3), y * bw * 3);
  const padded = await detector.detect(crop);
  assert.equal(padded.length, 1, 'found in the tight crop');
  const f = padded[0]!;
  assertPlausible(f, 'tight crop');
  // Inner points (brows, eyes, nose, mouth) agree with those found in the full photo, within 4 px.
  let err = 0;
  for (let i = 17; i < 68; i++) err += Math.hypot(f.landmarks[2 * i]! + x0 - face.landmarks[2 * i]!, f.landmarks[2 * i + 1]! + y0 - face.landmarks[2 * i + 1]!);
  assert.ok(err / 51 < 4, `mean inner-point distance ${(err / 51).toFixed(2)} px`);
});

test('TinyFaceDetector option finds the portrait face too', { skip: skipPortraits }, async () => {
  const tiny = await loadDetector({ detector: 'tiny' });
  const faces = await tiny.detect(await decodeImage(path.join(portraits, 'Kofi_Annan_0001.jpg')));
  assert.equal(faces.length, 1);
  assertPlausible(faces[0]!, 'tiny');
});

test('MIRROR_68 swaps left and right: an involution that fixes exactly the midline points', async () => {
  const { MIRROR_68 } = await import('../../src/detect/face-api.js');
  assert.equal(MIRROR_68.length, 68);
  MIRROR_68.forEach((j, i) => assert.equal(MIRROR_68[j], i, `mirror of mirror of ${i}`));
  const fixed = MIRROR_68.flatMap((j, i) => (j === i ? [i] : []));
  assert.deepEqual(fixed, [8, 27, 28, 29, 30, 33, 51, 57, 62, 66]);
});
