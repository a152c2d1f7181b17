import { tf } from '../engine/index.js';

/** A forward pass that returns its value and a closure computing the gradients of every input. */
export type CustomOpBody = (...inputs: tf.Tensor[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor) => tf.Tensor[] };

/** `tf.customGrad` with the typing the render ops need (tensor inputs only, one gradient per input). */
export function customOp(body: CustomOpBody): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(body as unknown as Parameters<typeof tf.customGrad>[0]) as (...inputs: tf.Tensor[]) => tf.Tensor;
}
