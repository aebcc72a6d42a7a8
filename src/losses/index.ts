export { l2Normalize, stackViews, logSumExpRows, softTargetCrossEntropy } from './common.js';
export type { Views } from './validate.js';
export { infoNCE, type InfoNCEOptions } from './infonce.js';
export { supCon, type SupConOptions } from './supcon.js';
export { epsilonSupInfoNCE, type EpsilonSupInfoNCEOptions } from './epsilon-supinfonce.js';
export { yAwareInfoNCE, type YAwareOptions } from './yaware.js';
export { fairKL, type FairKLOptions } from './fairkl.js';
export {
  decoupledUniformity,
  decoupledAlignment,
  kernelCentroidWeights,
  type DecoupledUniformityOptions,
} from './decoupled-uniformity.js';
export { alignment, uniformity } from './alignment-uniformity.js';
export { sepCLR, type SepCLRInputs, type SepCLROptions, type SepCLRLoss } from './sepclr.js';
export { clipLoss, MAX_LOGIT_SCALE, type ClipOptions } from './clip.js';
export { kernelClipLoss, type KernelClipOptions } from './kernel-clip.js';
export { longitudinalDirection, visitPairs } from './longitudinal.js';
export { mmd, type MMDOptions, type MMDEstimator } from './mmd.js';
export { hsic, type HSICOptions } from './hsic.js';
export {
  contrastiveVAELoss,
  gaussianKL,
  type ContrastiveVAEInputs,
  type ContrastiveVAEOptions,
  type ContrastiveVAELoss,
} from './contrastive-vae.js';
