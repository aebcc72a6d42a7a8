/**
 * Optional peers for cross-checks (Debian's python3-torch / python3-nibabel / python3-onnx, Chromium).
 * A test that needs one calls `needPython(this, [...modules])` (or `needBinary`): when the peer is missing it
 * skips *with the reason printed*; under CI (`GEOCLR_REQUIRE_PEERS=1`, set by .ci/run) a missing peer fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The Debian interpreter: the python3 first on PATH may be another one without the peers. */
export const PYTHON = process.env.GEOCLR_PYTHON ?? '/usr/bin/python3';

const cache = new Map<string, string | null>();

/** Returns null when all modules import, else the reason they do not. */
export function pythonProblem(modules: string[]): string | null {
  const key = modules.join(',');
  if (!cache.has(key)) {
    if (!existsSync(PYTHON)) cache.set(key, `${PYTHON} not found`);
    else {
      const r = spawnSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
      cache.set(key, r.status === 0 ? null : `${PYTHON} cannot import ${key}: ${r.stderr.trim().split('\n').pop()}`);
    }
  }
  return cache.get(key)!;
}

function skipOrFail(ctx: Mocha.Context, problem: string, hint: string): void {
  const message = `${problem} (${hint})`;
  if (process.env.GEOCLR_REQUIRE_PEERS === '1') throw new Error(`required peer missing: ${message}`);
  console.log(`      skipped: ${message}`);
  ctx.skip();
}

/** Skips the test (with the reason) unless /usr/bin/python3 imports every module. */
export function needPython(ctx: Mocha.Context, modules: string[]): void {
  const problem = pythonProblem(modules);
  if (problem) skipOrFail(ctx, problem, `apt-get install ${modules.map((m) => `python3-${m}`).join(' ')}`);
}

/** Skips the test (with the reason) unless the executable exists. */
export function needBinary(ctx: Mocha.Context, file: string, aptPackage: string): void {
  if (!existsSync(file)) skipOrFail(ctx, `${file} not found`, `apt-get install ${aptPackage}`);
}

/** Runs a Python script with /usr/bin/python3 and returns stdout; throws with stderr on failure. */
export function runPython(script: string, args: string[] = [], input?: string): string {
  const r = spawnSync(PYTHON, ['-c', script, ...args], {
    encoding: 'utf8',
    input,
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** Runs a Python file with /usr/bin/python3 and returns stdout; throws with stderr on failure. */
export function runPythonFile(file: string, args: string[] = []): string {
  const r = spawnSync(PYTHON, [file, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`python ${file} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}
