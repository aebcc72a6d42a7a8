/**
 * geoclr's one tfjs instance. Every module imports tfjs from here (`import * as tf from '../tf.js'`).
 *
 * tfjs-core's Node bundle registers neither gradients nor chained ops; the umbrella package `@tensorflow/tfjs`
 * registers both on the same (npm-deduped) tfjs-core instance. Importing it here, once, means that no module
 * can run `tf.grad` before the gradients exist ("gradient function not found for Mean").
 */
import '@tensorflow/tfjs';
export * from '@tensorflow/tfjs-core';
