import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ByteReader } from './bytereader.js';
import { readCpioHeader, TRAILER } from './cpio.js';
import { decompress, normaliseCompressor } from './decompress.js';
import { RpmDigestError, RpmFormatError, RpmUnsafePathError } from './errors.js';
import { fileTypeOfMode, type FileType, type RpmFileInfo } from './model.js';
import { readRpmHeaders, readRpmHeadersFromStream, type RpmPackageHeaders } from './reader.js';
import { DigestAlgo } from './tags.js';

/** One payload entry, matched to its rpm header file entry. */
export interface PayloadEntry {
  /** Package label (NEVRA) for messages. */
  pkg: string;
  /** Absolute, normalised install path ("/usr/bin/foo"). */
  path: string;
  /** Name as stored in the archive ("./usr/bin/foo"); '' for stripped entries. */
  archivePath: string;
  /** Index in the header's file list. */
  fileIndex: number;
  /** Header metadata for this file (owner names, flags, caps, digest, …). */
  file: RpmFileInfo;
  type: FileType;
  /** Mode from the header (authoritative; rpm ignores cpio's mode bits beyond sanity checks). */
  mode: number;
  /** Bytes of content this entry carries (0 for hardlinks without content, dirs, …). */
  size: number;
  linkTarget: string;
  /** Hardlink set (header file indexes) when this is a member of one. */
  hardlinkSet?: number[];
  /** For hardlink members: true if this entry carries the set's content. */
  hasContent: boolean;
  /**
   * File content (regular files only; empty otherwise). The digest is checked
   * as the last chunk is read; a mismatch throws RpmDigestError from the
   * iterator. Must be consumed before asking for the next entry, or it is
   * drained (and still verified) automatically.
   */
  content(): AsyncIterable<Buffer>;
}

export interface OpenPayloadOptions {
  /** Check each regular file's digest against the header (default true). */
  verifyFileDigests?: boolean;
  /** Check PAYLOADDIGEST (compressed bytes) while streaming, when the header has it (default true). */
  verifyPayloadDigest?: boolean;
  /**
   * Also check PAYLOADDIGESTALT (the uncompressed archive). Off by default:
   * with the compressed digest verified it only guards against a faulty
   * decompressor, and costs one more hash pass over the whole archive.
   */
  verifyUncompressedDigest?: boolean;
  /** Pre-read headers (avoids re-reading them). */
  headers?: RpmPackageHeaders;
}

/** Validates a header path: absolute, no empty, '.' or '..' components. */
function checkHeaderPath(pkg: string, p: string): void {
  if (!p.startsWith('/') || p.includes('\0')) throw new RpmUnsafePathError(pkg, p, 'header file path is not absolute');
  if (p === '/') return;
  for (const c of p.slice(1).split('/')) {
    if (c === '..') throw new RpmUnsafePathError(pkg, p, "header file path contains '..'");
    if (c === '' || c === '.') throw new RpmUnsafePathError(pkg, p, 'header file path is not normalised');
  }
}

/** Normalises an archive name ("./a/b", "/a/b", "a/b") to "/a/b", refusing escapes. */
export function normaliseArchivePath(pkg: string, name: string): string {
  let n = name;
  if (n.startsWith('./')) n = n.slice(1);
  else if (!n.startsWith('/')) n = '/' + n;
  const parts: string[] = [];
  for (const c of n.split('/')) {
    if (c === '..') throw new RpmUnsafePathError(pkg, name, "path contains a '..' component");
    if (c === '' || c === '.') continue;
    parts.push(c);
  }
  if (name.includes('\0')) throw new RpmUnsafePathError(pkg, name, 'path contains NUL');
  return '/' + parts.join('/');
}

function ancestors(p: string): string[] {
  const out: string[] = [];
  let i = p.indexOf('/', 1);
  while (i > 0) {
    out.push(p.slice(0, i));
    i = p.indexOf('/', i + 1);
  }
  return out;
}

async function* tapDigest(src: AsyncIterable<Buffer>, hash: Hash | undefined, expected: string | undefined, onMismatch: (got: string) => Error): AsyncGenerator<Buffer> {
  for await (const c of src) {
    hash?.update(c);
    yield c;
  }
  if (hash && expected !== undefined) {
    const got = hash.digest('hex');
    if (got !== expected.toLowerCase()) throw onMismatch(got);
  }
}

async function* bufferChunks(b: Buffer): AsyncGenerator<Buffer> {
  const step = 1 << 20;
  for (let i = 0; i < b.length; i += step) yield b.subarray(i, Math.min(b.length, i + step));
}

/**
 * Streams the payload of an RPM as entries, enforcing:
 * - every entry is in the header's file list (and not a %ghost), once;
 * - no '..' components, no writing through a symlink of the same package;
 * - each regular file's content matches its header digest and size;
 * - the archive is complete (trailer present, every non-ghost file seen).
 */
export async function* openPayload(input: string | Buffer | AsyncIterable<Buffer>, opts: OpenPayloadOptions = {}): AsyncGenerator<PayloadEntry> {
  let streamed: AsyncIterable<Buffer> | undefined;
  let headers: RpmPackageHeaders;
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) {
    // A whole RPM as a sequential stream: headers first, then the payload.
    const s = await readRpmHeadersFromStream(input);
    headers = s.headers;
    streamed = s.payload;
  } else {
    headers = opts.headers ?? (await readRpmHeaders(input));
  }
  const h = headers.header;
  const pkg = h.nevraLabel();
  const files = h.files;
  const corrupt = (msg: string) => new RpmFormatError(pkg, `payload: ${msg}`);
  if (h.payloadFormat !== 'cpio') throw corrupt(`unsupported payload format ${JSON.stringify(h.payloadFormat)}`);

  const byPath = new Map<string, RpmFileInfo>();
  const symlinks = new Set<string>();
  // Source packages list bare names ("foo.spec"); treat them as relative to the root.
  const pathOf = (f: RpmFileInfo) => (h.isSource && !f.path.startsWith('/') ? `/${f.path}` : f.path);
  for (const f of files) {
    const p = pathOf(f);
    checkHeaderPath(pkg, p);
    byPath.set(p, f);
    if (f.type === 'symlink') symlinks.add(p);
  }
  const setOf = new Map<number, number[]>();
  for (const s of h.hardlinkSets) for (const i of s) setOf.set(i, s);
  const seenInSet = new Map<number[], number>();

  const algoId = h.fileDigestAlgo;
  const algo = DigestAlgo[algoId];
  const verifyFiles = opts.verifyFileDigests ?? true;
  if (verifyFiles && !algo) throw corrupt(`unsupported file digest algorithm ${algoId}`);

  // Compressed byte source.
  let compressed: AsyncIterable<Buffer>;
  if (streamed) {
    compressed = streamed;
  } else if (Buffer.isBuffer(input)) {
    compressed = bufferChunks(input.subarray(headers.layout.payloadStart));
  } else if (typeof input === 'string') {
    compressed = createReadStream(input, { start: headers.layout.payloadStart, highWaterMark: 256 * 1024 });
  } else {
    throw new Error('unreachable');
  }
  const pd = h.payloadDigest;
  const pdAlgo = pd ? DigestAlgo[pd.algo] : undefined;
  const wantPd = (opts.verifyPayloadDigest ?? true) && pd !== undefined && pdAlgo !== undefined;
  compressed = tapDigest(compressed, wantPd ? createHash(pdAlgo!.node) : undefined, wantPd ? pd!.digests[0] : undefined,
    (got) => new RpmDigestError(pkg, `payload digest mismatch (${pdAlgo!.name} ${got}, header says ${pd!.digests[0]})`));

  // Sniff the first bytes only when the compressor tag is absent.
  let first: Buffer = Buffer.alloc(0);
  const it = compressed[Symbol.asyncIterator]();
  const firstRes = await it.next();
  if (!firstRes.done) first = firstRes.value;
  const compressor = normaliseCompressor(h.payloadCompressor, first, pkg);
  async function* rejoin(): AsyncGenerator<Buffer> {
    if (first.length) yield first;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  // PAYLOADDIGESTALT covers the uncompressed archive: checks the decompressor's output too.
  const wantAlt = (opts.verifyUncompressedDigest ?? false) && pd !== undefined && pdAlgo !== undefined && pd.alt.length > 0;
  const plain = tapDigest(decompress(rejoin(), compressor, pkg), wantAlt ? createHash(pdAlgo!.node) : undefined, wantAlt ? pd!.alt[0] : undefined,
    (got) => new RpmDigestError(pkg, `uncompressed payload digest mismatch (${pdAlgo!.name} ${got}, header says ${pd!.alt[0]})`));
  let current = '';
  const reader = new ByteReader(plain, (off) => corrupt(`truncated archive at uncompressed offset ${off}${current ? ` (in ${current})` : ''}`));
  const seen = new Set<number>();
  const seenSymlinks = new Set<string>();

  try {
    for (;;) {
      current = '';
      const ch = await readCpioHeader(reader, corrupt);
      let file: RpmFileInfo | undefined;
      let path: string;
      if (ch.stripped) {
        file = files[ch.fileIndex];
        if (!file) throw corrupt(`stripped entry refers to file index ${ch.fileIndex}, header has ${files.length} files`);
        path = pathOf(file);
      } else {
        if (ch.name === TRAILER) break;
        path = normaliseArchivePath(pkg, ch.name);
        for (const a of ancestors(path)) {
          if (symlinks.has(a) || seenSymlinks.has(a)) throw new RpmUnsafePathError(pkg, path, `would be written through symlink ${a}`);
        }
        file = byPath.get(path);
        if (!file) throw new RpmUnsafePathError(pkg, path, 'payload entry is not in the header file list');
      }
      current = path;
      if (file.attrs.ghost) throw new RpmUnsafePathError(pkg, path, 'payload contains a %ghost file');
      if (seen.has(file.index)) throw new RpmUnsafePathError(pkg, path, 'payload contains the file twice');
      seen.add(file.index);
      for (const a of ancestors(path)) {
        if (symlinks.has(a) || seenSymlinks.has(a)) throw new RpmUnsafePathError(pkg, path, `would be written through symlink ${a}`);
      }
      const type = fileTypeOfMode(file.mode);
      if (!ch.stripped && fileTypeOfMode(ch.mode) !== type) throw corrupt(`${path}: archive file type differs from header`);
      const set = setOf.get(file.index);
      // Archive data size: newc gives it; stripped entries use the header size,
      // except hardlink members that do not carry the content.
      let dataSize = ch.size;
      let hasContent = true;
      if (set) {
        const n = (seenInSet.get(set) ?? 0) + 1;
        seenInSet.set(set, n);
        if (ch.stripped) hasContent = n === set.length;
        else hasContent = ch.size > 0 || n === set.length;
        if (ch.stripped) dataSize = hasContent ? file.size : 0;
      } else if (ch.stripped) {
        dataSize = type === 'file' || type === 'symlink' ? file.size : 0;
      }
      if (type === 'file' && hasContent && dataSize !== file.size) throw corrupt(`${path}: archive size ${dataSize} differs from header size ${file.size}`);
      if (type !== 'file' && type !== 'symlink' && dataSize !== 0) throw corrupt(`${path}: ${type} carries ${dataSize} bytes of data`);
      if (type === 'file' && !hasContent && dataSize !== 0) throw corrupt(`${path}: hardlink carries data but is not the set's content holder`);

      let linkTarget = '';
      if (type === 'symlink') {
        if (dataSize > 4096) throw corrupt(`${path}: symlink target too long`);
        linkTarget = (await reader.readExact(dataSize)).toString('utf8');
        if (linkTarget !== file.linkTarget) throw corrupt(`${path}: symlink target ${JSON.stringify(linkTarget)} differs from header ${JSON.stringify(file.linkTarget)}`);
        seenSymlinks.add(path);
        dataSize = 0;
      }

      let consumed = dataSize === 0;
      let stale = false;
      const f = file;
      const size = dataSize;
      let left = size;
      const verify = verifyFiles && type === 'file' && hasContent && f.digest !== '';
      const want = f.digest.toLowerCase();
      async function* content(): AsyncGenerator<Buffer> {
        if (stale) throw new RpmFormatError(pkg, `${path}: content read after moving to the next payload entry`);
        if (consumed) return;
        consumed = true;
        const hash = verify ? createHash(algo!.node) : undefined;
        for await (const c of reader.take(size)) {
          left -= c.length;
          hash?.update(c);
          yield c;
        }
        if (hash) {
          const got = hash.digest('hex');
          if (got !== want) throw new RpmDigestError(pkg, `${path}: file digest mismatch (${algo!.name} ${got}, header says ${f.digest})`);
        }
      }
      if (verify && size === 0) {
        const empty = createHash(algo!.node).digest('hex');
        if (empty !== want) throw new RpmDigestError(pkg, `${path}: file digest mismatch (empty file, header says ${f.digest})`);
      }
      const entry: PayloadEntry = {
        pkg,
        path,
        archivePath: ch.name,
        fileIndex: f.index,
        file: f,
        type,
        mode: f.mode,
        size,
        linkTarget,
        hasContent,
        content,
        ...(set ? { hardlinkSet: set } : {}),
      };
      yield entry;
      // Unread content is read here (and still verified); a partly read one is skipped.
      if (!consumed) for await (const _ of content()) void _;
      else if (left > 0) await reader.skip(left);
      stale = true;
      await reader.align(4);
    }
    // Let the compressed-digest tap see every byte, then check completeness.
    // The signature header records the archive size; with it we also know
    // exactly how much may follow the trailer (rpm writes nothing there).
    const expected = wantPd ? headers.signature.payloadSize : undefined;
    const slack = expected !== undefined ? Math.max(0, expected - reader.offset) : 64 * 1024;
    await reader.drain(slack, () => corrupt(`unexpected data after the archive trailer (more than ${slack} bytes)`));
    if (expected !== undefined && reader.offset !== expected) throw corrupt(`archive is ${reader.offset} bytes, signature header says ${expected}`);
    for (const f of files) {
      if (!f.attrs.ghost && !seen.has(f.index)) throw corrupt(`${pathOf(f)} is in the header but missing from the archive`);
    }
  } finally {
    await reader.close();
  }
}
