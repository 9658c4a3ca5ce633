import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';

/**
 * A streaming POSIX tar (ustar + pax extended headers) writer: long names,
 * large files, uid/gid beyond ustar's range and xattrs (SCHILY.xattr.*, as
 * GNU tar and libarchive read them) all go into pax records.
 */
export interface TarEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  mode: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  mtime?: number;
  size?: number;
  linkname?: string;
  xattrs?: Array<[string, Uint8Array]>;
}

const BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function header(name: string, e: TarEntry, size: number, typeflag: string, linkname: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(e.mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(Math.min(e.uid ?? 0, 0o7777777), 8), 108, 'ascii');
  h.write(octal(Math.min(e.gid ?? 0, 0o7777777), 8), 116, 'ascii');
  h.write(octal(Math.min(size, 0o77777777777), 12), 124, 'ascii');
  h.write(octal(Math.max(0, Math.min(e.mtime ?? 0, 0o77777777777)), 12), 136, 'ascii');
  h.fill(0x20, 148, 156);
  h.write(typeflag, 156, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write((e.uname ?? '').slice(0, 31), 265, 'utf8');
  h.write((e.gname ?? '').slice(0, 31), 297, 'utf8');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

/**
 * Everything an entry puts before its content: a pax extended header when
 * a name, size, id or xattr needs one, then the ustar header. Content
 * follows, padded to the block size (`padding`).
 */
export function entryHead(e: TarEntry): Buffer {
  const typeflag = { file: '0', dir: '5', symlink: '2', hardlink: '1' }[e.type];
  const size = e.type === 'file' ? e.size ?? 0 : 0;
  let name = e.path;
  if (e.type === 'dir' && !name.endsWith('/')) name += '/';
  const linkname = e.linkname ?? '';
  const pax: Buffer[] = [];
  if (Buffer.byteLength(name) > 100) pax.push(paxRecord('path', Buffer.from(name)));
  if (Buffer.byteLength(linkname) > 100) pax.push(paxRecord('linkpath', Buffer.from(linkname)));
  if (size > 0o77777777777) pax.push(paxRecord('size', Buffer.from(String(size))));
  if ((e.uid ?? 0) > 0o7777777) pax.push(paxRecord('uid', Buffer.from(String(e.uid))));
  if ((e.gid ?? 0) > 0o7777777) pax.push(paxRecord('gid', Buffer.from(String(e.gid))));
  for (const [k, v] of e.xattrs ?? []) pax.push(paxRecord(`SCHILY.xattr.${k}`, Buffer.from(v)));
  const main = header(Buffer.byteLength(name) > 100 ? name.slice(0, 99) : name, e, size, typeflag, linkname.slice(0, 100));
  if (pax.length === 0) return main;
  const body = Buffer.concat(pax);
  return Buffer.concat([header('PaxHeader', { path: 'PaxHeader', type: 'file', mode: 0o644 }, body.length, 'x', ''), body, Buffer.alloc(padding(body.length)), main]);
}

/** Zero bytes after `n` bytes of content, to the next block boundary. */
export function padding(n: number): number {
  const r = n % BLOCK;
  return r ? BLOCK - r : 0;
}

export class TarWriter {
  constructor(private readonly out: Writable) {}

  private async write(b: Buffer): Promise<void> {
    if (!this.out.write(b)) await once(this.out, 'drain');
  }

  async add(e: TarEntry, content?: Readable | Uint8Array): Promise<void> {
    const size = e.type === 'file' ? e.size ?? 0 : 0;
    await this.write(entryHead(e));
    if (e.type !== 'file') return;
    let written = 0;
    if (content instanceof Uint8Array) {
      await this.write(Buffer.from(content));
      written = content.length;
    } else if (content) {
      for await (const chunk of content) {
        await this.write(chunk as Buffer);
        written += (chunk as Buffer).length;
      }
    }
    if (written !== size) throw new Error(`tar entry ${e.path}: wrote ${written} bytes, header says ${size}`);
    await this.pad(size);
  }

  private async pad(n: number): Promise<void> {
    const r = n % BLOCK;
    if (r) await this.write(Buffer.alloc(BLOCK - r));
  }

  /** The end-of-archive marker's size; `finish` writes it. */
  static readonly TRAILER = BLOCK * 2;

  async finish(): Promise<void> {
    await this.write(Buffer.alloc(BLOCK * 2));
  }
}
