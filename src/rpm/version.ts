/**
 * rpm version comparison: rpmvercmp (with `~` pre-release and `^` post-release
 * markers), EVR parsing/comparison and dependency-range overlap as libsolv
 * evaluates it when matching requires against provides.
 */

export interface EVR {
  /** Missing epoch is `undefined`; comparisons treat it as 0. */
  epoch?: number;
  version: string;
  /** Missing release (e.g. `Requires: foo >= 1.2`) is `undefined`. */
  release?: string;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const TILDE = 126;
const CARET = 94;

/** rpm's rpmvercmp: returns -1, 0 or 1. Follows rpmio/rpmvercmp.c segment by segment. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  const la = a.length;
  const lb = b.length;
  let i = 0;
  let j = 0;
  while (i < la || j < lb) {
    // Skip separators: anything that is not alphanumeric, `~` or `^`.
    while (i < la) {
      const c = a.charCodeAt(i);
      if (isDigit(c) || isAlpha(c) || c === TILDE || c === CARET) break;
      i++;
    }
    while (j < lb) {
      const c = b.charCodeAt(j);
      if (isDigit(c) || isAlpha(c) || c === TILDE || c === CARET) break;
      j++;
    }
    const ca = i < la ? a.charCodeAt(i) : 0;
    const cb = j < lb ? b.charCodeAt(j) : 0;
    // `~` sorts before everything, even the end of the string.
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    // `^` sorts after the end of the string but before any other segment.
    if (ca === CARET || cb === CARET) {
      if (i >= la) return -1;
      if (j >= lb) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < la && j < lb)) break;
    const si = i;
    const sj = j;
    const isnum = isDigit(ca);
    if (isnum) {
      while (i < la && isDigit(a.charCodeAt(i))) i++;
      while (j < lb && isDigit(b.charCodeAt(j))) j++;
    } else {
      while (i < la && isAlpha(a.charCodeAt(i))) i++;
      while (j < lb && isAlpha(b.charCodeAt(j))) j++;
    }
    // Segments of different type: numeric is newer than alpha.
    if (j === sj) return isnum ? 1 : -1;
    let sa = a.slice(si, i);
    let sb = b.slice(sj, j);
    if (isnum) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
  }
  if (i >= la && j >= lb) return 0;
  return i < la ? 1 : -1;
}

/** Parse `[epoch:]version[-release]`. An empty epoch (`:1.0`) counts as missing. */
export function parseEVR(s: string): EVR {
  let epoch: number | undefined;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0 && /^\d*$/.test(s.slice(0, colon))) {
    const e = s.slice(0, colon);
    if (e !== '') epoch = Number(e);
    rest = s.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  if (dash >= 0) return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
  return { epoch, version: rest };
}

export function formatEVR(e: EVR, withZeroEpoch = false): string {
  let s = '';
  if (e.epoch !== undefined && (e.epoch !== 0 || withZeroEpoch)) s += `${e.epoch}:`;
  s += e.version;
  if (e.release !== undefined && e.release !== '') s += `-${e.release}`;
  return s;
}

/** Full comparison (package vs package): missing epoch = 0, missing release sorts lowest. */
export function compareEVR(a: EVR, b: EVR): number {
  const ea = a.epoch ?? 0;
  const eb = b.epoch ?? 0;
  if (ea !== eb) return ea < eb ? -1 : 1;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return v;
  return rpmvercmp(a.release ?? '', b.release ?? '');
}

/**
 * Comparison used for dependency matching (libsolv EVRCMP_MATCH_RELEASE):
 * when either side has no release, releases are not compared.
 */
export function compareEVRMatch(a: EVR, b: EVR): number {
  const ea = a.epoch ?? 0;
  const eb = b.epoch ?? 0;
  if (ea !== eb) return ea < eb ? -1 : 1;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return v;
  if (a.release === undefined || b.release === undefined || a.release === '' || b.release === '') return 0;
  return rpmvercmp(a.release, b.release);
}

/** Relation flags as libsolv spells them: GT=1, EQ=2, LT=4. */
export const REL_GT = 1;
export const REL_EQ = 2;
export const REL_LT = 4;

export function parseFlags(op: string): number {
  switch (op) {
    case '=':
    case '==':
    case 'EQ':
      return REL_EQ;
    case '<':
    case 'LT':
      return REL_LT;
    case '<=':
    case 'LE':
      return REL_LT | REL_EQ;
    case '>':
    case 'GT':
      return REL_GT;
    case '>=':
    case 'GE':
      return REL_GT | REL_EQ;
    default:
      return 0;
  }
}

export function flagsToOp(f: number): string {
  switch (f) {
    case REL_EQ:
      return '=';
    case REL_LT:
      return '<';
    case REL_LT | REL_EQ:
      return '<=';
    case REL_GT:
      return '>';
    case REL_GT | REL_EQ:
      return '>=';
    default:
      return '';
  }
}

/**
 * Do the ranges `(flagsA evrA)` and `(flagsB evrB)` intersect? A range with
 * flags 0 is unversioned and matches everything (rpm/libsolv semantics for an
 * unversioned provide).
 */
export function rangesOverlap(flagsA: number, evrA: EVR | undefined, flagsB: number, evrB: EVR | undefined): boolean {
  if (flagsA === 0 || flagsB === 0 || !evrA || !evrB) return true;
  if (flagsA & flagsB & (REL_GT | REL_LT)) return true;
  const c = compareEVRMatch(evrA, evrB);
  if (c === 0) return (flagsA & flagsB & REL_EQ) !== 0;
  if (c < 0) return (flagsA & REL_GT) !== 0 || (flagsB & REL_LT) !== 0;
  return (flagsA & REL_LT) !== 0 || (flagsB & REL_GT) !== 0;
}
