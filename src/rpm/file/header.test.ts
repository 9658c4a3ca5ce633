import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RpmBuilder, rpmQuery } from '../testing/rpmbuild.js';
import { kitchenSpec, compressors } from './fixtures.test-helper.js';
import { openPayload, readRpmHeaders, readRpmHeader, Tag, TagType, formatDependency, type DepKind, type Trigger } from './index.js';

const SEP_VAL = '\x1f';
const SEP_TAG = '\x1e';

/** Compares every known tag present in our parsed header with `rpm -qp --queryformat`. */
function compareAllTags(file: string, blobTags: Map<string, number>, get: (tag: number) => string[] | undefined): number {
  const names = [...blobTags.keys()];
  const qf = names.map((n) => `[%{${n}}${SEP_VAL}]${SEP_TAG}`).join('');
  const out = rpmQuery(file, qf).split(SEP_TAG);
  let compared = 0;
  names.forEach((n, i) => {
    const ours = get(blobTags.get(n)!);
    if (ours === undefined) return;
    const theirs = out[i]!.split(SEP_VAL).slice(0, -1);
    assert.deepEqual(ours, theirs, `tag ${n}`);
    compared++;
  });
  return compared;
}

describe('rpm header reader vs rpm -qp', () => {
  let b: RpmBuilder;
  let kitchen: string;
  before(() => {
    b = new RpmBuilder();
    kitchen = b.build(kitchenSpec);
  });
  after(() => b.dispose());

  async function compareRaw(file: string): Promise<number> {
    const { header } = await readRpmHeaders(file);
    const present = new Map<string, number>();
    // FILECLASS is rendered through a queryformat extension (class strings), not raw.
    const viaExtension = new Set(['FILECLASS']);
    for (const [name, num] of Object.entries(Tag)) if (header.blob.has(num) && !viaExtension.has(name)) present.set(name, num);
    return compareAllTags(file, present, (tag) => {
      const e = header.blob.entry(tag)!;
      if (e.type === TagType.BIN) return [header.blob.raw(tag)!.toString('hex')];
      return header.blob.strings(tag) ?? header.blob.numbers(tag)?.map(String);
    });
  }

  it('every present tag matches rpm --queryformat (raw values)', async () => {
    const n = await compareRaw(kitchen);
    assert.ok(n > 80, `compared only ${n} tags`);
  });

  it('typed NEVRA, sourcerpm and payload info match', async () => {
    const h = await readRpmHeader(kitchen);
    const [nevra, nvra, src, comp, flags, fmt, epoch] = rpmQuery(kitchen, '%{NEVRA}|%{NVRA}|%{SOURCERPM}|%{PAYLOADCOMPRESSOR}|%{PAYLOADFLAGS}|%{PAYLOADFORMAT}|%{EPOCH}').split('|');
    assert.equal(h.nevra, nevra!.replace(/^kitchen-/, 'kitchen-')); // rpm's NEVRA includes the epoch when set
    assert.equal(h.nvra, nvra);
    assert.equal(h.sourcerpm, src);
    assert.equal(h.payloadCompressor, comp);
    assert.equal(h.payloadDigest?.digests[0], rpmQuery(kitchen, '%{PAYLOADDIGEST}'));
    assert.equal(h.payloadFlags, flags);
    assert.equal(h.payloadFormat, fmt);
    assert.equal(h.epoch, Number(epoch));
    assert.equal(h.name, 'kitchen');
    assert.equal(h.arch, 'noarch');
  });

  it('dependencies of every kind, formatted and flagged, match rpm', async () => {
    const h = await readRpmHeader(kitchen);
    const kinds: [DepKind, string][] = [
      ['provides', 'PROVIDENEVRS'], ['requires', 'REQUIRENEVRS'], ['conflicts', 'CONFLICTNEVRS'], ['obsoletes', 'OBSOLETENEVRS'],
      ['recommends', 'RECOMMENDNEVRS'], ['suggests', 'SUGGESTNEVRS'], ['supplements', 'SUPPLEMENTNEVRS'], ['enhances', 'ENHANCENEVRS'],
    ];
    for (const [kind, qtag] of kinds) {
      const theirs = rpmQuery(kitchen, `[%{${qtag}}\n]`).split('\n').filter(Boolean);
      assert.deepEqual(h.dependencies(kind).map(formatDependency), theirs, kind);
      assert.ok(theirs.length > 0, `${kind} empty`);
    }
    const req = h.requires;
    const find = (n: string) => req.find((d) => d.name === n)!;
    assert.ok(find('shadow-utils').pre);
    assert.ok(req.some((d) => d.name === '/bin/sh' && d.post && !d.interp));
    assert.ok(find('systemd').preun && find('systemd').op === '<');
    assert.ok(find('glibc').postun && find('glibc').op === '>');
    assert.ok(find('filesystem').pretrans);
    assert.ok(find('setup').posttrans && find('setup').version === '2.14-1');
    assert.ok(find('/sbin/ldconfig').interp, 'interp flag from %post -p');
    assert.ok(req.some((d) => d.rpmlib && d.name.startsWith('rpmlib(')), 'rpmlib() deps');
    const conf = h.provides.find((d) => d.name.startsWith('config('));
    assert.ok(conf?.config, 'config() provide has RPMSENSE_CONFIG');
  });

  it('file list with modes, owners, flags, digests, links, caps, langs, inodes match', async () => {
    const h = await readRpmHeader(kitchen);
    const q = rpmQuery(kitchen, '[%{FILENAMES}\t%{FILEMODES}\t%{FILESIZES}\t%{FILEUSERNAME}\t%{FILEGROUPNAME}\t%{FILEFLAGS}\t%{FILEDIGESTS}\t%{FILELINKTOS}\t%{FILERDEVS}\t%{FILEMTIMES}\t%{FILEINODES}\t%{FILECAPS}\t%{FILELANGS}\t%{FILENLINKS}\n]');
    const rows = q.split('\n').filter(Boolean).map((l) => l.split('\t'));
    const files = h.files;
    assert.equal(files.length, rows.length);
    files.forEach((f, i) => {
      const r = rows[i]!;
      assert.deepEqual(
        [f.path, String(f.mode), String(f.size), f.user, f.group, String(f.flags), f.digest, f.linkTarget, String(f.rdev), String(f.mtime), String(f.inode), f.caps, f.lang],
        r.slice(0, 13),
        f.path,
      );
    });
    const byPath = new Map(files.map((f) => [f.path, f]));
    assert.equal(h.fileDigestAlgoName, 'sha256');
    assert.ok(byPath.get('/etc/kitchen/kitchen.conf')!.attrs.config && byPath.get('/etc/kitchen/kitchen.conf')!.attrs.noreplace);
    assert.ok(byPath.get('/etc/kitchen/other.conf')!.attrs.config && !byPath.get('/etc/kitchen/other.conf')!.attrs.noreplace);
    assert.ok(byPath.get('/var/log/kitchen.log')!.attrs.ghost);
    assert.ok(byPath.get('/etc/kitchen/maybe.conf')!.attrs.missingok);
    assert.ok(byPath.get('/usr/share/doc/kitchen/README')!.attrs.doc);
    assert.equal(byPath.get('/usr/bin/suid-cook')!.mode & 0o7777, 0o4755);
    assert.equal(byPath.get('/etc/kitchen')!.user, 'nobody');
    assert.equal(byPath.get('/etc/kitchen')!.type, 'dir');
    assert.equal(byPath.get('/usr/lib/kitchen/cook-link')!.type, 'symlink');
    assert.equal(byPath.get('/usr/lib/kitchen/cook-link')!.linkTarget, '../bin/cook');
    assert.equal(byPath.get('/usr/bin/capped')!.caps, 'cap_net_admin,cap_net_raw=ep');
    assert.equal(byPath.get('/usr/lib/kitchen/msg.de')!.lang, 'de');
    const sets = h.hardlinkSets.map((s) => s.map((i) => files[i]!.path).sort());
    assert.deepEqual(sets, [['/usr/lib/kitchen/hl-a', '/usr/lib/kitchen/hl-b', '/usr/lib/kitchen/hl-c']]);
    // rpm's FILENLINKS agrees with our hardlink grouping
    for (const s of h.hardlinkSets) for (const i of s) assert.equal(rows[i]![13], String(s.length));
  });

  it('scriptlets with interpreters and flags match', async () => {
    const h = await readRpmHeader(kitchen);
    const kinds = [['pretrans', 'PRETRANS'], ['pre', 'PREIN'], ['post', 'POSTIN'], ['preun', 'PREUN'], ['postun', 'POSTUN'], ['posttrans', 'POSTTRANS']] as const;
    for (const [kind, tag] of kinds) {
      const s = h.scriptlet(kind);
      assert.ok(s, kind);
      const body = rpmQuery(h === undefined ? '' : kitchen, `%{${tag}}`);
      assert.equal(s.body === '' ? '(none)' : s.body, body, `${kind} body`);
      const prog = rpmQuery(kitchen, `[%{${tag}PROG}\n]`).split('\n').filter(Boolean);
      assert.deepEqual(s.prog, prog, `${kind} prog`);
      const flags = rpmQuery(kitchen, `%{${tag}FLAGS}`);
      assert.equal(String(s.flags), flags === '(none)' ? '0' : flags, `${kind} flags`);
    }
    assert.deepEqual(h.scriptlet('pretrans')!.prog, ['<lua>']);
    assert.ok(h.scriptlet('pre')!.expand && !h.scriptlet('pre')!.qformat);
    assert.ok(h.scriptlet('posttrans')!.qformat);
    assert.equal(h.scriptlet('posttrans')!.body, 'echo posttrans %{NAME}');
    assert.deepEqual(h.scriptlet('verify')!.prog, ['/usr/bin/bash']);
    assert.equal(h.scriptlet('verify')!.body, rpmQuery(kitchen, '%{VERIFYSCRIPT}'));
    assert.deepEqual(h.scriptlet('post')!.prog, ['/sbin/ldconfig']);
    assert.equal(h.scriptlet('post')!.body, '');
  });

  it('triggers, file triggers and trans file triggers match rpm', async () => {
    const h = await readRpmHeader(kitchen);
    // rpm's own rendering: one line per condition "type script-index name flags version"
    const rows = (prefix: string) => rpmQuery(kitchen, `[%{${prefix}INDEX}\t%{${prefix}NAME}\t%{${prefix}FLAGS}\t%{${prefix}VERSION}\n]`).split('\n').filter(Boolean);
    const scripts = (prefix: string) => rpmQuery(kitchen, `[%{${prefix}SCRIPTS}\x1f%{${prefix}SCRIPTPROG}\x1e]`).split('\x1e').filter(Boolean).map((s) => s.split('\x1f'));
    const check = (prefix: string, trig: Trigger[]) => {
      const ours: string[] = [];
      trig.forEach((t, i) => t.conditions.forEach((c) => ours.push(`${i}\t${c.name}\t${c.flags}\t${c.version}`)));
      assert.deepEqual(ours.sort(), rows(prefix).sort(), prefix);
      assert.deepEqual(trig.map((t) => [t.body, t.prog[0]]), scripts(prefix), prefix);
    };
    check('TRIGGER', h.triggers);
    check('FILETRIGGER', h.fileTriggers);
    check('TRANSFILETRIGGER', h.transFileTriggers);
    const types = h.triggers.map((t) => t.type).sort();
    assert.deepEqual(types, ['in', 'postun', 'prein', 'un']);
    const ftun = h.fileTriggers.find((t) => t.type === 'un')!;
    assert.equal(ftun.priority, 5000);
    assert.deepEqual(ftun.conditions.map((c) => c.name), ['/usr/share/icons', '/usr/share/pixmaps']);
    assert.equal(h.transFileTriggers.find((t) => t.type === 'in')!.priority, 100);
    assert.deepEqual(h.fileTriggers.find((t) => t.type === 'in')!.prog, ['<lua>']);
  });

  it('changelog matches rpm', async () => {
    const h = await readRpmHeader(kitchen);
    const theirs = rpmQuery(kitchen, '[%{CHANGELOGTIME}\x1f%{CHANGELOGNAME}\x1f%{CHANGELOGTEXT}\x1e]').split('\x1e').filter(Boolean);
    assert.deepEqual(h.changelog.map((c) => `${c.time}\x1f${c.name}\x1f${c.text}`), theirs);
    assert.equal(h.changelog.length, 2);
    assert.equal(h.changelog[0]!.text, '- Second entry');
  });

  it('reads the same header from a Buffer and from a file', async () => {
    const a = await readRpmHeaders(kitchen);
    const c = await readRpmHeaders(readFileSync(kitchen));
    assert.deepEqual(c.layout, a.layout);
    assert.equal(c.header.nevra, a.header.nevra);
    assert.equal(a.layout.sigPadding, (8 - (a.signature.blob.dl % 8)) % 8);
    assert.equal(a.layout.payloadStart % 1, 0);
  });

  it('source RPMs: isSource, arch src, bare file names, payload readable', async () => {
    const srpm = b.buildSource(kitchenSpec);
    const h = await readRpmHeader(srpm);
    assert.ok(h.isSource);
    assert.equal(h.arch, 'src');
    assert.equal(h.sourcerpm, undefined);
    assert.deepEqual(h.fileNames, rpmQuery(srpm, '[%{FILENAMES}\n]').split('\n').filter(Boolean));
    assert.ok((await compareRaw(srpm)) > 30);
    const seen: string[] = [];
    for await (const e of openPayload(srpm)) { for await (const _ of e.content()) void _; seen.push(e.path); }
    assert.deepEqual(seen, ['/kitchen.spec']);
  });

  it('payload compressor and flags for each _binary_payload', async () => {
    for (const c of compressors) {
      const p = b.build({ name: `comp-${c.compressor}`, payload: c.payload, install: 'mkdir -p %{buildroot}/a && echo x > %{buildroot}/a/x', files: ['/a/x'] });
      const h = await readRpmHeader(p);
      assert.equal(h.payloadCompressor ?? '(none)', rpmQuery(p, '%{PAYLOADCOMPRESSOR}'));
      assert.equal(h.payloadCompressor ?? 'identity', c.compressor);
      assert.equal(h.payloadFlags ?? '(none)', rpmQuery(p, '%{PAYLOADFLAGS}'));
      assert.ok((await compareRaw(p)) > 40);
    }
  });
});
