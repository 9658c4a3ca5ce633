import { deserialize, serialize, Variant, type GValue, type VarDict } from '../../gvariant/index.js';
import { CorruptionError } from '../../errors.js';
import { checksumFromBytes, checksumToBytes, toMb64, fromMb64, type Checksum } from '../checksum.js';
import { COMMIT_TYPE } from '../objects/commit.js';
import { bswap64 } from '../objects/endian.js';
import { ObjectType } from '../objects/types.js';

/** `(a{sv}tayay(commit)aya(uayttay)a(yaytt))` */
export const SUPERBLOCK_TYPE = `(a{sv}tayay${COMMIT_TYPE}aya(uayttay)a(yaytt))`;
export const PART_PAYLOAD_TYPE = '(a(uuu)aa(ayay)ayay)';

export interface DeltaObject {
  type: ObjectType;
  checksum: Checksum;
}

export interface PartHeader {
  version: number;
  checksum: Checksum;
  compressedSize: number;
  uncompressedSize: number;
  objects: DeltaObject[];
}

export interface FallbackEntry {
  type: ObjectType;
  checksum: Checksum;
  compressedSize: number;
  uncompressedSize: number;
}

export interface Superblock {
  metadata: VarDict;
  timestamp: number;
  from: Checksum | null;
  to: Checksum;
  /** The target commit object, serialized (it is shipped inline). */
  commit: Uint8Array;
  parts: PartHeader[];
  fallbacks: FallbackEntry[];
}

/** deltas/<mb64(from)[0:2]>/<mb64(from)[2:]>-<mb64(to)> or deltas/<mb64(to)[0:2]>/<mb64(to)[2:]> */
export function deltaDir(from: Checksum | null, to: Checksum): string {
  const t = toMb64(to);
  if (!from) return `deltas/${t.slice(0, 2)}/${t.slice(2)}`;
  const f = toMb64(from);
  return `deltas/${f.slice(0, 2)}/${f.slice(2)}-${t}`;
}

export function deltaIndexPath(to: Checksum): string {
  const t = toMb64(to);
  return `delta-indexes/${t.slice(0, 2)}/${t.slice(2)}.index`;
}

/** The hex name ostree uses in summaries and indexes: "FROM-TO" or "TO". */
export function deltaName(from: Checksum | null, to: Checksum): string {
  return from ? `${from}-${to}` : to;
}

export function parseDeltaDirName(first: string, rest: string): { from: Checksum | null; to: Checksum } {
  const s = first + rest;
  const dash = s.indexOf('-');
  if (dash < 0) return { from: null, to: fromMb64(s) };
  return { from: fromMb64(s.slice(0, dash)), to: fromMb64(s.slice(dash + 1)) };
}

function objectsToBytes(objs: DeltaObject[]): Uint8Array {
  const out = new Uint8Array(objs.length * 33);
  objs.forEach((o, i) => {
    out[i * 33] = o.type;
    out.set(checksumToBytes(o.checksum), i * 33 + 1);
  });
  return out;
}

function objectsFromBytes(b: Uint8Array, what: string): DeltaObject[] {
  if (b.length % 33 !== 0) throw new CorruptionError(`${what}: object list is ${b.length} bytes, not a multiple of 33`);
  const out: DeltaObject[] = [];
  for (let i = 0; i < b.length; i += 33) {
    const type = b[i]! as ObjectType;
    if (type < ObjectType.File || type > ObjectType.CommitMeta) throw new CorruptionError(`${what}: invalid object type ${type}`);
    out.push({ type, checksum: checksumFromBytes(b.subarray(i + 1, i + 33)) });
  }
  return out;
}

/** Sizes and the version are stored in the delta's endianness; we always write little-endian ('l'). */
export function serializeSuperblock(s: Superblock): Uint8Array {
  const commit = deserialize(COMMIT_TYPE, s.commit, { what: 'delta target commit' });
  return serialize(SUPERBLOCK_TYPE, [
    s.metadata as GValue,
    bswap64(BigInt(s.timestamp)),
    s.from ? checksumToBytes(s.from) : new Uint8Array(0),
    checksumToBytes(s.to),
    commit,
    new Uint8Array(0),
    s.parts.map((p) => [p.version, checksumToBytes(p.checksum), BigInt(p.compressedSize), BigInt(p.uncompressedSize), objectsToBytes(p.objects)]) as GValue,
    s.fallbacks.map((f) => [f.type, checksumToBytes(f.checksum), BigInt(f.compressedSize), BigInt(f.uncompressedSize)]) as GValue,
  ]);
}

export function parseSuperblock(bytes: Uint8Array, what = 'delta superblock'): Superblock {
  const v = deserialize(SUPERBLOCK_TYPE, bytes, { what }) as [VarDict, bigint, Uint8Array, Uint8Array, GValue, Uint8Array, Array<[number, Uint8Array, bigint, bigint, Uint8Array]>, Array<[number, Uint8Array, bigint, bigint]>];
  const endian = v[0].find(([k]) => k === 'ostree.endianness')?.[1].value;
  const big = endian === 0x42; // 'B'
  const swap32 = (n: number) => (big ? (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0 : n);
  const swap64 = (n: bigint) => Number(big ? bswap64(n) : n);
  return {
    metadata: v[0],
    timestamp: Number(bswap64(v[1])),
    from: v[2].length === 0 ? null : checksumFromBytes(v[2], `${what} from`),
    to: checksumFromBytes(v[3], `${what} to`),
    commit: serialize(COMMIT_TYPE, v[4]),
    parts: v[6].map(([ver, csum, c, u, objs], i) => ({ version: swap32(ver), checksum: checksumFromBytes(csum, `${what} part ${i}`), compressedSize: swap64(c), uncompressedSize: swap64(u), objects: objectsFromBytes(objs, `${what} part ${i}`) })),
    fallbacks: v[7].map(([t, csum, c, u]) => ({ type: t as ObjectType, checksum: checksumFromBytes(csum, `${what} fallback`), compressedSize: swap64(c), uncompressedSize: swap64(u) })),
  };
}

export function endiannessEntry(): [string, Variant] {
  return ['ostree.endianness', new Variant('y', 0x6c)];
}
