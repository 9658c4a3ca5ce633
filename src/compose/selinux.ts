/**
 * SELinux labels of the composed tree, as ostree's commit modifier computes them with the tree's own policy
 * (rpm-ostree: ostree_sepolicy_new_at(rootfs) + OSTREE_REPO_COMMIT_MODIFIER_FLAGS_ERROR_ON_UNLABELED).
 *
 * The policy is found as ostree_sepolicy does: /etc/selinux/config (or /usr/etc/selinux/config) with SELINUX=
 * enforcing|permissive names SELINUXTYPE; its contexts/files/file_contexts (+ .homedirs, .local) are read and paths
 * are looked up exactly as libselinux's file backend (label_file.c, selabel_lookup_raw) does:
 *  - each line is `regex [type] context`; type `--` `-d` `-l` `-c` `-b` `-p` `-s` restricts the file type;
 *  - specs are kept in file order (file_contexts, then .homedirs, then .local), then sort_specs moves the specs
 *    without regex metacharacters after all others (keeping their order); the LAST matching spec wins, so a
 *    literal path beats any regex and among equals the later line wins;
 *  - each regex is anchored as `^REGEX$` (PCRE2, DOTALL); a spec with a fixed first path component ("stem",
 *    e.g. /usr) is only tried on paths with the same stem;
 *  - the key has duplicate slashes and a trailing slash removed, then the first matching .subs alias (last line
 *    first) and then the .subs_dist alias are applied;
 *  - `<<none>>` means "no label" (ENOENT), and so does no match.
 * The result is identical to `matchpathcon -N -f FILE_CONTEXTS -m TYPE PATH` (tested against it).
 */
import { promises as fsp, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError, NotFoundError, isErrno } from '../errors.js';
import { makeXattrs } from '../ostree/objects/xattrs.js';
import type { FileMetaMap } from './types.js';

export const S_IFMT = 0o170000;
const MODES: Record<string, number> = { '-b': 0o060000, '-c': 0o020000, '-d': 0o040000, '-p': 0o010000, '-l': 0o120000, '-s': 0o140000, '--': 0o100000 };

interface Spec {
  regexStr: string;
  context: string;
  /** S_IF* of the type filter, 0 for any. */
  mode: number;
  /** The fixed first path component ("/usr"), or null. */
  stem: string | null;
  hasMeta: boolean;
  /** A string every matching key starts with, or null when none can be derived (top-level '|'…). */
  literalPrefix: string | null;
  source: string;
  regex?: RegExp;
}

interface Sub {
  src: string;
  dst: string;
}

const isCSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';

/** libselinux spec_hasMetaChars. */
function hasMetaChars(re: string): boolean {
  for (let i = 0; i < re.length; i++) {
    const c = re[i]!;
    if ('.^$?*+|[({'.includes(c)) return true;
    if (c === '\\') i++;
  }
  return false;
}

/** libselinux get_stem_from_spec: text up to the second '/', if it has no metacharacters. */
function stemOfSpec(re: string): string | null {
  const slash = re.indexOf('/', 1);
  if (slash < 0) return null;
  for (let i = 0; i < slash; i++) if ('.^$?*+|[({'.includes(re[i]!)) return null;
  return re.slice(0, slash);
}

/** libselinux get_stem_from_file_name. */
function stemOfKey(key: string): string | null {
  const slash = key.indexOf('/', 1);
  return slash < 0 ? null : key.slice(0, slash);
}

/** True if the regex has a '|' outside any group or bracket expression (then '^…$' anchors only one branch). */
function hasTopLevelAlternation(re: string): boolean {
  let depth = 0;
  for (let i = 0; i < re.length; i++) {
    const c = re[i]!;
    if (c === '\\') {
      i++;
    } else if (c === '[') {
      i = skipClass(re, i) - 1;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth = Math.max(0, depth - 1);
    } else if (c === '|' && depth === 0) {
      return true;
    }
  }
  return false;
}

/** Index just past the bracket expression starting at `i` (PCRE rules: a leading ']' is literal, [:class:]). */
function skipClass(re: string, i: number): number {
  let j = i + 1;
  if (re[j] === '^') j++;
  if (re[j] === ']') j++;
  while (j < re.length && re[j] !== ']') {
    if (re[j] === '\\') j += 2;
    else if (re[j] === '[' && re[j + 1] === ':') {
      const end = re.indexOf(':]', j + 2);
      j = end < 0 ? j + 1 : end + 2;
    } else j++;
  }
  return j + 1;
}

/**
 * The literal text every match of `^re$` starts with (only an optimisation: lookups try a spec only when the key
 * starts with it, which cannot change the result). Stops at the first construct that is not a plain character;
 * a character followed by a quantifier that allows zero repetitions is not part of it.
 */
function literalPrefixOf(re: string): string | null {
  if (hasTopLevelAlternation(re)) return null;
  let out = '';
  let i = 0;
  while (i < re.length) {
    const c = re[i]!;
    let lit: string;
    let len: number;
    if (c === '\\') {
      const n = re[i + 1];
      if (n === undefined || /[A-Za-z0-9]/.test(n)) break; // \d, \w, \1 …
      lit = n;
      len = 2;
    } else if ('.^$?*+|[({)'.includes(c)) {
      break;
    } else {
      lit = c;
      len = 1;
    }
    const q = re[i + len];
    if (q === '?' || q === '*' || q === '{') break;
    out += lit;
    i += len;
  }
  return out;
}

const POSIX_CLASSES: Record<string, string> = {
  alnum: 'A-Za-z0-9', alpha: 'A-Za-z', digit: '0-9', lower: 'a-z', upper: 'A-Z', space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t', punct: '!-\\/:-@\\[-`{-~', xdigit: '0-9A-Fa-f', word: 'A-Za-z0-9_', cntrl: '\\x00-\\x1f\\x7f',
  print: ' -~', graph: '!-~', ascii: '\\x00-\\x7f',
};

/** PCRE2 pattern → JavaScript pattern with the same meaning for the constructs file_contexts use. */
function pcreToJs(re: string, where: string): string {
  let out = '';
  for (let i = 0; i < re.length; ) {
    const c = re[i]!;
    if (c === '\\') {
      const n = re[i + 1];
      if (n === undefined) throw new InvalidInputError(`${where}: regex '${re}' ends with '\\'`);
      if (n === 'Q' || n === 'E' || n === 'A' || n === 'Z' || n === 'z' || n === 'G') throw new InvalidInputError(`${where}: regex '${re}': \\${n} is not supported`);
      out += c + n;
      i += 2;
    } else if (c === '[') {
      const end = skipClass(re, i);
      let body = re.slice(i + 1, end - 1);
      let neg = '';
      if (body.startsWith('^')) {
        neg = '^';
        body = body.slice(1);
      }
      let cls = '';
      for (let j = 0; j < body.length; ) {
        if (body[j] === '\\') {
          cls += body.slice(j, j + 2);
          j += 2;
        } else if (body[j] === '[' && body[j + 1] === ':') {
          const close = body.indexOf(':]', j + 2);
          const name = body.slice(j + 2, close);
          const js = POSIX_CLASSES[name];
          if (close < 0 || js === undefined) throw new InvalidInputError(`${where}: regex '${re}': unknown character class [:${name}:]`);
          cls += js;
          j = close + 2;
        } else if (body[j] === ']' || body[j] === '[') {
          cls += '\\' + body[j];
          j++;
        } else {
          cls += body[j];
          j++;
        }
      }
      if (end > re.length) throw new InvalidInputError(`${where}: regex '${re}': missing terminating ] for character class`);
      out += `[${neg}${cls}]`;
      i = end;
    } else if (c === '(' && re[i + 1] === '?' && !(re[i + 2] === ':' || re[i + 2] === '=' || re[i + 2] === '!' || (re[i + 2] === '<' && (re[i + 3] === '=' || re[i + 3] === '!')))) {
      throw new InvalidInputError(`${where}: regex '${re}': group syntax '(?${re[i + 2] ?? ''}' is not supported`);
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function compile(spec: Spec): RegExp {
  if (!spec.regex) {
    try {
      spec.regex = new RegExp(`^${pcreToJs(spec.regexStr, spec.source)}$`, 's');
    } catch (e) {
      if (e instanceof InvalidInputError) throw e;
      throw new InvalidInputError(`${spec.source}: invalid regex '${spec.regexStr}': ${(e as Error).message}`);
    }
  }
  return spec.regex;
}

/** The file-contexts database of one policy: selabel_open(SELABEL_CTX_FILE) and selabel_lookup_raw. */
export class FileContexts {
  private readonly specs: Spec[];
  private readonly subs: Sub[];
  private readonly distSubs: Sub[];
  /** literal prefix → indexes into specs (ascending). */
  private readonly byPrefix = new Map<string, number[]>();
  /** Specs without a usable literal prefix. */
  private readonly unprefixed: number[] = [];
  private readonly prefixLengths: number[];

  private constructor(specs: Spec[], subs: Sub[], distSubs: Sub[]) {
    // sort_specs: regex specs first (in order), then the exact ones (in order); lookups scan from the end.
    this.specs = [...specs.filter((s) => s.hasMeta), ...specs.filter((s) => !s.hasMeta)];
    this.subs = subs;
    this.distSubs = distSubs;
    const lens = new Set<number>();
    this.specs.forEach((s, i) => {
      if (s.literalPrefix === null || s.literalPrefix === '') {
        this.unprefixed.push(i);
        return;
      }
      let l = this.byPrefix.get(s.literalPrefix);
      if (!l) this.byPrefix.set(s.literalPrefix, (l = []));
      l.push(i);
      lens.add(s.literalPrefix.length);
    });
    this.prefixLengths = [...lens].sort((a, b) => a - b);
  }

  get size(): number {
    return this.specs.length;
  }

  /**
   * Loads FILE (required), FILE.homedirs and FILE.local (optional), FILE.subs_dist and FILE.subs (optional) —
   * what selabel_open does for a policy's contexts/files/file_contexts and for `matchpathcon -f FILE`.
   */
  static async load(file: string): Promise<FileContexts> {
    const specs: Spec[] = [];
    const base = await readOrNull(file);
    if (base === null) throw new NotFoundError(`SELinux file contexts ${file} not found`);
    parseSpecs(base, file, specs);
    for (const suffix of ['homedirs', 'local']) {
      const t = await readOrNull(`${file}.${suffix}`);
      if (t !== null) parseSpecs(t, `${file}.${suffix}`, specs);
    }
    const distSubs = parseSubs((await readOrNull(`${file}.subs_dist`)) ?? '');
    const subs = parseSubs((await readOrNull(`${file}.subs`)) ?? '');
    return new FileContexts(specs, subs, distSubs);
  }

  /** From text (tests, or file contexts read from elsewhere). */
  static fromText(fileContexts: string, opts: { source?: string; homedirs?: string; local?: string; subsDist?: string; subs?: string } = {}): FileContexts {
    const specs: Spec[] = [];
    const src = opts.source ?? 'file_contexts';
    parseSpecs(fileContexts, src, specs);
    if (opts.homedirs !== undefined) parseSpecs(opts.homedirs, `${src}.homedirs`, specs);
    if (opts.local !== undefined) parseSpecs(opts.local, `${src}.local`, specs);
    return new FileContexts(specs, parseSubs(opts.subs ?? ''), parseSubs(opts.subsDist ?? ''));
  }

  /** The key selabel_lookup matches: duplicate and trailing slashes removed, then .subs and .subs_dist aliases. */
  normalizeKey(path: string): string {
    let key = path.replace(/\/{2,}/g, '/');
    if (key.length > 1 && key.endsWith('/')) key = key.slice(0, -1);
    const local = applySub(this.subs, key);
    if (local !== null) return applySub(this.distSubs, local) ?? local;
    return applySub(this.distSubs, key) ?? key;
  }

  /**
   * The context for `path` with file mode `mode` (S_IF* bits used; 0 = any type), or null when the policy gives
   * none (no match or `<<none>>`) — selabel_lookup_raw's ENOENT.
   */
  lookup(path: string, mode: number): string | null {
    if (path === '') throw new InvalidInputError('SELinux label lookup of an empty path');
    const key = this.normalizeKey(path);
    const fileStem = stemOfKey(key);
    const type = mode & S_IFMT;
    // Candidate lists (each ascending): specs whose literal prefix starts the key. They are merged lazily from the
    // highest index down, so the scan stops at the first (= libselinux's last) match without sorting them all.
    const lists: number[][] = this.unprefixed.length ? [this.unprefixed] : [];
    for (const len of this.prefixLengths) {
      if (len > key.length) break;
      const l = this.byPrefix.get(key.slice(0, len));
      if (l) lists.push(l);
    }
    const pos = lists.map((l) => l.length - 1);
    for (;;) {
      let best = -1;
      let bi = -1;
      for (let j = 0; j < lists.length; j++) {
        const p = pos[j]!;
        if (p >= 0 && lists[j]![p]! > best) {
          best = lists[j]![p]!;
          bi = j;
        }
      }
      if (bi < 0) break;
      pos[bi]!--;
      const s = this.specs[best]!;
      if (s.stem !== null && s.stem !== fileStem) continue;
      if (type !== 0 && s.mode !== 0 && s.mode !== type) continue;
      if (!compile(s).test(key)) continue;
      return s.context === '<<none>>' ? null : s.context;
    }
    return null;
  }
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
}

/** libselinux process_line / read_spec_entries: up to three whitespace-separated fields, comments, blank lines. */
function parseSpecs(text: string, source: string, out: Spec[]): void {
  const lines = text.split('\n');
  lines.forEach((line, n) => {
    const fields: string[] = [];
    let i = 0;
    while (fields.length < 3) {
      while (isCSpace(line[i])) i++;
      if (i >= line.length) break;
      if (fields.length === 0 && line[i] === '#') return;
      const start = i;
      while (i < line.length && !isCSpace(line[i])) i++;
      fields.push(line.slice(start, i));
    }
    if (fields.length === 0) return;
    const where = `${source}:${n + 1}`;
    if (fields.length < 2) throw new InvalidInputError(`${where}: line is missing fields`);
    const [regexStr, typeStr, context] = fields.length === 2 ? [fields[0]!, undefined, fields[1]!] : [fields[0]!, fields[1]!, fields[2]!];
    let mode = 0;
    if (typeStr !== undefined) {
      const m = MODES[typeStr];
      if (m === undefined) throw new InvalidInputError(`${where}: invalid file type ${typeStr}`);
      mode = m;
    }
    out.push({ regexStr, context, mode, stem: stemOfSpec(regexStr), hasMeta: hasMetaChars(regexStr), literalPrefix: literalPrefixOf(regexStr), source: where });
  });
}

/** selabel_subs_init: "alias original" per line; the list is searched last line first. */
function parseSubs(text: string): Sub[] {
  const out: Sub[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(/[ \t\n\v\f\r]+/).filter((x) => x !== '');
    if (f.length < 2 || f[0]!.startsWith('#')) continue;
    out.unshift({ src: f[0]!, dst: f[1]! });
  }
  return out;
}

/** selabel_sub: the first alias that is a whole-component prefix of the key. */
function applySub(list: Sub[], key: string): string | null {
  for (const s of list) {
    if (!key.startsWith(s.src)) continue;
    const next = key[s.src.length];
    if (next !== '/' && next !== undefined) continue;
    const rest = next === '/' && s.dst === '/' ? key.slice(s.src.length + 1) : key.slice(s.src.length);
    return s.dst + rest;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// The tree's policy

export interface SelinuxPolicy {
  /** SELINUXTYPE, e.g. 'targeted'. */
  name: string;
  /** The policy root, e.g. <rootfs>/usr/etc/selinux/targeted. */
  root: string;
  fileContexts: FileContexts;
}

/**
 * ostree_sepolicy_new_at: the policy of the tree at `rootfs`, or null when it has none (no config, or SELINUX= is
 * neither enforcing nor permissive). etc/selinux is used if it exists, else usr/etc/selinux.
 */
export async function loadSelinuxPolicy(rootfs: string): Promise<SelinuxPolicy | null> {
  let dir = join(rootfs, 'etc/selinux');
  if (!(await fsp.stat(dir).catch(() => null))) dir = join(rootfs, 'usr/etc/selinux');
  const config = await readOrNull(join(dir, 'config'));
  if (config === null) return null;
  let type: string | null = null;
  let enabled = false;
  for (const line of config.split('\n')) {
    if (line.startsWith('SELINUXTYPE=')) type = line.slice('SELINUXTYPE='.length).trim();
    else if (line.startsWith('SELINUX=')) {
      const v = line.slice('SELINUX='.length).toLowerCase();
      if (v.startsWith('enforcing') || v.startsWith('permissive')) enabled = true;
    }
  }
  if (!enabled) return null;
  if (type === null) throw new InvalidInputError(`${join(dir, 'config')}: SELinux is enabled but SELINUXTYPE is not set`);
  const root = join(dir, type);
  const fileContexts = await FileContexts.load(join(root, 'contexts/files/file_contexts'));
  if (fileContexts.lookup('/', 0o040755) === null) throw new InvalidInputError(`With policy root '${root}': Failed to look up context of /`);
  return { name: type, root, fileContexts };
}

export interface LabelTreeOptions {
  /** Policy to use; default: the tree's own (loadSelinuxPolicy). */
  policy?: SelinuxPolicy | FileContexts;
  /** `selinux-label-version: 1`: /usr/etc/… is labeled as /etc/… (OSTREE_REPO_COMMIT_MODIFIER_FLAGS_SELINUX_LABEL_V1). */
  labelVersion?: number;
}

/** The path ostree looks up for a tree path ('/proc' → '/mnt'; v1: /usr/etc → /etc). */
export function labelingPath(path: string, labelVersion = 0): string {
  if (labelVersion === 1 && (path === '/usr/etc' || path.startsWith('/usr/etc/'))) path = path.slice('/usr'.length);
  return path === '/proc' ? '/mnt' : path;
}

/** security.selinux as ostree stores it: the context and its NUL (g_variant_new_bytestring). */
export function selinuxXattrValue(context: string): Uint8Array {
  return new Uint8Array(Buffer.from(context + '\0', 'utf8'));
}

const DIRENT_MODE = (d: import('node:fs').Dirent): number =>
  d.isDirectory() ? 0o040000 : d.isFile() ? 0o100000 : d.isSymbolicLink() ? 0o120000 : d.isCharacterDevice() ? 0o020000 : d.isBlockDevice() ? 0o060000 : d.isFIFO() ? 0o010000 : d.isSocket() ? 0o140000 : 0;

/**
 * Labels every path of the tree at `rootfs` (the root "/" included): path → { xattrs: security.selinux }. As with
 * rpm-ostree's ERROR_ON_UNLABELED commit, a path the policy gives no label is an error naming it; a tree without a
 * policy is an error ("SELinux enabled, but no policy found").
 */
export async function labelTree(rootfs: string, opts: LabelTreeOptions = {}): Promise<FileMetaMap> {
  let fc: FileContexts;
  if (opts.policy instanceof FileContexts) fc = opts.policy;
  else if (opts.policy) fc = opts.policy.fileContexts;
  else {
    const p = await loadSelinuxPolicy(rootfs);
    if (!p) throw new NotFoundError(`SELinux enabled, but no policy found in ${rootfs} (etc/selinux/config or usr/etc/selinux/config with SELINUX=enforcing|permissive)`);
    fc = p.fileContexts;
  }
  const out: FileMetaMap = new Map();
  const label = (path: string, mode: number): void => {
    const ctx = fc.lookup(labelingPath(path, opts.labelVersion), mode);
    if (ctx === null) throw new InvalidInputError(`Failed to look up SELinux label for '${path}'`);
    out.set(path, { xattrs: makeXattrs({ 'security.selinux': selinuxXattrValue(ctx) }) });
  };
  label('/', 0o040000);
  // Synchronous readdir: one thread-pool round trip per directory costs more than the lookups themselves.
  const stack = [''];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    for (const d of readdirSync(join(rootfs, rel), { withFileTypes: true })) {
      const path = `${rel}/${d.name}`;
      label(path, DIRENT_MODE(d));
      if (d.isDirectory()) stack.push(path);
    }
  }
  return out;
}
