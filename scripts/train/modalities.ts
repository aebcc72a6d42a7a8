/** Registers every data modality with the trainer (imported by the train, embed and demo commands). */
import './mri.js';
