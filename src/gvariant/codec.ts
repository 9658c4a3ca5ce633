import { GVariantError, NotNormalFormError } from './errors.js';
import { alignUp, MAX_DEPTH, parseType, type GVType } from './type.js';
import { Variant, type GValue } from './value.js';

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------------------
// Serialization (always normal form, little-endian)
// ---------------------------------------------------------------------------

class Writer {
  buf = new Uint8Array(256);
  dv = new DataView(this.buf.buffer);
  pos = 0;
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }
  pad(align: number): void {
    const target = alignUp(this.pos, align);
    this.ensure(target - this.pos);
    // fresh buffers are zeroed and we never write past pos then rewind, so padding is already 0
    this.buf.fill(0, this.pos, target);
    this.pos = target;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  byte(n: number): void {
    this.ensure(1);
    this.buf[this.pos++] = n;
  }
  /** Append framing offsets (relative to `start`) for a container whose body ends at this.pos. */
  offsets(start: number, ends: readonly number[], reverse: boolean): void {
    if (ends.length === 0) return;
    const body = this.pos - start;
    const osz = offsetSizeForWrite(body, ends.length);
    this.ensure(osz * ends.length);
    const n = ends.length;
    for (let i = 0; i < n; i++) {
      const v = ends[reverse ? n - 1 - i : i]!;
      writeUintLE(this.buf, this.pos, v, osz);
      this.pos += osz;
    }
  }
}

function offsetSizeForWrite(body: number, n: number): number {
  if (body + n <= 0xff) return 1;
  if (body + 2 * n <= 0xffff) return 2;
  if (body + 4 * n <= 0xffffffff) return 4;
  return 8;
}

function offsetSizeForRead(size: number): number {
  if (size === 0) return 0;
  if (size <= 0xff) return 1;
  if (size <= 0xffff) return 2;
  if (size <= 0xffffffff) return 4;
  return 8;
}

function writeUintLE(buf: Uint8Array, pos: number, v: number, size: number): void {
  for (let i = 0; i < size; i++) {
    buf[pos + i] = v % 256;
    v = Math.floor(v / 256);
  }
}

function readUintLE(buf: Uint8Array, pos: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + buf[pos + i]!;
  return v;
}

/** Serialize `value` as GVariant type `type` in normal form. */
export function serialize(type: string | GVType, value: GValue): Uint8Array {
  const t = typeof type === 'string' ? parseType(type) : type;
  const w = new Writer();
  write(w, t, value, 0);
  if (w.pos === 0 && t.fixedSize === null) return new Uint8Array(0);
  return w.buf.slice(0, w.pos);
}

function typeErr(t: GVType, v: unknown): GVariantError {
  const shown = typeof v === 'bigint' ? `${v}n` : Array.isArray(v) ? 'array' : v instanceof Uint8Array ? 'bytes' : typeof v;
  return new GVariantError(`value of kind ${shown} does not fit GVariant type '${t.str}'`);
}

function write(w: Writer, t: GVType, v: GValue, depth: number): void {
  if (depth > MAX_DEPTH) throw new GVariantError('value nested too deeply');
  switch (t.kind) {
    case 'basic':
      return writeBasic(w, t.code, v, t);
    case 'variant': {
      if (!(v instanceof Variant)) throw typeErr(t, v);
      w.pad(8);
      write(w, v.type, v.value, depth + 1);
      w.byte(0);
      w.bytes(utf8.encode(v.type.str));
      return;
    }
    case 'array': {
      if (t.elem.kind === 'basic' && t.elem.code === 'y') {
        if (!(v instanceof Uint8Array)) throw typeErr(t, v);
        w.bytes(v);
        return;
      }
      if (!Array.isArray(v)) throw typeErr(t, v);
      const arr = v as readonly GValue[];
      if (arr.length === 0) return;
      w.pad(t.align);
      const start = w.pos;
      if (t.elem.fixedSize !== null) {
        for (const e of arr) write(w, t.elem, e, depth + 1);
        return;
      }
      const ends: number[] = [];
      for (const e of arr) {
        w.pad(t.elem.align);
        write(w, t.elem, e, depth + 1);
        ends.push(w.pos - start);
      }
      w.offsets(start, ends, false);
      return;
    }
    case 'maybe': {
      if (!Array.isArray(v) || v.length > 1) throw typeErr(t, v);
      if (v.length === 0) return;
      w.pad(t.align);
      write(w, t.elem, (v as readonly GValue[])[0]!, depth + 1);
      if (t.elem.fixedSize === null) w.byte(0);
      return;
    }
    case 'tuple':
    case 'dict': {
      const items = t.kind === 'tuple' ? t.items : [t.key, t.value];
      if (!Array.isArray(v) || v.length !== items.length) throw typeErr(t, v);
      const vals = v as readonly GValue[];
      w.pad(t.align);
      const start = w.pos;
      if (items.length === 0) {
        w.byte(0);
        return;
      }
      const ends: number[] = [];
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        w.pad(it.align);
        write(w, it, vals[i]!, depth + 1);
        if (it.fixedSize === null && i !== items.length - 1) ends.push(w.pos - start);
      }
      if (t.fixedSize !== null) {
        w.pad(t.align);
        return;
      }
      w.offsets(start, ends, true);
      return;
    }
  }
}

function writeBasic(w: Writer, code: string, v: GValue, t: GVType): void {
  switch (code) {
    case 'b':
      if (typeof v !== 'boolean') throw typeErr(t, v);
      w.byte(v ? 1 : 0);
      return;
    case 'y':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xff) throw typeErr(t, v);
      w.byte(v);
      return;
    case 'n':
    case 'q': {
      const signed = code === 'n';
      if (typeof v !== 'number' || !Number.isInteger(v) || (signed ? v < -0x8000 || v > 0x7fff : v < 0 || v > 0xffff)) throw typeErr(t, v);
      w.pad(2);
      w.ensure(2);
      if (signed) w.dv.setInt16(w.pos, v, true);
      else w.dv.setUint16(w.pos, v, true);
      w.pos += 2;
      return;
    }
    case 'i':
    case 'h':
    case 'u': {
      const signed = code !== 'u';
      if (typeof v !== 'number' || !Number.isInteger(v) || (signed ? v < -0x80000000 || v > 0x7fffffff : v < 0 || v > 0xffffffff)) throw typeErr(t, v);
      w.pad(4);
      w.ensure(4);
      if (signed) w.dv.setInt32(w.pos, v, true);
      else w.dv.setUint32(w.pos, v, true);
      w.pos += 4;
      return;
    }
    case 'x':
    case 't': {
      if (typeof v !== 'bigint') throw typeErr(t, v);
      w.pad(8);
      w.ensure(8);
      if (code === 'x') {
        if (v < -(1n << 63n) || v >= 1n << 63n) throw typeErr(t, v);
        w.dv.setBigInt64(w.pos, v, true);
      } else {
        if (v < 0n || v >= 1n << 64n) throw typeErr(t, v);
        w.dv.setBigUint64(w.pos, v, true);
      }
      w.pos += 8;
      return;
    }
    case 'd':
      if (typeof v !== 'number') throw typeErr(t, v);
      w.pad(8);
      w.ensure(8);
      w.dv.setFloat64(w.pos, v, true);
      w.pos += 8;
      return;
    case 's':
    case 'o':
    case 'g': {
      if (typeof v !== 'string') throw typeErr(t, v);
      if (v.includes('\0')) throw new GVariantError(`string for type '${code}' contains a NUL character`);
      if (code === 'o' && !isObjectPath(v)) throw new GVariantError(`'${v}' is not a valid object path`);
      if (code === 'g' && !isSignature(v)) throw new GVariantError(`'${v}' is not a valid signature`);
      w.bytes(utf8.encode(v));
      w.byte(0);
      return;
    }
  }
}

function isObjectPath(s: string): boolean {
  return /^\/$|^(\/[A-Za-z0-9_]+)+$/.test(s);
}

/**
 * A 'g' value: a sequence of complete types. Scanned in one linear pass (a
 * parseType per prefix was quadratic and threw per character, so a crafted
 * long signature inside untrusted metadata could stall a parse for minutes).
 */
function isSignature(s: string): boolean {
  let p = 0;
  while (p < s.length) {
    const q = scanType(s, p, 0);
    // each type is also held to parseType's 255-character limit
    if (q < 0 || q - p > 255) return false;
    p = q;
  }
  return true;
}

const BASIC_CODES = 'bynqiuxthdsog';

/** End of the complete type that starts at `pos`, or -1 (g_variant_type_string_scan). */
function scanType(s: string, pos: number, depth: number): number {
  if (depth > MAX_DEPTH || pos >= s.length) return -1;
  const c = s[pos]!;
  if (BASIC_CODES.includes(c) || c === 'v') return pos + 1;
  if (c === 'a' || c === 'm') return scanType(s, pos + 1, depth + 1);
  if (c === '(') {
    let p = pos + 1;
    while (p < s.length && s[p] !== ')') {
      p = scanType(s, p, depth + 1);
      if (p < 0) return -1;
    }
    return p < s.length ? p + 1 : -1;
  }
  if (c === '{') {
    if (pos + 1 >= s.length || !BASIC_CODES.includes(s[pos + 1]!)) return -1;
    const v = scanType(s, pos + 2, depth + 1);
    return v >= 0 && s[v] === '}' ? v + 1 : -1;
  }
  return -1;
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

export interface ParseOptions {
  /** Reject input that is not in normal form (default true, as ostree pull does). */
  normal?: boolean;
  /** Name of the thing being parsed, for error messages. */
  what?: string;
}

/**
 * Parse serialized GVariant data. Malformed framing always throws
 * GVariantError; with `normal` (the default) data that parses but is not in
 * normal form throws NotNormalFormError.
 */
export function deserialize(type: string | GVType, data: Uint8Array, opts: ParseOptions = {}): GValue {
  const t = typeof type === 'string' ? parseType(type) : type;
  const r = new Reader(data, opts.what ?? `GVariant '${t.str}'`);
  const v = r.read(t, 0, data.length, 0);
  if (opts.normal !== false) {
    const again = serialize(t, v);
    if (!bytesEqual(again, data)) throw new NotNormalFormError(`${r.what} is not in normal form`);
  }
  return v;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

class Reader {
  readonly dv: DataView;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(msg: string, at?: number): never {
    throw new GVariantError(`${this.what}: ${msg}${at === undefined ? '' : ` (at byte ${at})`}`);
  }

  read(t: GVType, start: number, end: number, depth: number): GValue {
    if (depth > MAX_DEPTH) this.fail('nested too deeply');
    const size = end - start;
    if (t.fixedSize !== null && size !== t.fixedSize) this.fail(`value of type '${t.str}' has size ${size}, expected ${t.fixedSize}`, start);
    switch (t.kind) {
      case 'basic':
        return this.readBasic(t.code, start, end);
      case 'variant':
        return this.readVariant(start, end, depth);
      case 'array':
        return this.readArray(t, t.elem, start, end, depth);
      case 'maybe': {
        if (size === 0) return [];
        if (t.elem.fixedSize !== null) return [this.read(t.elem, start, end, depth + 1)];
        if (this.buf[end - 1] !== 0) this.fail(`maybe value lacks its trailing zero byte`, end - 1);
        return [this.read(t.elem, start, end - 1, depth + 1)];
      }
      case 'tuple':
        return this.readStruct(t.items, t.fixedSize !== null, start, end, depth);
      case 'dict':
        return this.readStruct([t.key, t.value], t.fixedSize !== null, start, end, depth);
    }
  }

  readBasic(code: string, start: number, end: number): GValue {
    const dv = this.dv;
    switch (code) {
      case 'b': {
        const b = this.buf[start]!;
        if (b > 1) this.fail(`boolean byte is ${b}`, start);
        return b === 1;
      }
      case 'y':
        return this.buf[start]!;
      case 'n':
        return dv.getInt16(start, true);
      case 'q':
        return dv.getUint16(start, true);
      case 'i':
      case 'h':
        return dv.getInt32(start, true);
      case 'u':
        return dv.getUint32(start, true);
      case 'x':
        return dv.getBigInt64(start, true);
      case 't':
        return dv.getBigUint64(start, true);
      case 'd':
        return dv.getFloat64(start, true);
      default: {
        // s, o, g
        if (end <= start) this.fail(`empty string (missing NUL terminator)`, start);
        if (this.buf[end - 1] !== 0) this.fail(`string not NUL-terminated`, end - 1);
        const body = this.buf.subarray(start, end - 1);
        if (body.includes(0)) this.fail(`string contains an embedded NUL`, start);
        let s: string;
        try {
          s = utf8Strict.decode(body);
        } catch {
          this.fail(`string is not valid UTF-8`, start);
        }
        if (code === 'o' && !isObjectPath(s)) this.fail(`'${s}' is not a valid object path`, start);
        if (code === 'g' && !isSignature(s)) this.fail(`'${s}' is not a valid signature`, start);
        return s;
      }
    }
  }

  readVariant(start: number, end: number, depth: number): Variant {
    let sep = end - 1;
    while (sep >= start && this.buf[sep] !== 0) sep--;
    if (sep < start) this.fail('variant has no type separator', start);
    let typeStr: string;
    try {
      typeStr = utf8Strict.decode(this.buf.subarray(sep + 1, end));
    } catch {
      this.fail('variant type string is not valid UTF-8', sep + 1);
    }
    let t: GVType;
    try {
      t = parseType(typeStr);
    } catch {
      this.fail(`variant has invalid type string '${typeStr}'`, sep + 1);
    }
    return new Variant(t, this.read(t, start, sep, depth + 1));
  }

  readArray(t: GVType, elem: GVType, start: number, end: number, depth: number): GValue {
    const size = end - start;
    if (elem.kind === 'basic' && elem.code === 'y') return this.buf.slice(start, end);
    if (size === 0) return [];
    const out: GValue[] = [];
    if (elem.fixedSize !== null) {
      if (size % elem.fixedSize !== 0) this.fail(`array of '${elem.str}' has size ${size}, not a multiple of ${elem.fixedSize}`, start);
      for (let p = start; p < end; p += elem.fixedSize) out.push(this.read(elem, p, p + elem.fixedSize, depth + 1));
      return out;
    }
    const osz = offsetSizeForRead(size);
    if (size < osz) this.fail(`array '${t.str}' too small for its framing`, start);
    const lastOff = readUintLE(this.buf, end - osz, osz);
    if (lastOff > size - osz) this.fail(`array '${t.str}' framing offset ${lastOff} out of range`, end - osz);
    const tableBytes = size - lastOff;
    if (tableBytes % osz !== 0) this.fail(`array '${t.str}' has a ragged offset table`, start + lastOff);
    const n = tableBytes / osz;
    let prevEnd = 0;
    for (let i = 0; i < n; i++) {
      const eEnd = readUintLE(this.buf, start + lastOff + i * osz, osz);
      const eStart = alignUp(prevEnd, elem.align);
      if (eStart > eEnd || eEnd > lastOff) this.fail(`array '${t.str}' element ${i} has bad bounds ${eStart}..${eEnd}`, start + eStart);
      out.push(this.read(elem, start + eStart, start + eEnd, depth + 1));
      prevEnd = eEnd;
    }
    return out;
  }

  readStruct(items: readonly GVType[], fixed: boolean, start: number, end: number, depth: number): GValue {
    if (items.length === 0) {
      if (this.buf[start] !== 0) this.fail('unit value must be a zero byte', start);
      return [];
    }
    const size = end - start;
    const osz = fixed ? 0 : offsetSizeForRead(size);
    let frameEnd = size; // offsets are consumed from the end backwards
    let pos = 0;
    const out: GValue[] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      const cStart = alignUp(pos, it.align);
      let cEnd: number;
      if (it.fixedSize !== null) {
        cEnd = cStart + it.fixedSize;
      } else if (i === items.length - 1) {
        cEnd = frameEnd;
      } else {
        if (frameEnd < osz) this.fail('struct framing offsets run past its start', start);
        frameEnd -= osz;
        cEnd = readUintLE(this.buf, start + frameEnd, osz);
      }
      if (cStart > cEnd || cEnd > frameEnd) this.fail(`struct member ${i} has bad bounds ${cStart}..${cEnd}`, start + cStart);
      out.push(this.read(it, start + cStart, start + cEnd, depth + 1));
      pos = cEnd;
    }
    return out;
  }
}
