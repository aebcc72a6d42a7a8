/**
 * Small validators for configuration objects. Each takes the value, its dotted field path and (where it makes
 * sense) a default, and throws a ConfigError naming the field and what was expected — so a typo in a YAML file
 * says `config field 'optimizer.lr': must be a number > 0, got "1e-3x"` rather than failing later.
 */
import { ConfigError } from '../errors.js';

export type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v));

/** The value as an object (or `{}` when absent and `optional`). */
export function object(v: unknown, field: string, optional = false): Obj {
  if (v === undefined && optional) return {};
  if (!isObject(v)) throw new ConfigError(field, `must be an object (key: value mapping), got ${show(v)}`);
  return v;
}

/** Rejects keys outside `allowed`, naming the closest allowed key when there is a likely typo. */
export function checkKeys(obj: Obj, allowed: readonly string[], field: string): void {
  for (const k of Object.keys(obj)) {
    if (allowed.includes(k)) continue;
    const near = allowed.find((a) => a.toLowerCase() === k.toLowerCase() || editDistance(a, k) <= 2);
    const path = field ? `${field}.${k}` : k;
    throw new ConfigError(path, `unknown key${near ? ` (did you mean '${near}'?)` : ''}; expected one of ${allowed.join(', ')}`);
  }
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

export interface NumberRule {
  min?: number;
  max?: number;
  /** Strict lower bound (value > min). */
  exclusiveMin?: boolean;
  integer?: boolean;
}

function describeRule(r: NumberRule): string {
  const kind = r.integer ? 'an integer' : 'a number';
  const parts: string[] = [];
  if (r.min != null) parts.push(`${r.exclusiveMin ? '>' : '≥'} ${r.min}`);
  if (r.max != null) parts.push(`≤ ${r.max}`);
  return `${kind}${parts.length ? ` ${parts.join(' and ')}` : ''}`;
}

/** A finite number obeying `rule`; `dflt` when absent (required when `dflt` is undefined). */
export function number(v: unknown, field: string, dflt: number | undefined, rule: NumberRule = {}): number {
  const value = v === undefined ? dflt : v;
  if (value === undefined) throw new ConfigError(field, `is required (${describeRule(rule)})`);
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!rule.integer || Number.isInteger(value)) &&
    (rule.min == null || (rule.exclusiveMin ? value > rule.min : value >= rule.min)) &&
    (rule.max == null || value <= rule.max);
  if (!ok) throw new ConfigError(field, `must be ${describeRule(rule)}, got ${show(value)}`);
  return value as number;
}

export function optionalNumber(v: unknown, field: string, rule: NumberRule = {}): number | undefined {
  return v === undefined || v === null ? undefined : number(v, field, undefined, rule);
}

export function string(v: unknown, field: string, dflt?: string): string {
  const value = v === undefined ? dflt : v;
  if (value === undefined) throw new ConfigError(field, 'is required (a string)');
  if (typeof value !== 'string' || value === '') throw new ConfigError(field, `must be a non-empty string, got ${show(value)}`);
  return value;
}

export function boolean(v: unknown, field: string, dflt: boolean): boolean {
  const value = v === undefined ? dflt : v;
  if (typeof value !== 'boolean') throw new ConfigError(field, `must be true or false, got ${show(value)}`);
  return value;
}

export function oneOfValues<T extends string>(v: unknown, field: string, allowed: readonly T[], dflt?: T): T {
  const value = v === undefined ? dflt : v;
  if (value === undefined) throw new ConfigError(field, `is required (one of ${allowed.join(', ')})`);
  if (!allowed.includes(value as T)) throw new ConfigError(field, `must be one of ${allowed.join(', ')}, got ${show(value)}`);
  return value as T;
}

/** A string or a list of strings, as a list. */
export function stringList(v: unknown, field: string, dflt?: string[]): string[] {
  const value = v === undefined ? dflt : v;
  if (value === undefined) throw new ConfigError(field, 'is required (a column name or a list of them)');
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.some((s) => typeof s !== 'string' || s === '')) {
    throw new ConfigError(field, `must be a name or a non-empty list of names, got ${show(value)}`);
  }
  return [...(list as string[])];
}

export function numberList(v: unknown, field: string, length?: number, rule: NumberRule = {}): number[] {
  if (!Array.isArray(v) || v.length === 0 || (length != null && v.length !== length)) {
    throw new ConfigError(field, `must be a list of ${length ?? 'one or more'} numbers, got ${show(v)}`);
  }
  return v.map((e, i) => number(e, `${field}[${i}]`, undefined, rule));
}
