// Typed errors. User mistakes (bad files, bad flags, bad shapes) are GptkitErrors with a `kind`,
// and messages that name the file/field, what was expected and what was found. The CLI prints
// them without a stack trace.

export class GptkitError extends Error {
  readonly kind: string;
  readonly hint?: string;
  constructor(kind: string, message: string, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.kind = kind;
    this.hint = hint;
  }
}

/** Bad shapes, dtypes or values passed to a tensor op. */
export class ShapeError extends GptkitError {
  constructor(message: string) {
    super('shape', message);
  }
}

/** Bad configuration (unknown key, wrong type, out-of-range value). */
export class ConfigError extends GptkitError {
  constructor(message: string, hint?: string) {
    super('config', message, hint);
  }
}

/** A file that could not be read or does not have the expected format. */
export class FileFormatError extends GptkitError {
  readonly file: string;
  constructor(file: string, message: string, hint?: string) {
    super('file', `${file}: ${message}`, hint);
    this.file = file;
  }
}
