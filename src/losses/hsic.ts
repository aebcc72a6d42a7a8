/**
 * Kernel independence penalty between two codes of the same samples — the Hilbert–Schmidt Independence Criterion,
 * Gretton, Bousquet, Smola & Schölkopf, "Measuring Statistical Dependence with Hilbert–Schmidt Norms" (ALT 2005),
 * Definition 2 / Eq. 4 (the biased empirical estimate):
 *
 *   `HSIC_b(x, y) = tr(K H L H) / (n − 1)²`,   K = RBF Gram of x (σ_x), L = RBF Gram of y (σ_y), H = I − 11ᵀ/n,
 *
 * and its normalised form `HSIC(K, L) / √(HSIC(K, K) · HSIC(L, L))` ∈ [0, 1] (kernel CKA; Cortes et al. 2012,
 * Kornblith et al. 2019), which does not depend on the kernels' scale and so is comparable across methods.
 * Minimised between SepCLR's (or a VAE's) common and salient codes, it penalises any — not only linear — statistical
 * dependence between them (an alternative to SepCLR's k-JEM term); as a metric it scores how separated two spaces are.
 */
import * as tf from '../tf.js';
import { pairwiseSquaredDistances, rbfGram } from './common.js';
import { bandwidths } from './mmd.js';
import { embeddings } from './validate.js';

export interface HSICOptions {
  /** RBF bandwidth of x: σ > 0, a list (summed kernels), or 'median' (median pairwise distance). Default 'median'. */
  sigmaX?: number | readonly number[] | 'median';
  /** RBF bandwidth of y, as `sigmaX`. Default 'median'. */
  sigmaY?: number | readonly number[] | 'median';
  /** Return the normalised HSIC (kernel CKA, in [0, 1]) instead of HSIC_b. Default false. */
  normalized?: boolean;
}

/** `H K H`: the Gram matrix centred in feature space (rows and columns to mean 0). */
function centre(k: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = tf.mean(k, 1, true);
    const cols = tf.mean(k, 0, true);
    return tf.add(tf.sub(tf.sub(k, rows), cols), tf.mean(k)) as tf.Tensor2D;
  });
}

/**
 * HSIC between `x` `[n, dx]` and `y` `[n, dy]` (the same n samples, n ≥ 2), biased estimate with RBF kernels; with
 * `normalized`, the kernel CKA. The median bandwidths are constants (computed without gradient). Returns a scalar.
 */
export function hsic(x: tf.Tensor, y: tf.Tensor, options: HSICOptions = {}): tf.Scalar {
  const a = embeddings(x, 'hsic: x', { minN: 2 });
  const n = a.shape[0];
  const b = embeddings(y, 'hsic: y', { n, nName: 'x' });
  return tf.tidy(() => {
    const dx = pairwiseSquaredDistances(a);
    const dy = pairwiseSquaredDistances(b);
    const kc = centre(rbfGram(dx, bandwidths(options.sigmaX ?? 'median', dx, 'hsic: sigmaX')));
    const lc = centre(rbfGram(dy, bandwidths(options.sigmaY ?? 'median', dy, 'hsic: sigmaY')));
    // tr(K H L H) = Σ (HKH) ∘ (HLH); both centred, so the rounding noise of a near-constant Gram stays tiny.
    const cross = tf.sum(tf.mul(kc, lc));
    if (!options.normalized) return tf.div(cross, (n - 1) * (n - 1)) as tf.Scalar;
    // ‖HKH‖_F ‖HLH‖_F (the (n − 1)² factors cancel), each floored at 1e-6·n²: a (nearly) constant code — e.g.
    // background salient codes at the origin — has HKH ≈ 0 up to float32 rounding, and is independent of anything;
    // the floor turns that rounding noise into ≈ 0 instead of an arbitrary ratio (and 0/0 into 0, never NaN).
    const floor = 1e-6 * n * n;
    const norms = tf.mul(tf.maximum(tf.sum(tf.square(kc)), floor), tf.maximum(tf.sum(tf.square(lc)), floor));
    return tf.div(cross, tf.sqrt(norms)) as tf.Scalar;
  });
}
