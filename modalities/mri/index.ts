/**
 * geoclr/mri — the 3D MRI modality: NIfTI I/O, geometry, intensity, seeded 3D augmentations, cohort manifests,
 * a worker-thread streaming loader, and a synthetic brain cohort built from the real Colin27 template.
 */
export * from './affine.js';
export * from './volume.js';
export * from './nifti/datatypes.js';
export * from './nifti/header.js';
export * from './nifti/read.js';
export * from './nifti/write.js';
export * from './orientation.js';
export * from './resample.js';
export * from './filters.js';
export * from './crop.js';
export * from './intensity.js';
export * from './augment.js';
export * from './preprocess.js';
export * from './manifest.js';
export * from './loader.js';
export * from './tensors.js';
export * from './synth/template.js';
export * from './synth/design.js';
export * from './synth/phantom.js';
export * from './synth/render.js';
export * from './synth/cohort.js';
export * from './noise.js';
export * from './contrastive.js';
