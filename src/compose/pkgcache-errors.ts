import { CoreforgeError } from '../errors.js';

/** A package whose import failed for a reason other than a damaged RPM (those raise the rpm errors, which name it). */
export class PackageImportError extends CoreforgeError {
  constructor(
    readonly pkg: string,
    message: string,
    opts: { cause?: unknown; code?: string } = {},
  ) {
    super(opts.code ?? 'EIO', `${pkg}: ${message}`, opts.cause === undefined ? {} : { cause: opts.cause });
  }
}
