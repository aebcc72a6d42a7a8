/**
 * geoclr.train: the trainer core (task-independent), the task and objective registries, data interfaces,
 * checkpoints with exact resume, training configs and the run directory.
 */
export * from './types.js';
export { registerObjective, objectiveNames, objectiveDefinition, buildObjective, buildObjectives } from './objectives.js';
export type { ObjectiveTerm, ObjectiveDefinition, DataInfo, EmbeddingKind } from './objectives.js';
export { registerTask, taskNames, resolveTaskConfig, createTask, weightedTerms, describeTerms, nonFiniteOutputs } from './tasks.js';
export type { TrainingTask, TaskSetup, TaskDefinition } from './tasks.js';
export { registerDataModality, dataModality, resolveDataConfig, ArrayDataSource } from './data.js';
export type { DataModality, EmbedSource, EmbedBatch, OpenTrainOptions, OpenEmbedOptions, ArrayDataOptions } from './data.js';
export { resolveTrainConfig, readTrainConfig, parseConfigFile, configDifferences } from './config.js';
export type { ResolvedTrainConfig, OptimizerConfig, ScheduleConfig, EvaluationConfig, EvalRole, ResolveOptions } from './config.js';
export { saveCheckpoint, loadCheckpoint, readLatestPointer, checkpointName, CHECKPOINT_DIR, LATEST_FILE } from './checkpoint.js';
export type { CheckpointState, CheckpointContent, LatestPointer } from './checkpoint.js';
export { train, scheduleFactor, METRICS_FILE } from './trainer.js';
export type { TrainerOptions, TrainResult } from './trainer.js';
export { embedAll, embedViews } from './embed.js';
export type { EmbeddingSet, EmbedOptions } from './embed.js';
export {
  runTraining,
  saveGeoclrEncoder,
  configFingerprint,
  inputDescription,
  defaultTargets,
  evaluationSections,
  CONFIG_FILE,
  MODEL_FILE,
  REPORT_FILE,
} from './run.js';
export type { RunTrainingOptions, RunResult, SaveModel } from './run.js';
// --- image-text task (issue 6): registers 'image-text' ---
export { TEXT_MODEL_FILE, TEXT_PIPELINE_KEY, IMAGE_TEXT_OBJECTIVES, DEFAULT_KERNEL_CLIP, temperatureOf } from './image-text.js';
export type { ImageTextObjectiveName } from './image-text.js';
