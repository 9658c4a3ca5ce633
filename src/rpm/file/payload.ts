import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { ByteQueue, NEED_INPUT, type NeedInput } from './bytequeue.js';
import { readCpioHeader, TRAILER } from './cpio.js';
import { PayloadDecoder, normaliseCompressor } from './decompress.js';
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

/** A payload entry of readPayloadSync: the same, with content read synchronously. */
export interface SyncPayloadEntry extends Omit<PayloadEntry, 'content'> {
  content(): Iterable<Buffer>;
}

type EntryInfo = Omit<PayloadEntry, 'content'>;

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

/** Marks the end of an entry's content in the parser's event stream. */
const ENTRY_END = Symbol('entry end');
type ParserEvent = NeedInput | EntryInfo | Buffer | typeof ENTRY_END;

/** What the drivers need to know about a package before parsing its archive. */
interface PayloadPlan {
  headers: RpmPackageHeaders;
  pkg: string;
  corrupt: (msg: string) => RpmFormatError;
  /** Hash of the compressed bytes to check at their end (PAYLOADDIGEST), or null. */
  payloadDigest: { hash: Hash; want: string; name: string } | null;
  /** Hash of the decompressed archive (PAYLOADDIGESTALT), or null. */
  archiveDigest: { hash: Hash; want: string; name: string } | null;
  /** The entry being read (set by the parser), for messages. */
  current: string;
}

function planPayload(headers: RpmPackageHeaders, opts: OpenPayloadOptions): PayloadPlan {
  const h = headers.header;
  const pkg = h.nevraLabel();
  const corrupt = (msg: string) => new RpmFormatError(pkg, `payload: ${msg}`);
  if (h.payloadFormat !== 'cpio') throw corrupt(`unsupported payload format ${JSON.stringify(h.payloadFormat)}`);
  const pd = h.payloadDigest;
  const pdAlgo = pd ? DigestAlgo[pd.algo] : undefined;
  const usable = pd !== undefined && pdAlgo !== undefined;
  const wantPd = (opts.verifyPayloadDigest ?? true) && usable;
  // PAYLOADDIGESTALT covers the uncompressed archive: checks the decompressor's output too.
  const wantAlt = (opts.verifyUncompressedDigest ?? false) && usable && pd.alt.length > 0;
  return {
    headers,
    pkg,
    corrupt,
    payloadDigest: wantPd ? { hash: createHash(pdAlgo.node), want: pd.digests[0]!, name: pdAlgo.name } : null,
    archiveDigest: wantAlt ? { hash: createHash(pdAlgo.node), want: pd.alt[0]!, name: pdAlgo.name } : null,
    current: '',
  };
}

function checkDigest(plan: PayloadPlan, which: 'payloadDigest' | 'archiveDigest'): void {
  const d = plan[which];
  if (!d) return;
  const got = d.hash.digest('hex');
  if (got === d.want.toLowerCase()) return;
  const what = which === 'payloadDigest' ? 'payload digest' : 'uncompressed payload digest';
  throw new RpmDigestError(plan.pkg, `${what} mismatch (${d.name} ${got}, header says ${d.want})`);
}

/**
 * The archive parser, written once for both drivers: it reads the cpio
 * stream from `q` (yielding NEED_INPUT when the queue is dry) and emits, per
 * entry, its EntryInfo, its content chunks (verified against the header
 * digest after the last one) and ENTRY_END. It enforces:
 * - every entry is in the header's file list (and not a %ghost), once;
 * - no '..' components, no writing through a symlink of the same package;
 * - each regular file's content matches its header digest and size;
 * - the archive is complete (trailer present, every non-ghost file seen).
 */
function* parseArchive(plan: PayloadPlan, opts: OpenPayloadOptions, q: ByteQueue): Generator<ParserEvent, void, void> {
  const { headers, pkg, corrupt } = plan;
  const h = headers.header;
  const files = h.files;
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

  const seen = new Set<number>();
  const seenSymlinks = new Set<string>();
  for (;;) {
    plan.current = '';
    const ch = yield* readCpioHeader(q, corrupt);
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
    plan.current = path;
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
      linkTarget = (yield* q.readExact(dataSize)).toString('utf8');
      if (linkTarget !== file.linkTarget) throw corrupt(`${path}: symlink target ${JSON.stringify(linkTarget)} differs from header ${JSON.stringify(file.linkTarget)}`);
      seenSymlinks.add(path);
      dataSize = 0;
    }

    const verify = verifyFiles && type === 'file' && hasContent && file.digest !== '';
    const want = file.digest.toLowerCase();
    if (verify && dataSize === 0) {
      const empty = createHash(algo!.node).digest('hex');
      if (empty !== want) throw new RpmDigestError(pkg, `${path}: file digest mismatch (empty file, header says ${file.digest})`);
    }
    yield {
      pkg,
      path,
      archivePath: ch.name,
      fileIndex: file.index,
      file,
      type,
      mode: file.mode,
      size: dataSize,
      linkTarget,
      hasContent,
      ...(set ? { hardlinkSet: set } : {}),
    } satisfies EntryInfo;
    if (dataSize > 0) {
      const hash = verify ? createHash(algo!.node) : undefined;
      for (const c of q.take(dataSize)) {
        if (c !== NEED_INPUT) hash?.update(c);
        yield c;
      }
      if (hash) {
        const got = hash.digest('hex');
        if (got !== want) throw new RpmDigestError(pkg, `${path}: file digest mismatch (${algo!.name} ${got}, header says ${file.digest})`);
      }
    }
    yield ENTRY_END;
    yield* q.align(4);
  }
  // Let the compressed-digest check see every byte, then check completeness.
  // The signature header records the archive size; with it we also know
  // exactly how much may follow the trailer (rpm writes nothing there).
  const expected = plan.payloadDigest ? headers.signature.payloadSize : undefined;
  const slack = expected !== undefined ? Math.max(0, expected - q.offset) : 64 * 1024;
  yield* q.drain(slack, () => corrupt(`unexpected data after the archive trailer (more than ${slack} bytes)`));
  if (expected !== undefined && q.offset !== expected) throw corrupt(`archive is ${q.offset} bytes, signature header says ${expected}`);
  for (const f of files) {
    if (!f.attrs.ghost && !seen.has(f.index)) throw corrupt(`${pathOf(f)} is in the header but missing from the archive`);
  }
}

/** ArchiveReader.step() wants the next compressed chunk. */
const NEED_COMPRESSED = Symbol('need compressed input');
type ReaderEvent = EntryInfo | Buffer | typeof ENTRY_END | typeof NEED_COMPRESSED | null;

/**
 * One package's archive being read: the parser over a byte queue, fed
 * lazily by the payload decoder (one decoded chunk at a time, so a bomb
 * never piles up). Drivers call step() and, when it answers NEED_COMPRESSED,
 * feed() the next compressed chunk (null when there is no more); step()
 * answers null at the end.
 */
class ArchiveReader {
  readonly plan: PayloadPlan;
  private readonly q: ByteQueue;
  private readonly events: Generator<ParserEvent, void, void>;
  private decoder: PayloadDecoder | null = null;
  /** Decoded chunks of the last compressed chunk not yet handed to the parser. */
  private pending: Iterator<Buffer> | null = null;
  private eof = false;

  constructor(headers: RpmPackageHeaders, opts: OpenPayloadOptions) {
    const plan = planPayload(headers, opts);
    this.plan = plan;
    this.q = new ByteQueue((off) => plan.corrupt(`truncated archive at uncompressed offset ${off}${plan.current ? ` (in ${plan.current})` : ''}`));
    this.events = parseArchive(plan, opts, this.q);
  }

  step(): ReaderEvent {
    for (;;) {
      const r = this.events.next();
      if (r.done) return null;
      if (r.value !== NEED_INPUT) return r.value;
      if (!this.pumpDecoded()) return NEED_COMPRESSED;
    }
  }

  /** The next compressed chunk (null: there is no more); the payload digest sees it. */
  feed(chunk: Buffer | null): void {
    const { plan } = this;
    const input = chunk ?? Buffer.alloc(0);
    // the first bytes tell the compressor when the header does not
    this.decoder ??= new PayloadDecoder(normaliseCompressor(plan.headers.header.payloadCompressor, input, plan.pkg), plan.pkg);
    if (chunk) plan.payloadDigest?.hash.update(chunk);
    this.pending = this.decoder.decode(input, chunk === null);
    this.eof = chunk === null;
  }

  /** Moves one decoded chunk into the queue (or, after the last, checks the digests and ends it); false when input is needed. */
  private pumpDecoded(): boolean {
    if (!this.pending) return false;
    const r = this.pending.next();
    if (!r.done) {
      this.plan.archiveDigest?.hash.update(r.value);
      this.q.push(r.value);
      return true;
    }
    this.pending = null;
    if (!this.eof) return false;
    checkDigest(this.plan, 'payloadDigest');
    checkDigest(this.plan, 'archiveDigest');
    this.q.end();
    return true;
  }

  staleRead(path: string): RpmFormatError {
    return new RpmFormatError(this.plan.pkg, `${path}: content read after moving to the next payload entry`);
  }
}

type EntryState = { v: 'new' | 'reading' | 'done' | 'stale' };

async function* bufferChunks(b: Buffer): AsyncGenerator<Buffer> {
  const step = 1 << 20;
  for (let i = 0; i < b.length; i += step) yield b.subarray(i, Math.min(b.length, i + step));
}

/**
 * Streams the payload of an RPM (a path, the whole file in memory, or the
 * whole file as a stream) as entries; see parseArchive for what is checked.
 */
export async function* openPayload(input: string | Buffer | AsyncIterable<Buffer>, opts: OpenPayloadOptions = {}): AsyncGenerator<PayloadEntry> {
  let compressed: AsyncIterable<Buffer>;
  let headers: RpmPackageHeaders;
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) {
    // A whole RPM as a sequential stream: headers first, then the payload.
    const s = await readRpmHeadersFromStream(input);
    headers = s.headers;
    compressed = s.payload;
  } else {
    headers = opts.headers ?? (await readRpmHeaders(input));
    compressed = Buffer.isBuffer(input)
      ? bufferChunks(input.subarray(headers.layout.payloadStart))
      : createReadStream(input, { start: headers.layout.payloadStart, highWaterMark: 256 * 1024 });
  }
  const reader = new ArchiveReader(headers, opts);
  const src = compressed[Symbol.asyncIterator]();
  const next = async (): Promise<Exclude<ReaderEvent, typeof NEED_COMPRESSED>> => {
    for (let ev = reader.step(); ; ev = reader.step()) {
      if (ev !== NEED_COMPRESSED) return ev;
      const c = await src.next();
      reader.feed(c.done ? null : c.value);
    }
  };
  try {
    for (let ev = await next(); ev !== null; ev = await next()) {
      const info = ev as EntryInfo;
      const state: EntryState = { v: 'new' };
      const content = async function* (): AsyncGenerator<Buffer> {
        if (state.v === 'stale') throw reader.staleRead(info.path);
        if (state.v !== 'new') return;
        state.v = 'reading';
        for (let c = await next(); c !== ENTRY_END; c = await next()) yield c as Buffer;
        state.v = 'done';
      };
      yield { ...info, content };
      // Unread content is read here (and still verified).
      if (state.v !== 'done') while ((await next()) !== ENTRY_END);
      state.v = 'stale';
    }
  } finally {
    await src.return?.();
  }
}

/** Compressed chunks read from a local file (positional reads, fresh buffers: entries may keep slices). */
function* fileChunks(path: string, start: number): Generator<Buffer, void, void> {
  const CHUNK = 512 * 1024;
  const fd = openSync(path, 'r');
  try {
    for (let pos = start; ; ) {
      const b = Buffer.allocUnsafeSlow(CHUNK);
      const n = readSync(fd, b, 0, CHUNK, pos);
      if (n === 0) return;
      pos += n;
      yield n === CHUNK ? b : b.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The payload of a local RPM read synchronously (for worker threads: no
 * promise per chunk); the same entries and checks as openPayload.
 */
export function* readPayloadSync(rpmPath: string, headers: RpmPackageHeaders, opts: Omit<OpenPayloadOptions, 'headers'> = {}): Generator<SyncPayloadEntry, void, void> {
  const reader = new ArchiveReader(headers, opts);
  const src = fileChunks(rpmPath, headers.layout.payloadStart);
  const next = (): Exclude<ReaderEvent, typeof NEED_COMPRESSED> => {
    for (let ev = reader.step(); ; ev = reader.step()) {
      if (ev !== NEED_COMPRESSED) return ev;
      const c = src.next();
      reader.feed(c.done ? null : c.value);
    }
  };
  try {
    for (let ev = next(); ev !== null; ev = next()) {
      const info = ev as EntryInfo;
      const state: EntryState = { v: 'new' };
      const content = function* (): Generator<Buffer> {
        if (state.v === 'stale') throw reader.staleRead(info.path);
        if (state.v !== 'new') return;
        state.v = 'reading';
        for (let c = next(); c !== ENTRY_END; c = next()) yield c as Buffer;
        state.v = 'done';
      };
      yield { ...info, content };
      if (state.v !== 'done') while (next() !== ENTRY_END);
      state.v = 'stale';
    }
  } finally {
    src.return();
  }
}
