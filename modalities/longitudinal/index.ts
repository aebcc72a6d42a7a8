/**
 * geoclr/longitudinal — longitudinal cohorts: each subject's sessions in visit order with a time in years,
 * validated; subject-aware batches (P subjects × K visits) streamed through the MRI loader.
 */
export * from './cohort.js';
export * from './sampler.js';
