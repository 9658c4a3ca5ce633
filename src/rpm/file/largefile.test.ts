import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RpmBuilder, rpmQuery } from '../testing/rpmbuild.js';
import { openPayload, readRpmHeader, Tag } from './index.js';

/**
 * A real package with a file over 4 GiB: rpm then writes LONGFILESIZES and
 * the stripped 07070X cpio entries. The file is sparse in the buildroot and
 * the payload is zstd-compressed, so disk use stays small (~40-50 s total,
 * mostly rpmbuild hashing 4 GiB). Set COREFORGE_SKIP_SLOW_TESTS=1 to skip.
 */
const skip = process.env.COREFORGE_SKIP_SLOW_TESTS === '1';

describe('rpm with a file over 4 GiB (LONGFILESIZES, stripped cpio)', { skip }, () => {
  let b: RpmBuilder;
  let rpm: string;
  const SIZE = 4_295_000_000; // > UINT32_MAX
  before(() => {
    b = new RpmBuilder();
    rpm = b.build({
      name: 'huge', payload: 'w1.zstdio',
      install: `mkdir -p %{buildroot}/opt && truncate -s ${SIZE} %{buildroot}/opt/huge && echo small > %{buildroot}/opt/small`,
      files: ['/opt/huge', '/opt/small'],
    });
  });
  after(() => b.dispose());

  it('header sizes come from LONGFILESIZES and match rpm', async () => {
    const h = await readRpmHeader(rpm);
    assert.ok(h.blob.has(Tag.LONGFILESIZES));
    assert.deepEqual(h.files.map((f) => f.size), rpmQuery(rpm, '[%{LONGFILESIZES} ]').trim().split(' ').map(Number));
    assert.equal(h.files[0]!.size, SIZE);
    assert.equal(h.installedSize, Number(rpmQuery(rpm, '%{LONGSIZE}')));
  });

  it('streams the stripped archive with the 4 GiB file digest-verified', async () => {
    const seen: [string, number, boolean][] = [];
    for await (const e of openPayload(rpm)) {
      let n = 0;
      for await (const c of e.content()) n += c.length;
      seen.push([e.path, n, e.archivePath === '']);
    }
    assert.deepEqual(seen, [['/opt/huge', SIZE, true], ['/opt/small', 6, true]]);
  });
});
