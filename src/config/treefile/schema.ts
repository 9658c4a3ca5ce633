import { typeName, type KeyPath, type SourceDoc } from '../source.js';
import type { TreefileKey } from './types.js';
import { sortedSet, splitPackages } from './packages.js';

/**
 * Merge classes, from rpm-ostree treefile.rs `treefile_merge`:
 *  S scalar, first wins (includer, then its 1st include's subtree, then 2nd…)
 *  L list, included entries before the includer's (prepended per include)
 *  M map, shallow, includer's keys win
 *  U set union (sorted)
 *  T top-level file only (an included value is dropped)
 */
export type MergeClass = 'S' | 'L' | 'M' | 'U' | 'T';

export type Checker = (doc: SourceDoc, path: KeyPath, v: unknown) => unknown;

export interface KeySpec {
  merge: MergeClass;
  check: Checker;
  /** `${var}` substitution applies (top-level strings only for maps). */
  vars?: boolean;
}

const bad = (doc: SourceDoc, path: KeyPath, want: string, v: unknown): never => doc.fail(path, `expected ${want}, found ${typeName(v)}`);

export const str: Checker = (doc, path, v) => (typeof v === 'string' ? v : bad(doc, path, 'a string', v));
export const bool: Checker = (doc, path, v) => (typeof v === 'boolean' ? v : bad(doc, path, 'a boolean (true or false)', v));
export const strs: Checker = (doc, path, v) => {
  if (!Array.isArray(v)) return bad(doc, path, 'a list of strings', v);
  return v.map((e, i) => str(doc, [...path, i], e));
};
/** Package lists: entries split on whitespace, 'quoted text' kept whole. */
export const pkgs: Checker = (doc, path, v) => {
  const list = strs(doc, path, v) as string[];
  const out: string[] = [];
  list.forEach((e, i) => {
    try {
      out.push(...splitPackages(e));
    } catch (err) {
      doc.fail([...path, i], (err as Error).message);
    }
  });
  return out;
};
const oneOf =
  (...values: string[]): Checker =>
  (doc, path, v) =>
    typeof v === 'string' && values.includes(v) ? v : bad(doc, path, `one of ${values.join(', ')}`, v);
const strOrStrs: Checker = (doc, path, v) => (typeof v === 'string' ? [v] : strs(doc, path, v));
const mapping = (doc: SourceDoc, path: KeyPath, v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : bad(doc, path, 'a mapping', v);
const jsonMap: Checker = (doc, path, v) => mapping(doc, path, v);
const strMap: Checker = (doc, path, v) => {
  const m = mapping(doc, path, v);
  for (const [k, e] of Object.entries(m)) str(doc, [...path, k], e);
  return m;
};
/**
 * A mapping with a fixed set of keys, output in declaration order (as serde
 * serializes the struct). rpm-ostree's nested structs are not
 * deny_unknown_fields: serde drops unknown keys silently, so we drop them
 * too, but keep a warning (a typo there is otherwise invisible).
 */
const struct =
  (fields: Record<string, Checker>, required: string[] = []): Checker =>
  (doc, path, v) => {
    const m = mapping(doc, path, v);
    for (const k of Object.keys(m))
      if (!fields[k]) doc.warn([...path, k], `unknown key ignored (rpm-ostree ignores it too; expected one of: ${Object.keys(fields).join(', ')})`, 'key');
    for (const r of required) if (!(r in m)) doc.fail(path, `missing required key '${r}'`);
    const out: Record<string, unknown> = {};
    for (const [k, c] of Object.entries(fields)) if (k in m) out[k] = c(doc, [...path, k], m[k]);
    return out;
  };
const listOf =
  (c: Checker): Checker =>
  (doc, path, v) => {
    if (!Array.isArray(v)) return bad(doc, path, 'a list', v);
    return v.map((e, i) => c(doc, [...path, i], e));
  };
const u64OrStr: Checker = (doc, path, v) =>
  typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v) && v >= 0) ? v : bad(doc, path, 'a string or a non-negative integer', v);

/** check-passwd / check-groups: serde internally tagged enum on `type`; only the variant's own field is kept. */
const checkIds =
  (groups: boolean): Checker =>
  (doc, path, v) => {
    const m = mapping(doc, path, v);
    if (!('type' in m)) doc.fail(path, "missing required key 'type' (none, previous, file or data)");
    const type = oneOf('none', 'previous', 'file', 'data')(doc, [...path, 'type'], m.type) as string;
    const extra = type === 'file' ? 'filename' : type === 'data' ? 'entries' : undefined;
    for (const k of Object.keys(m)) if (k !== 'type' && k !== extra) doc.warn([...path, k], `ignored for type '${type}'`, 'key');
    if (extra && !(extra in m)) doc.fail(path, `type '${type}' needs '${extra}'`);
    if (type === 'file') return { type, filename: str(doc, [...path, 'filename'], m.filename) };
    if (type !== 'data') return { type };
    const entries = mapping(doc, [...path, 'entries'], m.entries);
    const ok = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
    for (const [k, e] of Object.entries(entries)) {
      const good = groups ? ok(e) : ok(e) || (Array.isArray(e) && e.length >= 1 && e.length <= 2 && e.every(ok));
      if (!good) bad(doc, [...path, 'entries', k], groups ? 'a gid' : 'a uid, [uid] or [uid, gid]', e);
    }
    return { type, entries };
  };

const addFiles: Checker = (doc, path, v) =>
  listOf((d, p, e) => {
    if (!Array.isArray(e) || e.length !== 2) return bad(d, p, 'a [source, destination] pair', e);
    return [str(d, [...p, 0], e[0]), str(d, [...p, 1], e[1])];
  })(doc, path, v);

const removeFromPackages: Checker = (doc, path, v) =>
  listOf((d, p, e) => {
    if (!Array.isArray(e) || e.length < 2) return bad(d, p, 'a [package, regex, …] list', e);
    return e.map((x, i) => str(d, [...p, i], x));
  })(doc, path, v);

const sortedPkgs: Checker = (doc, path, v) => sortedSet(pkgs(doc, path, v) as string[]);
const repoPackages = listOf(struct({ repo: str, packages: sortedPkgs }, ['repo', 'packages']));
const overrideReplace = listOf(struct({ from: struct({ repo: str }, ['repo']), packages: sortedPkgs }, ['from', 'packages']));

const variables: Checker = (doc, path, v) => {
  const m = mapping(doc, path, v);
  for (const [k, e] of Object.entries(m)) {
    if (!(typeof e === 'string' || typeof e === 'boolean' || (typeof e === 'number' && Number.isInteger(e) && e >= 0)))
      bad(doc, [...path, k], 'a string, boolean or non-negative integer', e);
    if (k === 'basearch' || k === 'releasever') doc.fail([...path, k], `cannot define reserved variable '${k}' (set the top-level '${k}' key instead)`, 'key');
  }
  return m;
};

/**
 * Every key a treefile may hold, in the order rpm-ostree serializes its
 * TreeComposeConfig struct (so `manifest --json` diffs cleanly against
 * `rpm-ostree compose tree --print-only`).
 */
export const KEYS: Record<TreefileKey, KeySpec> = {
  packages: { merge: 'U', check: pkgs },
  'repo-packages': { merge: 'L', check: repoPackages },
  cliwrap: { merge: 'S', check: bool },
  'cliwrap-binaries': { merge: 'L', check: strs },
  'base-refspec': { merge: 'S', check: str },
  'container-image-reference': { merge: 'S', check: str },
  'packages-local': { merge: 'M', check: strMap },
  'packages-local-fileoverride': { merge: 'M', check: strMap },
  'override-remove': { merge: 'U', check: strs },
  'ex-override-replace': { merge: 'L', check: overrideReplace },
  'override-replace-local': { merge: 'M', check: strMap },
  initramfs: { merge: 'S', check: struct({ regenerate: bool, etc: (d, p, v) => sortedSet(strs(d, p, v) as string[]), args: strs }, ['regenerate']) },
  custom: { merge: 'S', check: struct({ url: str, description: str }, ['url']) },
  'override-commit': { merge: 'S', check: str },
  'unconfigured-state': { merge: 'S', check: str },
  edition: { merge: 'S', check: oneOf('2014', '2024') },
  ref: { merge: 'S', check: str, vars: true },
  metadata: { merge: 'M', check: jsonMap, vars: true },
  basearch: { merge: 'S', check: str },
  rojig: { merge: 'S', check: struct({ name: str, summary: str, license: str, description: str }, ['name', 'summary', 'license']), vars: true },
  repos: { merge: 'L', check: strs },
  'lockfile-repos': { merge: 'L', check: strs },
  selinux: { merge: 'S', check: bool },
  'ignore-devices': { merge: 'S', check: bool },
  'selinux-label-version': {
    merge: 'S',
    check: (d, p, v) => (v === 0 || v === 1 ? v : bad(d, p, '0 or 1', v)),
  },
  sysusers: { merge: 'S', check: oneOf('compose-auto', 'compose-forced') },
  ima: { merge: 'S', check: bool },
  'gpg-key': { merge: 'S', check: str },
  'ostree-layers': { merge: 'L', check: strs },
  'ostree-override-layers': { merge: 'L', check: strs },
  'exclude-packages': { merge: 'L', check: strs },
  'platform-module': { merge: 'T', check: str, vars: true },
  container: { merge: 'S', check: bool },
  recommends: { merge: 'S', check: bool },
  documentation: { merge: 'S', check: bool },
  'install-langs': { merge: 'L', check: strs },
  'initramfs-args': { merge: 'L', check: strs },
  'no-initramfs': { merge: 'S', check: bool },
  'readonly-executables': { merge: 'S', check: bool },
  'boot-location': { merge: 'S', check: oneOf('new', 'modules', 'kernel-install') },
  'tmp-is-dir': { merge: 'S', check: bool },
  // `stateoverlay` is a serde alias of `state-overlay`.
  'opt-usrlocal': { merge: 'S', check: (d, p, v) => (v === 'stateoverlay' ? 'state-overlay' : oneOf('var', 'root', 'state-overlay')(d, p, v)) },
  units: { merge: 'L', check: strs },
  'default-target': { merge: 'S', check: str },
  'machineid-compat': { merge: 'S', check: bool },
  releasever: { merge: 'S', check: u64OrStr },
  'automatic-version-prefix': { merge: 'S', check: str, vars: true },
  'automatic-version-suffix': { merge: 'S', check: str },
  'mutate-os-release': { merge: 'S', check: str, vars: true },
  'etc-group-members': { merge: 'L', check: strs },
  'preserve-passwd': { merge: 'S', check: bool },
  'check-passwd': { merge: 'S', check: checkIds(false) },
  'check-groups': { merge: 'S', check: checkIds(true) },
  'ignore-removed-users': { merge: 'U', check: strs },
  'ignore-removed-groups': { merge: 'U', check: strs },
  'postprocess-script': { merge: 'S', check: str },
  postprocess: { merge: 'L', check: strs },
  'add-files': { merge: 'L', check: addFiles },
  'remove-files': { merge: 'L', check: strs },
  'remove-from-packages': { merge: 'L', check: removeFromPackages },
  'add-commit-metadata': { merge: 'M', check: jsonMap, vars: true },
  'repo-metadata': { merge: 'S', check: oneOf('inline', 'detached', 'disabled') },
  'advisories-metadata': { merge: 'S', check: oneOf('inline', 'detached', 'disabled') },
  rpmdb: { merge: 'S', check: oneOf('bdb', 'b-d-b', 'sqlite', 'ndb', 'target', 'host') },
  'rpmdb-normalize': { merge: 'S', check: bool },
  // A list with scalar semantics (first wins), as in rpm-ostree.
  'container-cmd': { merge: 'S', check: strs },
};

/** Keys consumed while reading a file (never part of the flattened result). */
export const PROCESSING_KEYS = {
  include: strOrStrs,
  'arch-include': (doc: SourceDoc, path: KeyPath, v: unknown) => {
    const m = mapping(doc, path, v);
    const out: Record<string, string[]> = {};
    for (const [k, e] of Object.entries(m)) out[k] = strOrStrs(doc, [...path, k], e) as string[];
    return out;
  },
  variables,
  repovars: strMap,
  'bootstrap-packages': pkgs,
} satisfies Record<string, Checker>;

/** Underscore spellings rpm-ostree still accepts (treefile.rs migrate_legacy_fields). */
export const LEGACY: Record<string, TreefileKey> = {
  gpg_key: 'gpg-key',
  boot_location: 'boot-location',
  default_target: 'default-target',
  automatic_version_prefix: 'automatic-version-prefix',
};

export const ARCHES = ['x86_64', 'aarch64', 'ppc64le', 's390x', 'ppc64', 'armhfp', 'i386', 'riscv64'] as const;
