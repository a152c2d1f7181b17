/**
 * Atomic file output: a reader never sees a half-written file, and a run that fails part-way leaves nothing.
 *
 * - `writeFileAtomic(path, bytes)`: one file, written to a temporary name in the same folder, fsynced, then
 *   renamed over the target (rename is atomic within one file system).
 * - `beginOutput(dir)`: a transaction over several files. Each `write()` lands in a hidden staging folder beside
 *   `dir` (`.<name>.staging-<random>`, same parent so the final renames stay on one file system); `commit()`
 *   moves them into place, `abort()` deletes the staging folder. When `dir` does not exist yet, commit renames
 *   the whole staging folder to `dir` in one step, so the output appears all at once; when it exists, each file
 *   is renamed into it (each file atomic, existing files with the same names replaced, others left alone).
 * - `withOutput(dir, fn)`: begin, run `fn(out)`, commit, or abort if `fn` throws.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, sep } from 'node:path';

export type FileBytes = Uint8Array | string;

function toBytes(data: FileBytes): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

function suffix(): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Writes `data` to a new file at `path` (which must not exist) and fsyncs it. */
async function writeAndSync(path: string, data: FileBytes): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(toBytes(data));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Best-effort fsync of a folder, so a rename inside it survives a crash (not supported everywhere). */
async function syncDir(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or sync folders; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}

/** Replaces `path` by `data` atomically: temp file in the same folder, fsync, rename. Creates parent folders. */
export async function writeFileAtomic(path: string, data: FileBytes): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.tmp-${suffix()}`);
  try {
    await writeAndSync(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

/** A set of files written together; see the module comment. */
export interface OutputDir {
  /** The final folder. */
  readonly dir: string;
  /** The hidden staging folder the files go to until commit. */
  readonly stagingDir: string;
  /** Stages one file. `name` is relative to `dir` (sub-folders allowed, no `..`, no absolute paths). */
  write(name: string, data: FileBytes): Promise<void>;
  /** Relative names staged so far, in write order. */
  readonly files: readonly string[];
  /** Moves every staged file into `dir` and removes the staging folder. */
  commit(): Promise<void>;
  /** Deletes the staging folder and everything in it. Safe to call more than once, and after a failed commit. */
  abort(): Promise<void>;
}

function checkName(name: string): string {
  const norm = normalize(name);
  if (name.length === 0 || isAbsolute(name) || norm === '.' || norm === '..' || norm.startsWith(`..${sep}`)) {
    throw new Error(`output file name must be a relative path inside the folder: ${JSON.stringify(name)}`);
  }
  return norm;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Starts an output transaction for folder `dir` (created on commit if missing). */
export async function beginOutput(dir: string): Promise<OutputDir> {
  const target = normalize(dir).replace(/[\\/]+$/, '') || '.';
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const stagingDir = join(parent, `.${basename(target)}.staging-${suffix()}`);
  await mkdir(stagingDir);
  const files: string[] = [];
  let state: 'open' | 'committed' | 'aborted' = 'open';

  const requireOpen = (what: string): void => {
    if (state !== 'open') throw new Error(`cannot ${what}: output transaction already ${state}`);
  };

  return {
    dir: target,
    stagingDir,
    files,
    async write(name: string, data: FileBytes): Promise<void> {
      requireOpen('write');
      const rel = checkName(name);
      if (files.includes(rel)) throw new Error(`output file written twice: ${rel}`);
      const path = join(stagingDir, rel);
      await mkdir(dirname(path), { recursive: true });
      await writeAndSync(path, data);
      files.push(rel);
    },
    async commit(): Promise<void> {
      requireOpen('commit');
      await syncDir(stagingDir);
      if (!(await exists(target))) {
        try {
          await rename(stagingDir, target);
          state = 'committed';
          await syncDir(parent);
          return;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          // Someone created the folder meanwhile: fall back to moving the files one by one.
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EISDIR') throw err;
        }
      }
      for (const rel of files) {
        const dest = join(target, rel);
        await mkdir(dirname(dest), { recursive: true });
        await rename(join(stagingDir, rel), dest);
      }
      state = 'committed';
      await syncDir(target);
      await rm(stagingDir, { recursive: true, force: true });
    },
    async abort(): Promise<void> {
      if (state === 'committed') return;
      state = 'aborted';
      await rm(stagingDir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` inside an output transaction: commits when it resolves, aborts (and rethrows) when it throws. */
export async function withOutput<T>(dir: string, fn: (out: OutputDir) => Promise<T>): Promise<T> {
  const out = await beginOutput(dir);
  let result: T;
  try {
    result = await fn(out);
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
  return result;
}

