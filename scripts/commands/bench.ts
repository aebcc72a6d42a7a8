/**
 * `geoclr bench <suite>` (also `npm run bench -- <suite>`): performance measurements, run on demand, never in tests.
 * Each suite times geoclr and PyTorch on the same machine in the same run and reports ratios; results go to
 * stdout (a table) and `bench/results/<suite>.json`.
 */
import type { Command } from '../cli.js';

const SUITES: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  // --- suites ---
  ca: {
    summary: 'contrastive analysis: SepCLR training throughput (two encoders, two heads; 2D and 3D) vs the PyTorch twin',
    load: () => import('../bench/ca.js'),
  },
  mri: { summary: 'NIfTI read → canonical → resample 2 mm → z-score vs nibabel+scipy', load: () => import('../bench/mri.js') },
  nn: { summary: 'conv3d layers and the default 3D encoder: forward+backward vs PyTorch CPU', load: () => import('../bench/nn.js') },
  objectives: {
    summary: 'forward+backward of every objective (n = 256, 1024; d = 128) vs PyTorch CPU',
    load: () => import('../bench/objectives.js'),
  },
  text: {
    summary: 'text: tokenisation reports/s vs transformers.js defaults (+ pure-Python BERT); text-encoder training reports/s vs PyTorch CPU',
    load: async () => import('../bench/text.js'),
  },
  train: {
    summary: 'training step of the demo encoder (2 views, y-Aware, AdamW): volumes/s and peak memory vs PyTorch CPU; profile',
    load: () => import('../bench/train.js'),
  },
  interop: {
    summary: 'interop: Arrow/Parquet tables (1M × 128, vs NumPy .npy); ONNX 3D-CNN inference and default-encoder embedding extraction, tfjs vs onnxruntime vs PyTorch',
    load: async () => import('../bench/interop.js'),
  },

};

export const command: Command = {
  summary: 'run a benchmark suite against PyTorch on this machine (see `geoclr bench --help`)',
  async run(argv) {
    const [suite, ...rest] = argv;
    if (suite == null || suite === '--help' || suite === '-h') {
      console.log('usage: geoclr bench <suite> [options]   (npm run bench -- <suite>)\n\nsuites:');
      for (const [name, s] of Object.entries(SUITES)) console.log(`  ${name.padEnd(12)} ${s.summary}`);
      return suite == null ? 1 : 0;
    }
    const entry = SUITES[suite];
    if (entry == null) {
      console.error(`geoclr bench: unknown suite '${suite}'; expected one of ${Object.keys(SUITES).join(', ') || '(none yet)'}`);
      return 2;
    }
    return (await entry.load()).run(rest);
  },
};
