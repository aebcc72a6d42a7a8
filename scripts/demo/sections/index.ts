/**
 * The demo's sections, in the order they run. To add one: write `scripts/demo/sections/<name>.ts` exporting a
 * `DemoSection` (name for `--only`, its summary.json key, cohort needs per mode, and `run(ctx)` returning its
 * summary, report sections and printed table), and list it here under the marker.
 */
import type { DemoSection } from '../context.js';
import { baseSection } from './base.js';
import { multimodalSection } from './multimodal.js';
import { longitudinalSection } from './longitudinal.js';
import { contrastiveAnalysisSection } from './contrastive-analysis.js';

export const DEMO_SECTIONS: DemoSection[] = [
  baseSection,
  // --- sections: multimodal, longitudinal, contrastive-analysis ---
  multimodalSection,
  longitudinalSection,
  contrastiveAnalysisSection,
];
