import { CoreforgeError } from '../errors.js';

/** Malformed serialized data or an invalid type string. */
export class GVariantError extends CoreforgeError {
  constructor(message: string) {
    super('EGVARIANT', message);
  }
}

/** Data that parses but is not in GVariant normal form (ostree refuses such metadata). */
export class NotNormalFormError extends CoreforgeError {
  constructor(message: string) {
    super('ENOTNORMAL', message);
  }
}
