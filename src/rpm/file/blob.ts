import { HeaderTag, TagType, type TagTypeValue } from './tags.js';
import { RpmFormatError } from './errors.js';

/** Magic that starts both the signature header and the main header. */
export const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0]);
/** Bytes before the index: magic(8) + il(4) + dl(4). */
export const HEADER_INTRO = 16;
const ENTRY_SIZE = 16;
/** rpm's hdrchkTags / hdrchkData limits (header.c). */
export const MAX_INDEX_ENTRIES = 0xffff;
export const MAX_DATA_LENGTH = 0x0fffffff;
const REGION_TAG_COUNT = 16;

export interface IndexEntry {
  tag: number;
  type: TagTypeValue;
  offset: number;
  count: number;
  /** Byte length of the entry's data in the store (computed, bounds checked). */
  length: number;
}

const TYPE_ALIGN: Record<number, number> = { 3: 2, 4: 4, 5: 8 };
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1 };

/** Sizes of a header blob as declared by its intro; used when streaming. */
export function headerSizes(intro: Buffer, pkg: string, what: string): { il: number; dl: number; total: number } {
  if (intro.length < HEADER_INTRO) throw new RpmFormatError(pkg, `${what}: truncated (need ${HEADER_INTRO} bytes, got ${intro.length})`);
  if (!intro.subarray(0, 8).equals(HEADER_MAGIC)) throw new RpmFormatError(pkg, `${what}: bad magic`);
  const il = intro.readUInt32BE(8);
  const dl = intro.readUInt32BE(12);
  if (il < 1 || il > MAX_INDEX_ENTRIES) throw new RpmFormatError(pkg, `${what}: index entry count ${il} out of range`);
  if (dl > MAX_DATA_LENGTH) throw new RpmFormatError(pkg, `${what}: data length ${dl} out of range`);
  return { il, dl, total: HEADER_INTRO + il * ENTRY_SIZE + dl };
}

/**
 * One header structure (signature header or main header) parsed from its
 * on-disk bytes: the index entries and the data store, fully bounds-checked
 * up front so that the typed accessors never read outside the blob.
 */
export class HeaderBlob {
  readonly bytes: Buffer;
  readonly entries: ReadonlyMap<number, IndexEntry>;
  readonly il: number;
  readonly dl: number;
  /** The region tag (62 or 63) or undefined for legacy headers without a region. */
  readonly regionTag: number | undefined;
  private readonly store: Buffer;

  private constructor(bytes: Buffer, il: number, dl: number, entries: Map<number, IndexEntry>, regionTag: number | undefined) {
    this.bytes = bytes;
    this.il = il;
    this.dl = dl;
    this.entries = entries;
    this.regionTag = regionTag;
    this.store = bytes.subarray(HEADER_INTRO + il * ENTRY_SIZE);
  }

  /**
   * Parses exactly one header from `bytes` (which must start at the magic and
   * may extend past the header). `expectRegion` is the region tag rpm writes
   * for this kind of header.
   */
  static parse(bytes: Buffer, pkg: string, what: string, expectRegion: number): HeaderBlob {
    const { il, dl, total } = headerSizes(bytes, pkg, what);
    if (bytes.length < total) throw new RpmFormatError(pkg, `${what}: truncated (declares ${total} bytes, have ${bytes.length})`);
    const blob = bytes.subarray(0, total);
    const storeStart = HEADER_INTRO + il * ENTRY_SIZE;
    const store = blob.subarray(storeStart);
    const entries = new Map<number, IndexEntry>();
    const raw: IndexEntry[] = [];
    for (let i = 0; i < il; i++) {
      const p = HEADER_INTRO + i * ENTRY_SIZE;
      const tag = blob.readUInt32BE(p);
      const type = blob.readUInt32BE(p + 4);
      const offset = blob.readInt32BE(p + 8);
      const count = blob.readUInt32BE(p + 12);
      const where = `${what}: index entry ${i} (tag ${tag})`;
      if (type < TagType.CHAR || type > TagType.I18NSTRING) throw new RpmFormatError(pkg, `${where}: invalid type ${type}`);
      if (count === 0 || count > dl) throw new RpmFormatError(pkg, `${where}: invalid count ${count}`);
      if (offset < 0 || offset >= dl) throw new RpmFormatError(pkg, `${where}: offset ${offset} outside data store of ${dl} bytes`);
      if (type === TagType.STRING && count !== 1) throw new RpmFormatError(pkg, `${where}: string with count ${count}`);
      const align = TYPE_ALIGN[type] ?? 1;
      if (offset % align !== 0) throw new RpmFormatError(pkg, `${where}: offset ${offset} misaligned for type ${type}`);
      const length = dataLength(store, type as TagTypeValue, offset, count);
      if (length < 0) throw new RpmFormatError(pkg, `${where}: data runs past the end of the store`);
      const e: IndexEntry = { tag, type: type as TagTypeValue, offset, count, length };
      raw.push(e);
    }
    let regionTag: number | undefined;
    const first = raw[0]!;
    let regionEntries = il;
    if (first.tag === HeaderTag.HEADERIMAGE || first.tag === HeaderTag.HEADERSIGNATURES || first.tag === HeaderTag.HEADERIMMUTABLE) {
      regionTag = first.tag;
      if (first.tag !== expectRegion && !(expectRegion === HeaderTag.HEADERSIGNATURES && first.tag === HeaderTag.HEADERIMAGE)) {
        throw new RpmFormatError(pkg, `${what}: region tag ${first.tag}, expected ${expectRegion}`);
      }
      if (first.type !== TagType.BIN || first.count !== REGION_TAG_COUNT) throw new RpmFormatError(pkg, `${what}: malformed region tag entry`);
      if (first.offset + REGION_TAG_COUNT > dl) throw new RpmFormatError(pkg, `${what}: region trailer outside data store`);
      const t = store.subarray(first.offset, first.offset + REGION_TAG_COUNT);
      let ttag = t.readUInt32BE(0);
      if (ttag === HeaderTag.HEADERIMAGE && first.tag === HeaderTag.HEADERSIGNATURES) ttag = HeaderTag.HEADERSIGNATURES;
      const ttype = t.readUInt32BE(4);
      const toff = -t.readInt32BE(8);
      const tcount = t.readUInt32BE(12);
      if (ttag !== first.tag || ttype !== TagType.BIN || tcount !== REGION_TAG_COUNT) throw new RpmFormatError(pkg, `${what}: bad region trailer`);
      if (toff <= 0 || toff % ENTRY_SIZE !== 0) throw new RpmFormatError(pkg, `${what}: bad region trailer offset`);
      regionEntries = toff / ENTRY_SIZE;
      if (regionEntries > il) throw new RpmFormatError(pkg, `${what}: region claims ${regionEntries} entries, header has ${il}`);
      // rpm lays the trailer out after all data of the region; data running
      // into it means a lying count or an unterminated string.
      for (let i = 1; i < regionEntries; i++) {
        const e = raw[i]!;
        if (e.offset + e.length > first.offset) throw new RpmFormatError(pkg, `${what}: tag ${e.tag} data overlaps the region trailer`);
      }
    } else if (expectRegion === HeaderTag.HEADERIMMUTABLE) {
      // rpm >= 4.? refuses main headers without an immutable region; so do we,
      // since every signature and digest is computed over that region.
      throw new RpmFormatError(pkg, `${what}: no immutable region`);
    }
    for (let i = regionTag === undefined ? 0 : 1; i < raw.length; i++) {
      const e = raw[i]!;
      if (entries.has(e.tag)) throw new RpmFormatError(pkg, `${what}: duplicate tag ${e.tag}`);
      entries.set(e.tag, e);
    }
    return new HeaderBlob(blob, il, dl, entries, regionTag);
  }

  has(tag: number): boolean {
    return this.entries.has(tag);
  }

  entry(tag: number): IndexEntry | undefined {
    return this.entries.get(tag);
  }

  /** Raw data bytes of a tag. */
  raw(tag: number): Buffer | undefined {
    const e = this.entries.get(tag);
    return e && this.store.subarray(e.offset, e.offset + e.length);
  }

  /** Numbers of an integer-typed tag (INT8..INT64, CHAR); INT64 as number (exact up to 2^53). */
  numbers(tag: number): number[] | undefined {
    const e = this.entries.get(tag);
    if (!e) return undefined;
    const out: number[] = new Array(e.count);
    const s = this.store;
    switch (e.type) {
      case TagType.CHAR:
      case TagType.INT8:
        for (let i = 0; i < e.count; i++) out[i] = s[e.offset + i]!;
        return out;
      case TagType.INT16:
        for (let i = 0; i < e.count; i++) out[i] = s.readUInt16BE(e.offset + 2 * i);
        return out;
      case TagType.INT32:
        for (let i = 0; i < e.count; i++) out[i] = s.readUInt32BE(e.offset + 4 * i);
        return out;
      case TagType.INT64:
        for (let i = 0; i < e.count; i++) out[i] = Number(s.readBigUInt64BE(e.offset + 8 * i));
        return out;
      default:
        return undefined;
    }
  }

  /** Strings of a string-typed tag (STRING gives one, arrays give `count`). */
  strings(tag: number): string[] | undefined {
    const e = this.entries.get(tag);
    if (!e) return undefined;
    if (e.type !== TagType.STRING && e.type !== TagType.STRING_ARRAY && e.type !== TagType.I18NSTRING) return undefined;
    const out: string[] = [];
    let p = e.offset;
    const n = e.type === TagType.STRING ? 1 : e.count;
    for (let i = 0; i < n; i++) {
      const z = this.store.indexOf(0, p);
      out.push(this.store.toString('utf8', p, z));
      p = z + 1;
    }
    return out;
  }

  string(tag: number): string | undefined {
    return this.strings(tag)?.[0];
  }

  number(tag: number): number | undefined {
    return this.numbers(tag)?.[0];
  }
}

/** Bytes used by `count` items of `type` at `offset`, or -1 if past the end. */
function dataLength(store: Buffer, type: TagTypeValue, offset: number, count: number): number {
  if (type === TagType.STRING || type === TagType.STRING_ARRAY || type === TagType.I18NSTRING) {
    const n = type === TagType.STRING ? 1 : count;
    let p = offset;
    for (let i = 0; i < n; i++) {
      const z = store.indexOf(0, p);
      if (z < 0) return -1;
      p = z + 1;
    }
    return p - offset;
  }
  const size = TYPE_SIZE[type]!;
  const len = size * count;
  return offset + len > store.length ? -1 : len;
}
