/**
 * safetensors for Python labs. The codec lives in the core (`src/io/safetensors.ts`) because training
 * checkpoints use it too; interop re-exports it as part of its public surface.
 */
export * from '../src/io/safetensors.js';
