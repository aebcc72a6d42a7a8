/** Run reports: static, offline HTML pages of loss curves, metric tables, embedding maps and images. */
export { writeReport, renderReport } from './page.js';
export type { ReportRun, ReportSection } from './page.js';
export { registerBlockRenderer, renderBlock } from './blocks.js';
export type {
  ReportBlock,
  BuiltinBlock,
  CustomBlock,
  BlockRenderer,
  RenderContext,
  TextBlock,
  KeyValueBlock,
  TableBlock,
  TableColumn,
  IntervalCell,
  LineChartBlock,
  ScatterBlock,
  EmbeddingMapBlock,
  ImagesBlock,
  ImageItem,
  GridBlock,
  DetailsBlock,
  JsonBlock,
  HtmlBlock,
} from './blocks.js';
export { lineChart, scatterChart, IdSource } from './charts.js';
export type { LineChartSpec, LineSeries, ScatterSpec, ScatterColor } from './charts.js';
export { project2d, pca2d } from './project.js';
export type { Projection, ProjectionOptions, ProjectionMethod } from './project.js';
export { encodePng, pngDataUri } from './png.js';
export type { RasterImage } from './png.js';
export { parseMetricsLog, readMetricsLog, trainingCurveBlocks } from './training.js';
export type { MetricsRecord, MetricsLog } from './training.js';
export { evaluationBlocks, comparisonTable, betterDirection } from './evaluation.js';
export type { ComparisonOptions } from './evaluation.js';
