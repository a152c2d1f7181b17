/**
 * Loading the committed face-model asset (docs/model-asset.md).
 *
 * `parseFaceModel` has no file-system dependency (browser-safe); `loadFaceModel` reads a file in Node and uses
 * `fetch` for http(s) URLs or outside Node.
 */
import { parseFaceModel } from './asset-format.js';
import type { FaceModel } from './types.js';

export { parseFaceModel, FaceModelFormatError } from './asset-format.js';

/** The committed asset, resolved from this module so it works from src/model (tsx) and dist/model (build). */
export const DEFAULT_MODEL_URL = new URL('../../assets/ict-face-model.bin', import.meta.url);

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Read the asset bytes from a path or URL (default: the committed asset). */
export async function readFaceModelBytes(location: string | URL = DEFAULT_MODEL_URL): Promise<Uint8Array> {
  const url = location instanceof URL ? location : /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? new URL(location) : null;
  if (!isNode || (url && url.protocol !== 'file:')) {
    const response = await fetch(url ?? location);
    if (!response.ok) throw new Error(`could not fetch the face model ${String(location)}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(url ?? location);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') {
      throw new Error(`face model not found at ${url ? url.pathname : location}: create it with \`ganfit model import-ict\``);
    }
    throw err;
  }
}

/** Load and parse a face-model asset (default: assets/ict-face-model.bin of this package). */
export async function loadFaceModel(location: string | URL = DEFAULT_MODEL_URL): Promise<FaceModel> {
  return parseFaceModel(await readFaceModelBytes(location));
}
