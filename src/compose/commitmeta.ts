import { endianness } from 'node:os';
import { Variant, type GValue, type GVType, type VarDict } from '../gvariant/index.js';

/**
 * builds/$id/$arch/commitmeta.json exactly as cosa's `commitmeta_to_json` writes it: the
 * commit's a{sv} metadata, byte-swapped on a little-endian host (rpm-ostree and ostree store
 * numbers in commit metadata big-endian), through json-glib's `json_gvariant_serialize`
 * and its pretty generator (2-space indent, `"key" : value`, no trailing newline).
 */

/** A JSON tree that keeps json-glib's distinction between integers and doubles. */
export type JsonNode = null | boolean | string | { int: bigint } | { double: number } | JsonNode[] | { object: Array<[string, JsonNode]> };

function swap(bytes: number, write: (dv: DataView) => void, read: (dv: DataView) => number | bigint): number | bigint {
  const dv = new DataView(new ArrayBuffer(bytes));
  write(dv);
  new Uint8Array(dv.buffer).reverse();
  return read(dv);
}

/** g_variant_byteswap of one basic value. */
function byteswapBasic(code: string, v: GValue): GValue {
  switch (code) {
    case 'n': return swap(2, (d) => d.setInt16(0, v as number, true), (d) => d.getInt16(0, true));
    case 'q': return swap(2, (d) => d.setUint16(0, v as number, true), (d) => d.getUint16(0, true));
    case 'i': case 'h': return swap(4, (d) => d.setInt32(0, v as number, true), (d) => d.getInt32(0, true));
    case 'u': return swap(4, (d) => d.setUint32(0, v as number, true), (d) => d.getUint32(0, true));
    case 'x': return swap(8, (d) => d.setBigInt64(0, v as bigint, true), (d) => d.getBigInt64(0, true));
    case 't': return swap(8, (d) => d.setBigUint64(0, v as bigint, true), (d) => d.getBigUint64(0, true));
    case 'd': return swap(8, (d) => d.setFloat64(0, v as number, true), (d) => d.getFloat64(0, true));
    default: return v;
  }
}

/** json-glib's gvariant_simple_to_string, for dictionary keys. */
function keyString(t: GVType, v: GValue): string {
  if (t.kind !== 'basic') return '';
  switch (t.code) {
    case 'b': return v ? 'true' : 'false';
    case 'd': return (v as number).toFixed(6).replace(/^-0\.000000$/, '-0.000000');
    case 's': case 'o': case 'g': return v as string;
    default: return String(v);
  }
}

const INT64_MIN = -(1n << 63n);
const U64 = 1n << 64n;

/** json_gvariant_serialize of a value of type `t` (after the host byteswap when `swapped`). */
export function gvariantToJson(t: GVType, v: GValue, swapped: boolean): JsonNode {
  switch (t.kind) {
    case 'basic': {
      const val = swapped ? byteswapBasic(t.code, v) : v;
      switch (t.code) {
        case 'b': return val as boolean;
        case 'd': return { double: val as number };
        case 's': case 'o': case 'g': return val as string;
        case 't': {
          // json_node_set_int takes a gint64: uint64 above INT64_MAX wraps negative
          let n = BigInt(val as bigint);
          if (n >= -INT64_MIN) n -= U64;
          return { int: n };
        }
        default: return { int: BigInt(val as number | bigint) };
      }
    }
    case 'variant': {
      const inner = v as Variant;
      return gvariantToJson(inner.type, inner.value, swapped);
    }
    case 'maybe': {
      const m = v as readonly GValue[];
      return m.length === 0 ? null : gvariantToJson(t.elem, m[0]!, swapped);
    }
    case 'array': {
      const elem = t.elem;
      if (elem.kind === 'dict') {
        // json_object_set_member: a repeated key keeps its first position, takes the last value
        const members: Array<[string, JsonNode]> = [];
        const index = new Map<string, number>();
        for (const e of v as readonly (readonly [GValue, GValue])[]) {
          const key = keyString(elem.key, swapped && elem.key.kind === 'basic' ? byteswapBasic(elem.key.code, e[0]) : e[0]);
          const val = gvariantToJson(elem.value, e[1], swapped);
          const at = index.get(key);
          if (at === undefined) {
            index.set(key, members.length);
            members.push([key, val]);
          } else members[at] = [key, val];
        }
        return { object: members };
      }
      if (elem.kind === 'basic' && elem.code === 'y') return Array.from(v as Uint8Array, (b) => ({ int: BigInt(b) }));
      return (v as readonly GValue[]).map((x) => gvariantToJson(elem, x, swapped));
    }
    case 'tuple':
      return (v as readonly GValue[]).map((x, i) => gvariantToJson(t.items[i]!, x, swapped));
    case 'dict': {
      const e = v as readonly [GValue, GValue];
      const key = keyString(t.key, swapped && t.key.kind === 'basic' ? byteswapBasic(t.key.code, e[0]) : e[0]);
      return { object: [[key, gvariantToJson(t.value, e[1], swapped)]] };
    }
  }
}

/** json-glib's json_strescape: `"` `\` and 0x01..0x1e, 0x7f escaped; 0x1f and non-ASCII kept. */
function strescape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if ((c > 0 && c < 0x1f) || c === 0x7f) {
      out += { 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t' }[c] ?? `\\u00${c.toString(16).padStart(2, '0')}`;
    } else out += ch;
  }
  return out;
}

/** C's "%.17g" (g_ascii_dtostr). */
function dtostr(d: number): string {
  if (Number.isNaN(d)) return 'nan';
  if (!Number.isFinite(d)) return d > 0 ? 'inf' : '-inf';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const [mant, expStr] = d.toExponential(16).split('e') as [string, string];
  const exp = Number(expStr);
  if (exp < -4 || exp >= 17) {
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const fixed = d.toFixed(Math.max(0, 16 - exp));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

function dumpValue(n: { int: bigint } | { double: number }): string {
  if ('int' in n) return n.int.toString();
  const s = dtostr(n.double);
  // json-glib 1.6 "ensures doubles don't become ints" by appending ".0" whenever there is no
  // '.', even after an exponent (1e+100.0); newer json-glib skips exponents, cosa's image has 1.6
  return s.includes('.') ? s : s + '.0';
}

/** json-glib's pretty generator (indent 2, ' '). */
export function generateJson(node: JsonNode, pretty = true): string {
  const ind = (level: number) => (pretty ? ' '.repeat(level * 2) : '');
  const nl = pretty ? '\n' : '';
  const dump = (level: number, name: string | null, n: JsonNode): string => {
    let s = ind(level);
    if (name !== null) s += `"${strescape(name)}"${pretty ? ' : ' : ':'}`;
    if (n === null) return s + 'null';
    if (typeof n === 'boolean') return s + (n ? 'true' : 'false');
    if (typeof n === 'string') return s + `"${strescape(n)}"`;
    if (Array.isArray(n)) {
      if (n.length === 0) return s + '[]';
      s += '[' + nl;
      n.forEach((c, i) => {
        s += dump(level + 1, null, c) + (i + 1 < n.length ? ',' : '') + nl;
      });
      return s + ind(level) + ']';
    }
    if ('object' in n) {
      s += '{';
      n.object.forEach(([k, c], i) => {
        if (i === 0) s += nl;
        s += dump(level + 1, k, c) + (i + 1 < n.object.length ? ',' : '') + nl;
      });
      return s + ind(level) + '}';
    }
    return s + dumpValue(n);
  };
  return dump(0, null, node);
}

/** The commit metadata as cosa's commitmeta.json text. */
export function commitMetaToJson(metadata: VarDict, opts: { hostEndianness?: 'LE' | 'BE' } = {}): string {
  const swapped = (opts.hostEndianness ?? endianness()) === 'LE';
  const t = new Variant('a{sv}', []).type;
  return generateJson(gvariantToJson(t, metadata as unknown as GValue, swapped));
}

/** The same as plain JS values (ints beyond 2^53 lose precision, as in any JSON reader). */
export function commitMetaToObject(metadata: VarDict, opts: { hostEndianness?: 'LE' | 'BE' } = {}): Record<string, unknown> {
  return JSON.parse(commitMetaToJson(metadata, opts)) as Record<string, unknown>;
}
