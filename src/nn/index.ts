/** geoclr.nn: modules, layers, functional ops, encoders, heads and optimizers with PyTorch semantics. */
export * from './module.js';
export * as init from './init.js';
export * from './layers.js';
export * from './attention.js';
export { conv2d, conv3d, setConvImplementation, convImplementation, torchToTfFilter, tfToTorchFilter } from './ops/conv.js';
export type { ConvOptions, ConvImplementation } from './ops/conv.js';
export { linear, matmul } from './ops/dense.js';
export { batchNormTrain, batchNormEval, layerNorm } from './ops/norm.js';
export type { BatchNormTrainResult } from './ops/norm.js';
export { gelu, dropout } from './ops/activation.js';
export { maxPool2d, maxPool3d, avgPool2d, avgPool3d, globalAvgPool } from './ops/pool.js';
export type { PoolOptions } from './ops/pool.js';
export { embedding } from './ops/embedding.js';
export { customOp, customOpMulti } from './ops/custom.js';
export { installWasmKernelFixes } from './ops/wasm-kernels.js';
