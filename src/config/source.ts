import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { isErrno } from '../errors.js';
import { ConfigError } from './errors.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export type KeyPath = readonly (string | number)[];
export type SourceFormat = 'yaml' | 'json';

/** rpm-ostree's rule (utils.rs InputFormat): *.yaml/*.yml are YAML, everything else JSON. */
export function formatOf(file: string): SourceFormat {
  return /\.ya?ml$/i.test(file) ? 'yaml' : 'json';
}

/** `packages[3]`, `check-passwd.type` */
export function keyName(path: KeyPath): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return s;
}

/**
 * A parsed YAML or JSON file that remembers where each value came from, so
 * that every validation error can name file:line:column and the key.
 */
export class SourceDoc {
  /** Non-fatal findings (e.g. nested keys rpm-ostree silently ignores), `file:line:col: key: msg`. */
  readonly warnings: string[] = [];

  private constructor(
    readonly file: string,
    readonly format: SourceFormat,
    readonly value: unknown,
    private doc: Document | undefined,
    private lines: LineCounter | undefined,
    /** JSON: the text, parsed for positions only when an error needs one. */
    private readonly lazyText?: string,
  ) {}

  private located(): { doc: Document; lines: LineCounter } | undefined {
    if (!this.doc && this.lazyText !== undefined && !this.lines) {
      // JSON is YAML 1.2: a YAML parse of the same text knows each value's line and column.
      const lines = new LineCounter();
      const doc = parseDocument(this.lazyText, { lineCounter: lines, uniqueKeys: false });
      this.lines = lines;
      if (doc.errors.length === 0) this.doc = doc;
    }
    return this.doc && this.lines ? { doc: this.doc, lines: this.lines } : undefined;
  }

  static read(file: string, what = 'file'): SourceDoc {
    let text: string;
    try {
      const bytes = readFileSync(file);
      try {
        // serde (rpm-ostree) refuses invalid UTF-8; a lenient decode would turn it into U+FFFD silently.
        text = UTF8.decode(bytes);
      } catch {
        const lenient = bytes.toString('utf8');
        const line = lenient.slice(0, lenient.indexOf('\uFFFD')).split('\n').length;
        throw new ConfigError(`${file}:${line}: ${what} is not valid UTF-8`);
      }
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      if (isErrno(e, 'ENOENT')) throw new ConfigError(`${file}: ${what} not found`);
      if (isErrno(e, 'EISDIR')) throw new ConfigError(`${file}: is a directory, expected a ${what}`);
      throw new ConfigError(`${file}: cannot read ${what}: ${(e as Error).message}`);
    }
    return SourceDoc.parse(file, text, formatOf(file));
  }

  static parse(file: string, text: string, format: SourceFormat): SourceDoc {
    if (format === 'json') {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        const m = /position (\d+)/.exec((e as Error).message);
        const lc = new LineCounter();
        // The YAML parser (JSON is YAML 1.2) usually trips at the same place and knows line/column.
        const y = parseDocument(text, { lineCounter: lc, prettyErrors: true });
        const pos = m ? lc.linePos(Number(m[1])) : y.errors[0]?.linePos?.[0];
        const where = pos ? `:${fmtPos(pos)}` : '';
        throw new ConfigError(`${file}${where}: invalid JSON: ${(e as Error).message.replace(/\s+/g, ' ')}`);
      }
      return new SourceDoc(file, format, value, undefined, undefined, text);
    }
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true, version: '1.2' });
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const msg = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw new ConfigError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: invalid YAML: ${msg}`);
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      throw new ConfigError(`${file}: invalid YAML: ${(e as Error).message}`);
    }
    return new SourceDoc(file, format, value ?? null, doc, lines);
  }

  /** `file:line:col` of the value at path (or of its key, which reads better for "unknown key"). */
  where(path: KeyPath, of: 'value' | 'key' = 'value'): string {
    const pos = this.position(path, of);
    return pos ? `${this.file}:${pos.line}:${pos.col}` : this.file;
  }

  position(path: KeyPath, of: 'value' | 'key' = 'value'): { line: number; col: number } | undefined {
    const loc = this.located();
    if (!loc) return undefined;
    const { doc, lines } = loc;
    try {
      if (of === 'key' && path.length > 0) {
        const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
        if (isMap(parent)) {
          const last = path[path.length - 1];
          const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
          const r = pair && isScalar(pair.key) ? pair.key.range : undefined;
          if (r) return lines.linePos(r[0]);
        }
      }
      const node = path.length === 0 ? doc.contents : doc.getIn(path, true);
      const r = (node as { range?: [number, number, number] } | undefined)?.range;
      if (r) return lines.linePos(r[0]);
      if (path.length > 0) return this.position(path.slice(0, -1), of);
    } catch {
      return undefined;
    }
    return undefined;
  }

  warn(path: KeyPath, msg: string, of: 'value' | 'key' = 'value'): void {
    const k = keyName(path);
    this.warnings.push(`${this.where(path, of)}: ${k ? `${k}: ` : ''}${msg}`);
  }

  /** Throw a ConfigError located at path: `file:line:col: key: msg`. */
  fail(path: KeyPath, msg: string, of: 'value' | 'key' = 'value'): never {
    const k = keyName(path);
    throw new ConfigError(`${this.where(path, of)}: ${k ? `${k}: ` : ''}${msg}`);
  }
}

function fmtPos(p: { line: number; col: number }): string {
  return `${p.line}:${p.col}`;
}

export function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number') return `a number (${v})`;
  if (typeof v === 'boolean') return `a boolean (${v})`;
  return `a string ("${String(v).slice(0, 40)}")`;
}
