import type { GVType } from './type.js';
import { Variant, type GValue } from './value.js';

/**
 * GVariant text format as g_variant_print(value, TRUE) writes it; ostree uses
 * this for `show --print-metadata-key` and similar output that scripts parse.
 */
export function formatValue(type: GVType, v: GValue, annotate = true): string {
  switch (type.kind) {
    case 'basic':
      return formatBasic(type.code, v, annotate);
    case 'variant':
      return `<${formatValue((v as Variant).type, (v as Variant).value, true)}>`;
    case 'maybe': {
      const arr = v as readonly GValue[];
      const prefix = annotate ? `@${type.str} ` : '';
      if (arr.length === 0) return `${prefix}nothing`;
      const inner = formatValue(type.elem, arr[0]!, false);
      return type.elem.kind === 'maybe' ? `${prefix}just ${inner}` : `${prefix}${inner}`;
    }
    case 'array': {
      if (type.elem.kind === 'basic' && type.elem.code === 'y') {
        const b = v as Uint8Array;
        if (b.length > 0 && b[b.length - 1] === 0 && isPrintableBytestring(b.subarray(0, b.length - 1))) {
          return `b${quote(Buffer.from(b.subarray(0, b.length - 1)).toString('latin1'))}`;
        }
        if (b.length === 0) return annotate ? '@ay []' : '[]';
        const parts = Array.from(b, (x, i) => (i === 0 && annotate ? `byte 0x${hex2(x)}` : `0x${hex2(x)}`));
        return `[${parts.join(', ')}]`;
      }
      const arr = v as readonly GValue[];
      // GLib prints an empty dictionary as {} and an empty array as [], annotated when asked
      if (arr.length === 0) return `${annotate ? `@${type.str} ` : ''}${type.elem.kind === 'dict' ? '{}' : '[]'}`;
      if (type.elem.kind === 'dict') {
        const d = type.elem;
        const parts = arr.map((e, i) => {
          const [k, val] = e as readonly GValue[];
          return `${formatValue(d.key, k!, annotate && i === 0)}: ${formatValue(d.value, val!, annotate && i === 0)}`;
        });
        return `{${parts.join(', ')}}`;
      }
      return `[${arr.map((e, i) => formatValue(type.elem, e, annotate && i === 0)).join(', ')}]`;
    }
    case 'tuple': {
      const arr = v as readonly GValue[];
      const parts = type.items.map((it, i) => formatValue(it, arr[i]!, annotate));
      return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(', ')})`;
    }
    case 'dict': {
      const [k, val] = v as readonly GValue[];
      return `{${formatValue(type.key, k!, annotate)}, ${formatValue(type.value, val!, annotate)}}`;
    }
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function isPrintableBytestring(b: Uint8Array): boolean {
  for (const c of b) if (c === 0 || c >= 0x80 || (c < 0x20 && c !== 0x09 && c !== 0x0a)) return false;
  return true;
}

function formatBasic(code: string, v: GValue, annotate: boolean): string {
  const a = (prefix: string, s: string) => (annotate ? `${prefix} ${s}` : s);
  switch (code) {
    case 'b':
      return v ? 'true' : 'false';
    case 'y':
      return a('byte', `0x${hex2(v as number)}`);
    case 'n':
      return a('int16', String(v));
    case 'q':
      return a('uint16', String(v));
    case 'i':
      return String(v);
    case 'u':
      return a('uint32', String(v));
    case 'x':
      return a('int64', String(v));
    case 't':
      return a('uint64', String(v));
    case 'h':
      return a('handle', String(v));
    case 'd': {
      let s = Number(v).toPrecision(17).replace(/\.?0+$/, '').replace(/\.?0+e/, 'e');
      if (!/[.e]|inf|nan/i.test(s)) s += '.0';
      return s;
    }
    case 's':
      return quote(v as string);
    case 'o':
      return a('objectpath', quote(v as string));
    case 'g':
      return a('signature', quote(v as string));
  }
  return String(v);
}

/** Quote as GLib does: single quotes unless the string contains one and no double quote. */
function quote(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === q || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\x07') out += '\\a';
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + q;
}
