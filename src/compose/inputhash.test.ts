import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTreefile } from '../config/treefile/index.js';
import { readRpmHeaders } from '../rpm/file/index.js';
import { RpmBuilder, rpmbuildAvailable, rpmQuery } from '../rpm/testing/rpmbuild.js';
import { InvalidInputError } from '../errors.js';
import { computeInputHash, headerSha256, type InputHashOptions } from './inputhash.js';

describe('inputhash', () => {
  let dir: string;
  let cfg: string;
  let overlay: string;
  const pkgs = [
    { nevra: 'bash-5.2.26-3.fc40.x86_64', headerSha256: 'a'.repeat(64) },
    { nevra: 'kernel-6.8.11-300.fc40.x86_64', headerSha256: 'b'.repeat(64) },
  ];
  const load = () => loadTreefile(join(cfg, 'manifest.yaml'), { arch: 'x86_64' });
  const hash = (o: Partial<InputHashOptions> = {}) =>
    computeInputHash({ treefile: load(), packages: pkgs, overlays: [{ name: '05core', realPath: overlay }], ...o });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'inputhash-'));
    cfg = join(dir, 'config');
    mkdirSync(cfg);
    writeFileSync(join(cfg, 'manifest.yaml'), 'ref: my/x86_64/os\nreleasever: 40\npackages: [bash, kernel]\nadd-files:\n  - [motd, /etc/motd]\npostprocess-script: post.sh\nadd-commit-metadata:\n  foo: bar\n');
    writeFileSync(join(cfg, 'motd'), 'hello\n');
    writeFileSync(join(cfg, 'post.sh'), '#!/bin/sh\ntrue\n');
    chmodSync(join(cfg, 'post.sh'), 0o755);
    overlay = join(cfg, 'overlay.d', '05core');
    mkdirSync(join(overlay, 'usr', 'lib'), { recursive: true });
    writeFileSync(join(overlay, 'usr', 'lib', 'a.conf'), 'a=1\n');
    symlinkSync('a.conf', join(overlay, 'usr', 'lib', 'link'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is stable, order-independent for packages, and sensitive to every input', async () => {
    const h0 = await hash();
    assert.match(h0, /^[0-9a-f]{64}$/);
    assert.equal(await hash(), h0);
    assert.equal(await hash({ packages: [...pkgs].reverse() }), h0, 'package order does not matter');
    assert.equal(await hash({ packages: [...pkgs, pkgs[0]!] }), h0, 'a duplicate counts once');

    const seen = new Set([h0]);
    const changed = async (what: string, h: string) => {
      assert.ok(!seen.has(h), `${what} must change the hash`);
      seen.add(h);
    };
    await changed('a package header', await hash({ packages: [pkgs[0]!, { ...pkgs[1]!, headerSha256: 'c'.repeat(64) }] }));
    await changed('a package NEVRA', await hash({ packages: [pkgs[0]!, { ...pkgs[1]!, nevra: 'kernel-6.8.12-300.fc40.x86_64' }] }));
    await changed('a package removed', await hash({ packages: [pkgs[0]!] }));
    await changed('no overlays', await hash({ overlays: [] }));
    await changed('overlay name', await hash({ overlays: [{ name: '06core', realPath: overlay }] }));
    await changed('extra input', await hash({ extra: { format: '2' } }));

    const f = join(overlay, 'usr', 'lib', 'a.conf');
    writeFileSync(f, 'a=2\n');
    await changed('overlay file bytes', await hash());
    chmodSync(f, 0o600);
    await changed('overlay file mode', await hash());
    unlinkSync(join(overlay, 'usr', 'lib', 'link'));
    symlinkSync('b.conf', join(overlay, 'usr', 'lib', 'link'));
    await changed('overlay symlink target', await hash());
    mkdirSync(join(overlay, 'etc'));
    await changed('an empty overlay dir', await hash());

    writeFileSync(join(cfg, 'motd'), 'bye\n');
    await changed('add-files content', await hash());
    chmodSync(join(cfg, 'motd'), 0o600);
    await changed('add-files mode', await hash());
    writeFileSync(join(cfg, 'post.sh'), '#!/bin/sh\nfalse\n');
    await changed('postprocess-script content', await hash());
    chmodSync(join(cfg, 'post.sh'), 0o700);
    await changed('postprocess-script mode', await hash());
    writeFileSync(join(cfg, 'manifest.yaml'), 'ref: my/x86_64/os\nreleasever: 40\npackages: [kernel, bash]\nadd-files:\n  - [motd, /etc/motd]\npostprocess-script: post.sh\nadd-commit-metadata:\n  foo: bar\n');
    assert.ok(seen.has(await hash()), 'reordering the treefile packages changes nothing (the merged set is sorted)');
    writeFileSync(join(cfg, 'manifest.yaml'), 'ref: my/x86_64/os\nreleasever: 40\npackages: [kernel, bash]\nadd-files:\n  - [motd, /etc/motd]\npostprocess-script: post.sh\nadd-commit-metadata:\n  foo: baz\n');
    await changed('add-commit-metadata (hashed by rpm-ostree too; only the generic `metadata` key is not)', await hash());
    writeFileSync(join(cfg, 'manifest.yaml'), 'ref: my/x86_64/os\nreleasever: 40\npackages: [kernel, bash, vim]\nadd-files:\n  - [motd, /etc/motd]\npostprocess-script: post.sh\n');
    await changed('treefile packages', await hash());
  });

  it('rejects malformed package digests and conflicting duplicates', async () => {
    await assert.rejects(hash({ packages: [{ nevra: 'a-1-1.noarch', headerSha256: 'xyz' }] }), InvalidInputError);
    await assert.rejects(hash({ packages: [{ nevra: 'a-1-1.noarch', headerSha256: 'a'.repeat(64) }, { nevra: 'a-1-1.noarch', headerSha256: 'b'.repeat(64) }] }), InvalidInputError);
  });

  it('headerSha256 equals rpm\'s SHA256HEADER', { skip: !rpmbuildAvailable() }, async () => {
    const b = new RpmBuilder();
    try {
      const file = b.build({ name: 'hdr', install: 'mkdir -p %{buildroot}/usr/share/hdr && echo x > %{buildroot}/usr/share/hdr/f', files: ['/usr/share/hdr/f'] });
      const { header } = await readRpmHeaders(file);
      assert.equal(headerSha256(header), rpmQuery(file, '%{SHA256HEADER}'));
    } finally {
      b.dispose();
    }
  });
});
