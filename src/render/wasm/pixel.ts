/**
 * The fused renderer's per-pixel kernels as WebAssembly (source: assembly/pixel.ts, AssemblyScript; compiled into
 * pixel-binary.ts by `npm run build:wasm`), and a small first-fit heap over the module's memory. The module is
 * compiled on first use, synchronously (28 KB: fine in Node and in browser workers), once per process.
 *
 * Typed-array views of the memory are cheap but go stale when the memory grows: callers take views after their
 * allocations (see `Workspace` in ../fused.ts) and never keep them across one.
 */
import { PIXEL_KERNELS_BASE64 } from './pixel-binary.js';

type Ptr = number;

/** The kernels of one element type (f32 or f64 arrays); pointers are byte offsets into the module's memory. */
export interface PixelKernelSet {
  /** Interleave cam [n,3], normals [n,3], clip [n,4] into 16-element vertex records (n = B·V). */
  vertexRecords(cam: Ptr, nrm: Ptr, clip: Ptr, n: number, rec: Ptr): void;
  /** Add gradient records into gCam, gNrm, gClip. */
  vertexGrads(grec: Ptr, n: number, gCam: Ptr, gNrm: Ptr, gClip: Ptr): void;
  coverage(ids: Ptr, rasterBary: Ptr, records: Ptr, tris: Ptr, B: number, H: number, W: number, V: number, batched: number, pixels: Ptr, bary: Ptr): number;
  interpolate(pixels: Ptr, bary: Ptr, ids: Ptr, N: number, P: number, V: number, C: number, stride: number, tris: Ptr, a: Ptr, outA: Ptr, b: Ptr, outB: Ptr): void;
  texture(table: Ptr, levels: number, uv: Ptr, levelOf: Ptr, out: Ptr, N: number): void;
  /** Adds into the level gradients (grads: a table of their offsets); writes gUv. */
  textureBackward(table: Ptr, grads: Ptr, levels: number, uv: Ptr, levelOf: Ptr, dy: Ptr, gUv: Ptr, N: number): void;
  pow(d: Ptr, table: Ptr, p: number, lo: number, clampTop: number, out: Ptr, slope: Ptr, n: number): void;
  /** Decode → Phong (light ≠ 0) or unlit → encode; the backward writes gAlb, gNrm, gPos. */
  shade(alb: Ptr, nrm: Ptr, pos: Ptr, light: Ptr, decode: Ptr, encode: Ptr, lin: Ptr, slopeDec: Ptr, out: Ptr, slopeEnc: Ptr, N: number): void;
  shadeBackward(pixels: Ptr, gImage: Ptr, lin: Ptr, nrm: Ptr, pos: Ptr, light: Ptr, slopeEnc: Ptr, slopeDec: Ptr, gAlb: Ptr, gNrm: Ptr, gPos: Ptr, sums: Ptr, N: number): void;
  scatter(pixels: Ptr, N: number, C: number, compact: Ptr, dense: Ptr): void;
  imageBackward(
    pixels: Ptr, bary: Ptr, ids: Ptr, N: number, H: number, W: number, records: Ptr, gradRecords: Ptr, V: number, tris: Ptr,
    gPosPix: Ptr, gNrmPix: Ptr, attr: Ptr, C: number, attrTris: Ptr, gAttrPix: Ptr, gAttr: Ptr,
  ): void;
}

const NAMES = ['vertexRecords', 'vertexGrads', 'coverage', 'interpolate', 'texture', 'textureBackward', 'pow', 'shade', 'shadeBackward', 'scatter', 'imageBackward'] as const;
const ALIGN = 16;
const PAGE = 65536;

/** The instantiated module: kernel sets for f32 and f64 arrays and a heap over its memory. */
export class PixelModule {
  readonly f32: PixelKernelSet;
  readonly f64: PixelKernelSet;
  private readonly memory: WebAssembly.Memory;
  /** Free blocks [offset, bytes], sorted by offset, coalesced. */
  private free: [number, number][] = [];
  private top: number;

  constructor(bytes: Uint8Array<ArrayBuffer>) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { abort: () => { throw new Error('pixel kernels: abort'); } } });
    const e = instance.exports as Record<string, unknown>;
    this.memory = e.memory as WebAssembly.Memory;
    const set = (suffix: string) => Object.fromEntries(NAMES.map((n) => [n, e[n + suffix]])) as unknown as PixelKernelSet;
    this.f32 = set('32');
    this.f64 = set('64');
    // The module's own data lives in its initial pages; the heap starts above them.
    this.top = this.memory.buffer.byteLength;
  }

  get buffer(): ArrayBuffer {
    return this.memory.buffer;
  }

  /** Bytes in use: the heap's top minus its free blocks (for leak checks). */
  get usedBytes(): number {
    return this.top - this.free.reduce((n, [, size]) => n + size, 0);
  }

  /** A block of at least `bytes` bytes (16-byte aligned); grows the memory when no free block fits. */
  alloc(bytes: number): Ptr {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const [at, n] = this.free[i];
      if (n < size) continue;
      if (n === size) this.free.splice(i, 1);
      else this.free[i] = [at + size, n - size];
      return at;
    }
    const at = this.top;
    const end = at + size;
    if (end > this.memory.buffer.byteLength) this.memory.grow(Math.ceil((end - this.memory.buffer.byteLength) / PAGE));
    this.top = end;
    return at;
  }

  /** Give back a block from {@link alloc} (with the same byte count). */
  release(at: Ptr, bytes: number): void {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let i = 0;
    while (i < this.free.length && this.free[i][0] < at) i++;
    this.free.splice(i, 0, [at, size]);
    // Coalesce with the neighbours; a block that ends at the top returns to it.
    if (i + 1 < this.free.length && this.free[i][0] + this.free[i][1] === this.free[i + 1][0]) {
      this.free[i][1] += this.free[i + 1][1];
      this.free.splice(i + 1, 1);
    }
    if (i > 0 && this.free[i - 1][0] + this.free[i - 1][1] === this.free[i][0]) {
      this.free[i - 1][1] += this.free[i][1];
      this.free.splice(i, 1);
      i--;
    }
    const last = this.free[this.free.length - 1];
    if (last && last[0] + last[1] === this.top) {
      this.top = last[0];
      this.free.pop();
    }
  }
}

let shared: PixelModule | null = null;

/** The process's kernel module (compiled on first use). */
export function pixelModule(): PixelModule {
  if (!shared) shared = new PixelModule(Uint8Array.from(atob(PIXEL_KERNELS_BASE64), (c) => c.charCodeAt(0)));
  return shared;
}
