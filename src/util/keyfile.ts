import { InvalidInputError } from '../errors.js';

/**
 * GLib GKeyFile, the format of ostree's repo `config`, remotes.d files and
 * deployment `.origin` files. Order and comments are preserved on rewrite.
 */
type Line = { kind: 'comment'; text: string } | { kind: 'entry'; key: string; value: string };

interface Group {
  name: string;
  lines: Line[];
}

export class KeyFile {
  private readonly head: Line[] = [];
  private readonly groups: Group[] = [];

  static parse(text: string, what = 'key file'): KeyFile {
    const kf = new KeyFile();
    let cur: Group | null = null;
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    lines.forEach((raw, i) => {
      const line = raw.replace(/\r$/, '');
      const trimmed = line.trimStart();
      if (trimmed === '' || trimmed.startsWith('#')) {
        (cur ? cur.lines : kf.head).push({ kind: 'comment', text: line });
        return;
      }
      if (trimmed.startsWith('[')) {
        const m = /^\[([^\][]+)\]\s*$/.exec(trimmed);
        if (!m) throw new InvalidInputError(`${what}:${i + 1}: invalid group header '${line}'`);
        const existing = kf.groups.find((g) => g.name === m[1]);
        cur = existing ?? { name: m[1]!, lines: [] };
        if (!existing) kf.groups.push(cur);
        return;
      }
      const eq = line.indexOf('=');
      if (eq <= 0) throw new InvalidInputError(`${what}:${i + 1}: expected 'key=value', got '${line}'`);
      if (!cur) throw new InvalidInputError(`${what}:${i + 1}: key '${line.slice(0, eq).trim()}' outside of any group`);
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).replace(/^\s+/, '');
      const g: Group = cur;
      const old = g.lines.find((l): l is Line & { kind: 'entry' } => l.kind === 'entry' && l.key === key);
      if (old) old.value = value;
      else g.lines.push({ kind: 'entry', key, value });
    });
    return kf;
  }

  toString(): string {
    const out: string[] = [];
    for (const l of this.head) out.push(l.kind === 'comment' ? l.text : `${l.key}=${l.value}`);
    for (const g of this.groups) {
      out.push(`[${g.name}]`);
      for (const l of g.lines) out.push(l.kind === 'comment' ? l.text : `${l.key}=${l.value}`);
      out.push('');
    }
    // GLib writes one blank line between groups and ends with a newline
    while (out.length > 0 && out[out.length - 1] === '') out.pop();
    return out.join('\n') + '\n';
  }

  groupNames(): string[] {
    return this.groups.map((g) => g.name);
  }

  hasGroup(name: string): boolean {
    return this.groups.some((g) => g.name === name);
  }

  keys(group: string): string[] {
    const g = this.groups.find((x) => x.name === group);
    return g ? g.lines.filter((l): l is Line & { kind: 'entry' } => l.kind === 'entry').map((l) => l.key) : [];
  }

  /** The raw (escaped) value. */
  getRaw(group: string, key: string): string | undefined {
    const g = this.groups.find((x) => x.name === group);
    const l = g?.lines.find((x): x is Line & { kind: 'entry' } => x.kind === 'entry' && x.key === key);
    return l?.value;
  }

  getString(group: string, key: string): string | undefined {
    const raw = this.getRaw(group, key);
    return raw === undefined ? undefined : unescape(raw);
  }

  getBoolean(group: string, key: string, what = 'key file'): boolean | undefined {
    const raw = this.getRaw(group, key);
    if (raw === undefined) return undefined;
    const v = raw.trim();
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new InvalidInputError(`${what}: [${group}] ${key}: '${raw}' is not a boolean`);
  }

  getInteger(group: string, key: string, what = 'key file'): number | undefined {
    const raw = this.getRaw(group, key);
    if (raw === undefined) return undefined;
    if (!/^\s*-?\d+\s*$/.test(raw)) throw new InvalidInputError(`${what}: [${group}] ${key}: '${raw}' is not an integer`);
    return parseInt(raw, 10);
  }

  /** A `;`-separated list (a trailing separator is allowed, as GLib writes). */
  getList(group: string, key: string): string[] | undefined {
    const raw = this.getRaw(group, key);
    if (raw === undefined) return undefined;
    const items: string[] = [];
    let cur = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i]!;
      if (c === '\\' && raw[i + 1] === ';') {
        cur += ';';
        i++;
      } else if (c === ';') {
        items.push(unescape(cur));
        cur = '';
      } else cur += c;
    }
    if (cur !== '') items.push(unescape(cur));
    return items;
  }

  setRaw(group: string, key: string, value: string): void {
    let g = this.groups.find((x) => x.name === group);
    if (!g) {
      g = { name: group, lines: [] };
      this.groups.push(g);
    }
    const l = g.lines.find((x): x is Line & { kind: 'entry' } => x.kind === 'entry' && x.key === key);
    if (l) l.value = value;
    else g.lines.push({ kind: 'entry', key, value });
  }

  setString(group: string, key: string, value: string): void {
    this.setRaw(group, key, escape(value));
  }

  setBoolean(group: string, key: string, value: boolean): void {
    this.setRaw(group, key, value ? 'true' : 'false');
  }

  setList(group: string, key: string, values: readonly string[]): void {
    this.setRaw(group, key, values.map((v) => escape(v).replace(/;/g, '\\;') + ';').join(''));
  }

  removeKey(group: string, key: string): void {
    const g = this.groups.find((x) => x.name === group);
    if (g) g.lines = g.lines.filter((l) => !(l.kind === 'entry' && l.key === key));
  }

  removeGroup(group: string): boolean {
    const i = this.groups.findIndex((x) => x.name === group);
    if (i < 0) return false;
    this.groups.splice(i, 1);
    return true;
  }
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => ({ s: ' ', n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? `\\${c}`);
}

function escape(s: string): string {
  let out = s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r');
  if (out.startsWith(' ')) out = '\\s' + out.slice(1);
  return out;
}
