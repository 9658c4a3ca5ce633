import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderBlob } from './blob.js';
import { HeaderTag, Tag, TagType } from './tags.js';
import { RpmFormatError } from './errors.js';
import { buildHeader, str, u32, type E } from './headerbuilder.test-helper.js';

const good: E[] = [
  { tag: Tag.NAME, type: TagType.STRING, data: str('pkg'), count: 1 },
  { tag: Tag.FILEMODES, type: TagType.INT16, data: Buffer.from([0x81, 0xa4, 0x41, 0xed]), count: 2 },
  { tag: Tag.FILESIZES, type: TagType.INT32, data: u32(5, 4096), count: 2 },
  { tag: Tag.LONGFILESIZES, type: TagType.INT64, data: Buffer.from('0000000100000001' + '0000000000000002', 'hex'), count: 2 },
  { tag: Tag.BASENAMES, type: TagType.STRING_ARRAY, data: Buffer.concat([str('a'), str('b')]), count: 2 },
];

const parse = (b: Buffer) => HeaderBlob.parse(b, 'test.rpm', 'header', HeaderTag.HEADERIMMUTABLE);
const rejects = (b: Buffer, re: RegExp) => assert.throws(() => parse(b), (e: unknown) => e instanceof RpmFormatError && re.test(e.message) && e.message.startsWith('test.rpm: header'));

describe('header blob bounds checks', () => {
  it('parses all types with alignment', () => {
    const h = parse(buildHeader(good));
    assert.equal(h.string(Tag.NAME), 'pkg');
    assert.deepEqual(h.numbers(Tag.FILEMODES), [0o100644, 0o40755]);
    assert.deepEqual(h.numbers(Tag.FILESIZES), [5, 4096]);
    assert.deepEqual(h.numbers(Tag.LONGFILESIZES), [2 ** 32 + 1, 2]);
    assert.deepEqual(h.strings(Tag.BASENAMES), ['a', 'b']);
    assert.equal(h.regionTag, HeaderTag.HEADERIMMUTABLE);
  });

  it('refuses bad magic, truncation and absurd counts', () => {
    const b = buildHeader(good);
    const badMagic = Buffer.from(b); badMagic[1] = 0;
    rejects(badMagic, /bad magic/);
    rejects(b.subarray(0, b.length - 1), /truncated/);
    const hugeIl = Buffer.from(b); hugeIl.writeUInt32BE(0x01000000, 8);
    rejects(hugeIl, /index entry count/);
    const hugeDl = Buffer.from(b); hugeDl.writeUInt32BE(0x7fffffff, 12);
    rejects(hugeDl, /data length/);
  });

  it('refuses entries with bad type, count, offset or alignment', () => {
    rejects(buildHeader([{ tag: 1000, type: 42, data: str('x'), count: 1 }]), /invalid type 42/);
    rejects(buildHeader([{ tag: 1000, type: TagType.STRING, data: str('x'), count: 0 }]), /invalid count 0/);
    rejects(buildHeader([{ tag: 1000, type: TagType.STRING, data: str('x'), count: 2 }]), /string with count 2/);
    rejects(buildHeader([{ tag: 1028, type: TagType.INT32, data: u32(1, 2), count: 1000 }]), /invalid count|past the end/);
    rejects(buildHeader([{ tag: 1028, type: TagType.INT32, data: u32(1), count: 1, offset: 5000 }]), /outside data store/);
    rejects(buildHeader([{ tag: 1000, type: TagType.STRING, data: str('x'), count: 1 }, { tag: 1028, type: TagType.INT32, data: u32(1), count: 1, offset: 2 }]), /misaligned/);
    rejects(buildHeader([{ tag: 1000, type: TagType.STRING, data: str('x'), count: 1, offset: -4 }]), /outside data store/);
    rejects(buildHeader([{ tag: 1117, type: TagType.STRING_ARRAY, data: Buffer.from('abc'), count: 1 }], { trailerOffset: -32 }), /past the end|overlaps the region trailer/);
  });

  it('refuses unterminated strings and duplicate tags', () => {
    // the string's NUL would be the trailer's first byte only if it were zero; the trailer tag is 63 → non-NUL run
    const b = buildHeader([{ tag: 1117, type: TagType.STRING_ARRAY, data: Buffer.from('abc'), count: 1 }]);
    assert.throws(() => parse(b), RpmFormatError);
    rejects(buildHeader([{ tag: 1000, type: TagType.STRING, data: str('x'), count: 1 }, { tag: 1000, type: TagType.STRING, data: str('y'), count: 1 }]), /duplicate tag 1000/);
  });

  it('checks the region tag and its trailer', () => {
    rejects(buildHeader(good, { trailerTag: 61 }), /bad region trailer/);
    rejects(buildHeader(good, { trailerOffset: -17 }), /trailer offset/);
    rejects(buildHeader(good, { trailerOffset: 16 }), /trailer offset/);
    rejects(buildHeader(good, { trailerOffset: -16 * 100 }), /region claims 100 entries/);
    rejects(buildHeader(good, { region: HeaderTag.HEADERSIGNATURES }), /region tag 62, expected 63/);
    // no region at all in a main header
    const noRegion = buildHeader(good);
    noRegion.writeUInt32BE(Tag.SUMMARY, 16);
    noRegion.writeUInt32BE(TagType.STRING, 20);
    noRegion.writeUInt32BE(1, 28);
    rejects(noRegion, /no immutable region/);
    // a signature header may use the legacy HEADERIMAGE trailer tag
    const sig = buildHeader([{ tag: 1000, type: TagType.INT32, data: u32(7), count: 1 }], { region: HeaderTag.HEADERSIGNATURES, trailerTag: HeaderTag.HEADERIMAGE });
    assert.equal(HeaderBlob.parse(sig, 'x', 'signature header', HeaderTag.HEADERSIGNATURES).number(1000), 7);
  });
});
