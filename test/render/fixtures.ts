/** Procedural meshes and textures for the renderer's tests and bench (counter-clockwise from outside, cm). */

export interface ProceduralMesh {
  positions: Float32Array;
  triangles: Uint32Array;
  uvs: Float32Array;
  uvTriangles: Uint32Array;
}

/** Axis-aligned cube of half-size `h` with 8 shared corners and a separate UV list (24 UVs: seams). */
export function cube(h = 5): ProceduralMesh {
  const positions = new Float32Array(24);
  for (let i = 0; i < 8; i++) {
    positions[3 * i] = i & 1 ? h : -h;
    positions[3 * i + 1] = i & 2 ? h : -h;
    positions[3 * i + 2] = i & 4 ? h : -h;
  }
  // Faces as corner quads, counter-clockwise seen from outside: +z, −z, +x, −x, +y, −y.
  const faces = [[4, 5, 7, 6], [1, 0, 2, 3], [5, 1, 3, 7], [0, 4, 6, 2], [6, 7, 3, 2], [0, 1, 5, 4]];
  const tris: number[] = [], uvTris: number[] = [], uvs: number[] = [];
  faces.forEach((q, f) => {
    // Face f takes UV cell (f % 3, f / 3 | 0) of a 3×2 atlas, with a small margin.
    const u0 = (f % 3) / 3 + 0.01, v0 = ((f / 3) | 0) / 2 + 0.01, du = 1 / 3 - 0.02, dv = 0.5 - 0.02;
    const base = uvs.length / 2;
    uvs.push(u0, v0, u0 + du, v0, u0 + du, v0 + dv, u0, v0 + dv);
    tris.push(q[0], q[1], q[2], q[0], q[2], q[3]);
    uvTris.push(base, base + 1, base + 2, base, base + 2, base + 3);
  });
  return { positions, triangles: new Uint32Array(tris), uvs: new Float32Array(uvs), uvTriangles: new Uint32Array(uvTris) };
}

/**
 * Closed UV sphere (or ellipsoid with radii r) with `lat` rings and `lon` segments: 2 + (lat − 1)·lon vertices,
 * 2·lon·(lat − 1) triangles; UVs on a (lat+1)×(lon+1) grid with their own triangles (seam at u = 0).
 * `bump` adds a nose-like bump on +z of that height.
 */
export function sphere(lat: number, lon: number, r: [number, number, number] = [8, 8, 8], bump = 0): ProceduralMesh {
  const V = 2 + (lat - 1) * lon;
  const positions = new Float32Array(3 * V);
  const put = (i: number, th: number, ph: number) => {
    const x = Math.sin(th) * Math.sin(ph), y = Math.cos(th), z = Math.sin(th) * Math.cos(ph);
    const b = bump * Math.exp(-(x * x + (y + 0.1) * (y + 0.1)) / 0.02) * Math.max(z, 0);
    positions[3 * i] = r[0] * x;
    positions[3 * i + 1] = r[1] * y;
    positions[3 * i + 2] = r[2] * z + b;
  };
  put(0, 0, 0);
  for (let i = 1; i < lat; i++) for (let j = 0; j < lon; j++) put(1 + (i - 1) * lon + j, (Math.PI * i) / lat, (2 * Math.PI * j) / lon);
  put(V - 1, Math.PI, 0);
  const uvs = new Float32Array(2 * (lat + 1) * (lon + 1));
  for (let i = 0; i <= lat; i++) for (let j = 0; j <= lon; j++) {
    uvs[2 * (i * (lon + 1) + j)] = j / lon;
    uvs[2 * (i * (lon + 1) + j) + 1] = 1 - i / lat;
  }
  const pv = (i: number, j: number) => (i === 0 ? 0 : i === lat ? V - 1 : 1 + (i - 1) * lon + (j % lon));
  const uv = (i: number, j: number) => i * (lon + 1) + j;
  const tris: number[] = [], uvTris: number[] = [];
  for (let i = 0; i < lat; i++) for (let j = 0; j < lon; j++) {
    // Quad (i, j)…(i+1, j+1); seen from outside, increasing j (φ) goes right and increasing i goes down.
    if (i > 0) { tris.push(pv(i, j), pv(i + 1, j), pv(i, j + 1)); uvTris.push(uv(i, j), uv(i + 1, j), uv(i, j + 1)); }
    if (i < lat - 1) { tris.push(pv(i, j + 1), pv(i + 1, j), pv(i + 1, j + 1)); uvTris.push(uv(i, j + 1), uv(i + 1, j), uv(i + 1, j + 1)); }
  }
  return { positions, triangles: new Uint32Array(tris), uvs, uvTriangles: new Uint32Array(uvTris) };
}

/** An RGB checkerboard texture [n,n,3] in 0..1 with a colour gradient, row 0 at the top (v = 1). */
export function checkerTexture(n = 64, cells = 8): Float32Array {
  const t = new Float32Array(n * n * 3);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
    const on = (Math.floor((r * cells) / n) + Math.floor((c * cells) / n)) % 2 === 0;
    const o = 3 * (r * n + c);
    t[o] = on ? 0.9 : 0.2 + (0.5 * c) / n;
    t[o + 1] = on ? 0.8 : 0.3;
    t[o + 2] = on ? 0.3 + (0.5 * r) / n : 0.6;
  }
  return t;
}
