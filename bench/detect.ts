/**
 * Detection timing on a 450×450 photo: SSD-MobileNetV1 boxes, SSD + 68 landmarks (one and two landmark passes),
 * TinyFaceDetector + landmarks. wasm backend, one thread. Run alone: `node --import tsx bench/detect.ts [photo]`.
 * Uses shared/data/aflw2000-dev/images/image00006.jpg when present, else a synthetic 450×450 image (detector
 * cost does not depend on content; landmark passes run only where a face is found).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage, type RgbImage } from '../src/io/image.js';
import { loadDetector } from '../src/detect/index.js';
import { medianMs } from './timing.js';

export interface DetectBench {
  photo: string;
  width: number;
  height: number;
  faces: number;
  /** Median milliseconds per call, after one warm-up call. */
  ms: { ssdBoxesOnly: number; ssdLandmarks: number; ssdLandmarksRefined: number; tinyLandmarks: number };
}

const here = path.dirname(fileURLToPath(import.meta.url));
const defaultPhoto = path.resolve(here, '../../shared/data/aflw2000-dev/images/image00006.jpg');


export async function benchDetect(photo = defaultPhoto, runs = 7): Promise<DetectBench> {
  let image: RgbImage;
  if (existsSync(photo)) image = await decodeImage(photo);
  else {
    image = { width: 450, height: 450, data: new Uint8Array(450 * 450 * 3).map((_, i) => (i * 2654435761) >>> 24) };
    photo = '(synthetic 450×450, no face)';
  }
  const ssd = await loadDetector({ refine: false, retryPad: 0 });
  const ssdRefined = await loadDetector({ refine: true, retryPad: 0 });
  const tiny = await loadDetector({ detector: 'tiny', retryPad: 0 });
  const boxesOnly = await loadDetector({ refine: false, retryPad: 0 });
  const faces = (await ssd.detect(image)).length;
  return {
    photo,
    width: image.width,
    height: image.height,
    faces,
    ms: {
      // SSD alone: the same-size image in flat grey holds no face, so no landmark pass runs.
      ssdBoxesOnly: await medianMs(runs, () => boxesOnly.detect({ ...image, data: new Uint8Array(image.data.length).fill(128) })),
      ssdLandmarks: await medianMs(runs, () => ssd.detect(image)),
      ssdLandmarksRefined: await medianMs(runs, () => ssdRefined.detect(image)),
      tinyLandmarks: await medianMs(runs, () => tiny.detect(image)),
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await benchDetect(process.argv[2]);
  console.log(JSON.stringify(result, null, 2));
}
