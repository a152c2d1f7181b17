import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ASSET_MAGIC, ASSET_VERSION, encodeFaceModel, parseFaceModel, FaceModelFormatError, type FaceModelSource,
} from '../../src/model/asset-format.js';

/** A 4-vertex, 2-triangle model with one dense and one sparse identity mode and two expressions. */
function tinySource(): FaceModelSource {
  const V = 4;
  return {
    vertexCount: V,
    neutral: Float32Array.from([0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0]),
    triangles: Uint32Array.from([0, 1, 2, 0, 2, 3]),
    uvs: Float32Array.from([0, 0, 1, 0, 1, 1, 0, 1, 0.5, 0.5]),
    uvTriangles: Uint32Array.from([0, 1, 2, 0, 2, 4]),
    parts: [
      { name: 'a', vertexStart: 0, vertexEnd: 3, triangleStart: 0, triangleEnd: 1 },
      { name: 'b', vertexStart: 3, vertexEnd: 4, triangleStart: 1, triangleEnd: 2 },
    ],
    landmarks: {
      landmarks68: Uint32Array.from([0, 1, 2]), jawRight: Uint32Array.from([1]), jawLeft: Uint32Array.from([2]),
      jawRightExtended: Uint32Array.from([1, 0]), jawLeftExtended: Uint32Array.from([]),
    },
    vertexSets: { rigid: Uint32Array.from([3]) },
    expressionNames: ['jawOpen', 'eyeBlink_L'],
    identityModes: [
      Float64Array.from([0.1, -0.2, 0.3, 0.01, 0.02, -0.03, 1.5, 0, 0, 0, 0, -0.7]),
      Float64Array.from([0, 0, 0, 0, 0, 0, 0, 0.25, 0, 0, 0, 0]),
    ],
    expressionModes: [
      Float64Array.from([0, 0, 0, 0, 0, 0, 0.00005, 0, 0, 0.5, 0, 0]),
      Float64Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    ],
    info: 'tiny test model',
  };
}

test('encode → parse round trip keeps geometry exactly and deltas within the stored tolerance', () => {
  const src = tinySource();
  const bytes = encodeFaceModel(src);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), ASSET_MAGIC);
  assert.equal(bytes.length % 4, 0);
  const m = parseFaceModel(bytes);
  assert.equal(m.version, ASSET_VERSION);
  assert.equal(m.vertexCount, 4);
  assert.equal(m.identityCount, 2);
  assert.deepEqual(m.expressionNames, src.expressionNames);
  assert.deepEqual(m.neutral, src.neutral);
  assert.deepEqual(m.triangles, src.triangles);
  assert.deepEqual(m.uvs, src.uvs);
  assert.deepEqual(m.uvTriangles, src.uvTriangles);
  assert.deepEqual(m.parts, src.parts);
  assert.deepEqual(m.landmarks, src.landmarks);
  assert.deepEqual(m.vertexSets, src.vertexSets);
  assert.equal(m.info, src.info);
  // The 5e-5 component lies below the 1e-4 drop threshold of a sparse mode: it is the largest error.
  assert.ok(Math.abs(m.deltaTolerance - 5e-5) < 1e-9, `tolerance ${m.deltaTolerance}`);
  const modes = [...src.identityModes, ...src.expressionModes];
  const basis = [m.identityBasis.subarray(0, 12), m.identityBasis.subarray(12), m.expressionBasis.subarray(0, 12), m.expressionBasis.subarray(12)];
  modes.forEach((mode, k) => {
    for (let i = 0; i < 12; i++) {
      assert.ok(Math.abs(basis[k][i] - mode[i]) <= m.deltaTolerance + 1e-9, `mode ${k} value ${i}: ${basis[k][i]} vs ${mode[i]}`);
    }
  });
  assert.equal(m.expressionBasis[6], 0, "a sparse mode drops vertices below the threshold");
  assert.ok(m.expressionBasis.subarray(12).every((x) => x === 0), "an all-zero mode decodes to zeros");
});

test('encoding is deterministic and survives a parse → encode cycle', () => {
  const bytes = encodeFaceModel(tinySource());
  assert.deepEqual(encodeFaceModel(tinySource()), bytes);
  const m = parseFaceModel(bytes);
  const again = encodeFaceModel({
    ...m,
    identityModes: [m.identityBasis.subarray(0, 12), m.identityBasis.subarray(12)],
    expressionModes: [m.expressionBasis.subarray(0, 12), m.expressionBasis.subarray(12)],
  });
  const m2 = parseFaceModel(again);
  assert.deepEqual(m2.identityBasis, m.identityBasis);
  assert.deepEqual(m2.expressionBasis, m.expressionBasis);
});

test('parse accepts bytes at an unaligned offset', () => {
  const bytes = encodeFaceModel(tinySource());
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const m = parseFaceModel(shifted.subarray(1));
  assert.deepEqual(m.neutral, tinySource().neutral);
});

test('bad bytes give a clear FaceModelFormatError', () => {
  const bytes = encodeFaceModel(tinySource());
  assert.throws(() => parseFaceModel(new Uint8Array(10)), (e: Error) => e instanceof FaceModelFormatError && /shorter than the header/.test(e.message));
  const png = bytes.slice();
  png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.throws(() => parseFaceModel(png), (e: Error) => e instanceof FaceModelFormatError && /magic/.test(e.message));
  const v2 = bytes.slice();
  new DataView(v2.buffer).setUint32(8, ASSET_VERSION + 1, true);
  assert.throws(() => parseFaceModel(v2), (e: Error) => e instanceof FaceModelFormatError && /version 2 is not supported/.test(e.message));
  assert.throws(() => parseFaceModel(bytes.subarray(0, bytes.length - 8)), (e: Error) => e instanceof FaceModelFormatError && /header says/.test(e.message));
  const badIndex = bytes.slice();
  // The first triangle index sits after the header, the info string and the neutral positions.
  const infoLen = new DataView(badIndex.buffer).getUint32(64, true);
  const triOffset = 64 + 4 + ((infoLen + 3) & ~3) + 4 * 3 * 4;
  new DataView(badIndex.buffer).setUint32(triOffset, 99, true);
  assert.throws(() => parseFaceModel(badIndex), (e: Error) => e instanceof FaceModelFormatError && /out of range/.test(e.message));
});

test('the writer rejects inconsistent input', () => {
  const src = tinySource();
  assert.throws(() => encodeFaceModel({ ...src, identityModes: [new Float64Array(5)] }), /V×3/);
  assert.throws(() => encodeFaceModel({ ...src, expressionNames: ['x'] }), /one name per expression/);
});
