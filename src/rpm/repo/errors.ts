import { CoreforgeError } from '../../errors.js';

/** A repository could not be reached or answered with an HTTP error. */
export class NetworkError extends CoreforgeError {
  readonly status: number | undefined;
  constructor(message: string, opts: { cause?: unknown; status?: number } = {}) {
    super('ENETWORK', message, { cause: opts.cause });
    this.status = opts.status;
  }
}

/** Repository metadata is malformed or fails verification. */
export class RepoError extends CoreforgeError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('EREPO', message, opts);
  }
}

/** A signature did not verify. */
export class SignatureError extends CoreforgeError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('ESIGNATURE', message, opts);
  }
}
