/** `geoclr export`: a run's encoder as ONNX (for onnxruntime / any ONNX runtime) or safetensors (PyTorch twin). */
import { parseArgs } from 'node:util';
import { ConfigError } from '../../src/errors.js';
import { initBackend } from '../../src/backend.js';
import type { Command } from '../cli.js';

const HELP = `usage: geoclr export --run DIR --format onnx|safetensors --out FILE [options]

Writes the encoder of a geoclr run (DIR/model.safetensors) for Python labs.

  --run DIR          a geoclr run folder (model.safetensors, written by training)
  --format F         onnx | safetensors
  --out FILE         the file to write (atomically)
  --input-shape S    ONNX input size without batch and channels: D,H,W (3D), H,W (2D) or L (text); default: the
                     size the weights record (metadata geoclr.input), else dynamic axes
  --output O         ONNX outputs: both | representation | projection (default both)
  --opset N          ONNX opset, 17 to 21 (default 17)

The ONNX model takes PyTorch's channels-first layout (a volume batch [batch, C, D, H, W]; geoclr's [B, D, H, W, C]
is tf.transpose(x, [0, 4, 1, 2, 3])), or input_ids + attention_mask (int64) for text; its outputs are
'representation' and 'projection'. The safetensors file loads into the PyTorch twin
(interop/python/geoclr_torch: build_encoder(config).load_state_dict(load_file(FILE))).

example: geoclr export --run runs/t1 --format onnx --out t1.onnx --input-shape 32,40,32`;

/** "32,40,32" → [32, 40, 32] (positive integers). */
export function parseDims(text: string, flag: string): number[] {
  const dims = text.split(/[,x× ]+/).filter(Boolean).map(Number);
  if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ConfigError(flag, `expected comma-separated positive integers, got '${text}'`);
  }
  return dims;
}

export const command: Command = {
  summary: 'write a run\'s encoder as ONNX or safetensors for PyTorch labs (--run DIR --format onnx|safetensors --out FILE)',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        run: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
        'input-shape': { type: 'string' },
        output: { type: 'string' },
        opset: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    for (const flag of ['run', 'format', 'out'] as const) if (values[flag] == null) throw new ConfigError(`--${flag}`, 'is required (see geoclr export --help)');
    const format = values.format!;
    if (format !== 'onnx' && format !== 'safetensors') throw new ConfigError('--format', `must be onnx or safetensors, got '${format}'`);
    const output = values.output;
    if (output != null && !['both', 'representation', 'projection'].includes(output)) {
      throw new ConfigError('--output', `must be both, representation or projection, got '${output}'`);
    }
    if (format === 'safetensors' && (output != null || values.opset != null)) throw new ConfigError('--output', '--output and --opset apply to --format onnx only');
    const opset = values.opset == null ? undefined : Number(values.opset);
    if (opset != null && !(Number.isInteger(opset) && opset >= 17 && opset <= 21)) throw new ConfigError('--opset', `must be an integer from 17 to 21, got '${values.opset}'`);
    await initBackend();
    const { exportRun } = await import('../../interop/run-dir.js');
    const r = await exportRun(values.run!, {
      format,
      out: values.out!,
      inputShape: values['input-shape'] ? parseDims(values['input-shape'], '--input-shape') : undefined,
      output: output as 'both' | 'representation' | 'projection' | undefined,
      opset,
    });
    const shape = r.inputShape ? `[${r.inputShape}] (${r.inputShapeFrom === 'metadata' ? 'recorded in the weights' : '--input-shape'})` : 'dynamic';
    if (r.onnx) {
      const spec = (t: { name: string; elemType: string; shape: (number | string)[] }) => `${t.name} ${t.elemType} [${t.shape.join(', ')}]`;
      console.log(`wrote ${r.out}: ONNX opset ${r.onnx.opset} (IR ${r.onnx.irVersion}), ${r.onnx.initializers} weight tensors, input size ${shape}`);
      console.log(`  inputs:  ${r.onnx.inputs.map(spec).join('; ')}`);
      console.log(`  outputs: ${r.onnx.outputs.map(spec).join('; ')}`);
      if (r.onnx.fromChannelsLast) console.log(`  from geoclr's channels-last data: tf.transpose(x, [${r.onnx.fromChannelsLast}]) (NumPy: x.transpose(${r.onnx.fromChannelsLast.join(', ')}))`);
    } else {
      console.log(`wrote ${r.out}: safetensors (PyTorch state_dict names and layouts, config in metadata geoclr.encoder), input size ${shape}`);
    }
    return 0;
  },
};
