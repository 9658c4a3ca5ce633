import { native } from '../../native/index.js';
import { isErrno } from '../../errors.js';

/**
 * Extended attributes as ostree stores them, `a(ayay)`: each name is a
 * bytestring that includes its trailing NUL; entries sorted by name (strcmp)
 * and zero-length values dropped, as libglnx canonicalizes them.
 */
export type Xattrs = Array<[name: Uint8Array, value: Uint8Array]>;

export const NO_XATTRS: Xattrs = [];

/** The xattr a bare-user repo keeps ownership in; never part of committed content. */
export const OSTREEMETA_XATTR = 'user.ostreemeta';

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function canonicalizeXattrs(x: Xattrs): Xattrs {
  return x.filter(([, v]) => v.length > 0).sort((a, b) => compareBytes(a[0], b[0]));
}

export function xattrName(name: string): Uint8Array {
  return new Uint8Array(Buffer.from(name + '\0', 'latin1'));
}

export function xattrNameString(name: Uint8Array): string {
  const end = name.length > 0 && name[name.length - 1] === 0 ? name.length - 1 : name.length;
  return Buffer.from(name.subarray(0, end)).toString('latin1');
}

export function makeXattrs(entries: Record<string, string | Uint8Array>): Xattrs {
  return canonicalizeXattrs(
    Object.entries(entries).map(([k, v]) => [xattrName(k), typeof v === 'string' ? new Uint8Array(Buffer.from(v)) : v] as [Uint8Array, Uint8Array]),
  );
}

/** Read the xattrs of a path (not following symlinks) or an open fd. */
export function readXattrs(target: string | number): Xattrs {
  const n = native();
  let names: string[];
  try {
    names = n.listXattrs(target);
  } catch (e) {
    if (isErrno(e, 'ENOTSUP')) return [];
    throw e;
  }
  const out: Xattrs = [];
  for (const name of names) {
    if (name === OSTREEMETA_XATTR) continue;
    const v = n.getXattr(target, name);
    if (v && v.length > 0) out.push([xattrName(name), new Uint8Array(v)]);
  }
  return canonicalizeXattrs(out);
}

/** Apply xattrs to a path or fd; names must be settable by the caller (user.* when unprivileged). */
export function writeXattrs(target: string | number, x: Xattrs): void {
  const n = native();
  for (const [name, value] of x) n.setXattr(target, xattrNameString(name), Buffer.from(value));
}
