import { createHash } from 'node:crypto';

/**
 * Content-defined chunking with a rolling sum (the bup/rsync idea ostree's
 * delta compiler uses): a chunk ends where the low bits of the rolling
 * checksum of the last WINDOW bytes are all ones, so an insertion shifts
 * only nearby boundaries and unchanged regions of a modified file still
 * produce identical chunks.
 */
const WINDOW = 64;
const CHAR_OFFSET = 31;
const SPLIT_MASK = (1 << 13) - 1; // ~8 KiB average chunks
const MIN_CHUNK = 1024;
const MAX_CHUNK = 64 * 1024;

export interface Chunk {
  offset: number;
  length: number;
}

export function chunkBoundaries(data: Uint8Array): Chunk[] {
  const out: Chunk[] = [];
  let s1 = WINDOW * CHAR_OFFSET;
  let s2 = WINDOW * (WINDOW - 1) * CHAR_OFFSET;
  let start = 0;
  for (let i = 0; i < data.length; i++) {
    const add = data[i]!;
    const drop = i >= WINDOW ? data[i - WINDOW]! : 0;
    s1 = (s1 + add - drop) >>> 0;
    s2 = (s2 + s1 - WINDOW * (drop + CHAR_OFFSET)) >>> 0;
    const digest = ((s1 << 16) | (s2 & 0xffff)) >>> 0;
    const len = i + 1 - start;
    if ((len >= MIN_CHUNK && (digest & SPLIT_MASK) === SPLIT_MASK) || len >= MAX_CHUNK) {
      out.push({ offset: start, length: len });
      start = i + 1;
    }
  }
  if (start < data.length) out.push({ offset: start, length: data.length - start });
  return out;
}

export type Segment = { from: 'source'; offset: number; length: number } | { from: 'new'; offset: number; length: number };

/**
 * Express `next` as runs copied from `prev` and runs of new bytes. Returns
 * null when too little is shared to be worth it.
 */
export function matchChunks(prev: Uint8Array, next: Uint8Array, minShared = 0.25): { segments: Segment[]; shared: number } | null {
  const index = new Map<string, number>();
  for (const c of chunkBoundaries(prev)) {
    const k = createHash('sha256').update(prev.subarray(c.offset, c.offset + c.length)).digest('base64');
    if (!index.has(k)) index.set(k, c.offset);
  }
  const segments: Segment[] = [];
  let shared = 0;
  const push = (s: Segment) => {
    const last = segments[segments.length - 1];
    if (last && last.from === s.from && last.offset + last.length === s.offset && (s.from === 'new' || true)) {
      last.length += s.length;
      return;
    }
    segments.push(s);
  };
  for (const c of chunkBoundaries(next)) {
    const k = createHash('sha256').update(next.subarray(c.offset, c.offset + c.length)).digest('base64');
    const at = index.get(k);
    if (at !== undefined) {
      push({ from: 'source', offset: at, length: c.length });
      shared += c.length;
    } else push({ from: 'new', offset: c.offset, length: c.length });
  }
  if (next.length === 0 || shared / next.length < minShared) return null;
  return { segments, shared };
}
