import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isErrno } from '../../errors.js';
import { ConfigError } from '../errors.js';
import { SourceDoc, typeName, type KeyPath } from '../source.js';
import { evaluateCondition, substitute, validateVars, type VarValue } from './conditions.js';
import { loadKickstart } from './kickstart.js';
import { sortedSet } from './packages.js';
import { KEYS, LEGACY, PROCESSING_KEYS, type MergeClass } from './schema.js';
import type { LoadedTreefile, Treefile, TreefileExternals, TreefileKey } from './types.js';

/** rpm-ostree INCLUDE_MAXDEPTH */
export const INCLUDE_MAXDEPTH = 50;

export interface LoadTreefileOptions {
  /** Target basearch (x86_64, aarch64, ppc64le, s390x …). */
  arch: string;
  /** Extra variables, as given on a command line; they win over the files'. */
  variables?: Record<string, VarValue>;
}

type Cfg = Partial<Record<TreefileKey, unknown>>;

interface Part {
  cfg: Cfg;
  ext: TreefileExternals;
  repovars: Record<string, string>;
}

interface Conditional {
  when: string[];
  include: string[] | Record<string, unknown>;
  path: KeyPath;
}

class Loader {
  readonly seen = new Map<string, string>();
  readonly files: string[] = [];
  readonly docs: SourceDoc[] = [];
  readonly vars: Record<string, VarValue>;

  constructor(readonly arch: string, cliVars: Record<string, VarValue>) {
    this.vars = { ...cliVars, basearch: arch };
  }

  recurse(file: string, depth: number, from?: { doc: SourceDoc; path: KeyPath }): Part {
    let st;
    try {
      st = statSync(file);
    } catch (e) {
      const what = isErrno(e, 'ENOENT') ? 'not found' : (e as Error).message;
      if (from) from.doc.fail(from.path, `included file ${file} ${what}`);
      throw new ConfigError(`${file}: treefile ${what}`);
    }
    const id = `${st.dev}:${st.ino}`;
    if (this.seen.has(id)) {
      const msg = `Include loop detected; ${file} was already included`;
      if (from) from.doc.fail(from.path, msg);
      throw new ConfigError(msg);
    }
    this.seen.set(id, file);
    this.files.push(file);
    const finalizeD = collectFinalizeD(dirname(file));
    if (file.endsWith('.ks')) {
      // A kickstart stands for packages/exclude-packages/recommends only (TreeComposeConfig::from_kickstart).
      const ks = loadKickstart(file);
      const cfg: Cfg = { packages: sortedSet(ks.packages), 'exclude-packages': ks['exclude-packages'] };
      if (ks.recommends === false) cfg.recommends = false;
      return { cfg, ext: { addFiles: [], finalizeD }, repovars: {} };
    }
    const doc = SourceDoc.read(file, 'treefile');
    this.docs.push(doc);
    const { part, includes, conditionals, variables } = parseTreefileDoc(doc, [], doc.value, this.arch, dirname(file), true);
    part.ext.finalizeD = finalizeD;

    // Variables: keys already known (CLI, includer, earlier siblings) win.
    for (const [k, v] of Object.entries(variables)) if (!(k in this.vars)) this.vars[k] = v;

    for (const c of conditionals) {
      // Every condition is evaluated, so a bad one is reported even after a false one.
      const results = c.when.map((w, i) => {
        try {
          return evaluateCondition(w, this.vars);
        } catch (e) {
          return doc.fail(c.when.length > 1 || Array.isArray(getIn(doc.value, [...c.path, 'if'])) ? [...c.path, 'if', i] : [...c.path, 'if'], (e as Error).message);
        }
      });
      if (!results.every(Boolean)) continue;
      if (Array.isArray(c.include)) {
        c.include.forEach((p, i) => includes.push({ name: p, path: Array.isArray(getIn(doc.value, [...c.path, 'include'])) ? [...c.path, 'include', i] : [...c.path, 'include'] }));
      } else {
        const inline = parseTreefileDoc(doc, [...c.path, 'include'], c.include, this.arch, dirname(file), false);
        mergePart(part, inline.part);
      }
    }

    for (const inc of includes) {
      if (depth === INCLUDE_MAXDEPTH) doc.fail(inc.path, `Reached maximum include depth ${INCLUDE_MAXDEPTH}`);
      const sub = this.recurse(resolve(dirname(file), inc.name), depth + 1, { doc, path: inc.path });
      mergePart(part, sub);
    }
    return part;
  }
}

function getIn(v: unknown, path: KeyPath): unknown {
  let cur = v;
  for (const p of path) cur = cur && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[p] : undefined;
  return cur;
}

/**
 * Validate one treefile (a whole file, or an inline conditional-include
 * object at `base`), fold `packages-<arch>` into `packages`, and resolve
 * external file references against `dir`.
 */
function parseTreefileDoc(doc: SourceDoc, base: KeyPath, value: unknown, arch: string, dir: string, allowExternals: boolean) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) doc.fail(base, `a treefile must be a mapping, found ${typeName(value)}`);
  const raw = { ...(value as Record<string, unknown>) };
  const at = (k: string | number, ...rest: (string | number)[]): KeyPath => [...base, k, ...rest];
  // Where a (possibly legacy-spelled) key was written.
  const keyAt = (k: string): KeyPath => at(Object.keys(value as object).find((x) => (LEGACY[x] ?? x) === k) ?? k);
  const cfg: Cfg = {};
  const ext: TreefileExternals = { addFiles: [] };
  const variables: Record<string, VarValue> = {};
  const includes: { name: string; path: KeyPath }[] = [];
  const conditionals: Conditional[] = [];
  let repovars: Record<string, string> = {};
  const unknown: string[] = [];
  const archPkgs: string[] = [];

  for (const [legacy, modern] of Object.entries(LEGACY)) {
    if (!(legacy in raw)) continue;
    if (modern in raw) doc.fail(at(legacy), `Cannot use new and legacy forms of ${modern} (${legacy})`, 'key');
  }

  for (const [key, v] of Object.entries(raw)) {
    // serde: every field is an Option, and `key:` with no value (null) is None.
    if (v === null && (key in KEYS || key in LEGACY || key in PROCESSING_KEYS || key === 'conditional-include')) continue;
    const name = (LEGACY[key] ?? key) as TreefileKey;
    const spec = KEYS[name];
    if (spec) {
      cfg[name] = spec.check(doc, at(key), v);
      continue;
    }
    switch (key) {
      case 'include':
        (PROCESSING_KEYS.include(doc, at(key), v) as string[]).forEach((p, i) => includes.push({ name: p, path: typeof v === 'string' ? at(key) : at(key, i) }));
        continue;
      case 'arch-include': {
        const m = PROCESSING_KEYS['arch-include'](doc, at(key), v);
        const mine = m[arch];
        if (mine) mine.forEach((p, i) => includes.push({ name: p, path: typeof (v as Record<string, unknown>)[arch] === 'string' ? at(key, arch) : at(key, arch, i) }));
        continue;
      }
      case 'variables':
        Object.assign(variables, PROCESSING_KEYS.variables(doc, at(key), v));
        continue;
      case 'repovars':
        repovars = PROCESSING_KEYS.repovars(doc, at(key), v) as Record<string, string>;
        continue;
      case 'bootstrap-packages':
        archPkgs.push(...(PROCESSING_KEYS['bootstrap-packages'](doc, at(key), v) as string[]));
        continue;
      case 'conditional-include':
        if (!Array.isArray(v)) doc.fail(at(key), `expected a list of {if, include}, found ${typeName(v)}`);
        v.forEach((c, i) => conditionals.push(parseConditional(doc, at(key, i), c)));
        continue;
    }
    if (key.startsWith('packages-')) {
      const list = KEYS.packages.check(doc, at(key), v) as string[];
      if (key.slice('packages-'.length) === arch) archPkgs.push(...list);
      continue;
    }
    unknown.push(key);
  }
  // rpm-ostree rejects unknown keys in YAML; JSON treefiles use them as comments.
  if (unknown.length > 0 && doc.format === 'yaml') {
    doc.fail(at(unknown[0]!), `unknown key${unknown.length > 1 ? `s: ${unknown.join(', ')}` : ` '${unknown[0]}'`} (not a treefile field)`, 'key');
  }
  if (archPkgs.length) cfg.packages = [...((cfg.packages as string[] | undefined) ?? []), ...archPkgs];
  if (cfg.packages) cfg.packages = sortedSet(cfg.packages as string[]);
  if (cfg.basearch !== undefined && cfg.basearch !== arch) doc.fail(at('basearch'), `basearch ${String(cfg.basearch)} differs from the target ${arch}; cross-composes are not supported`);
  if (cfg.releasever !== undefined) variables.releasever = cfg.releasever as string | number;
  // Per file, as rpm-ostree does at parse time (so an includer's explicit values still win).
  if (cfg.container === true) {
    Object.assign(cfg, { 'boot-location': 'modules', selinux: false, 'tmp-is-dir': true, 'preserve-passwd': false, 'check-passwd': { type: 'none' }, 'check-groups': { type: 'none' } });
  }
  if (cfg.edition === '2024') {
    cfg['boot-location'] ??= 'modules';
    cfg['tmp-is-dir'] ??= true;
  }

  // rpm-ostree opens these at parse time, relative to the declaring file: a missing one is an error here.
  const external = (path: KeyPath, rel: string): string => {
    if (!allowExternals) doc.fail(path, 'an inline conditional-include treefile cannot refer to external files');
    const abs = resolve(dir, rel);
    const st = statSync(abs, { throwIfNoEntry: false });
    if (!st) doc.fail(path, `${abs} not found`);
    if (!st.isFile()) doc.fail(path, `${abs} is not a regular file`);
    return abs;
  };
  if (cfg['postprocess-script'] !== undefined) ext.postprocessScript = external(keyAt('postprocess-script'), cfg['postprocess-script'] as string);
  const cp = cfg['check-passwd'] as { type: string; filename?: string } | undefined;
  if (cp?.type === 'file') ext.passwd = external(at('check-passwd', 'filename'), cp.filename!);
  const cg = cfg['check-groups'] as { type: string; filename?: string } | undefined;
  if (cg?.type === 'file') ext.group = external(at('check-groups', 'filename'), cg.filename!);
  ((cfg['add-files'] as [string, string][] | undefined) ?? []).forEach(([src, dest], i) => ext.addFiles.push({ name: src, src: external(at('add-files', i, 0), src), dest }));

  return { part: { cfg, ext, repovars } satisfies Part, includes, conditionals, variables };
}

function parseConditional(doc: SourceDoc, path: KeyPath, c: unknown): Conditional {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) doc.fail(path, `expected {if, include}, found ${typeName(c)}`);
  const m = c as Record<string, unknown>;
  for (const k of Object.keys(m)) if (k !== 'if' && k !== 'include') doc.fail([...path, k], `unknown key '${k}' (expected if, include)`, 'key');
  if (!('if' in m)) doc.fail(path, "missing 'if'");
  if (!('include' in m)) doc.fail(path, "missing 'include'");
  const w = m.if;
  const when = typeof w === 'string' ? [w] : Array.isArray(w) && w.every((x) => typeof x === 'string') ? (w as string[]) : doc.fail([...path, 'if'], `expected a condition string or a list of them, found ${typeName(w)}`);
  const inc = m.include;
  const include =
    typeof inc === 'string'
      ? [inc]
      : Array.isArray(inc)
        ? inc.map((x, i) => (typeof x === 'string' ? x : doc.fail([...path, 'include', i], `expected a path, found ${typeName(x)}`)))
        : inc !== null && typeof inc === 'object'
          ? (inc as Record<string, unknown>)
          : doc.fail([...path, 'include'], `expected a path, a list of paths or an inline treefile, found ${typeName(inc)}`);
  return { when, include, path };
}

/** The one place the include merge rules live (treefile.rs treefile_merge). */
export function mergeValue(cls: MergeClass, dest: unknown, src: unknown): unknown {
  if (src === undefined) return dest;
  switch (cls) {
    case 'S':
      return dest === undefined ? src : dest;
    case 'T':
      return dest;
    case 'L':
      return dest === undefined ? src : [...(src as unknown[]), ...(dest as unknown[])];
    case 'M':
      return { ...(src as object), ...((dest as object | undefined) ?? {}) };
    case 'U':
      return sortedSet([...((dest as string[] | undefined) ?? []), ...(src as string[])]);
  }
}

function mergePart(dest: Part, src: Part): void {
  for (const k of Object.keys(src.cfg) as TreefileKey[]) {
    dest.cfg[k] = mergeValue(KEYS[k].merge, dest.cfg[k], src.cfg[k]);
  }
  dest.ext.postprocessScript ??= src.ext.postprocessScript;
  dest.ext.passwd ??= src.ext.passwd;
  dest.ext.group ??= src.ext.group;
  dest.ext.addFiles = [...src.ext.addFiles, ...dest.ext.addFiles];
  // rpm-ostree inserts the included file's entries over the includer's (BTreeMap insert).
  dest.ext.finalizeD = { ...(dest.ext.finalizeD ?? {}), ...(src.ext.finalizeD ?? {}) };
  dest.repovars = { ...src.repovars, ...dest.repovars };
}

/**
 * Read a treefile and everything it includes, and flatten it as
 * `rpm-ostree compose tree --print-only` would for `arch`.
 */
export function loadTreefile(path: string, opts: LoadTreefileOptions): LoadedTreefile {
  const file = resolve(path);
  const loader = new Loader(opts.arch, opts.variables ?? {});
  validateVars(opts.variables ?? {}, 'command line');
  const part = loader.recurse(file, 0);
  const vars = loader.vars;
  validateVars(vars, file);
  const cfg = part.cfg;

  // ${var} substitution: once, after the merge, only in these fields.
  for (const [k, spec] of Object.entries(KEYS) as [TreefileKey, (typeof KEYS)[TreefileKey]][]) {
    if (!spec.vars || cfg[k] === undefined) continue;
    const v = cfg[k];
    if (typeof v === 'string') cfg[k] = substitute(v, vars);
    else if (k === 'rojig') {
      const r = { ...(v as Record<string, string>) };
      for (const f of ['name', 'summary', 'description']) if (typeof r[f] === 'string') r[f] = substitute(r[f]!, vars);
      cfg[k] = r;
    } else {
      cfg[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([mk, mv]) => [mk, typeof mv === 'string' ? substitute(mv, vars) : mv]));
    }
  }

  // A package named in several repo-packages (ex-override-replace) entries keeps only its last one.
  for (const k of ['repo-packages', 'ex-override-replace'] as const) {
    const rp = cfg[k] as { packages: string[] }[] | undefined;
    if (!rp) continue;
    const last = new Map<string, number>();
    rp.forEach((e, i) => e.packages.forEach((p) => last.set(p, i)));
    cfg[k] = rp.map((e, i) => ({ ...e, packages: e.packages.filter((p) => last.get(p) === i) })).filter((e) => e.packages.length > 0);
  }

  for (const [src, dest] of (cfg['add-files'] as [string, string][] | undefined) ?? []) {
    const d = dest.replace(/^\/+/, '');
    const ok = ['usr/', 'etc/', 'bin/', 'sbin/', 'lib/', 'lib64/'].some((p) => d.startsWith(p)) && !d.startsWith('usr/local/');
    if (!ok) throw new ConfigError(`${file}: add-files: destination ${dest} (for ${src}) must be under /usr (not /usr/local), /etc, /bin, /sbin, /lib or /lib64`);
  }
  const suffix = cfg['automatic-version-suffix'];
  if (typeof suffix === 'string' && !/^[\x00-\x7f]$/.test(suffix)) throw new ConfigError(`${file}: automatic-version-suffix: must be exactly one ASCII character, got "${suffix}"`);

  // Emit keys in schema order, like a serialized struct.
  const treefile = {} as Record<string, unknown>;
  for (const k of Object.keys(KEYS) as TreefileKey[]) {
    if (k === 'packages') treefile[k] = (cfg.packages as string[] | undefined) ?? [];
    else if (k === 'basearch') treefile[k] = opts.arch;
    else if (cfg[k] !== undefined) treefile[k] = KEYS[k].merge === 'M' || k === 'check-passwd' || k === 'check-groups' ? sortKeysDeep(cfg[k]) : cfg[k];
  }
  return {
    path: file,
    dir: dirname(file),
    arch: opts.arch,
    treefile: treefile as unknown as Treefile,
    variables: { ...vars },
    repovars: part.repovars,
    externals: part.ext,
    files: loader.files,
    warnings: loader.docs.flatMap((d) => d.warnings),
  };
}

/** rpm-ostree keeps maps in BTreeMaps (and serde_json maps are sorted too): print keys sorted. */
function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(o)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .map((k) => [k, sortKeysDeep(o[k])]),
  );
}

/** Experimental rpm-ostree `finalize.d/`: executable regular files next to a treefile, by name. */
function collectFinalizeD(dir: string): Record<string, string> {
  const d = join(dir, 'finalize.d');
  const out: Record<string, string> = {};
  let names: string[];
  try {
    names = readdirSync(d);
  } catch {
    return out;
  }
  for (const n of names.sort()) {
    const st = statSync(join(d, n), { throwIfNoEntry: false });
    if (st?.isFile() && (st.mode & 0o100) !== 0) out[n] = join(d, n);
  }
  return out;
}
