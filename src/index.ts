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
export * from './kernels/index.js';
export * from './losses/index.js';

// --- nn: layers, encoders, heads, optimizers ---
export * from './nn/index.js';

// --- io: weight files ---
export * from './io/model-file.js';

// --- training ---
export * from './train/index.js';

// --- longitudinal: objectives (§10) as terms, sequence model, evaluation ---
export * from './longitudinal/index.js';

// --- evaluation ---
export * from './eval/index.js';
export * from './report/index.js';

// --- contrastive analysis (SepCLR, cVAE, MM-cVAE) ---
export * from './contrastive-analysis/index.js';
