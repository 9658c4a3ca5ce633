import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize, Variant, type GValue, type VarDict } from '../gvariant/index.js';
import { dictInGhashOrder } from './summary-order.js';
import { listDeltas, reindexDeltas, superblockDigest } from './deltas/index.js';
import { writeFileAtomic, readFileOrNull } from '../util/fs.js';
import { checksumFromBytes, checksumToBytes, type Checksum } from './checksum.js';
import { bswap64 } from './objects/endian.js';
import { ObjectType } from './objects/types.js';
import { Commit } from './objects/commit.js';
import type { Repo } from './repo/repo.js';

export const SUMMARY_TYPE = '(a(s(taya{sv}))a{sv})';

export interface SummaryRef {
  name: string;
  commitSize: number;
  checksum: Checksum;
  metadata: VarDict;
}

export interface Summary {
  refs: SummaryRef[];
  metadata: VarDict;
}

export { dictInGhashOrder };

export function serializeSummary(s: Summary): Uint8Array {
  return serialize(SUMMARY_TYPE, [
    s.refs.map((r) => [r.name, [BigInt(r.commitSize), checksumToBytes(r.checksum), r.metadata]]) as GValue,
    s.metadata as GValue,
  ]);
}

export function parseSummary(bytes: Uint8Array, what = 'summary'): Summary {
  const v = deserialize(SUMMARY_TYPE, bytes, { what }) as [Array<[string, [bigint, Uint8Array, VarDict]]>, VarDict];
  return {
    refs: v[0].map(([name, [size, csum, meta]]) => ({ name, commitSize: Number(size), checksum: checksumFromBytes(csum, `${what} ref ${name}`), metadata: meta })),
    metadata: v[1],
  };
}

/**
 * Regenerate `summary` as `ostree summary -u` does: local refs strcmp-sorted
 * with commit size/timestamp/version, then the repository metadata. Removes a
 * stale summary.sig (its signature no longer matches).
 */
export async function regenerateSummary(repo: Repo, opts: { additionalMetadata?: VarDict; now?: number } = {}): Promise<Uint8Array> {
  const unlock = await repo.lock('sh');
  try {
    const refs = await repo.listRefs({ remotes: false });
    const names = [...refs.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const out: SummaryRef[] = [];
    for (const name of names) {
      const csum = refs.get(name)!;
      const bytes = await repo.readMetadata(ObjectType.Commit, csum);
      const c = Commit.parse(bytes, `commit ${csum}`);
      const meta: VarDict = [['ostree.commit.timestamp', new Variant('t', bswap64(BigInt(c.timestamp)))]];
      const version = c.version;
      if (version !== undefined) meta.push(['ostree.commit.version', new Variant('s', version)]);
      out.push({ name, commitSize: bytes.length, checksum: csum, metadata: dictInGhashOrder(meta) });
    }
    const md: VarDict = [...(opts.additionalMetadata ?? [])];
    const set = (k: string, v: Variant) => {
      const i = md.findIndex(([x]) => x === k);
      if (i >= 0) md[i] = [k, v];
      else md.push([k, v]);
    };
    if (!(repo.config.getBoolean('core', 'no-deltas-in-summary') ?? false)) {
      const deltas = await listDeltas(repo);
      if (deltas.length > 0) {
        const dd: VarDict = [];
        for (const d of deltas) dd.push([d.name, new Variant('ay', await superblockDigest(repo, d))]);
        set('ostree.static-deltas', new Variant('a{sv}', dictInGhashOrder(dd) as GValue));
      }
    }
    set('ostree.summary.last-modified', new Variant('t', bswap64(BigInt(opts.now ?? Math.floor(Date.now() / 1000)))));
    set('ostree.summary.mode', new Variant('s', repo.config.getString('core', 'mode') ?? 'bare'));
    set('ostree.summary.tombstone-commits', new Variant('b', repo.config.getBoolean('core', 'tombstone-commits') ?? false));
    set('ostree.summary.indexed-deltas', new Variant('b', true));
    if (repo.collectionId) set('ostree.summary.collection-id', new Variant('s', repo.collectionId));
    const summary = serializeSummary({ refs: out, metadata: dictInGhashOrder(md) });
    await reindexDeltas(repo);
    await writeFileAtomic(join(repo.path, 'summary'), summary, { fsync: repo.fsyncEnabled, tmpDir: join(repo.path, 'tmp') });
    await fsp.rm(join(repo.path, 'summary.sig'), { force: true });
    return summary;
  } finally {
    unlock();
  }
}

export async function readSummary(repo: Repo): Promise<Summary | null> {
  const b = await readFileOrNull(join(repo.path, 'summary'));
  return b ? parseSummary(new Uint8Array(b), `${repo.path}/summary`) : null;
}
