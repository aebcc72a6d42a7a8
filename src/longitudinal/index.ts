/**
 * Longitudinal modelling: the objectives of LOSSES.md §10 as composable terms (subject × time y-Aware InfoNCE,
 * trajectory alignment with a learned direction), a time-aware sequence model over a subject's visits
 * (patient embedding + prediction head), and evaluation on held-out subjects.
 */
export * from './direction.js';
export * from './objective.js';
export * from './sequence.js';
export * from './evaluate.js';
export { SUBJECT_COLUMN, TIME_COLUMN, visitBatch } from './task.js';
