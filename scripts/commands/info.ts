import { parseArgs } from 'node:util';
import { initBackend } from '../../src/backend.js';
import type { Command } from '../cli.js';

export const command: Command = {
  summary: 'report the active compute backend, tfjs version, SIMD/threads, and why other backends were not used',
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean' } } });
    if (values.help) {
      console.log('usage: geoclr info [--json]\n\nOverride the backend with GEOCLR_BACKEND=node-gpu|node|wasm|cpu|webgpu.');
      return 0;
    }
    const info = await initBackend();
    if (values.json) {
      console.log(JSON.stringify(info, null, 2));
      return 0;
    }
    console.log(`backend     ${info.choice} (tfjs backend '${info.tfBackend}')${info.override ? ' — set by GEOCLR_BACKEND' : ''}`);
    console.log(`tfjs-core   ${info.tfjsVersion}`);
    if (info.choice === 'wasm') {
      console.log(`wasm        SIMD ${info.simd ? 'yes' : 'no'}, threads ${info.threads ? `yes (${info.numThreads})` : 'no (1)'}`);
    }
    console.log('candidates:');
    for (const p of info.probes) {
      const state = p.choice === info.choice ? 'active' : p.reason ?? (p.available ? 'available' : 'unavailable');
      console.log(`  ${p.choice.padEnd(9)} ${p.package.padEnd(30)} ${state}`);
    }
    return 0;
  },
};
