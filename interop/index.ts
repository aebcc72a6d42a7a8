/**
 * geoclr interop (`geoclr/interop`): exchange embeddings, weights and models with Python labs
 * (INTEROP.md): Arrow/Parquet embedding tables, safetensors weights, ONNX export of geoclr encoders, trainable ONNX
 * import (and `OnnxEncoder`, an imported model as a geoclr encoder), onnxruntime inference, the graph builder, and
 * run folders (`exportRun`, `importOnnxRun`, `loadInitModel`) behind `geoclr export` / `import` / `train --init`.
 */
export * from './safetensors.js';
export * from './embeddings.js';
export { importOnnx, OnnxModel, OnnxUnsupportedError, type ImportOnnxOptions, type OnnxInput, type OnnxIoInfo } from './onnx/import.js';
export { supportedOps as supportedOnnxOps } from './onnx/ops.js';
export { createOnnxSession, runOnnx, OnnxSession, type OnnxSessionOptions } from './onnx/runtime.js';
export { OnnxEncoder, type OnnxEncoderConfig, type OnnxEncoderOptions, type OnnxInputLayout } from './onnx/encoder.js';
export { exportOnnx, encoderToOnnx, type ExportOnnxOptions, type OnnxExportInfo, type OnnxExportOutput, type OnnxTensorSpec } from './onnx/export.js';
export { OnnxGraphBuilder, OnnxAttr, type OnnxAttrValue, type OnnxBuilderOptions, type OnnxElemType } from './onnx/builder.js';
export { decodeModel as decodeOnnxModel, encodeModel as encodeOnnxModel, OnnxDataType, type ModelObj as OnnxModelProto } from './onnx/proto.js';
export {
  loadInitModel,
  importOnnxRun,
  exportRun,
  readImportRecord,
  recordedInputShape,
  RUN_WEIGHTS,
  RUN_ONNX,
  RUN_IMPORT,
  INPUT_METADATA_KEY,
  type OnnxImportRecord,
  type ImportOnnxRunOptions,
  type ExportRunOptions,
  type ExportRunResult,
} from './run-dir.js';
