import { CoreforgeError, InvalidInputError } from '../../errors.js';

/** Malformed OpenPGP data (armor, packets, keys, signatures). */
export class PgpFormatError extends InvalidInputError {
  constructor(message: string) {
    super(`OpenPGP: ${message}`);
  }
}

/** A signature that does not verify, or cannot be checked with the given keys. */
export class PgpVerifyError extends CoreforgeError {
  constructor(message: string) {
    super('ESIGNATURE', message);
  }
}
