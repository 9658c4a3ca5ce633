import type { ByteQueue, NeedInput } from './bytequeue.js';

/**
 * cpio "newc" (070701) headers and rpm's stripped variant (07070X) used when
 * a package has files over 4 GiB: the stripped header carries only the
 * index of the file in the rpm header, everything else comes from there.
 */
export const NEWC_MAGIC = '070701';
export const CRC_MAGIC = '070702';
export const STRIPPED_MAGIC = '07070X';
export const TRAILER = 'TRAILER!!!';
const NEWC_FIELDS = 13;
export const NEWC_HEADER_SIZE = 6 + NEWC_FIELDS * 8;
/** rpm's CPIO_NAMESIZE_MAX */
export const MAX_NAME_SIZE = 4096;

export interface CpioHeader {
  stripped: boolean;
  /** Stripped entries: index into the rpm header's file list. */
  fileIndex: number;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  size: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
}

function hex8(buf: Buffer, at: number): number {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const c = buf[at + i]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * Reads the next header; the caller then consumes `size` bytes of data and
 * calls `reader.align(4)`; yields NEED_INPUT while the queue runs dry. Throws `corrupt(msg)` for malformed headers.
 */
export function* readCpioHeader(r: ByteQueue, corrupt: (msg: string) => Error): Generator<NeedInput, CpioHeader, void> {
  yield* r.align(4);
  const magic = (yield* r.readExact(6)).toString('latin1');
  if (magic === STRIPPED_MAGIC) {
    const fx = hex8(yield* r.readExact(8), 0);
    if (fx < 0) throw corrupt('bad stripped cpio header');
    yield* r.align(4);
    return { stripped: true, fileIndex: fx, ino: 0, mode: 0, uid: 0, gid: 0, nlink: 0, mtime: 0, size: -1, devMajor: 0, devMinor: 0, rdevMajor: 0, rdevMinor: 0, name: '' };
  }
  if (magic !== NEWC_MAGIC && magic !== CRC_MAGIC) throw corrupt(`bad cpio magic ${JSON.stringify(magic)} at payload offset ${r.offset - 6}`);
  const h = yield* r.readExact(NEWC_FIELDS * 8);
  const f: number[] = [];
  for (let i = 0; i < NEWC_FIELDS; i++) {
    const v = hex8(h, i * 8);
    if (v < 0) throw corrupt(`bad cpio header field ${i} at payload offset ${r.offset - NEWC_FIELDS * 8}`);
    f.push(v);
  }
  const namesize = f[11]!;
  if (namesize < 2 || namesize > MAX_NAME_SIZE) throw corrupt(`bad cpio name size ${namesize}`);
  const nb = yield* r.readExact(namesize);
  if (nb[namesize - 1] !== 0 || nb.indexOf(0) !== namesize - 1) throw corrupt('cpio name not NUL-terminated');
  const name = nb.toString('utf8', 0, namesize - 1);
  yield* r.align(4);
  return {
    stripped: false,
    fileIndex: -1,
    ino: f[0]!, mode: f[1]!, uid: f[2]!, gid: f[3]!, nlink: f[4]!, mtime: f[5]!, size: f[6]!,
    devMajor: f[7]!, devMinor: f[8]!, rdevMajor: f[9]!, rdevMinor: f[10]!,
    name,
  };
}

/** Builds a newc entry (used by tests to craft archives). */
export function newcEntry(name: string, mode: number, data: Buffer | string, o: { nlink?: number; ino?: number; mtime?: number } = {}): Buffer {
  const d = typeof data === 'string' ? Buffer.from(data) : data;
  const nameBuf = Buffer.from(name + '\0');
  const fields = [o.ino ?? 1, mode, 0, 0, o.nlink ?? 1, o.mtime ?? 0, d.length, 0, 0, 0, 0, nameBuf.length, 0];
  const hdr = Buffer.from(NEWC_MAGIC + fields.map((v) => v.toString(16).padStart(8, '0')).join(''), 'latin1');
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const head = Buffer.concat([hdr, nameBuf]);
  return Buffer.concat([head, pad(head.length), d, pad(d.length)]);
}

export function newcTrailer(): Buffer {
  return newcEntry(TRAILER, 0, Buffer.alloc(0), { nlink: 1, ino: 0 });
}
