import { CoreforgeError } from '../errors.js';

/**
 * A problem in the user's config repository (treefile, .repo, lockfile,
 * image.yaml, overlay.d …). The message always starts with the file (and,
 * when known, line:column) and names the key.
 */
export class ConfigError extends CoreforgeError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('ECONFIG', message, opts);
  }
}
