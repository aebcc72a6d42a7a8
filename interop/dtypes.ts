export * from '../src/io/dtypes.js';
