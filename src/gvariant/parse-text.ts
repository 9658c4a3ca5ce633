import { GVariantError } from './errors.js';
import { parseType } from './type.js';
import { Variant, type GValue } from './value.js';

/**
 * A parser for the common subset of GVariant text format (g_variant_parse)
 * used on command lines: strings, booleans, numbers with optional type
 * keywords (uint32 5, int64 -1, byte 0x10, double 1.5), arrays, tuples,
 * dictionaries, variants <…>, b'bytestrings', and @TYPE annotations.
 * Returns a Variant carrying the inferred type.
 */
export function parseVariantText(text: string): Variant {
  const p = new TextParser(text);
  const v = p.value(null);
  p.ws();
  if (p.pos !== text.length) p.fail('trailing characters');
  return v;
}

const KEYWORD_TYPES: Record<string, string> = {
  boolean: 'b', byte: 'y', int16: 'n', uint16: 'q', int32: 'i', uint32: 'u', int64: 'x', uint64: 't', double: 'd', handle: 'h', string: 's', objectpath: 'o', signature: 'g',
};

class TextParser {
  pos = 0;
  constructor(readonly s: string) {}
  fail(msg: string): never {
    throw new GVariantError(`cannot parse GVariant text '${this.s}': ${msg} at ${this.pos}`);
  }
  ws(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
  }
  peek(): string {
    this.ws();
    return this.s[this.pos] ?? '';
  }
  eat(c: string): boolean {
    if (this.peek() === c) {
      this.pos++;
      return true;
    }
    return false;
  }
  expect(c: string): void {
    if (!this.eat(c)) this.fail(`expected '${c}'`);
  }
  word(): string {
    this.ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.pos));
    return m ? m[0] : '';
  }

  /** Parse a value; `want` is the expected type string if known. */
  value(want: string | null): Variant {
    const c = this.peek();
    if (c === '@') {
      this.pos++;
      const start = this.pos;
      while (this.pos < this.s.length && !/\s/.test(this.s[this.pos]!)) this.pos++;
      const t = this.s.slice(start, this.pos);
      parseType(t);
      return this.value(t);
    }
    const w = this.word();
    if (w && KEYWORD_TYPES[w]) {
      this.pos += w.length;
      return this.value(KEYWORD_TYPES[w]!);
    }
    if (w === 'true' || w === 'false') {
      this.pos += w.length;
      return new Variant('b', w === 'true');
    }
    if (w === 'nothing') {
      this.pos += w.length;
      if (!want) this.fail('cannot infer type of nothing');
      return new Variant(want, []);
    }
    if (c === "'" || c === '"') {
      const str = this.str();
      return new Variant(want === 'o' || want === 'g' ? want : 's', str);
    }
    if (c === 'b' && (this.s[this.pos + 1] === "'" || this.s[this.pos + 1] === '"')) {
      this.pos++;
      return new Variant('ay', new Uint8Array(Buffer.from(this.str() + '\0', 'latin1')));
    }
    if (c === '<') {
      this.pos++;
      const inner = this.value(null);
      this.expect('>');
      return new Variant('v', inner);
    }
    if (c === '[') return this.array(want);
    if (c === '(') {
      this.pos++;
      const items: Variant[] = [];
      const itemTypes = want ? typeItems(want) : null;
      while (!this.eat(')')) {
        items.push(this.value(itemTypes ? itemTypes[items.length] ?? null : null));
        if (!this.eat(',')) {
          this.expect(')');
          break;
        }
      }
      return new Variant(`(${items.map((i) => i.type.str).join('')})`, items.map((i) => i.value));
    }
    if (c === '{') return this.dict(want);
    const num = /^[-+]?(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][-+]?\d+)?)/.exec(this.s.slice(this.pos));
    if (num) {
      this.pos += num[0].length;
      const isFloat = /[.eE]/.test(num[0]) && !num[0].startsWith('0x');
      const t = want ?? (isFloat ? 'd' : 'i');
      if (t === 'x' || t === 't') return new Variant(t, BigInt(num[0]));
      if (t === 'd') return new Variant('d', Number(num[0]));
      return new Variant(t, Number(num[0]));
    }
    this.fail('unexpected input');
  }

  str(): string {
    const q = this.s[this.pos++]!;
    let out = '';
    while (this.pos < this.s.length && this.s[this.pos] !== q) {
      let ch = this.s[this.pos++]!;
      if (ch === '\\') {
        const e = this.s[this.pos++]!;
        ch = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v' }[e] ?? e;
      }
      out += ch;
    }
    if (this.s[this.pos] !== q) this.fail('unterminated string');
    this.pos++;
    return out;
  }

  array(want: string | null): Variant {
    this.expect('[');
    const elemWant = want && want.startsWith('a') ? want.slice(1) : null;
    const items: Variant[] = [];
    while (!this.eat(']')) {
      items.push(this.value(items.length > 0 ? items[0]!.type.str : elemWant));
      if (!this.eat(',')) {
        this.expect(']');
        break;
      }
    }
    const t = items.length > 0 ? `a${items[0]!.type.str}` : want;
    if (!t) this.fail('cannot infer type of empty array');
    for (const i of items) if (i.type.str !== items[0]!.type.str) this.fail('array elements of differing types');
    if (t === 'ay') return new Variant('ay', new Uint8Array(items.map((i) => i.value as number)));
    return new Variant(t, items.map((i) => i.value));
  }

  dict(want: string | null): Variant {
    this.expect('{');
    const kw = want && want.startsWith('a{') ? want.slice(2, 3) : null;
    const vw = want && want.startsWith('a{') ? want.slice(3, -1) : null;
    const entries: Array<[Variant, Variant]> = [];
    while (!this.eat('}')) {
      const k = this.value(kw);
      this.expect(':');
      const v = this.value(vw);
      entries.push([k, v]);
      if (!this.eat(',')) {
        this.expect('}');
        break;
      }
    }
    if (entries.length === 0) {
      if (!want) this.fail('cannot infer type of empty dictionary');
      return new Variant(want, []);
    }
    const t = `a{${entries[0]![0].type.str}${entries[0]![1].type.str}}`;
    return new Variant(t, entries.map(([k, v]) => [k.value, v.value] as GValue));
  }
}

function typeItems(t: string): string[] | null {
  const pt = parseType(t);
  return pt.kind === 'tuple' ? pt.items.map((i) => i.str) : null;
}
