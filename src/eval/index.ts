/**
 * Evaluation on frozen representations: probes, metrics, cross-validation, retrieval, debiasing, geometry.
 * (Curated exports: helpers with generic names — mean, take, zeros — stay internal to avoid clashes at the root.)
 */
export { toMatrix, l2NormalizeRows, fitStandardizer, applyStandardizer } from './matrix.js';
export type { Matrix, MatrixLike, Standardizer } from './matrix.js';
export {
  encodeLabels,
  meanAbsoluteError,
  rootMeanSquaredError,
  r2Score,
  accuracyScore,
  balancedAccuracy,
  rankData,
  pearson,
  spearman,
  rocAuc,
  rocAucOvr,
} from './metrics.js';
export type { Label, EncodedLabels } from './metrics.js';
export { fitRidge, RidgeSystem } from './ridge.js';
export type { RidgeOptions, RidgeModel } from './ridge.js';
export { fitLogistic } from './logistic.js';
export type { LogisticOptions, LogisticModel } from './logistic.js';
export { minimizeLbfgs } from './lbfgs.js';
export type { LbfgsOptions, LbfgsResult, ObjectiveWithGradient } from './lbfgs.js';
export { fitKnnClassifier, fitKnnRegressor, nearestNeighbors } from './knn.js';
export type { KnnOptions, KnnMetric, KnnClassifier, KnnRegressor } from './knn.js';
export { kFoldSplits } from './cv.js';
export type { Fold, KFoldOptions } from './cv.js';
export { foldInterval, bootstrapInterval, studentTQuantile, studentTCdf } from './stats.js';
export type { BootstrapOptions } from './stats.js';
export { alignmentMetric, uniformityMetric } from './geometry.js';
export type { AlignmentOptions, UniformityOptions } from './geometry.js';
export { retrievalMetrics, similarityMatrix, zeroShotClassification, zeroShotAuc } from './retrieval.js';
export type { RetrievalOptions, RetrievalResult, DirectionMetrics, ZeroShotResult, Similarity } from './retrieval.js';
export { biasAlignedMask, biasConflictScores } from './debias.js';
export type { BiasConflictResult, SubsetScores } from './debias.js';
export { crossValidateProbe } from './probe.js';
export type { Task, ProbeKind, ProbeOptions, ProbeResult, LinearProbeOptions, MetricSummary } from './probe.js';
export { evaluateEmbeddings, inferTask } from './evaluate.js';
export type { EvaluateOptions, EvaluationResult, TargetSpec, TargetResult, ProbeSummary } from './evaluate.js';
export { parseEmbeddingTable, readEmbeddingTable, tableFormatOf, parseDelimited } from './table.js';
export type { EmbeddingTable, TableFormat, Cell } from './table.js';
