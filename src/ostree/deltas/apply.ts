import { deserialize } from '../../gvariant/index.js';
import { CoreforgeError, CorruptionError } from '../../errors.js';
import { xzDecompress } from '../../util/xz.js';
import { checksumFromBytes, sha256Hex, type Checksum } from '../checksum.js';
import { FileHeader } from '../objects/content.js';
import { bswap32 } from '../objects/endian.js';
import { ObjectType } from '../objects/types.js';
import type { Xattrs } from '../objects/xattrs.js';
import type { Repo } from '../repo/repo.js';
import type { Transaction } from '../repo/transaction.js';
import { PART_PAYLOAD_TYPE, type PartHeader } from './format.js';
import { readVarint } from './varint.js';

/** A delta uses an opcode we do not execute (bsdiff); callers fall back to fetching objects. */
export class UnsupportedDeltaError extends CoreforgeError {
  constructor(message: string) {
    super('EUNSUPPORTED', message);
  }
}

/**
 * Verify and execute one delta part: every object it produces is checked
 * against its name by the transaction before it is staged. Supports
 * open-splice-and-close (what ostree and coreforge emit for new objects) and
 * the open/write/set-read-source/close sequence; bsdiff is refused.
 */
export async function applyDeltaPart(tx: Transaction, repo: Repo, partFile: Uint8Array, header: PartHeader, what: string): Promise<number> {
  const actual = sha256Hex(partFile);
  if (actual !== header.checksum) throw new CorruptionError(`${what}: checksum mismatch (expected ${header.checksum}, got ${actual})`);
  const [comp, data] = deserialize('(yay)', partFile, { what }) as [number, Uint8Array];
  let payload: Uint8Array;
  if (comp === 0) payload = data;
  else if (comp === 0x78) payload = await xzDecompress(data, what);
  else throw new CorruptionError(`${what}: unknown compression type ${comp}`);
  const [modes, xattrs, blob, ops] = deserialize(PART_PAYLOAD_TYPE, payload, { what: `${what} payload` }) as [Array<[number, number, number]>, Xattrs[], Uint8Array, Uint8Array];
  const pos = { p: 0 };
  const slice = (off: number, len: number) => {
    if (off + len > blob.length) throw new CorruptionError(`${what}: data range ${off}+${len} beyond the part's ${blob.length} bytes`);
    return blob.subarray(off, off + len);
  };
  const mkHeader = (mi: number, xi: number, target = '') => {
    const m = modes[mi];
    const x = xattrs[xi];
    if (!m || !x) throw new CorruptionError(`${what}: mode or xattr index out of range`);
    return new FileHeader(bswap32(m[0]), bswap32(m[1]), bswap32(m[2]), x, target);
  };
  let written = 0;
  for (const obj of header.objects) {
    if (pos.p >= ops.length) throw new CorruptionError(`${what}: opcodes end before object ${obj.checksum}`);
    const op = ops[pos.p++]!;
    const v = () => readVarint(ops, pos, what);
    if (op === 0x53) {
      if (obj.type !== ObjectType.File) {
        const len = v();
        const off = v();
        await tx.writeMetadata(obj.type, slice(off, len), obj.checksum);
      } else {
        const mi = v();
        const xi = v();
        const size = v();
        const off = v();
        const bytes = slice(off, size);
        const probe = mkHeader(mi, xi);
        if (probe.isSymlink) await tx.writeContent(mkHeader(mi, xi, Buffer.from(bytes).toString('utf8')), { kind: 'symlink' }, obj.checksum);
        else await tx.writeContent(probe, { kind: 'bytes', data: bytes }, obj.checksum);
      }
      written++;
      continue;
    }
    if (op !== 0x6f) throw new UnsupportedDeltaError(`${what}: opcode '${String.fromCharCode(op)}' at the start of an object is not supported`);
    // 'o' open … 'w' write … 'r'/'R' read source … 'c' close
    const h0 = mkHeader(v(), v());
    const size = v();
    const chunks: Uint8Array[] = [];
    let have = 0;
    let source: Uint8Array | null = null;
    for (;;) {
      if (pos.p >= ops.length) throw new CorruptionError(`${what}: unterminated object`);
      const o2 = ops[pos.p++]!;
      if (o2 === 0x77) {
        const len = v();
        const off = v();
        const from = source ?? blob;
        if (off + len > from.length) throw new CorruptionError(`${what}: write beyond its source`);
        chunks.push(from.subarray(off, off + len));
        have += len;
      } else if (o2 === 0x72) {
        const off = v();
        const csum: Checksum = checksumFromBytes(slice(off, 32));
        const src = await repo.loadContent(csum);
        const parts: Buffer[] = [];
        for await (const c of src.open()) parts.push(c as Buffer);
        source = Buffer.concat(parts);
      } else if (o2 === 0x52) {
        source = null;
      } else if (o2 === 0x63) {
        break;
      } else {
        throw new UnsupportedDeltaError(`${what}: opcode '${String.fromCharCode(o2)}' is not supported`);
      }
    }
    if (have !== size) throw new CorruptionError(`${what}: object ${obj.checksum} has ${have} bytes, expected ${size}`);
    const data = Buffer.concat(chunks as Buffer[]);
    if (h0.isSymlink) await tx.writeContent(new FileHeader(h0.uid, h0.gid, h0.mode, h0.xattrs, data.toString('utf8')), { kind: 'symlink' }, obj.checksum);
    else await tx.writeContent(h0, { kind: 'bytes', data }, obj.checksum);
    written++;
  }
  return written;
}

