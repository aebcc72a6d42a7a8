export * from './metadata.js';
export * from './kernels.js';
