import { promises as fsp } from 'node:fs';
import { join, dirname } from 'node:path';
import { createHash } from 'node:crypto';
import { serialize, Variant, type GValue, type VarDict } from '../../gvariant/index.js';
import { isErrno } from '../../errors.js';
import { writeFileAtomic, readFileOrNull } from '../../util/fs.js';
import type { Checksum } from '../checksum.js';
import type { Repo } from '../repo/repo.js';
import { dictInGhashOrder } from '../summary-order.js';
import { deltaDir, deltaIndexPath, deltaName, parseDeltaDirName } from './format.js';

export { generateDelta, type GenerateOptions, type GenerateResult } from './generate.js';
export { applyDeltaPart, UnsupportedDeltaError } from './apply.js';
export * from './format.js';

export interface DeltaInfo {
  from: Checksum | null;
  to: Checksum;
  name: string;
  dir: string;
}

/** Deltas present under deltas/ (those with a superblock), like ostree_repo_list_static_delta_names. */
export async function listDeltas(repo: Repo): Promise<DeltaInfo[]> {
  const base = join(repo.path, 'deltas');
  const out: DeltaInfo[] = [];
  let firsts: string[];
  try {
    firsts = (await fsp.readdir(base)).sort();
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return [];
    throw e;
  }
  for (const a of firsts) {
    let rests: string[];
    try {
      rests = (await fsp.readdir(join(base, a))).sort();
    } catch {
      continue;
    }
    for (const b of rests) {
      if (!(await fsp.stat(join(base, a, b, 'superblock')).catch(() => null))) continue;
      try {
        const { from, to } = parseDeltaDirName(a, b);
        out.push({ from, to, name: deltaName(from, to), dir: deltaDir(from, to) });
      } catch {
        /* not a delta directory */
      }
    }
  }
  return out;
}

export async function superblockDigest(repo: Repo, d: { from: Checksum | null; to: Checksum }): Promise<Uint8Array> {
  const b = await fsp.readFile(join(repo.path, deltaDir(d.from, d.to), 'superblock'));
  return new Uint8Array(createHash('sha256').update(b).digest());
}

/**
 * Rewrite delta-indexes/ (ostree_repo_static_delta_reindex): one index per
 * target commit listing every delta to it with its superblock digest;
 * indexes for targets without deltas are removed.
 */
export async function reindexDeltas(repo: Repo): Promise<void> {
  const deltas = await listDeltas(repo);
  const byTo = new Map<Checksum, DeltaInfo[]>();
  for (const d of deltas) byTo.set(d.to, [...(byTo.get(d.to) ?? []), d]);
  const keep = new Set<string>();
  for (const [to, list] of byTo) {
    list.sort((a, b) => ((a.from ?? '') < (b.from ?? '') ? -1 : 1));
    const entries: VarDict = [];
    for (const d of list) entries.push([d.name, new Variant('ay', await superblockDigest(repo, d))]);
    const index = serialize('a{sv}', [['ostree.static-deltas', new Variant('a{sv}', dictInGhashOrder(entries) as GValue)]] as GValue);
    const rel = deltaIndexPath(to);
    keep.add(rel);
    const p = join(repo.path, rel);
    const old = await readFileOrNull(p);
    if (old && Buffer.from(index).equals(old)) continue;
    await fsp.mkdir(dirname(p), { recursive: true });
    await writeFileAtomic(p, index, { fsync: repo.fsyncEnabled });
  }
  const idxBase = join(repo.path, 'delta-indexes');
  for (const a of await fsp.readdir(idxBase).catch(() => [] as string[])) {
    for (const f of await fsp.readdir(join(idxBase, a)).catch(() => [] as string[])) {
      const rel = `delta-indexes/${a}/${f}`;
      if (f.endsWith('.index') && !keep.has(rel)) await fsp.rm(join(repo.path, rel), { force: true });
    }
  }
}

export async function deleteDelta(repo: Repo, d: { from: Checksum | null; to: Checksum }): Promise<void> {
  await fsp.rm(join(repo.path, deltaDir(d.from, d.to)), { recursive: true, force: true });
}
