import { InvalidInputError } from '../../errors.js';

/** ostree's ref grammar (OSTREE_REF_REGEXP): components of [\w\d][-._\w\d]* joined by '/'. */
const REF_RE = /^[\w\d][-._\w\d]*(\/[\w\d][-._\w\d]*)*$/u;
const REMOTE_RE = /^[\w\d][-._\w\d]*$/u;

const FRAGMENT_RE = /^[\w\d][-._\w\d]*$/u;

export function isValidRefFragment(s: string): boolean {
  return FRAGMENT_RE.test(s);
}

export function isValidRemoteName(s: string): boolean {
  return REMOTE_RE.test(s);
}

export function isValidRef(ref: string): boolean {
  return REF_RE.test(ref);
}

export function validateRef(ref: string): string {
  if (!REF_RE.test(ref)) throw new InvalidInputError(`Invalid ref name ${ref}`);
  return ref;
}

export function validateRemoteName(name: string): string {
  if (!REMOTE_RE.test(name)) throw new InvalidInputError(`Invalid remote name ${name}`);
  return name;
}

/** A refspec `[REMOTE:]REF`. */
export interface Refspec {
  remote: string | null;
  ref: string;
}

/** ostree_parse_refspec: `^(REMOTE:)?REF$`. */
export function parseRefspec(spec: string): Refspec {
  const colon = spec.indexOf(':');
  const remote = colon < 0 ? null : spec.slice(0, colon);
  const ref = colon < 0 ? spec : spec.slice(colon + 1);
  if ((remote !== null && !REMOTE_RE.test(remote)) || !REF_RE.test(ref)) throw new InvalidInputError(`Invalid refspec ${spec}`);
  return { remote, ref };
}

export function formatRefspec(r: Refspec): string {
  return r.remote ? `${r.remote}:${r.ref}` : r.ref;
}
