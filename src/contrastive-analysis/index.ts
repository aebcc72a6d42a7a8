/**
 * Contrastive analysis: separating the variation shared by a background (healthy) and a target (patient) data set
 * — the common space — from the variation only the targets have — the salient space. SepCLR (Louiset et al., ICLR
 * 2024) and the VAE baselines cVAE (Abid & Zou 2019) and MM-cVAE (Weinberger et al. 2022), with a SimCLR single-space
 * baseline, trained on in-memory data sets and evaluated with the SepCLR paper's probe protocol.
 */
export * from './dataset.js';
export * from './views.js';
export * from './models.js';
export * from './config.js';
export * from './methods.js';
export * from './fit.js';
export * from './evaluate.js';
export * from './saliency.js';
export * from './images.js';
