import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { HeaderBlob, HEADER_INTRO, headerSizes } from './blob.js';
import { LEAD_SIZE, parseLead, type RpmLead } from './lead.js';
import { RpmFormatError } from './errors.js';
import { HeaderTag } from './tags.js';
import { RpmHeader, SignatureHeader } from './model.js';
import { NotFoundError, isErrno } from '../../errors.js';

/** Where the pieces of an RPM file sit. */
export interface RpmLayout {
  sigStart: number;
  sigLength: number;
  /** Padding after the signature header (to an 8-byte boundary). */
  sigPadding: number;
  headerStart: number;
  headerLength: number;
  /** First byte of the (compressed) payload. */
  payloadStart: number;
}

/** Lead, signature header and main header of one RPM; the payload is not read. */
export interface RpmPackageHeaders {
  /** Label used in errors: file name, or the NEVRA once parsed. */
  source: string;
  lead: RpmLead;
  signature: SignatureHeader;
  header: RpmHeader;
  layout: RpmLayout;
  /** File path when read from disk; undefined when read from a Buffer. */
  path?: string;
}

export function sigPadding(sigDl: number): number {
  return (8 - (sigDl % 8)) % 8;
}

/** Minimal random-access source so the same parser runs on a Buffer and on a file descriptor. */
interface Source {
  read(pos: number, len: number): Promise<Buffer>;
}

async function parseFrom(src: Source, label: string): Promise<Omit<RpmPackageHeaders, 'path'>> {
  const lead = parseLead(await src.read(0, LEAD_SIZE), label);
  const sigStart = LEAD_SIZE;
  const sigIntro = await src.read(sigStart, HEADER_INTRO);
  const sigSizes = headerSizes(sigIntro, label, 'signature header');
  // rpm caps the signature header far below the generic limit; a huge one is corruption, not data.
  if (sigSizes.total > 64 * 1024 * 1024) throw new RpmFormatError(label, 'signature header: too large');
  const sigBytes = await src.read(sigStart, sigSizes.total);
  const signature = new SignatureHeader(HeaderBlob.parse(sigBytes, label, 'signature header', HeaderTag.HEADERSIGNATURES));
  const pad = sigPadding(sigSizes.dl);
  const headerStart = sigStart + sigSizes.total + pad;
  const hIntro = await src.read(headerStart, HEADER_INTRO);
  const hSizes = headerSizes(hIntro, label, 'header');
  const hBytes = await src.read(headerStart, hSizes.total);
  const blob = HeaderBlob.parse(hBytes, label, 'header', HeaderTag.HEADERIMMUTABLE);
  const header = new RpmHeader(blob, label);
  return {
    source: header.nevraLabel(),
    lead,
    signature,
    header,
    layout: {
      sigStart,
      sigLength: sigSizes.total,
      sigPadding: pad,
      headerStart,
      headerLength: hSizes.total,
      payloadStart: headerStart + hSizes.total,
    },
  };
}

/**
 * Reads lead, signature header and main header. With a path only the header
 * bytes are read (positional reads), never the payload.
 */
export async function readRpmHeaders(input: string | Buffer, opts: { label?: string } = {}): Promise<RpmPackageHeaders> {
  if (Buffer.isBuffer(input)) {
    const buf = input;
    const label = opts.label ?? '<buffer>';
    return parseFrom({
      read: async (pos, len) => {
        if (pos + len > buf.length) {
          const got = Math.max(0, buf.length - pos);
          throw new RpmFormatError(label, `truncated at offset ${pos} (need ${len} bytes, have ${got})`);
        }
        return buf.subarray(pos, pos + len);
      },
    }, label);
  }
  const label = opts.label ?? basename(input);
  let fh;
  try {
    fh = await open(input, 'r');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw new NotFoundError(`${input}: no such RPM file`);
    throw e;
  }
  try {
    const fileSize = (await fh.stat()).size;
    const r = await parseFrom({
      read: async (pos, len) => {
        if (pos + len > fileSize) throw new RpmFormatError(label, `truncated at offset ${Math.min(pos, fileSize)} (need ${len} bytes at ${pos}, file has ${fileSize})`);
        const b = Buffer.allocUnsafe(len);
        let got = 0;
        while (got < len) {
          const { bytesRead } = await fh.read(b, got, len - got, pos + got);
          if (bytesRead === 0) throw new RpmFormatError(label, `truncated at offset ${pos + got} (need ${len - got} more bytes)`);
          got += bytesRead;
        }
        return b;
      },
    }, label);
    return { ...r, path: input };
  } finally {
    await fh.close();
  }
}

/** Convenience: just the main header model. */
export async function readRpmHeader(input: string | Buffer, opts: { label?: string } = {}): Promise<RpmHeader> {
  return (await readRpmHeaders(input, opts)).header;
}

/** Headers read from a sequential stream, plus the stream positioned at the payload. */
export interface RpmStreamHeaders {
  headers: RpmPackageHeaders;
  /** The rest of the stream: the compressed payload, starting at layout.payloadStart. */
  payload: AsyncIterable<Buffer>;
}

/**
 * Reads lead and headers from a sequential byte stream (an HTTP body, a pipe)
 * of a whole RPM file; only the header bytes are buffered. The returned
 * `payload` iterable continues where the headers end and must be consumed
 * once.
 */
export async function readRpmHeadersFromStream(src: AsyncIterable<Buffer>, opts: { label?: string } = {}): Promise<RpmStreamHeaders> {
  const label = opts.label ?? '<stream>';
  const it = src[Symbol.asyncIterator]();
  let buf: Buffer = Buffer.alloc(0);
  // Chunks are collected and joined once per read request (a handful per
  // package), not per chunk: small network chunks would otherwise make this quadratic.
  const pending: Buffer[] = [];
  let have = 0;
  let ended = false;
  const r = await parseFrom({
    read: async (pos, len) => {
      while (have < pos + len) {
        if (ended) throw new RpmFormatError(label, `truncated at offset ${have} (need ${pos + len - have} more bytes)`);
        const n = await it.next();
        if (n.done) { ended = true; continue; }
        pending.push(n.value);
        have += n.value.length;
      }
      if (pending.length) {
        buf = Buffer.concat([buf, ...pending]);
        pending.length = 0;
      }
      return buf.subarray(pos, pos + len);
    },
  }, label);
  const leftover = buf.subarray(r.layout.payloadStart);
  async function* payload(): AsyncGenerator<Buffer> {
    if (leftover.length) yield leftover;
    if (ended) return;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  }
  return { headers: r, payload: payload() };
}
