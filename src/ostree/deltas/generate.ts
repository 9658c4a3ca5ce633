import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { serialize, Variant, type GValue, type VarDict } from '../../gvariant/index.js';
import { writeFileAtomic } from '../../util/fs.js';
import { xzCompress } from '../../util/xz.js';
import { sha256Hex, type Checksum } from '../checksum.js';
import { ObjectType } from '../objects/types.js';
import { bswap32 } from '../objects/endian.js';
import type { Repo } from '../repo/repo.js';
import { traverseCommit } from '../traverse.js';
import { deltaDir, endiannessEntry, PART_PAYLOAD_TYPE, serializeSuperblock, type DeltaObject, type FallbackEntry, type PartHeader } from './format.js';
import { writeVarint } from './varint.js';
import { matchChunks } from './rollsum.js';
import { checksumToBytes } from '../checksum.js';
import type { Readable } from 'node:stream';

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const ch of r) chunks.push(ch as Buffer);
  return Buffer.concat(chunks);
}

/** New content checksum → old content checksum, for regular files whose path exists in both commits. */
async function modifiedFiles(repo: Repo, from: Checksum, to: Checksum): Promise<Map<Checksum, Checksum>> {
  const out = new Map<Checksum, Checksum>();
  const walk = async (a: Checksum, b: Checksum) => {
    if (a === b) return;
    const ta = await repo.loadDirTree(a);
    const tb = await repo.loadDirTree(b);
    for (const f of tb.files) {
      const prev = ta.findFile(f.name);
      if (prev && prev.checksum !== f.checksum && !out.has(f.checksum)) out.set(f.checksum, prev.checksum);
    }
    for (const d of tb.dirs) {
      const prev = ta.findDir(d.name);
      if (prev) await walk(prev.treeChecksum, d.treeChecksum);
    }
  };
  const ca = await repo.loadCommit(from);
  const cb = await repo.loadCommit(to);
  await walk(ca.rootTree, cb.rootTree);
  return out;
}

export interface GenerateOptions {
  from: Checksum | null;
  to: Checksum;
  /** Uncompressed bytes per part (ostree: 32 MB). */
  maxChunkSize?: number;
  /** Content larger than this is left to a loose fetch (ostree: 4 MB; 0 disables). */
  minFallbackSize?: number;
  /** Extra superblock metadata (placed first, as ostree does). */
  metadata?: VarDict;
}

export interface GenerateResult {
  dir: string;
  parts: number;
  fallbacks: number;
  superblockSize: number;
  totalCompressed: number;
}

const OP_OPEN_SPLICE_AND_CLOSE = 0x53; // 'S'

class PartBuilder {
  objects: DeltaObject[] = [];
  modes: Array<[number, number, number]> = [];
  modeIndex = new Map<string, number>();
  xattrs: GValue[] = [];
  xattrIndex = new Map<string, number>();
  payload: Buffer[] = [];
  payloadLen = 0;
  ops: number[] = [];
  uncompressed = 0;

  append(b: Uint8Array): number {
    const off = this.payloadLen;
    this.payload.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    this.payloadLen += b.length;
    return off;
  }

  modeIdx(uid: number, gid: number, mode: number): number {
    const k = `${uid}:${gid}:${mode}`;
    let i = this.modeIndex.get(k);
    if (i === undefined) {
      i = this.modes.length;
      this.modes.push([bswap32(uid), bswap32(gid), bswap32(mode)]);
      this.modeIndex.set(k, i);
    }
    return i;
  }

  xattrIdx(x: Array<[Uint8Array, Uint8Array]>): number {
    const k = Buffer.from(serialize('a(ayay)', x as GValue)).toString('base64');
    let i = this.xattrIndex.get(k);
    if (i === undefined) {
      i = this.xattrs.length;
      this.xattrs.push(x as GValue);
      this.xattrIndex.set(k, i);
    }
    return i;
  }
}

/**
 * Generate a static delta `from` → `to` (or from scratch) the way
 * ostree's low-latency compiler lays it out: every new metadata and content
 * object in xz-compressed parts using open-splice-and-close ops, large files
 * as loose fallbacks, the target commit and its detached metadata inline in
 * the superblock. Parts are written first and the superblock last, so a
 * delta is visible only once complete.
 */
export async function generateDelta(repo: Repo, opts: GenerateOptions): Promise<GenerateResult> {
  const maxChunk = opts.maxChunkSize ?? 32_000_000;
  const minFallback = opts.minFallbackSize ?? 4_000_000;
  const old = new Set<string>();
  if (opts.from) for await (const o of traverseCommit(repo, opts.from)) old.add(`${o.type}:${o.checksum}`);
  // files at the same path in both commits with new content: candidates for reuse of the old bytes
  const previousAt = opts.from ? await modifiedFiles(repo, opts.from, opts.to) : new Map<Checksum, Checksum>();
  const meta: DeltaObject[] = [];
  const content: DeltaObject[] = [];
  for await (const o of traverseCommit(repo, opts.to)) {
    if (o.type === ObjectType.Commit || old.has(`${o.type}:${o.checksum}`)) continue;
    (o.type === ObjectType.File ? content : meta).push(o);
  }

  const dir = deltaDir(opts.from, opts.to);
  const absDir = join(repo.path, dir);
  const unlock = await repo.lock('sh');
  try {
    await fsp.rm(absDir, { recursive: true, force: true });
    await fsp.mkdir(absDir, { recursive: true });
    const parts: PartHeader[] = [];
    const fallbacks: FallbackEntry[] = [];
    let cur = new PartBuilder();
    let totalCompressed = 0;

    const finish = async () => {
      if (cur.objects.length === 0) return;
      const payload = serialize(PART_PAYLOAD_TYPE, [cur.modes as GValue, cur.xattrs, Buffer.concat(cur.payload, cur.payloadLen), new Uint8Array(cur.ops)]);
      const compressed = await xzCompress(payload, `delta part ${parts.length}`);
      const partFile = serialize('(yay)', [0x78, compressed]);
      await writeFileAtomic(join(absDir, String(parts.length)), partFile, { fsync: repo.fsyncEnabled });
      parts.push({ version: 0, checksum: sha256Hex(partFile), compressedSize: partFile.length, uncompressedSize: cur.uncompressed, objects: cur.objects });
      totalCompressed += partFile.length;
      cur = new PartBuilder();
    };

    const room = async (size: number) => {
      if (cur.objects.length > 0 && cur.payloadLen + size > maxChunk) await finish();
    };

    for (const o of meta) {
      const bytes = await repo.readMetadata(o.type, o.checksum);
      await room(bytes.length);
      const off = cur.append(bytes);
      cur.ops.push(OP_OPEN_SPLICE_AND_CLOSE);
      writeVarint(cur.ops, bytes.length);
      writeVarint(cur.ops, off);
      cur.objects.push(o);
      cur.uncompressed += bytes.length;
    }
    // regular files, then symlinks, like ostree
    const loaded = [];
    for (const o of content) {
      const c = await repo.loadContent(o.checksum);
      loaded.push({ o, c });
    }
    loaded.sort((a, b) => Number(a.c.header.isSymlink) - Number(b.c.header.isSymlink));
    for (const { o, c } of loaded) {
      const h = c.header;
      const prevCsum = previousAt.get(o.checksum);
      if (!h.isSymlink && minFallback > 0 && c.size > minFallback && !prevCsum) {
        const st = await fsp.stat(c.path);
        fallbacks.push({ type: ObjectType.File, checksum: o.checksum, compressedSize: repo.isArchive ? st.size : c.size, uncompressedSize: c.size });
        continue;
      }
      let data: Uint8Array;
      if (h.isSymlink) data = Buffer.from(h.symlinkTarget);
      else data = await readAll(c.open());
      if (prevCsum && data.length > 4096) {
        const prev = await readAll((await repo.loadContent(prevCsum)).open());
        const m = matchChunks(prev, data);
        if (m) {
          await room(data.length - m.shared + 32);
          const mi = cur.modeIdx(h.uid, h.gid, h.mode);
          const xi = cur.xattrIdx(h.xattrs);
          const srcOff = cur.append(checksumToBytes(prevCsum));
          cur.ops.push(0x6f); // open
          writeVarint(cur.ops, mi);
          writeVarint(cur.ops, xi);
          writeVarint(cur.ops, data.length);
          let reading = false;
          for (const seg of m.segments) {
            if (seg.from === 'source') {
              if (!reading) {
                cur.ops.push(0x72); // set read source
                writeVarint(cur.ops, srcOff);
                reading = true;
              }
              cur.ops.push(0x77);
              writeVarint(cur.ops, seg.length);
              writeVarint(cur.ops, seg.offset);
            } else {
              if (reading) {
                cur.ops.push(0x52); // unset read source
                reading = false;
              }
              const off = cur.append(data.subarray(seg.offset, seg.offset + seg.length));
              cur.ops.push(0x77);
              writeVarint(cur.ops, seg.length);
              writeVarint(cur.ops, off);
            }
          }
          if (reading) cur.ops.push(0x52);
          cur.ops.push(0x63); // close
          cur.objects.push(o);
          cur.uncompressed += data.length;
          continue;
        }
      }
      if (!h.isSymlink && minFallback > 0 && c.size > minFallback) {
        const st = await fsp.stat(c.path);
        fallbacks.push({ type: ObjectType.File, checksum: o.checksum, compressedSize: repo.isArchive ? st.size : c.size, uncompressedSize: c.size });
        continue;
      }
      await room(data.length);
      const mi = cur.modeIdx(h.uid, h.gid, h.mode);
      const xi = cur.xattrIdx(h.xattrs);
      const off = cur.append(data);
      cur.ops.push(OP_OPEN_SPLICE_AND_CLOSE);
      writeVarint(cur.ops, mi);
      writeVarint(cur.ops, xi);
      writeVarint(cur.ops, data.length);
      writeVarint(cur.ops, off);
      cur.objects.push(o);
      cur.uncompressed += data.length;
    }
    await finish();

    const md: VarDict = [...(opts.metadata ?? []), endiannessEntry()];
    const detached = await repo.loadCommitMeta(opts.to);
    if (detached) md.push([`${dir}/commitmeta`, new Variant('a{sv}', detached as GValue)]);
    const superblock = serializeSuperblock({
      metadata: md,
      timestamp: Math.floor(Date.now() / 1000),
      from: opts.from,
      to: opts.to,
      commit: await repo.readMetadata(ObjectType.Commit, opts.to),
      parts,
      fallbacks,
    });
    await writeFileAtomic(join(absDir, 'superblock'), superblock, { fsync: repo.fsyncEnabled });
    return { dir, parts: parts.length, fallbacks: fallbacks.length, superblockSize: superblock.length, totalCompressed: totalCompressed + superblock.length };
  } finally {
    unlock();
  }
}
