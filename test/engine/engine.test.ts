import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine, transientValues } from '../../src/engine/index.js';

test('transientValues: float32 values without a copy on wasm (created and computed tensors); other dtypes as a float32 copy', async () => {
  await initEngine();
  const made = tf.tensor1d([1.5, -2, 3.25, 0]);
  const computed = tf.tidy(() => tf.add(tf.mul(tf.range(0, 1000, 1, 'float32'), 0.5), made.sum()));
  for (const t of [made, computed]) {
    const v = transientValues(t);
    assert.deepEqual(Array.from(v), Array.from(t.dataSync()));
    // A view of tf's heap, not a copy: it sees the memory the tensor holds.
    assert.notEqual(v.buffer.byteLength, v.byteLength, 'a view into a larger heap');
  }
  const ints = tf.tensor1d([1, 2, 3], 'int32');
  const iv = transientValues(ints);
  assert.ok(iv instanceof Float32Array, 'other dtypes come as a float32 copy');
  assert.deepEqual(Array.from(iv), [1, 2, 3]);
  tf.dispose([made, computed, ints]);
});
