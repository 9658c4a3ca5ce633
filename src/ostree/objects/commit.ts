import { deserialize, dictGet, serialize, Variant, type GValue, type VarDict } from '../../gvariant/index.js';
import { CorruptionError } from '../../errors.js';
import { checksumFromBytes, checksumToBytes, sha256Hex, type Checksum } from '../checksum.js';
import { bswap64 } from './endian.js';

export const COMMIT_TYPE = '(a{sv}aya(say)sstayay)';

export interface CommitFields {
  metadata?: VarDict;
  parent?: Checksum | null;
  subject?: string;
  body?: string;
  /** Seconds since the epoch, UTC. */
  timestamp: number;
  rootTree: Checksum;
  rootMeta: Checksum;
}

/** `.commit`: a snapshot of a root directory plus metadata. */
export class Commit {
  readonly metadata: VarDict;
  readonly parent: Checksum | null;
  /** Legacy "related objects"; always empty in commits ostree writes. */
  readonly related: Array<[string, Uint8Array]>;
  readonly subject: string;
  readonly body: string;
  readonly timestamp: number;
  readonly rootTree: Checksum;
  readonly rootMeta: Checksum;

  constructor(f: CommitFields & { related?: Array<[string, Uint8Array]> }) {
    this.metadata = f.metadata ?? [];
    this.parent = f.parent ?? null;
    this.related = f.related ?? [];
    this.subject = f.subject ?? '';
    this.body = f.body ?? '';
    this.timestamp = f.timestamp;
    this.rootTree = f.rootTree;
    this.rootMeta = f.rootMeta;
  }

  static parse(bytes: Uint8Array, what = 'commit'): Commit {
    const v = deserialize(COMMIT_TYPE, bytes, { what }) as [VarDict, Uint8Array, Array<[string, Uint8Array]>, string, string, bigint, Uint8Array, Uint8Array];
    for (const [k] of v[0]) if (k.length === 0) throw new CorruptionError(`${what}: empty metadata key`);
    if (v[1].length !== 0 && v[1].length !== 32) throw new CorruptionError(`${what}: parent checksum has ${v[1].length} bytes`);
    return new Commit({
      metadata: v[0],
      parent: v[1].length === 0 ? null : checksumFromBytes(v[1]),
      related: v[2],
      subject: v[3],
      body: v[4],
      timestamp: Number(bswap64(v[5])),
      rootTree: checksumFromBytes(v[6], `${what} root dirtree`),
      rootMeta: checksumFromBytes(v[7], `${what} root dirmeta`),
    });
  }

  serialize(): Uint8Array {
    return serialize(COMMIT_TYPE, [
      this.metadata as GValue,
      this.parent ? checksumToBytes(this.parent) : new Uint8Array(0),
      this.related as GValue,
      this.subject,
      this.body,
      bswap64(BigInt(this.timestamp)),
      checksumToBytes(this.rootTree),
      checksumToBytes(this.rootMeta),
    ]);
  }

  checksum(): Checksum {
    return sha256Hex(this.serialize());
  }

  meta(key: string): Variant | undefined {
    return dictGet(this.metadata, key);
  }

  /** The `version` metadata string, if any. */
  get version(): string | undefined {
    const v = this.meta('version');
    return v && v.type.str === 's' ? (v.value as string) : undefined;
  }

  /** SHA-256 over the root dirtree and dirmeta checksums (ostree_commit_get_content_checksum). */
  contentChecksum(): Checksum {
    return sha256Hex(checksumToBytes(this.rootTree), checksumToBytes(this.rootMeta));
  }
}

/** Detached commit metadata (`.commitmeta`), an a{sv}; holds signatures. */
export function parseCommitMeta(bytes: Uint8Array, what = 'commitmeta'): VarDict {
  return deserialize('a{sv}', bytes, { what }) as VarDict;
}

export function serializeCommitMeta(d: VarDict): Uint8Array {
  return serialize('a{sv}', d as GValue);
}

/** `.tombstone-commit`: records a deleted commit so pulls don't re-fetch it. */
export function serializeTombstone(commit: Checksum): Uint8Array {
  return serialize('a{sv}', [['commit', new Variant('s', commit)]] as GValue);
}
