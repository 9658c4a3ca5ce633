/** Test helper: assembles header blobs byte by byte, as rpm lays them out. */
import { HEADER_MAGIC } from './blob.js';
import { HeaderTag, TagType } from './tags.js';

export interface E { tag: number; type: number; data: Buffer; count: number; offset?: number }

export const str = (s: string) => Buffer.from(s + '\0');
export const u32 = (...v: number[]) => { const b = Buffer.alloc(4 * v.length); v.forEach((x, i) => b.writeUInt32BE(x, 4 * i)); return b; };

/**
 * Assembles a header the way rpm lays it out: region tag first, data in
 * entry order with type alignment, region trailer at the end of the store.
 * `mutate` can patch the raw bytes afterwards.
 */
export function buildHeader(entries: E[], o: { region?: number; trailerTag?: number; trailerOffset?: number } = {}): Buffer {
  const region = o.region ?? HeaderTag.HEADERIMMUTABLE;
  const all = [{ tag: region, type: TagType.BIN, data: Buffer.alloc(0), count: 16 }, ...entries];
  let store = Buffer.alloc(0);
  const offsets: number[] = [0];
  for (const e of entries) {
    const align = e.type === TagType.INT16 ? 2 : e.type === TagType.INT32 ? 4 : e.type === TagType.INT64 ? 8 : 1;
    const pad = (align - (store.length % align)) % align;
    store = Buffer.concat([store, Buffer.alloc(pad)]);
    offsets.push(e.offset ?? store.length);
    store = Buffer.concat([store, e.data]);
  }
  const trailerAt = store.length;
  offsets[0] = trailerAt;
  const trailer = Buffer.alloc(16);
  trailer.writeUInt32BE(o.trailerTag ?? region, 0);
  trailer.writeUInt32BE(TagType.BIN, 4);
  trailer.writeInt32BE(o.trailerOffset ?? -(all.length * 16), 8);
  trailer.writeUInt32BE(16, 12);
  store = Buffer.concat([store, trailer]);
  const index = Buffer.concat(all.map((e, i) => u32(e.tag, e.type, offsets[i]! >>> 0, e.count)));
  return Buffer.concat([HEADER_MAGIC, u32(all.length, store.length), index, store]);
}

