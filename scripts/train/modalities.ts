/** Registers every data modality with the trainer (imported by the train, embed and demo commands). */
import './mri.js';
// --- text (issue 6): mri-text data and the image-text task ---
import './mri-text.js';
import '../../src/train/image-text.js';
// --- longitudinal (issue 7): mri-longitudinal data (P × K visit batches) ---
import './longitudinal.js';
