// AssemblyScript source of the fused renderer's per-pixel kernels (compiled by `npm run build:wasm` into
// ../pixel-binary.ts; loaded by ../pixel.ts). Each kernel mirrors the TypeScript kernel named in its comment, over
// arrays in this module's memory (byte offsets); element types are T = f32 or f64 (exported twice), and all
// arithmetic is in f64, as in the TypeScript kernels, so both paths agree to the last rounding of the stores.
// Vertex indices and pixel lists are i32 (triangles are u32 < 2³¹); the raster's barycentrics are always f32.

// Per-vertex data of the fused kernels is interleaved in records of REC elements (one 64-byte cache line in f32):
// camera position [0..2], normal [3..5], clip position [6..9]; record b·V + v for view b of batched data.
const REC = 16, NRM = 3, CLIP = 6;

@inline function shift<T>(): usize { return sizeof<T>() == 8 ? 3 : 2; }
@inline function rd<T>(p: usize, i: i32): f64 { return <f64>load<T>(p + (<usize>i << shift<T>())); }
@inline function wr<T>(p: usize, i: i32, v: f64): void { store<T>(p + (<usize>i << shift<T>()), <T>v); }
@inline function ad<T>(p: usize, i: i32, v: f64): void { const a = p + (<usize>i << shift<T>()); store<T>(a, <T>(<f64>load<T>(a) + v)); }
@inline function ri(p: usize, i: i32): i32 { return load<i32>(p + (<usize>i << 2)); }
@inline function wi(p: usize, i: i32, v: i32): void { store<i32>(p + (<usize>i << 2), v); }
@inline function rf(p: usize, i: i32): f64 { return <f64>load<f32>(p + (<usize>i << 2)); }

/** fused.ts `coverage`: the covered pixels of B views and their clip-space barycentrics; returns their count. */
function coverage<T>(ids: usize, rb: usize, rec: usize, tr: usize, B: i32, H: i32, W: i32, V: i32, batched: i32, pixels: usize, bary: usize): i32 {
  const P = H * W;
  let i = 0;
  for (let b = 0; b < B; b++) {
    const cb = (batched ? b * V * REC : 0) + CLIP, clip = rec;
    for (let y = 0; y < H; y++) {
      const sy = <f64>(2 * y + 1) / <f64>H - 1;
      for (let x = 0; x < W; x++) {
        const q = b * P + y * W + x, t = ri(ids, q);
        if (t < 0) continue;
        wi(pixels, i, q);
        let b0 = rf(rb, 2 * q), b1 = rf(rb, 2 * q + 1), b2 = 1 - b0 - b1;
        const sx = <f64>(2 * x + 1) / <f64>W - 1;
        const o0 = cb + REC * ri(tr, 3 * t), o1 = cb + REC * ri(tr, 3 * t + 1), o2 = cb + REC * ri(tr, 3 * t + 2);
        const p0x = rd<T>(clip, o0) - sx * rd<T>(clip, o0 + 3), p0y = rd<T>(clip, o0 + 1) - sy * rd<T>(clip, o0 + 3);
        const p1x = rd<T>(clip, o1) - sx * rd<T>(clip, o1 + 3), p1y = rd<T>(clip, o1 + 1) - sy * rd<T>(clip, o1 + 3);
        const p2x = rd<T>(clip, o2) - sx * rd<T>(clip, o2 + 3), p2y = rd<T>(clip, o2 + 1) - sy * rd<T>(clip, o2 + 3);
        const c0 = p1x * p2y - p1y * p2x, c1 = p2x * p0y - p2y * p0x, c2 = p0x * p1y - p0y * p1x;
        const d = c0 + c1 + c2;
        if (d != 0 && isFinite(d)) {
          b0 = c0 / d; b1 = c1 / d; b2 = c2 / d;
        }
        wr<T>(bary, 3 * i, b0); wr<T>(bary, 3 * i + 1, b1); wr<T>(bary, 3 * i + 2, b2);
        i++;
      }
    }
  }
  return i;
}

/**
 * out[i,·] = Σₖ bₖ·attr[tris[t,k],·] (interpolate.ts), for C channels of vertex data `stride` elements apart, and
 * the same for a second array b at the same offsets when b ≠ 0; V > 0: the data is batched [B,V,stride]
 * (view = pixel / P).
 */
function interpolate<T>(pixels: usize, bary: usize, ids: usize, N: i32, P: i32, V: i32, C: i32, stride: i32, tris: usize, a: usize, outA: usize, b: usize, outB: usize): void {
  for (let i = 0; i < N; i++) {
    const q = ri(pixels, i), t = ri(ids, q);
    const ab = V > 0 ? (q / P) * V * stride : 0;
    const w0 = rd<T>(bary, 3 * i), w1 = rd<T>(bary, 3 * i + 1), w2 = rd<T>(bary, 3 * i + 2);
    const a0 = ab + ri(tris, 3 * t) * stride, a1 = ab + ri(tris, 3 * t + 1) * stride, a2 = ab + ri(tris, 3 * t + 2) * stride, o = i * C;
    for (let k = 0; k < C; k++) wr<T>(outA, o + k, w0 * rd<T>(a, a0 + k) + w1 * rd<T>(a, a1 + k) + w2 * rd<T>(a, a2 + k));
    if (b == 0) continue;
    for (let k = 0; k < C; k++) wr<T>(outB, o + k, w0 * rd<T>(b, a0 + k) + w1 * rd<T>(b, a1 + k) + w2 * rd<T>(b, a2 + k));
  }
}

/** The vertex records of n = B·V vertices from cam [n,3], normals [n,3] and clip [n,4]. */
function vertexRecords<T>(cam: usize, nrm: usize, clip: usize, n: i32, rec: usize): void {
  for (let v = 0; v < n; v++) {
    const r = REC * v;
    for (let k = 0; k < 3; k++) { wr<T>(rec, r + k, rd<T>(cam, 3 * v + k)); wr<T>(rec, r + NRM + k, rd<T>(nrm, 3 * v + k)); }
    for (let k = 0; k < 4; k++) wr<T>(rec, r + CLIP + k, rd<T>(clip, 4 * v + k));
  }
}

/** Gradient records back to gCam [n,3], gNrm [n,3] and gClip [n,4] (added). */
function vertexGrads<T>(grec: usize, n: i32, gCam: usize, gNrm: usize, gClip: usize): void {
  for (let v = 0; v < n; v++) {
    const r = REC * v;
    for (let k = 0; k < 3; k++) { ad<T>(gCam, 3 * v + k, rd<T>(grec, r + k)); ad<T>(gNrm, 3 * v + k, rd<T>(grec, r + NRM + k)); }
    for (let k = 0; k < 4; k++) ad<T>(gClip, 4 * v + k, rd<T>(grec, r + CLIP + k));
  }
}

// Texture levels are given as a table of i32 triples (data offset, h, w); the level of sample i is levels[i]
// (f32), or level 0 when levels = 0. texture.ts `textureKernel` / `textureBackwardKernel` (C = 3).

@inline function clampI(v: f64, hi: i32): i32 { return v < 0 ? 0 : v > <f64>(hi - 1) ? hi - 1 : <i32>v; }

// The bilinear taps of one sample (set by `tap`): texel offsets, weights (× the sample's weight), fractions.
let tI00: i32 = 0, tI01: i32 = 0, tI10: i32 = 0, tI11: i32 = 0;
let tW00: f64 = 0, tW01: f64 = 0, tW10: f64 = 0, tW11: f64 = 0, tFx: f64 = 0, tFy: f64 = 0;

/** The four texels around uv[i] on level L (clamped to the edge) and their weights; returns the level's data. */
@inline function tap<T>(table: usize, L: i32, uv: usize, i: i32, weight: f64): usize {
  const h = ri(table, 3 * L + 1), w = ri(table, 3 * L + 2);
  const cx = rd<T>(uv, 2 * i) * <f64>w - 0.5, cy = (1 - rd<T>(uv, 2 * i + 1)) * <f64>h - 0.5;
  const x0f = Math.floor(cx), y0f = Math.floor(cy);
  const fx = cx - x0f, fy = cy - y0f;
  const x0 = clampI(x0f, w), x1 = clampI(x0f + 1, w), y0 = clampI(y0f, h), y1 = clampI(y0f + 1, h);
  tI00 = (y0 * w + x0) * 3; tI01 = (y0 * w + x1) * 3; tI10 = (y1 * w + x0) * 3; tI11 = (y1 * w + x1) * 3;
  tW00 = (1 - fx) * (1 - fy) * weight; tW01 = fx * (1 - fy) * weight; tW10 = (1 - fx) * fy * weight; tW11 = fx * fy * weight;
  tFx = fx; tFy = fy;
  return <usize>ri(table, 3 * L);
}

/** out[i·3 + k] = weight·bilinear(level L, uv[i])_k, or += when `add` (the second level of a mip sample). */
@inline function sampleAt<T>(table: usize, L: i32, uv: usize, i: i32, weight: f64, out: usize, add: bool): void {
  const data = tap<T>(table, L, uv, i, weight);
  const i00 = tI00, i01 = tI01, i10 = tI10, i11 = tI11, w00 = tW00, w01 = tW01, w10 = tW10, w11 = tW11;
  const o = i * 3;
  for (let k = 0; k < 3; k++) {
    const v = w00 * rd<T>(data, i00 + k) + w01 * rd<T>(data, i01 + k) + w10 * rd<T>(data, i10 + k) + w11 * rd<T>(data, i11 + k);
    if (add) ad<T>(out, o + k, v);
    else wr<T>(out, o + k, v);
  }
}

/** Backward of {@link sampleAt}: adds into the level's gradient (grads table: offset per level); sets gUv[i], or adds when `add`. */
@inline function sampleBackwardAt<T>(table: usize, grads: usize, L: i32, uv: usize, i: i32, weight: f64, dy: usize, gUv: usize, add: bool): void {
  const data = tap<T>(table, L, uv, i, weight), gTex = <usize>ri(grads, L), h = ri(table, 3 * L + 1), w = ri(table, 3 * L + 2);
  const i00 = tI00, i01 = tI01, i10 = tI10, i11 = tI11, w00 = tW00, w01 = tW01, w10 = tW10, w11 = tW11, fx = tFx, fy = tFy;
  const o = i * 3;
  let gfx: f64 = 0, gfy: f64 = 0;
  for (let k = 0; k < 3; k++) {
    const g = rd<T>(dy, o + k);
    if (g == 0) continue;
    ad<T>(gTex, i00 + k, w00 * g); ad<T>(gTex, i01 + k, w01 * g); ad<T>(gTex, i10 + k, w10 * g); ad<T>(gTex, i11 + k, w11 * g);
    const t00 = rd<T>(data, i00 + k), t01 = rd<T>(data, i01 + k), t10 = rd<T>(data, i10 + k), t11 = rd<T>(data, i11 + k);
    gfx += g * weight * ((1 - fy) * (t01 - t00) + fy * (t11 - t10));
    gfy += g * weight * ((1 - fx) * (t10 - t00) + fx * (t11 - t01));
  }
  if (add) { ad<T>(gUv, 2 * i, gfx * <f64>w); ad<T>(gUv, 2 * i + 1, -gfy * <f64>h); }
  else { wr<T>(gUv, 2 * i, gfx * <f64>w); wr<T>(gUv, 2 * i + 1, -gfy * <f64>h); }
}

function texture<T>(table: usize, nLevels: i32, uv: usize, levels: usize, out: usize, N: i32): void {
  // Stores, not adds into a zeroed buffer: the read of a value just written costs a third of the kernel.
  for (let i = 0; i < N; i++) {
    if (levels == 0) { sampleAt<T>(table, 0, uv, i, 1, out, false); continue; }
    const lv = rf(levels, i), l = lv < 0 ? 0 : lv > <f64>(nLevels - 1) ? <f64>(nLevels - 1) : lv;
    const l0 = <i32>Math.floor(l), f = l - <f64>l0;
    sampleAt<T>(table, l0, uv, i, 1 - f, out, false);
    sampleAt<T>(table, min(l0 + 1, nLevels - 1), uv, i, f, out, true);
  }
}

function textureBackward<T>(table: usize, grads: usize, nLevels: i32, uv: usize, levels: usize, dy: usize, gUv: usize, N: i32): void {
  for (let i = 0; i < N; i++) {
    if (levels == 0) { sampleBackwardAt<T>(table, grads, 0, uv, i, 1, dy, gUv, false); continue; }
    const lv = rf(levels, i), l = lv < 0 ? 0 : lv > <f64>(nLevels - 1) ? <f64>(nLevels - 1) : lv;
    const l0 = <i32>Math.floor(l), f = l - <f64>l0;
    sampleBackwardAt<T>(table, grads, l0, uv, i, 1 - f, dy, gUv, false);
    sampleBackwardAt<T>(table, grads, min(l0 + 1, nLevels - 1), uv, i, f, dy, gUv, true);
  }
  // texture.ts `foldPyramidGrad`: the transpose of the 2×2 box pyramid, coarse to fine.
  for (let l = nLevels - 1; l > 0; l--) {
    const nh = ri(table, 3 * l + 1), nw = ri(table, 3 * l + 2), h = ri(table, 3 * l - 2), w = ri(table, 3 * l - 1);
    const src = <usize>ri(grads, l), dst = <usize>ri(grads, l - 1);
    for (let r = 0; r < nh; r++) {
      const ra = 2 * r, rb = min(2 * r + 1, h - 1);
      for (let c = 0; c < nw; c++) {
        const ca = 2 * c, cb = min(2 * c + 1, w - 1);
        for (let k = 0; k < 3; k++) {
          const g = 0.25 * rd<T>(src, (r * nw + c) * 3 + k);
          ad<T>(dst, (ra * w + ca) * 3 + k, g); ad<T>(dst, (ra * w + cb) * 3 + k, g);
          ad<T>(dst, (rb * w + ca) * 3 + k, g); ad<T>(dst, (rb * w + cb) * 3 + k, g);
        }
      }
    }
  }
}

// shade.ts `powTable`: entries [x0, y0, slope] (f64); segment 0 is [0, 2⁻¹⁶), then 256 per octave up to 1.
const SEGMENT_SHIFT: i64 = 44, SEGMENT_BASE: i64 = (1023 - 16) << 8;

/** shade.ts `powKernel` for one value: x^p through the table f; the slope d/dx goes to `slopeOut`. */
let slopeOut: f64 = 0;
@inline function powAt(x: f64, f: usize, p: f64, lo: f64, clampTop: i32): f64 {
  const v = x < lo ? lo : x;
  if (!(v < 1)) {
    // v ≥ 1, or NaN (which stays NaN).
    if (clampTop && v >= 1) { slopeOut = 0; return 1; }
    slopeOut = p * Math.pow(v, p - 1);
    return Math.pow(v, p);
  }
  let k = (reinterpret<i64>(v) >> SEGMENT_SHIFT) - SEGMENT_BASE + 1;
  if (k < 1) k = 0;
  const e = f + <usize>(k * 24), s = load<f64>(e, 16);
  slopeOut = x < lo ? 0 : s;
  return load<f64>(e, 8) + (v - load<f64>(e)) * s;
}

/** shade.ts `powKernel`: out[i] = x^p, slope[i] = d out / d x. */
function pow<T>(d: usize, f: usize, p: f64, lo: f64, clampTop: i32, out: usize, slope: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    wr<T>(out, i, powAt(rd<T>(d, i), f, p, lo, clampTop));
    wr<T>(slope, i, slopeOut);
  }
}

@inline function powPos(s: f64, k: f64, kInt: bool): f64 {
  if (!kInt) return Math.pow(s, k);
  let sp: f64 = 1, bb = s;
  for (let e = <i32>k; e > 0; e >>= 1, bb *= bb) if (e & 1) sp *= bb;
  return sp;
}
@inline function inv(x: f64): f64 { return x > 0 ? 1 / Math.sqrt(x) : 0; }

// Light at `light` (f64): [lx, ly, lz, c0, c1, c2, a0, a1, a2, ks, shininess]; light = 0: unlit. The gamma tables
// (f64) are DECODE's and ENCODE's of shade.ts, with their exponents.
const DEC_P: f64 = 2.2, ENC_P: f64 = 1 / 2.2, ENC_LO: f64 = 1e-4;

/** [a[i], a[j]] as f64. */
@inline function lanes<T>(a: usize, i: i32, j: i32): v128 { return f64x2(rd<T>(a, i), rd<T>(a, j)); }
@inline function dot3(ax: v128, ay: v128, az: v128, bx: v128, by: v128, bz: v128): v128 { return f64x2.add(f64x2.add(f64x2.mul(ax, bx), f64x2.mul(ay, by)), f64x2.mul(az, bz)); }

/** `inv` of both lanes. */
@inline function vinv(x: v128): v128 {
  const z = f64x2.splat(0);
  return v128.bitselect(f64x2.div(f64x2.splat(1), f64x2.sqrt(x)), z, f64x2.gt(x, z));
}
// The Phong factors max(n·l, 0) and (n·h)^k of two pixels (lanes A, B) at once: f64x2 halves the forward's square
// roots, divisions and products (the shading kernel −31 %), with the same IEEE operations lane by lane, so the
// results are those of scalar code. The backward stays scalar: its ~20 live vectors spill (f64x2 was 1.6× slower).
let dpA: f64 = 0, dpB: f64 = 0, spA: f64 = 0, spB: f64 = 0;
/** Factors of the pixels at offsets o and p of pos, nrm [N,3] into dpA, spA, dpB, spB. */
@inline function pair<T>(pos: usize, nrm: usize, o: i32, p: i32, L: v128, M: v128, Q: v128, k: f64, kInt: bool): void {
  const px = lanes<T>(pos, o, p), py = lanes<T>(pos, o + 1, p + 1), pz = lanes<T>(pos, o + 2, p + 2);
  const Nx = lanes<T>(nrm, o, p), Ny = lanes<T>(nrm, o + 1, p + 1), Nz = lanes<T>(nrm, o + 2, p + 2);
  const rn = vinv(dot3(Nx, Ny, Nz, Nx, Ny, Nz));
  const nx = f64x2.mul(Nx, rn), ny = f64x2.mul(Ny, rn), nz = f64x2.mul(Nz, rn);
  const Lx = f64x2.sub(L, px), Ly = f64x2.sub(M, py), Lz = f64x2.sub(Q, pz);
  const rl = vinv(dot3(Lx, Ly, Lz, Lx, Ly, Lz));
  const lx = f64x2.mul(Lx, rl), ly = f64x2.mul(Ly, rl), lz = f64x2.mul(Lz, rl);
  const rv = vinv(dot3(px, py, pz, px, py, pz));
  const Hx = f64x2.sub(lx, f64x2.mul(px, rv)), Hy = f64x2.sub(ly, f64x2.mul(py, rv)), Hz = f64x2.sub(lz, f64x2.mul(pz, rv));
  const rh = vinv(dot3(Hx, Hy, Hz, Hx, Hy, Hz));
  const d = dot3(nx, ny, nz, lx, ly, lz), s = f64x2.mul(dot3(nx, ny, nz, Hx, Hy, Hz), rh);
  const z = f64x2.splat(0);
  const dp = v128.bitselect(d, z, f64x2.gt(d, z));
  dpA = f64x2.extract_lane(dp, 0); dpB = f64x2.extract_lane(dp, 1);
  const sA = f64x2.extract_lane(s, 0), sB = f64x2.extract_lane(s, 1);
  if (kInt) {
    let sp = f64x2.splat(1), bb = s;
    for (let e = <i32>k; e > 0; e >>= 1, bb = f64x2.mul(bb, bb)) if (e & 1) sp = f64x2.mul(sp, bb);
    spA = sA > 0 ? f64x2.extract_lane(sp, 0) : 0; spB = sB > 0 ? f64x2.extract_lane(sp, 1) : 0;
  } else {
    spA = sA > 0 ? Math.pow(sA, k) : 0; spB = sB > 0 ? Math.pow(sB, k) : 0;
  }
}

/** One pixel's decode → (Phong with factors dp, sp | unlit) → encode. */
@inline function shadePixel<T>(alb: usize, o: i32, lit: bool, dp: f64, sp: f64, c0: f64, c1: f64, c2: f64, a0: f64, a1: f64, a2: f64, ks: f64, dec: usize, enc: usize, lin: usize, slopeDec: usize, out: usize, slopeEnc: usize): void {
  const al0 = powAt(rd<T>(alb, o), dec, DEC_P, 0, 1); wr<T>(slopeDec, o, slopeOut);
  const al1 = powAt(rd<T>(alb, o + 1), dec, DEC_P, 0, 1); wr<T>(slopeDec, o + 1, slopeOut);
  const al2 = powAt(rd<T>(alb, o + 2), dec, DEC_P, 0, 1); wr<T>(slopeDec, o + 2, slopeOut);
  wr<T>(lin, o, al0); wr<T>(lin, o + 1, al1); wr<T>(lin, o + 2, al2);
  // Rounded through T like the stored linear albedo the backward reads.
  let s0 = rd<T>(lin, o), s1 = rd<T>(lin, o + 1), s2 = rd<T>(lin, o + 2);
  if (lit) {
    const ssp = ks * sp;
    s0 = <f64><T>(s0 * (a0 + c0 * dp) + c0 * ssp); s1 = <f64><T>(s1 * (a1 + c1 * dp) + c1 * ssp); s2 = <f64><T>(s2 * (a2 + c2 * dp) + c2 * ssp);
  }
  wr<T>(out, o, powAt(s0, enc, ENC_P, ENC_LO, 0)); wr<T>(slopeEnc, o, slopeOut);
  wr<T>(out, o + 1, powAt(s1, enc, ENC_P, ENC_LO, 0)); wr<T>(slopeEnc, o + 1, slopeOut);
  wr<T>(out, o + 2, powAt(s2, enc, ENC_P, ENC_LO, 0)); wr<T>(slopeEnc, o + 2, slopeOut);
}

/**
 * The shading chain of the fused forward per pixel (shade.ts `powKernel` DECODE → `phongKernel` → `powKernel`
 * ENCODE): alb → lin (+ slopeDec), Lambert + Blinn-Phong, → enc (+ slopeEnc), all [N,3].
 */
function shade<T>(alb: usize, nrm: usize, pos: usize, light: usize, dec: usize, enc: usize, lin: usize, slopeDec: usize, out: usize, slopeEnc: usize, N: i32): void {
  let l0: f64 = 0, l1: f64 = 0, l2: f64 = 0, c0: f64 = 0, c1: f64 = 0, c2: f64 = 0, a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, ks: f64 = 0, k: f64 = 0;
  if (light) {
    l0 = load<f64>(light); l1 = load<f64>(light, 8); l2 = load<f64>(light, 16); c0 = load<f64>(light, 24); c1 = load<f64>(light, 32); c2 = load<f64>(light, 40);
    a0 = load<f64>(light, 48); a1 = load<f64>(light, 56); a2 = load<f64>(light, 64); ks = load<f64>(light, 72); k = load<f64>(light, 80);
  }
  const kInt = k >= 0 && k <= 256 && Math.floor(k) == k, lit = light != 0;
  const L = f64x2.splat(l0), M = f64x2.splat(l1), Q = f64x2.splat(l2);
  // Pixels in pairs (when N is odd the last one pairs with itself).
  for (let i = 0; i < N; i += 2) {
    const o = 3 * i, two = i + 1 < N;
    if (lit) pair<T>(pos, nrm, o, two ? o + 3 : o, L, M, Q, k, kInt);
    shadePixel<T>(alb, o, lit, dpA, spA, c0, c1, c2, a0, a1, a2, ks, dec, enc, lin, slopeDec, out, slopeEnc);
    if (two) shadePixel<T>(alb, o + 3, lit, dpB, spB, c0, c1, c2, a0, a1, a2, ks, dec, enc, lin, slopeDec, out, slopeEnc);
  }
}

/** p[o..o+2] = 0. */
@inline function zero3<T>(p: usize, o: i32): void { wr<T>(p, o, 0); wr<T>(p, o + 1, 0); wr<T>(p, o + 2, 0); }

/**
 * Backward of {@link shade} from the dense image gradient gImage [B·H·W,3] at the covered pixels: gAlb, gNrm and
 * gPos [N,3] (written, zeros where no gradient: stores, not adds into zeroed buffers; shade.ts
 * `phongBackwardKernel`), and the light parameters' gradients written to sums (f64): [lx, ly, lz, c0, c1, c2, a0,
 * a1, a2, ks].
 */
function shadeBackward<T>(pixels: usize, gImage: usize, alb: usize, nrm: usize, pos: usize, light: usize, slopeEnc: usize, slopeDec: usize, gAlb: usize, gNrm: usize, gPos: usize, sums: usize, N: i32): void {
  let l0: f64 = 0, l1: f64 = 0, l2: f64 = 0, c0: f64 = 0, c1: f64 = 0, c2: f64 = 0, a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, ks: f64 = 0, k: f64 = 0;
  if (light) {
    l0 = load<f64>(light); l1 = load<f64>(light, 8); l2 = load<f64>(light, 16); c0 = load<f64>(light, 24); c1 = load<f64>(light, 32); c2 = load<f64>(light, 40);
    a0 = load<f64>(light, 48); a1 = load<f64>(light, 56); a2 = load<f64>(light, 64); ks = load<f64>(light, 72); k = load<f64>(light, 80);
  }
  const kInt = k >= 0 && k <= 256 && Math.floor(k) == k;
  let sLx: f64 = 0, sLy: f64 = 0, sLz: f64 = 0, sC0: f64 = 0, sC1: f64 = 0, sC2: f64 = 0, sA0: f64 = 0, sA1: f64 = 0, sA2: f64 = 0, sKs: f64 = 0;
  for (let i = 0; i < N; i++) {
    const o = 3 * i, q = 3 * ri(pixels, i);
    // Through the encode (the products rounded through T, as the separate kernels stored them).
    const g0 = <f64><T>(rd<T>(gImage, q) * rd<T>(slopeEnc, o)), g1 = <f64><T>(rd<T>(gImage, q + 1) * rd<T>(slopeEnc, o + 1)), g2 = <f64><T>(rd<T>(gImage, q + 2) * rd<T>(slopeEnc, o + 2));
    if (!light) {
      wr<T>(gAlb, o, g0 * rd<T>(slopeDec, o)); wr<T>(gAlb, o + 1, g1 * rd<T>(slopeDec, o + 1)); wr<T>(gAlb, o + 2, g2 * rd<T>(slopeDec, o + 2));
      zero3<T>(gNrm, o); zero3<T>(gPos, o);
      continue;
    }
    if (g0 == 0 && g1 == 0 && g2 == 0) {
      zero3<T>(gAlb, o); zero3<T>(gNrm, o); zero3<T>(gPos, o);
      continue;
    }
    const px = rd<T>(pos, o), py = rd<T>(pos, o + 1), pz = rd<T>(pos, o + 2);
    const Nx = rd<T>(nrm, o), Ny = rd<T>(nrm, o + 1), Nz = rd<T>(nrm, o + 2), rn = inv(Nx * Nx + Ny * Ny + Nz * Nz);
    const nx = Nx * rn, ny = Ny * rn, nz = Nz * rn;
    const Lx = l0 - px, Ly = l1 - py, Lz = l2 - pz, rl = inv(Lx * Lx + Ly * Ly + Lz * Lz);
    const lx = Lx * rl, ly = Ly * rl, lz = Lz * rl;
    const rv = inv(px * px + py * py + pz * pz);
    const vx = -px * rv, vy = -py * rv, vz = -pz * rv;
    const Hx = lx + vx, Hy = ly + vy, Hz = lz + vz, rh = inv(Hx * Hx + Hy * Hy + Hz * Hz);
    const hx = Hx * rh, hy = Hy * rh, hz = Hz * rh;
    const d = nx * lx + ny * ly + nz * lz, s = nx * hx + ny * hy + nz * hz;
    const dp = d > 0 ? d : 0;
    const sp = s > 0 ? powPos(s, k, kInt) : 0;
    const al0 = rd<T>(alb, o), al1 = rd<T>(alb, o + 1), al2 = rd<T>(alb, o + 2);
    wr<T>(gAlb, o, <f64><T>(g0 * (a0 + c0 * dp)) * rd<T>(slopeDec, o));
    wr<T>(gAlb, o + 1, <f64><T>(g1 * (a1 + c1 * dp)) * rd<T>(slopeDec, o + 1));
    wr<T>(gAlb, o + 2, <f64><T>(g2 * (a2 + c2 * dp)) * rd<T>(slopeDec, o + 2));
    sA0 += g0 * al0; sA1 += g1 * al1; sA2 += g2 * al2;
    sC0 += g0 * (al0 * dp + ks * sp); sC1 += g1 * (al1 * dp + ks * sp); sC2 += g2 * (al2 * dp + ks * sp);
    const gc = g0 * c0 + g1 * c1 + g2 * c2;
    sKs += gc * sp;
    const gdp = g0 * al0 * c0 + g1 * al1 * c1 + g2 * al2 * c2, gsp = ks * gc;
    const gd = d > 0 ? gdp : 0;
    const gs = s > 0 ? (gsp * k * sp) / s : 0;
    if (gd == 0 && gs == 0) { zero3<T>(gNrm, o); zero3<T>(gPos, o); continue; }
    // u = U/|U| ⇒ ∂L/∂U = (g − u(u·g))/|U|.
    let gx = gs * nx, gy = gs * ny, gz = gs * nz, t = hx * gx + hy * gy + hz * gz;
    const gHx = (gx - hx * t) * rh, gHy = (gy - hy * t) * rh, gHz = (gz - hz * t) * rh;
    gx = gd * nx + gHx; gy = gd * ny + gHy; gz = gd * nz + gHz; t = lx * gx + ly * gy + lz * gz;
    const gLx = (gx - lx * t) * rl, gLy = (gy - ly * t) * rl, gLz = (gz - lz * t) * rl;
    t = vx * gHx + vy * gHy + vz * gHz;
    const gVx = (gHx - vx * t) * rv, gVy = (gHy - vy * t) * rv, gVz = (gHz - vz * t) * rv;
    gx = gd * lx + gs * hx; gy = gd * ly + gs * hy; gz = gd * lz + gs * hz; t = nx * gx + ny * gy + nz * gz;
    wr<T>(gNrm, o, (gx - nx * t) * rn); wr<T>(gNrm, o + 1, (gy - ny * t) * rn); wr<T>(gNrm, o + 2, (gz - nz * t) * rn);
    sLx += gLx; sLy += gLy; sLz += gLz;
    wr<T>(gPos, o, -(gLx + gVx)); wr<T>(gPos, o + 1, -(gLy + gVy)); wr<T>(gPos, o + 2, -(gLz + gVz));
  }
  store<f64>(sums, sLx); store<f64>(sums, sLy, 8); store<f64>(sums, sLz, 16); store<f64>(sums, sC0, 24); store<f64>(sums, sC1, 32);
  store<f64>(sums, sC2, 40); store<f64>(sums, sA0, 48); store<f64>(sums, sA1, 56); store<f64>(sums, sA2, 64); store<f64>(sums, sKs, 72);
}

/** dense[pixels[i]·C + k] = compact[i·C + k] (fused.ts scatter). */
function scatter<T>(pixels: usize, N: i32, C: i32, compact: usize, dense: usize): void {
  for (let i = 0; i < N; i++) {
    const o = C * ri(pixels, i), s = C * i;
    for (let k = 0; k < C; k++) store<T>(dense + (<usize>(o + k) << shift<T>()), load<T>(compact + (<usize>(s + k) << shift<T>())));
  }
}

/**
 * Backward of the interpolation for the image path (fused.ts): camera positions and normals from the vertex records
 * rec (batched when V > 0), gradients added into the records grec, plus one unbatched attribute (C = 2 or 3, its
 * own triangles); then through the clip-space barycentrics into grec's clip positions (interpolate.ts
 * `scatterBarycentricGradient` written out).
 */
function imageBackward<T>(
  pixels: usize, bary: usize, ids: usize, N: i32, H: i32, W: i32, rec: usize, grec: usize, V: i32, tr: usize,
  gPosPix: usize, gNrmPix: usize, attr: usize, C: i32, attrTris: usize, gAttrPix: usize, gAttr: usize,
): void {
  const P = H * W;
  for (let i = 0; i < N; i++) {
    const q = ri(pixels, i), t = ri(ids, q), b = q / P;
    const w0 = rd<T>(bary, 3 * i), w1 = rd<T>(bary, 3 * i + 1), w2 = rd<T>(bary, 3 * i + 2);
    const vb = V > 0 ? b * V : 0;
    const a0 = REC * (vb + ri(tr, 3 * t)), a1 = REC * (vb + ri(tr, 3 * t + 1)), a2 = REC * (vb + ri(tr, 3 * t + 2)), o = 3 * i;
    let g0: f64 = 0, g1: f64 = 0, g2: f64 = 0;
    for (let k = 0; k < 3; k++) {
      const gp = rd<T>(gPosPix, o + k), gn = rd<T>(gNrmPix, o + k);
      ad<T>(grec, a0 + k, w0 * gp); ad<T>(grec, a1 + k, w1 * gp); ad<T>(grec, a2 + k, w2 * gp);
      ad<T>(grec, a0 + NRM + k, w0 * gn); ad<T>(grec, a1 + NRM + k, w1 * gn); ad<T>(grec, a2 + NRM + k, w2 * gn);
      g0 += gp * rd<T>(rec, a0 + k) + gn * rd<T>(rec, a0 + NRM + k);
      g1 += gp * rd<T>(rec, a1 + k) + gn * rd<T>(rec, a1 + NRM + k);
      g2 += gp * rd<T>(rec, a2 + k) + gn * rd<T>(rec, a2 + NRM + k);
    }
    const u0 = C * ri(attrTris, 3 * t), u1 = C * ri(attrTris, 3 * t + 1), u2 = C * ri(attrTris, 3 * t + 2), oa = C * i;
    for (let k = 0; k < C; k++) {
      const g = rd<T>(gAttrPix, oa + k);
      ad<T>(gAttr, u0 + k, w0 * g); ad<T>(gAttr, u1 + k, w1 * g); ad<T>(gAttr, u2 + k, w2 * g);
      g0 += g * rd<T>(attr, u0 + k); g1 += g * rd<T>(attr, u1 + k); g2 += g * rd<T>(attr, u2 + k);
    }
    if (g0 == 0 && g1 == 0 && g2 == 0) continue;
    const p = q - b * P, x = p % W, y = p / W;
    const sx = <f64>(2 * x + 1) / <f64>W - 1, sy = <f64>(2 * y + 1) / <f64>H - 1;
    const o0 = a0 + CLIP, o1 = a1 + CLIP, o2 = a2 + CLIP;
    const p0x = rd<T>(rec, o0) - sx * rd<T>(rec, o0 + 3), p0y = rd<T>(rec, o0 + 1) - sy * rd<T>(rec, o0 + 3);
    const p1x = rd<T>(rec, o1) - sx * rd<T>(rec, o1 + 3), p1y = rd<T>(rec, o1 + 1) - sy * rd<T>(rec, o1 + 3);
    const p2x = rd<T>(rec, o2) - sx * rd<T>(rec, o2 + 3), p2y = rd<T>(rec, o2 + 1) - sy * rd<T>(rec, o2 + 3);
    const d = p1x * p2y - p1y * p2x + (p2x * p0y - p2y * p0x) + (p0x * p1y - p0y * p1x);
    if (d == 0 || !isFinite(d)) continue;
    const gm = g0 * w0 + g1 * w1 + g2 * w2;
    const k0 = (g0 - gm) / d, k1 = (g1 - gm) / d, k2 = (g2 - gm) / d;
    const q0x = k1 * -p2y + k2 * p1y, q0y = k1 * p2x - k2 * p1x;
    const q1x = k0 * p2y - k2 * p0y, q1y = -k0 * p2x + k2 * p0x;
    const q2x = -k0 * p1y + k1 * p0y, q2y = k0 * p1x - k1 * p0x;
    ad<T>(grec, o0, q0x); ad<T>(grec, o0 + 1, q0y); ad<T>(grec, o0 + 3, -(sx * q0x + sy * q0y));
    ad<T>(grec, o1, q1x); ad<T>(grec, o1 + 1, q1y); ad<T>(grec, o1 + 3, -(sx * q1x + sy * q1y));
    ad<T>(grec, o2, q2x); ad<T>(grec, o2 + 1, q2y); ad<T>(grec, o2 + 3, -(sx * q2x + sy * q2y));
  }
}

// Exports: each kernel for f32 and f64 arrays.
export function coverage32(ids: usize, rb: usize, clip: usize, tr: usize, B: i32, H: i32, W: i32, V: i32, cbat: i32, pixels: usize, bary: usize): i32 { return coverage<f32>(ids, rb, clip, tr, B, H, W, V, cbat, pixels, bary); }
export function coverage64(ids: usize, rb: usize, clip: usize, tr: usize, B: i32, H: i32, W: i32, V: i32, cbat: i32, pixels: usize, bary: usize): i32 { return coverage<f64>(ids, rb, clip, tr, B, H, W, V, cbat, pixels, bary); }
export function interpolate32(px: usize, bary: usize, ids: usize, N: i32, P: i32, V: i32, C: i32, stride: i32, tris: usize, a: usize, outA: usize, b: usize, outB: usize): void { interpolate<f32>(px, bary, ids, N, P, V, C, stride, tris, a, outA, b, outB); }
export function interpolate64(px: usize, bary: usize, ids: usize, N: i32, P: i32, V: i32, C: i32, stride: i32, tris: usize, a: usize, outA: usize, b: usize, outB: usize): void { interpolate<f64>(px, bary, ids, N, P, V, C, stride, tris, a, outA, b, outB); }
export function vertexRecords32(cam: usize, nrm: usize, clip: usize, n: i32, rec: usize): void { vertexRecords<f32>(cam, nrm, clip, n, rec); }
export function vertexRecords64(cam: usize, nrm: usize, clip: usize, n: i32, rec: usize): void { vertexRecords<f64>(cam, nrm, clip, n, rec); }
export function vertexGrads32(grec: usize, n: i32, gCam: usize, gNrm: usize, gClip: usize): void { vertexGrads<f32>(grec, n, gCam, gNrm, gClip); }
export function vertexGrads64(grec: usize, n: i32, gCam: usize, gNrm: usize, gClip: usize): void { vertexGrads<f64>(grec, n, gCam, gNrm, gClip); }
export function texture32(table: usize, n: i32, uv: usize, levels: usize, out: usize, N: i32): void { texture<f32>(table, n, uv, levels, out, N); }
export function texture64(table: usize, n: i32, uv: usize, levels: usize, out: usize, N: i32): void { texture<f64>(table, n, uv, levels, out, N); }
export function textureBackward32(table: usize, grads: usize, n: i32, uv: usize, levels: usize, dy: usize, gUv: usize, N: i32): void { textureBackward<f32>(table, grads, n, uv, levels, dy, gUv, N); }
export function textureBackward64(table: usize, grads: usize, n: i32, uv: usize, levels: usize, dy: usize, gUv: usize, N: i32): void { textureBackward<f64>(table, grads, n, uv, levels, dy, gUv, N); }
export function pow32(d: usize, f: usize, p: f64, lo: f64, clampTop: i32, out: usize, slope: usize, n: i32): void { pow<f32>(d, f, p, lo, clampTop, out, slope, n); }
export function pow64(d: usize, f: usize, p: f64, lo: f64, clampTop: i32, out: usize, slope: usize, n: i32): void { pow<f64>(d, f, p, lo, clampTop, out, slope, n); }
export function shade32(alb: usize, nrm: usize, pos: usize, light: usize, dec: usize, enc: usize, lin: usize, slopeDec: usize, out: usize, slopeEnc: usize, N: i32): void { shade<f32>(alb, nrm, pos, light, dec, enc, lin, slopeDec, out, slopeEnc, N); }
export function shade64(alb: usize, nrm: usize, pos: usize, light: usize, dec: usize, enc: usize, lin: usize, slopeDec: usize, out: usize, slopeEnc: usize, N: i32): void { shade<f64>(alb, nrm, pos, light, dec, enc, lin, slopeDec, out, slopeEnc, N); }
export function shadeBackward32(px: usize, gImage: usize, alb: usize, nrm: usize, pos: usize, light: usize, slopeEnc: usize, slopeDec: usize, gAlb: usize, gNrm: usize, gPos: usize, sums: usize, N: i32): void { shadeBackward<f32>(px, gImage, alb, nrm, pos, light, slopeEnc, slopeDec, gAlb, gNrm, gPos, sums, N); }
export function shadeBackward64(px: usize, gImage: usize, alb: usize, nrm: usize, pos: usize, light: usize, slopeEnc: usize, slopeDec: usize, gAlb: usize, gNrm: usize, gPos: usize, sums: usize, N: i32): void { shadeBackward<f64>(px, gImage, alb, nrm, pos, light, slopeEnc, slopeDec, gAlb, gNrm, gPos, sums, N); }
export function scatter32(px: usize, N: i32, C: i32, compact: usize, dense: usize): void { scatter<f32>(px, N, C, compact, dense); }
export function scatter64(px: usize, N: i32, C: i32, compact: usize, dense: usize): void { scatter<f64>(px, N, C, compact, dense); }
export function imageBackward32(px: usize, bary: usize, ids: usize, N: i32, H: i32, W: i32, rec: usize, grec: usize, V: i32, tr: usize, gPosPix: usize, gNrmPix: usize, attr: usize, C: i32, attrTris: usize, gAttrPix: usize, gAttr: usize): void {
  imageBackward<f32>(px, bary, ids, N, H, W, rec, grec, V, tr, gPosPix, gNrmPix, attr, C, attrTris, gAttrPix, gAttr);
}
export function imageBackward64(px: usize, bary: usize, ids: usize, N: i32, H: i32, W: i32, rec: usize, grec: usize, V: i32, tr: usize, gPosPix: usize, gNrmPix: usize, attr: usize, C: i32, attrTris: usize, gAttrPix: usize, gAttr: usize): void {
  imageBackward<f64>(px, bary, ids, N, H, W, rec, grec, V, tr, gPosPix, gNrmPix, attr, C, attrTris, gAttrPix, gAttr);
}
