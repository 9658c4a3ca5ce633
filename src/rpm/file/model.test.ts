import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderBlob } from './blob.js';
import { RpmHeader } from './model.js';
import { HeaderTag, Tag, TagType } from './tags.js';
import { RpmFormatError } from './errors.js';
import { buildHeader, str, u32, type E } from './headerbuilder.test-helper.js';

const strs = (...v: string[]) => Buffer.concat(v.map(str));
const i16 = (...v: number[]) => { const b = Buffer.alloc(2 * v.length); v.forEach((x, i) => b.writeUInt16BE(x, 2 * i)); return b; };
const nevr: E[] = [
  { tag: Tag.NAME, type: TagType.STRING, data: str('legacy'), count: 1 },
  { tag: Tag.VERSION, type: TagType.STRING, data: str('1'), count: 1 },
  { tag: Tag.RELEASE, type: TagType.STRING, data: str('2'), count: 1 },
  { tag: Tag.ARCH, type: TagType.STRING, data: str('x86_64'), count: 1 },
  { tag: Tag.SOURCERPM, type: TagType.STRING, data: str('legacy-1-2.src.rpm'), count: 1 },
];
const header = (extra: E[]) => new RpmHeader(HeaderBlob.parse(buildHeader([...nevr, ...extra]), 't.rpm', 'header', HeaderTag.HEADERIMMUTABLE), 't.rpm');

describe('RpmHeader model on hand-built headers', () => {
  it('reads legacy OLDFILENAMES and defaults (MD5 digests, no epoch)', () => {
    const h = header([
      { tag: Tag.OLDFILENAMES, type: TagType.STRING_ARRAY, data: strs('/usr/bin/a', '/etc/b'), count: 2 },
      { tag: Tag.FILEMODES, type: TagType.INT16, data: i16(0o100755, 0o100644), count: 2 },
    ]);
    assert.deepEqual(h.files.map((f) => [f.path, f.mode, f.type]), [['/usr/bin/a', 0o100755, 'file'], ['/etc/b', 0o100644, 'file']]);
    assert.equal(h.epoch, undefined);
    assert.equal(h.nevra, 'legacy-1-2.x86_64');
    assert.equal(h.fileDigestAlgoName, 'md5');
    assert.equal(h.payloadCompressor, undefined);
  });

  it('refuses parallel arrays of the wrong length and dirindexes out of range', () => {
    const files: E[] = [
      { tag: Tag.DIRINDEXES, type: TagType.INT32, data: u32(0, 1), count: 2 },
      { tag: Tag.BASENAMES, type: TagType.STRING_ARRAY, data: strs('a', 'b'), count: 2 },
      { tag: Tag.DIRNAMES, type: TagType.STRING_ARRAY, data: strs('/x/'), count: 1 },
    ];
    assert.throws(() => header(files).files, (e: unknown) => e instanceof RpmFormatError && /legacy-1-2\.x86_64: header: dirindex 1 out of range/.test(e.message));
    const short: E[] = [
      { tag: Tag.DIRINDEXES, type: TagType.INT32, data: u32(0, 0), count: 2 },
      { tag: Tag.BASENAMES, type: TagType.STRING_ARRAY, data: strs('a', 'b'), count: 2 },
      { tag: Tag.DIRNAMES, type: TagType.STRING_ARRAY, data: strs('/x/'), count: 1 },
      { tag: Tag.FILEMODES, type: TagType.INT16, data: i16(0o100644), count: 1 },
    ];
    assert.throws(() => header(short).files, (e: unknown) => e instanceof RpmFormatError && /filemodes has 1 entries, expected 2/.test(e.message));
    const deps: E[] = [
      { tag: Tag.REQUIRENAME, type: TagType.STRING_ARRAY, data: strs('a', 'b'), count: 2 },
      { tag: Tag.REQUIREFLAGS, type: TagType.INT32, data: u32(8), count: 1 },
    ];
    assert.throws(() => header(deps).requires, /requires flags has 1 entries, expected 2/);
    const trig: E[] = [
      { tag: Tag.TRIGGERSCRIPTS, type: TagType.STRING_ARRAY, data: strs('echo'), count: 1 },
      { tag: Tag.TRIGGERNAME, type: TagType.STRING_ARRAY, data: strs('bash'), count: 1 },
      { tag: Tag.TRIGGERINDEX, type: TagType.INT32, data: u32(3), count: 1 },
    ];
    assert.throws(() => header(trig).triggers, /trigger index 3 out of range/);
  });

  it('requires name, version and release as strings', () => {
    const blob = HeaderBlob.parse(buildHeader([{ tag: Tag.NAME, type: TagType.STRING, data: str('x'), count: 1 }]), 't.rpm', 'header', HeaderTag.HEADERIMMUTABLE);
    assert.throws(() => new RpmHeader(blob, 't.rpm'), (e: unknown) => e instanceof RpmFormatError && e.message.startsWith('t.rpm: header: missing'));
  });
});
