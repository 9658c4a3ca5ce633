import { GVariantError } from './errors.js';

/**
 * A parsed GVariant type. `align` is the alignment in bytes; `fixedSize` is
 * the serialized size for fixed-size types and null for variable-size ones.
 */
export type GVType =
  | { readonly kind: 'basic'; readonly code: BasicCode; readonly str: string; readonly align: number; readonly fixedSize: number | null }
  | { readonly kind: 'variant'; readonly str: 'v'; readonly align: 8; readonly fixedSize: null }
  | { readonly kind: 'array'; readonly elem: GVType; readonly str: string; readonly align: number; readonly fixedSize: null }
  | { readonly kind: 'maybe'; readonly elem: GVType; readonly str: string; readonly align: number; readonly fixedSize: null }
  | { readonly kind: 'tuple'; readonly items: readonly GVType[]; readonly str: string; readonly align: number; readonly fixedSize: number | null }
  | { readonly kind: 'dict'; readonly key: GVType; readonly value: GVType; readonly str: string; readonly align: number; readonly fixedSize: number | null };

export type BasicCode = 'b' | 'y' | 'n' | 'q' | 'i' | 'u' | 'x' | 't' | 'h' | 'd' | 's' | 'o' | 'g';

const BASIC: Record<BasicCode, [align: number, size: number | null]> = {
  b: [1, 1], y: [1, 1], n: [2, 2], q: [2, 2], i: [4, 4], u: [4, 4], h: [4, 4],
  x: [8, 8], t: [8, 8], d: [8, 8], s: [1, null], o: [1, null], g: [1, null],
};

/** GLib refuses type strings nested deeper than this; so do we. */
export const MAX_DEPTH = 128;
const MAX_TYPE_STRING = 255;

const cache = new Map<string, GVType>();

export function alignUp(n: number, align: number): number {
  return (n + align - 1) & ~(align - 1);
}

/** Parse one complete type string, e.g. `(a{sv}aya(say)sstayay)`. */
export function parseType(str: string): GVType {
  const hit = cache.get(str);
  if (hit) return hit;
  if (str.length === 0 || str.length > MAX_TYPE_STRING) throw new GVariantError(`invalid type string '${str}'`);
  const [t, end] = parseAt(str, 0, 0);
  if (end !== str.length) throw new GVariantError(`invalid type string '${str}': trailing characters`);
  if (cache.size < 1024) cache.set(str, t);
  return t;
}

/** True if `str` is exactly one complete, definite type. */
export function isValidType(str: string): boolean {
  try {
    parseType(str);
    return true;
  } catch {
    return false;
  }
}

function parseAt(s: string, pos: number, depth: number): [GVType, number] {
  if (depth > MAX_DEPTH) throw new GVariantError(`type string too deeply nested`);
  const c = s[pos];
  if (c === undefined) throw new GVariantError(`invalid type string '${s}': unexpected end`);
  if (c in BASIC) {
    const [align, fixedSize] = BASIC[c as BasicCode];
    return [{ kind: 'basic', code: c as BasicCode, str: c, align, fixedSize }, pos + 1];
  }
  switch (c) {
    case 'v':
      return [{ kind: 'variant', str: 'v', align: 8, fixedSize: null }, pos + 1];
    case 'a': {
      const [elem, end] = parseAt(s, pos + 1, depth + 1);
      return [{ kind: 'array', elem, str: s.slice(pos, end), align: elem.align, fixedSize: null }, end];
    }
    case 'm': {
      const [elem, end] = parseAt(s, pos + 1, depth + 1);
      return [{ kind: 'maybe', elem, str: s.slice(pos, end), align: elem.align, fixedSize: null }, end];
    }
    case '(': {
      const items: GVType[] = [];
      let p = pos + 1;
      while (s[p] !== ')') {
        if (p >= s.length) throw new GVariantError(`invalid type string '${s}': unterminated tuple`);
        const [t, end] = parseAt(s, p, depth + 1);
        items.push(t);
        p = end;
      }
      const [align, fixedSize] = layoutFixed(items);
      return [{ kind: 'tuple', items, str: s.slice(pos, p + 1), align, fixedSize }, p + 1];
    }
    case '{': {
      const [key, kend] = parseAt(s, pos + 1, depth + 1);
      if (key.kind !== 'basic') throw new GVariantError(`invalid type string '${s}': dict key must be a basic type`);
      const [value, vend] = parseAt(s, kend, depth + 1);
      if (s[vend] !== '}') throw new GVariantError(`invalid type string '${s}': dict entry needs exactly two types`);
      const [align, fixedSize] = layoutFixed([key, value]);
      return [{ kind: 'dict', key, value, str: s.slice(pos, vend + 1), align, fixedSize }, vend + 1];
    }
    default:
      throw new GVariantError(`invalid type string '${s}': unknown type character '${c}'`);
  }
}

/** Alignment of a struct and its fixed size (null if any member is variable). */
function layoutFixed(items: readonly GVType[]): [number, number | null] {
  let align = 1;
  let size = 0;
  let fixed = true;
  for (const t of items) {
    align = Math.max(align, t.align);
    if (t.fixedSize === null) fixed = false;
    else size = alignUp(size, t.align) + t.fixedSize;
  }
  if (!fixed) return [align, null];
  if (items.length === 0) return [1, 1];
  return [align, alignUp(size, align)];
}
