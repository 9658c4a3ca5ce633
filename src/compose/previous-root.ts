/**
 * The root a build leaves for the next one to recycle (assemble.ts): kept
 * in tmp/previous-build/ as `root/` (the finished tree, or whatever a failed
 * build had assembled), `devino.json`, which of its inodes are which
 * pkgcache objects, and `plan.json`, each package commit's tree flattened
 * (assemble's FlatPackage; a commit checksum names its content, so these
 * hold for any build). They move in and out with one rename, so a root is
 * never read with another build's index.
 *
 * Why the index can be trusted without re-reading the objects: it lists the
 * inodes the build hardlinked from the pkgcache. Those stay alive (the
 * pkgcache holds them) for the whole build, so no other file of the root
 * can have their numbers; and nothing creates files in the root between
 * builds. A root entry whose inode the index names is that object.
 */
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isChecksum } from '../ostree/checksum.js';
import { FileHeader } from '../ostree/objects/content.js';
import type { Xattrs } from '../ostree/objects/xattrs.js';
import type { DevinoCache } from './types.js';
import type { FlatPackage } from './assemble.js';
import type { Checksum } from '../ostree/checksum.js';

/** Under the build dir's tmp/. Not `compose-*`: those are one build's scratch. */
export const PREVIOUS_BUILD = 'previous-build';

export interface PreviousRoot {
  root: string;
  /** Inodes of `root` hardlinked from the pkgcache (empty when the index was missing or unreadable). */
  devino: DevinoCache;
  /** Package commits flattened by the previous build (empty when missing or unreadable). */
  plan: Map<Checksum, FlatPackage>;
}

const INDEX_VERSION = 1;

/**
 * Move the previous build's root into `work` (as `work/previous/root`) for
 * this build to recycle, or null when there is none.
 */
export function takePreviousRoot(buildDir: string, work: string): PreviousRoot | null {
  const from = join(buildDir, 'tmp', PREVIOUS_BUILD);
  const to = join(work, 'previous');
  try {
    renameSync(from, to);
  } catch {
    return null;
  }
  const root = join(to, 'root');
  if (!lstatSync(root, { throwIfNoEntry: false })?.isDirectory()) return null;
  return { root, devino: readIndex(join(to, 'devino.json')), plan: readPlan(join(to, 'plan.json')) };
}

/**
 * Keep `root` (a directory in `work`) and its hardlinks' index for the next
 * build, unless a previous root is still there (a build that failed before
 * taking it).
 */
export function keepRoot(buildDir: string, work: string, root: string, devino: DevinoCache, plan: ReadonlyMap<Checksum, FlatPackage> = new Map()): void {
  const dest = join(buildDir, 'tmp', PREVIOUS_BUILD);
  if (lstatSync(dest, { throwIfNoEntry: false })) return;
  const staged = join(work, 'keep');
  rmSync(staged, { recursive: true, force: true });
  mkdirSync(staged);
  writeFileSync(join(staged, 'devino.json'), serializeIndex(devino));
  writeFileSync(join(staged, 'plan.json'), JSON.stringify({ version: INDEX_VERSION, packages: Object.fromEntries(plan) }));
  renameSync(root, join(staged, 'root'));
  renameSync(staged, dest);
}

type IndexRow = [devino: string, checksum: string, uid: number, gid: number, mode: number, xattrs?: Array<[string, string]>];

function serializeIndex(devino: DevinoCache): string {
  const rows: IndexRow[] = [];
  for (const [key, e] of devino) {
    const h = e.header;
    if (!h) continue;
    const row: IndexRow = [key, e.checksum, h.uid, h.gid, h.mode];
    if (h.xattrs.length > 0) row.push(h.xattrs.map(([n, v]) => [Buffer.from(n).toString('base64'), Buffer.from(v).toString('base64')]));
    rows.push(row);
  }
  return JSON.stringify({ version: INDEX_VERSION, entries: rows });
}

/** A JSON object this version wrote (its `version`), or null when missing, unreadable or another version's. */
function readOurJson(path: string): Record<string, unknown> | null {
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> | null;
    return doc !== null && typeof doc === 'object' && doc.version === INDEX_VERSION ? doc : null;
  } catch {
    return null;
  }
}

const isU32 = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

/** The index, or an empty one when it is missing or not what this version writes (the root is then checked against the objects). */
function readIndex(path: string): DevinoCache {
  const out: DevinoCache = new Map();
  const d = readOurJson(path) as { entries?: unknown } | null;
  if (!d || !Array.isArray(d.entries)) return out;
  for (const row of d.entries as unknown[]) {
    if (!Array.isArray(row) || row.length < 5) return new Map();
    const [key, csum, uid, gid, mode, xa] = row as unknown[];
    if (typeof key !== 'string' || !/^\d+:\d+$/.test(key) || typeof csum !== 'string' || !isChecksum(csum) || !isU32(uid) || !isU32(gid) || !isU32(mode)) return new Map();
    let xattrs: Xattrs = [];
    if (xa !== undefined) {
      if (!Array.isArray(xa) || !xa.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string')) return new Map();
      xattrs = (xa as Array<[string, string]>).map(([n, v]) => [new Uint8Array(Buffer.from(n, 'base64')), new Uint8Array(Buffer.from(v, 'base64'))]);
    }
    const header = new FileHeader(uid, gid, mode, xattrs);
    if (!header.isRegular) return new Map();
    out.set(key, { checksum: csum, header });
  }
  return out;
}

/** plan.json, or an empty map when it is missing or not what this version writes (the dirtrees are read instead). */
function readPlan(path: string): Map<Checksum, FlatPackage> {
  const out = new Map<Checksum, FlatPackage>();
  const d = readOurJson(path) as { packages?: unknown } | null;
  if (!d || typeof d.packages !== 'object' || d.packages === null) return out;
  for (const [commit, fp] of Object.entries(d.packages as Record<string, unknown>)) {
    const f = fp as { rootMeta?: unknown; entries?: unknown };
    if (!isChecksum(commit) || typeof f?.rootMeta !== 'string' || !isChecksum(f.rootMeta) || !Array.isArray(f.entries)) return new Map();
    for (const e of f.entries as unknown[]) {
      if (!Array.isArray(e) || e.length !== 3 || (e[0] !== 0 && e[0] !== 1) || typeof e[1] !== 'string' || !e[1].startsWith('/') || typeof e[2] !== 'string' || !isChecksum(e[2])) return new Map();
    }
    out.set(commit, f as FlatPackage);
  }
  return out;
}
