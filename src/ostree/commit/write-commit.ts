import { InvalidInputError } from '../../errors.js';
import type { VarDict } from '../../gvariant/index.js';
import { Commit } from '../objects/commit.js';
import { ObjectType } from '../objects/types.js';
import type { Checksum } from '../checksum.js';
import type { Transaction } from '../repo/transaction.js';
import type { MutableTree } from './mtree.js';

export interface WriteCommitOptions {
  parent?: Checksum | null;
  subject?: string;
  body?: string;
  metadata?: VarDict;
  /** Seconds since the epoch; default SOURCE_DATE_EPOCH, else now. */
  timestamp?: number;
}

/**
 * ostree's default commit time: SOURCE_DATE_EPOCH when set (parsed as
 * g_ascii_strtoll does, with ostree's error messages), else now.
 */
export function defaultTimestamp(env: NodeJS.ProcessEnv = process.env): number {
  const s = env.SOURCE_DATE_EPOCH;
  if (s === undefined) return Math.floor(Date.now() / 1000);
  const m = /^\s*([+-]?)(\d+)/.exec(s);
  if (!m) throw new InvalidInputError('Failed to convert SOURCE_DATE_EPOCH');
  const v = BigInt(m[1] === '-' ? `-${m[2]}` : m[2]!);
  if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) throw new InvalidInputError('Parsing SOURCE_DATE_EPOCH: Numerical result out of range');
  return Number(v);
}

/** Write the mtree's dirtrees and a commit object pointing at them; returns the commit checksum. */
export async function writeCommit(tx: Transaction, root: MutableTree, opts: WriteCommitOptions = {}): Promise<Checksum> {
  if (!root.metaChecksum) throw new InvalidInputError('the root directory has no metadata');
  const rootTree = await root.write(tx);
  const commit = new Commit({
    metadata: opts.metadata ?? [],
    parent: opts.parent ?? null,
    subject: opts.subject ?? '',
    body: opts.body ?? '',
    timestamp: opts.timestamp ?? defaultTimestamp(),
    rootTree,
    rootMeta: root.metaChecksum,
  });
  return tx.writeMetadata(ObjectType.Commit, commit.serialize());
}
