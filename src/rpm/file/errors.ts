import { CoreforgeError, CorruptionError, UnsafePathError } from '../../errors.js';

/**
 * Errors raised while reading an RPM. Each names the package (file name or
 * NEVRA once known) so that a caller deep in a fetch/compose pipeline can
 * print a one-line message without extra context.
 */

/** Structural damage in lead, headers or payload. */
export class RpmFormatError extends CorruptionError {
  readonly pkg: string;
  constructor(pkg: string, message: string, opts: { cause?: unknown } = {}) {
    super(`${pkg}: ${message}`, opts);
    this.pkg = pkg;
  }
}

/** A digest in the signature header or main header did not match. */
export class RpmDigestError extends CorruptionError {
  readonly pkg: string;
  constructor(pkg: string, message: string) {
    super(`${pkg}: ${message}`);
    this.pkg = pkg;
  }
}

/** A payload entry that would escape the target root or is not declared by the header. */
export class RpmUnsafePathError extends UnsafePathError {
  readonly pkg: string;
  readonly path: string;
  constructor(pkg: string, path: string, message: string) {
    super(`${pkg}: ${JSON.stringify(path)}: ${message}`);
    this.pkg = pkg;
    this.path = path;
  }
}

/** A bad, missing or untrusted OpenPGP signature. */
export class RpmSignatureError extends CoreforgeError {
  readonly pkg: string;
  constructor(pkg: string, message: string) {
    super('ESIGNATURE', `${pkg}: signature ${message}`);
    this.pkg = pkg;
  }
}
