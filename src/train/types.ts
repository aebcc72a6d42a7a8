/**
 * The contracts between the trainer, the tasks and the data. The trainer core knows none of the modalities:
 * data arrives through `TrainDataSource` (the MRI cohort loader, in-memory arrays, text pairs…), models through
 * `TrainableModel` (a geoclr `Encoder`, or any adapter with the same surface such as an imported ONNX encoder).
 */
import type * as tf from '../tf.js';
import type { EncoderOutput } from '../nn/encoders/encoder.js';

/** One metadata value: numbers are continuous or coded, strings categorical, null missing. */
export type MetaValue = number | string | null;

/** A batch as a task sees it. The trainer disposes `views` (and `inputs`) after the step. */
export interface TrainBatch {
  /** V augmented views of the same B samples, each `[B, ...inputShape]` (channels last). */
  views: tf.Tensor[];
  /** Named extra inputs a task may need (token ids and masks of paired reports, …). */
  inputs?: Record<string, tf.Tensor>;
  /** Metadata columns by name, B values each (the columns the task asked for). */
  meta: Record<string, MetaValue[]>;
  /** Sample ids (e.g. `sub-001/ses-01`), for messages. */
  ids: string[];
  /** B. */
  size: number;
  /** Batch number within its epoch (0-based); the trainer counts batches when absent. */
  index?: number;
}

/** Where training batches come from. Batches must be deterministic in (seed, epoch): resume relies on it. */
export interface TrainDataSource {
  /** Samples per epoch. */
  readonly size: number;
  /** Shape of one sample without the batch axis, channels last (e.g. [D, H, W, 1]). */
  readonly inputShape: number[];
  /** Batches per epoch at the source's batch size. */
  readonly batchesPerEpoch: number;
  /** Metadata columns the source can provide, with their kind. */
  readonly columns: Record<string, 'number' | 'string'>;
  /** Every value of one column over the whole training set, in a fixed order (for label bins, statistics). */
  columnValues(name: string): MetaValue[];
  /** The batches of `epoch` from batch number `start` (0-based) on. */
  batches(epoch: number, start: number): AsyncIterable<TrainBatch>;
  /** Releases workers and caches. */
  close(): Promise<void>;
  /** What to record about the data in the run's files (manifest path, preprocessing, augmentation…). */
  describe?(): Record<string, unknown>;
  /** The extra inputs each batch carries (`TrainBatch.inputs`), for tasks that build a model part for them. */
  readonly inputs?: Record<string, InputInfo>;
}

/**
 * An extra input of the batches: token ids (of paired reports) with their attention mask. A task sizes the
 * model part from it (vocabulary, positions) and stores `tokenizer` with the trained weights.
 */
export interface InputInfo {
  type: 'tokens';
  /** Ids are in [0, vocabSize). */
  vocabSize: number;
  /** Longest sequence the batches carry (special tokens included). */
  maxLength: number;
  /** Key of the [B, L] attention mask in `TrainBatch.inputs` (1 = token, 0 = padding). */
  mask: string;
  /** How texts become these ids (tokenizer reference, vocabulary), saved beside the trained text model. */
  tokenizer: Record<string, unknown>;
}

/**
 * What the trainer needs from a model part: PyTorch-style named parameters, a state to checkpoint, train/eval
 * modes. A geoclr `Encoder` satisfies it; so does the ONNX adapter of `geoclr/interop`.
 */
export interface TrainableModel {
  forward(x: tf.Tensor, mask?: tf.Tensor): EncoderOutput;
  namedParameters(): [string, tf.Variable][];
  /** Parameters and buffers by name; tf.Variables are restored in place from checkpoints. */
  stateDict(): Record<string, tf.Tensor>;
  train(mode?: boolean): unknown;
  eval(): unknown;
  dispose(): void;
  /** Random generators inside the model (dropout), for exact resume. */
  randomState?(): Record<string, number[]>;
  setRandomState?(state: Record<string, number[]>): void;
}

/** A loss value with its named terms (each already weighted into `total` by the task). */
export interface LossOutput {
  total: tf.Scalar;
  /** Unweighted term values, for logging. */
  terms: Record<string, tf.Scalar>;
  /** Other values to log that are not losses (e.g. a learned 1/τ), under `values.<name>` in metrics.jsonl. */
  values?: Record<string, tf.Scalar>;
}

export interface StepInfo {
  /** Global step (0-based) and epoch. */
  step: number;
  epoch: number;
}
