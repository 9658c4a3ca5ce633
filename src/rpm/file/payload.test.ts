import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpmBuilder } from '../testing/rpmbuild.js';
import { kitchenSpec, compressors } from './fixtures.test-helper.js';
import {
  extractTo, newcEntry, newcTrailer, openPayload, readRpmHeaders,
  RpmDigestError, RpmFormatError, RpmUnsafePathError,
} from './index.js';

interface TreeEntry { type: string; mode: number; content?: string; target?: string; ino?: number }

function walk(root: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  (function rec(dir: string, rel: string) {
    for (const n of readdirSync(dir).sort()) {
      const p = join(dir, n);
      const r = `${rel}/${n}`;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out.set(r, { type: 'symlink', mode: 0, target: readlinkSync(p) });
      else if (st.isDirectory()) { out.set(r, { type: 'dir', mode: st.mode & 0o7777 }); rec(p, r); }
      else if (st.isFile()) out.set(r, { type: 'file', mode: st.mode & 0o7777, content: readFileSync(p).toString('base64'), ino: st.ino });
      else out.set(r, { type: 'special', mode: st.mode & 0o7777 });
    }
  })(root, '');
  return out;
}

/** Reference extraction with the real tools: rpm2cpio | cpio -idm. */
function referenceExtract(rpm: string, dir: string): void {
  execFileSync('sh', ['-c', `rpm2cpio "$1" | (cd "$2" && cpio -idm --quiet --no-absolute-filenames)`, 'sh', rpm, dir]);
}

/** Replaces the payload of a real (uncompressed-payload) RPM with `cpio` bytes. */
async function withPayload(rpm: string, cpio: Buffer): Promise<Buffer> {
  const { layout } = await readRpmHeaders(rpm);
  return Buffer.concat([readFileSync(rpm).subarray(0, layout.payloadStart), cpio]);
}

describe('rpm payload', () => {
  let b: RpmBuilder;
  let tmp: string;
  const built = new Map<string, string>();
  before(() => {
    b = new RpmBuilder();
    tmp = mkdtempSync(join(tmpdir(), 'coreforge-payload-'));
    for (const c of compressors) built.set(c.compressor, b.build({ ...kitchenSpec, name: `kitchen-${c.compressor}`, payload: c.payload }));
  });
  after(() => {
    b.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const c of compressors) {
    it(`${c.compressor}: extractTo equals rpm2cpio|cpio, digests verified, hardlinks linked`, async () => {
      const rpm = built.get(c.compressor)!;
      const ours = join(tmp, `ours-${c.compressor}`);
      const ref = join(tmp, `ref-${c.compressor}`);
      mkdirSync(ours);
      mkdirSync(ref);
      const res = await extractTo(rpm, ours);
      referenceExtract(rpm, ref);
      const a = walk(ours);
      const r = walk(ref);
      // node cannot mknod: device nodes are reported as skipped instead of created
      assert.deepEqual(res.skipped, ['/usr/lib/kitchen/null-dev']);
      for (const [k, v] of r) if (v.type === 'special') r.delete(k);
      assert.deepEqual([...a.keys()], [...r.keys()]);
      for (const [k, v] of r) {
        const o = a.get(k)!;
        assert.equal(o.type, v.type, k);
        assert.equal(o.content, v.content, k);
        assert.equal(o.target, v.target, k);
        if (v.type === 'file') assert.equal(o.mode, v.mode, k);
      }
      assert.equal(a.get('/usr/bin/suid-cook')!.mode, 0o4755);
      const ino = ['hl-a', 'hl-b', 'hl-c'].map((n) => a.get(`/usr/lib/kitchen/${n}`)!.ino);
      assert.ok(ino[0] === ino[1] && ino[1] === ino[2], 'hardlink set shares an inode');
      assert.equal(res.hardlinks, 2);
      assert.equal(a.get('/usr/lib/kitchen/big.bin')!.content!.length > 3_000_000, true);
      assert.ok(!a.has('/var/log/kitchen.log'), 'ghost not extracted');
    });
  }

  it('extractTo applies owners from the header when asked (as root)', { skip: process.getuid?.() !== 0 }, async () => {
    const rpm = built.get('zstd')!;
    const dir = join(tmp, 'owners');
    mkdirSync(dir);
    const ids: Record<string, number> = { root: 0, nobody: 65534, nogroup: 65534 };
    await extractTo(rpm, dir, { preserveOwners: true, resolveOwner: (u, g) => ({ uid: ids[u] ?? 0, gid: ids[g] ?? 0 }) });
    const conf = lstatSync(join(dir, 'etc/kitchen/kitchen.conf'));
    assert.equal(conf.uid, 0);
    assert.equal(conf.gid, 65534);
    assert.equal(conf.mode & 0o7777, 0o640);
    const d = lstatSync(join(dir, 'etc/kitchen'));
    assert.deepEqual([d.uid, d.gid, d.mode & 0o7777], [65534, 65534, 0o750]);
    assert.equal(lstatSync(join(dir, 'usr/bin/suid-cook')).mode & 0o7777, 0o4755, 'setuid kept after chown');
  });

  it('iterates entries with header metadata, hardlink content on the last link', async () => {
    const rpm = built.get('zstd')!;
    const entries: { path: string; size: number; hasContent: boolean; set: boolean }[] = [];
    for await (const e of openPayload(rpm, { verifyUncompressedDigest: true })) {
      let n = 0;
      for await (const c of e.content()) n += c.length;
      assert.equal(n, e.size, e.path);
      entries.push({ path: e.path, size: e.size, hasContent: e.hasContent, set: !!e.hardlinkSet });
    }
    const hl = entries.filter((e) => e.set);
    assert.ok(entries.some((e) => e.path === '/usr/lib/kitchen/null-dev' && e.size === 0));
    assert.equal(hl.length, 3);
    assert.deepEqual(hl.map((e) => e.hasContent), [false, false, true]);
    assert.equal(hl[2]!.size, 'hardlinked content\n'.length);
  });

  it('verifies file digests for every algorithm rpmbuild can write (MD5, SHA1, SHA256, SHA512)', async () => {
    for (const [id, name] of [[1, 'md5'], [2, 'sha1'], [8, 'sha256'], [10, 'sha512']] as const) {
      const rpm = b.build({ name: `algo-${name}`, payload: 'w0.ufdio', defines: { _binary_filedigest_algorithm: String(id) },
        install: 'mkdir -p %{buildroot}/o && echo digest-me > %{buildroot}/o/f', files: ['/o/f'] });
      const { header } = await readRpmHeaders(rpm);
      assert.equal(header.fileDigestAlgo, id);
      const entries = [];
      for await (const e of openPayload(rpm)) { for await (const _ of e.content()) void _; entries.push(e.path); }
      assert.deepEqual(entries, ['/o/f']);
      const buf = Buffer.from(readFileSync(rpm));
      buf[buf.indexOf('digest-me')] = 0x44;
      await assert.rejects(async () => { for await (const e of openPayload(buf, { verifyPayloadDigest: false })) for await (const _ of e.content()) void _; },
        (e: unknown) => e instanceof RpmDigestError && e.message.includes(`/o/f: file digest mismatch (${name} `));
    }
  });

  it('skips unread or partly read content and refuses stale content reads', async () => {
    const rpm = built.get('gzip')!;
    const all: string[] = [];
    for await (const e of openPayload(rpm)) all.push(e.path);
    const partial: string[] = [];
    let big: { content(): AsyncIterable<Buffer> } | undefined;
    for await (const e of openPayload(rpm)) {
      partial.push(e.path);
      if (e.path.endsWith('big.bin')) {
        big = e;
        for await (const c of e.content()) { assert.ok(c.length > 0); break; }
      }
    }
    assert.deepEqual(partial, all);
    await assert.rejects(async () => { for await (const _ of big!.content()) void _; }, /content read after moving to the next payload entry/);
  });

  it('works on a sequential stream of the whole file (e.g. a download)', async () => {
    const rpm = built.get('xz')!;
    const fromFile: string[] = [];
    for await (const e of openPayload(rpm)) fromFile.push(`${e.path}:${e.size}`);
    const fromStream: string[] = [];
    for await (const e of openPayload(createReadStream(rpm, { highWaterMark: 1000 }))) fromStream.push(`${e.path}:${e.size}`);
    assert.deepEqual(fromStream, fromFile);
    const whole = readFileSync(rpm);
    async function* cut() { yield whole.subarray(0, whole.length - 5000); }
    await assert.rejects(async () => { for await (const _ of openPayload(cut())) void _; }, (e: unknown) => e instanceof RpmFormatError || e instanceof RpmDigestError);
    async function* headerOnly() { yield whole.subarray(0, 3000); }
    await assert.rejects(async () => { for await (const _ of openPayload(headerOnly())) void _; }, (e: unknown) => e instanceof RpmFormatError && /<stream>: truncated/.test(e.message));
  });

  it('detects a changed file content (digest) and names package and path', async () => {
    const rpm = built.get('identity')!;
    const buf = Buffer.from(readFileSync(rpm));
    const at = buf.indexOf('setting=1');
    assert.ok(at > 0);
    buf[at + 8] = '2'.charCodeAt(0);
    await assert.rejects(async () => { for await (const e of openPayload(buf, { verifyPayloadDigest: false })) for await (const _ of e.content()) void _; },
      (e: unknown) => e instanceof RpmDigestError && /kitchen-identity-3:2\.5\.1-7\.fc40\.noarch: \/etc\/kitchen\/kitchen\.conf: file digest mismatch/.test(e.message));
    // with the payload digest on, the same damage is also caught even if contents are skipped
    await assert.rejects(async () => { for await (const _ of openPayload(buf, { verifyFileDigests: false })) void _; }, RpmDigestError);
  });

  it('PAYLOADDIGESTALT (uncompressed archive) is checked on request', async () => {
    const rpm = built.get('identity')!;
    const buf = Buffer.from(readFileSync(rpm));
    // damage the cpio trailer padding area: no file digest covers it, only the archive digests
    const at = buf.lastIndexOf('TRAILER!!!');
    buf[at - 1] ^= 0x01; // a byte of the trailer's header fields (check field)
    await assert.rejects(async () => { for await (const _ of openPayload(buf, { verifyPayloadDigest: false, verifyUncompressedDigest: true })) void _; },
      (e: unknown) => e instanceof RpmDigestError && /uncompressed payload digest mismatch/.test(e.message));
  });

  it('refuses ../ escapes, writing through a symlink, unknown entries and ghosts', async () => {
    const rpm = built.get('identity')!;
    const dir = join(tmp, 'evil');
    mkdirSync(dir);
    const cases: [Buffer, RegExp][] = [
      [Buffer.concat([newcEntry('./../../etc/passwd', 0o100644, 'root::0:0'), newcTrailer()]), /"\.\/\.\.\/\.\.\/etc\/passwd": path contains a '\.\.' component/],
      [Buffer.concat([newcEntry('./usr/lib/kitchen/../../../../tmp/x', 0o100644, 'x'), newcTrailer()]), /'\.\.'/],
      // the header declares /usr/lib/kitchen/etc-link as a symlink to /etc/kitchen
      [Buffer.concat([newcEntry('./usr/lib/kitchen/etc-link/evil', 0o100644, 'x'), newcTrailer()]), /would be written through symlink \/usr\/lib\/kitchen\/etc-link/],
      [Buffer.concat([newcEntry('./usr/lib/kitchen/cook-link', 0o120777, '../bin/cook'), newcEntry('./usr/lib/kitchen/cook-link/x', 0o100644, 'x'), newcTrailer()]), /through symlink/],
      [Buffer.concat([newcEntry('./etc/shadow', 0o100644, 'x'), newcTrailer()]), /"\/etc\/shadow": payload entry is not in the header file list/],
      [Buffer.concat([newcEntry('./var/log/kitchen.log', 0o100600, ''), newcTrailer()]), /%ghost/],
    ];
    for (const [cpio, re] of cases) {
      const evil = await withPayload(rpm, cpio);
      await assert.rejects(() => extractTo(evil, dir, { verifyPayloadDigest: false }), (e: unknown) => e instanceof RpmUnsafePathError && re.test(e.message) && e.message.startsWith('kitchen-identity-3:2.5.1-7.fc40.noarch: '), re.source);
    }
    // only the legitimate symlink of case 4 (and its parents) was created; no file landed anywhere
    assert.deepEqual([...walk(dir).values()].filter((e) => e.type === 'file'), []);
    assert.equal(walk(dir).get('/usr/lib/kitchen/cook-link')?.target, '../bin/cook');
  });

  it('refuses data after the trailer (decompression bombs) and a wrong archive size', async () => {
    const rpm = built.get('identity')!;
    const cpio = Buffer.concat([newcTrailer(), Buffer.alloc(200 * 1024)]);
    const { header } = await readRpmHeaders(rpm);
    // an "empty" archive for a header that lists files: refused either way, but never by reading forever
    await assert.rejects(async () => { for await (const _ of openPayload(await withPayload(rpm, cpio), { verifyPayloadDigest: false })) void _; },
      (e: unknown) => e instanceof RpmFormatError && /unexpected data after the archive trailer/.test(e.message));
    assert.ok(header.files.length > 0);
    // a real package with junk appended to its (uncompressed) payload: the recorded archive size catches it
    const junk = Buffer.concat([readFileSync(rpm), Buffer.alloc(10)]);
    await assert.rejects(async () => { for await (const _ of openPayload(junk)) void _; }, (e: unknown) => e instanceof RpmFormatError || e instanceof RpmDigestError);
  });

  it('absolute and dotted archive names stay under the extraction root', async () => {
    const rpm = built.get('identity')!;
    const dir = join(tmp, 'absolute');
    mkdirSync(dir);
    const cook = '#!/bin/sh\necho cook\n';
    const hostBefore = (() => { try { return readFileSync('/usr/bin/cook'); } catch { return undefined; } })();
    const evil = await withPayload(rpm, Buffer.concat([newcEntry('/usr/bin/cook', 0o100755, cook), newcEntry('./././usr//bin/suid-cook', 0o104755, cook), newcTrailer()]));
    // the archive is incomplete, so extraction fails at the end, after writing both entries inside `dir`
    await assert.rejects(() => extractTo(evil, dir, { verifyPayloadDigest: false }), /missing from the archive/);
    assert.equal(readFileSync(join(dir, 'usr/bin/cook'), 'utf8'), cook);
    assert.equal(readFileSync(join(dir, 'usr/bin/suid-cook'), 'utf8'), cook);
    const hostAfter = (() => { try { return readFileSync('/usr/bin/cook'); } catch { return undefined; } })();
    assert.deepEqual(hostAfter, hostBefore);
  });

  it('refuses a symlink in the target dir (does not follow it on extraction)', async () => {
    const rpm = built.get('gzip')!;
    const dir = join(tmp, 'pre-symlinked');
    mkdirSync(dir);
    const outside = join(tmp, 'outside');
    mkdirSync(outside);
    execFileSync('ln', ['-s', outside, join(dir, 'usr')]);
    await assert.rejects(() => extractTo(rpm, dir), RpmUnsafePathError);
    assert.deepEqual(readdirSync(outside), []);
  });

  it('reports truncated and missing-entry archives as RpmFormatError', async () => {
    const rpm = built.get('identity')!;
    const full = readFileSync(rpm);
    const { layout } = await readRpmHeaders(full);
    await assert.rejects(async () => { for await (const _ of openPayload(full.subarray(0, layout.payloadStart + 700), { verifyPayloadDigest: false })) void _; },
      (e: unknown) => e instanceof RpmFormatError && /truncated archive/.test(e.message));
    const onlyTrailer = await withPayload(rpm, newcTrailer());
    await assert.rejects(async () => { for await (const _ of openPayload(onlyTrailer, { verifyPayloadDigest: false })) void _; },
      (e: unknown) => e instanceof RpmFormatError && /missing from the archive/.test(e.message));
    for (const c of ['xz', 'zstd', 'bzip2', 'gzip']) {
      const f = readFileSync(built.get(c)!);
      const cut = f.subarray(0, f.length - 2000);
      await assert.rejects(async () => { for await (const _ of openPayload(cut)) void _; }, (e: unknown) => e instanceof RpmFormatError || e instanceof RpmDigestError, c);
    }
  });

  it('reads the stripped 07070X variant rpm uses for >4 GiB files', async () => {
    const rpm = b.build({
      name: 'stripped', payload: 'w0.ufdio',
      install: 'mkdir -p %{buildroot}/opt/s && echo big-file-stand-in > %{buildroot}/opt/s/f && ln -s f %{buildroot}/opt/s/l',
      files: ['/opt/s'],
    });
    const { header } = await readRpmHeaders(rpm);
    const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
    const parts: Buffer[] = [];
    for (const f of header.files) {
      const hdr = Buffer.from(`07070X${f.index.toString(16).padStart(8, '0')}`, 'latin1');
      const data = f.type === 'file' ? Buffer.from('big-file-stand-in\n') : f.type === 'symlink' ? Buffer.from(f.linkTarget) : Buffer.alloc(0);
      parts.push(hdr, pad(hdr.length), data, pad(data.length));
    }
    parts.push(newcTrailer());
    const crafted = await withPayload(rpm, Buffer.concat(parts));
    const seen: string[] = [];
    for await (const e of openPayload(crafted, { verifyPayloadDigest: false })) {
      const chunks: Buffer[] = [];
      for await (const c of e.content()) chunks.push(c);
      seen.push(`${e.path}:${e.type}:${Buffer.concat(chunks).toString()}${e.linkTarget}`);
    }
    assert.deepEqual(seen, ['/opt/s:dir:', '/opt/s/f:file:big-file-stand-in\n', '/opt/s/l:symlink:f']);
    // a stripped entry whose content was altered fails its digest
    const bad = Buffer.from(crafted);
    bad[bad.indexOf('big-file-stand-in')] = 0x42;
    await assert.rejects(async () => { for await (const e of openPayload(bad, { verifyPayloadDigest: false })) for await (const _ of e.content()) void _; }, RpmDigestError);
  });
});
