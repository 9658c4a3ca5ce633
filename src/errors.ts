/**
 * Typed errors with stable codes. Every failure a user can cause (bad input,
 * missing files, corrupt objects, failed verification) is one of these; the
 * CLI maps them to a one-line message and an exit code. Anything else that
 * escapes is a bug and is reported as such.
 */

export type ErrorCode =
  | 'EUSAGE'
  | 'ENOTFOUND'
  | 'EEXIST'
  | 'EINVAL'
  | 'EIO'
  | 'ECORRUPT'
  | 'EGVARIANT'
  | 'ENOTNORMAL'
  | 'EBADOBJECT'
  | 'EBADREF'
  | 'EREPO'
  | 'ELOCKED'
  | 'ECONFIG'
  | 'ESIGNATURE'
  | 'ENETWORK'
  | 'EUNSUPPORTED'
  | 'ECONFLICT'
  | 'EPATH'
  | (string & {});

export class CoreforgeError extends Error {
  readonly code: ErrorCode;
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; exitCode?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** Wrong command-line usage. */
export class UsageError extends CoreforgeError {
  constructor(message: string) {
    super('EUSAGE', message, { exitCode: 2 });
  }
}

/** A named thing (object, ref, remote, file) does not exist. */
export class NotFoundError extends CoreforgeError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('ENOTFOUND', message, opts);
  }
}

export class AlreadyExistsError extends CoreforgeError {
  constructor(message: string) {
    super('EEXIST', message);
  }
}

/** Input that does not have the expected form (a file, a field, a flag value). */
export class InvalidInputError extends CoreforgeError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('EINVAL', message, opts);
  }
}

/** Stored or received data failed a checksum or structure check. */
export class CorruptionError extends CoreforgeError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('ECORRUPT', message, opts);
  }
}

export class UnsupportedError extends CoreforgeError {
  constructor(message: string) {
    super('EUNSUPPORTED', message);
  }
}

/** Path that would escape its root, or is otherwise unsafe. */
export class UnsafePathError extends CoreforgeError {
  constructor(message: string) {
    super('EPATH', message);
  }
}

export function isCoreforgeError(e: unknown): e is CoreforgeError {
  return e instanceof CoreforgeError;
}

/** Errno-style error from node's fs layer. */
export function isErrno(e: unknown, code?: string): e is NodeJS.ErrnoException {
  return typeof e === 'object' && e !== null && 'code' in e && (code === undefined || (e as NodeJS.ErrnoException).code === code);
}
