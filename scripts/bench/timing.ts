/**
 * Shared by the benchmark suites that compare with a PyTorch side script: best-of-N timing (the minimum is the
 * robust statistic on a shared machine: other load only ever adds time; the median is reported beside it) and a
 * runner for the Python side (a script taking a JSON spec file, printing a JSON object on its last line).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BackendInfo } from '../../src/backend.js';

export const PYTHON = process.env.GEOCLR_PYTHON ?? '/usr/bin/python3';

/** The command-line options every PyTorch-comparing suite takes (`parseArgs` options; add the suite's own). */
export function benchOptions(suite: string) {
  return {
    reps: { type: 'string', default: '7' },
    threads: { type: 'string', default: '2' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: `bench/results/${suite}.json` },
    help: { type: 'boolean', default: false },
  } as const;
}

export interface Timing {
  min: number;
  median: number;
}

/** Where and how a PyTorch-comparing suite ran: the first fields of its results file. */
export function benchRunInfo(suite: string, info: BackendInfo, torchThreads: number) {
  return {
    suite,
    date: new Date().toISOString(),
    backend: info.choice,
    simd: info.simd,
    threads: info.numThreads,
    torchThreads,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadAverage: os.loadavg()[0],
  };
}

/** Runs `fn` `warmup` times untimed, then `reps` times; returns the minimum and the median in ms. */
export function timeMs(fn: () => void, reps: number, warmup = 2): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { min: times[0], median: times[Math.floor(times.length / 2)] };
}

/** Runs `script SPEC.json` with the Python peer; returns its last stdout line parsed, or the problem as a string. */
export function runPythonJson<T>(script: string, spec: unknown, prefix = 'geoclr-bench-'): { result: T | null; problem: string | null } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    const file = path.join(dir, 'spec.json');
    writeFileSync(file, JSON.stringify(spec));
    const r = spawnSync(PYTHON, [path.resolve(script), file], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status === 0) return { result: JSON.parse(r.stdout.trim().split('\n').pop()!) as T, problem: null };
    return { result: null, problem: `PyTorch side failed (${PYTHON}): ${r.stderr.trim().split('\n').pop()}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
