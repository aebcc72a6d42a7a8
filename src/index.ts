/**
 * geoclr — geometric contrastive representation learning for medical imaging.
 * The package root re-exports tfjs as `tf` so that users, tests and every geoclr module share one tfjs instance.
 */
import * as tf from './tf.js';
export { tf };
export * from './errors.js';
export * from './backend.js';
export * from './util/random.js';
export * from './util/progress.js';
export * from './util/fs.js';

// --- kernels and objectives (losses) ---

// --- nn: layers, encoders, heads, optimizers ---

// --- training ---

// --- evaluation ---
export * from './eval/index.js';
export * from './report/index.js';
