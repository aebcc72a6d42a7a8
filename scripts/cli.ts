/**
 * The `geoclr` command line. Each subcommand lives in `scripts/commands/<name>.ts` and is imported lazily,
 * so `geoclr info` does not pay for loading the MRI or interop stacks.
 */
import { GeoclrError } from '../src/errors.js';

export interface Command {
  /** One line for `geoclr help`. */
  summary: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  info: async () => (await import('./commands/info.js')).command,
  // --- demo / training / evaluation ---
  eval: async () => (await import('./commands/eval.js')).command,
  train: async () => (await import('./commands/train.js')).command,
  embed: async () => (await import('./commands/embed.js')).command,
  demo: async () => (await import('./commands/demo.js')).command,
  ca: async () => (await import('./commands/ca.js')).command,

  // --- MRI: synth, nifti ---
  nifti: async () => (await import('./commands/nifti.js')).command,
  synth: async () => (await import('./commands/synth.js')).command,

  // --- text: reports ---
  reports: async () => (await import('./commands/reports.js')).command,

  // --- longitudinal ---
  longitudinal: async () => (await import('./commands/longitudinal.js')).command,

  // --- interop: export, import ---
  export: async () => (await import('./commands/export.js')).command,
  import: async () => (await import('./commands/import.js')).command,

  // --- benchmarks ---
  bench: async () => (await import('./commands/bench.js')).command,

};

function usage(): string {
  return [
    'usage: geoclr <command> [options]   (geoclr <command> --help for its options)',
    '',
    'commands:',
    ...Object.keys(COMMANDS).map((name) => `  ${name}`),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name == null || name === 'help' || name === '--help' || name === '-h') {
    const lines = [usage().split('\n').slice(0, 3).join('\n')];
    for (const [cmd, load] of Object.entries(COMMANDS)) lines.push(`  ${cmd.padEnd(10)} ${(await load()).summary}`);
    console.log(lines.join('\n'));
    return name == null ? 1 : 0;
  }
  const load = COMMANDS[name];
  if (load == null) {
    console.error(`geoclr: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await load()).run(rest);
  } catch (e) {
    if (e instanceof GeoclrError) {
      console.error(`geoclr ${name}: ${e.message}`);
      return 1;
    }
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`geoclr ${name}: ${(e as Error).message} (see geoclr ${name} --help)`);
      return 2;
    }
    throw e;
  }
}
