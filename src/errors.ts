/**
 * Typed errors. Every error geoclr throws on bad input is a `GeoclrError` whose message names the
 * argument (or file, or config field) and what was expected, so a user can act on it.
 */
export class GeoclrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor/array argument has the wrong rank, shape, or length. */
export class ShapeError extends GeoclrError {}

/** A scalar/option is outside its valid range (τ ≤ 0, σ < 0, unknown enum value, ...), or an input holds NaN/Inf. */
export class ValueError extends GeoclrError {}

/** A file is missing, truncated or malformed. The message always starts with the file's path. */
export class FileFormatError extends GeoclrError {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** A configuration file or CLI option is invalid; `field` is the dotted path of the offending key. */
export class ConfigError extends GeoclrError {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`config field '${field}': ${problem}`);
  }
}

/** No usable compute backend, or a requested one could not be loaded. */
export class BackendError extends GeoclrError {}

/** Training diverged (NaN/Inf loss) — raised instead of writing a poisoned checkpoint. */
export class DivergenceError extends GeoclrError {}
