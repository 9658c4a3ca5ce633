import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrimaryParser, FilelistsParser } from './primary.js';
import type { PackageData } from './package.js';

const XML = `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment with <package> inside -->
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm">
  <name>foo&amp;bar</name>
  <arch>x86_64</arch>
  <version epoch="1" ver="2.0~rc1" rel="3.fc40"/>
  <checksum type="sha256" pkgid="YES">abc123</checksum>
  <summary>has a > and &lt;tags&gt; — ünïcödé</summary>
  <description><![CDATA[<package> in CDATA]]></description>
  <size package="1234" installed="5678" archive="9"/>
  <location xml:base="http://mirror/x/" href="Packages/f/foo&amp;bar-2.0~rc1-3.fc40.x86_64.rpm"/>
  <format>
    <rpm:sourcerpm>foo-2.0-3.src.rpm</rpm:sourcerpm>
    <rpm:provides><rpm:entry name="foo&amp;bar" flags="EQ" epoch="1" ver="2.0~rc1" rel="3.fc40"/><rpm:entry name="libfoo.so.1()(64bit)"/></rpm:provides>
    <rpm:requires><rpm:entry name="/bin/sh" pre="1"/><rpm:entry name="(a &gt;= 1 with a &lt; 2)"/><rpm:entry name="bar" flags="GE" ver="1.0"/></rpm:requires>
    <rpm:conflicts><rpm:entry name="old" flags="LT" epoch="0" ver="1"/></rpm:conflicts>
    <rpm:obsoletes><rpm:entry name="foo-legacy" flags="LE" epoch="0" ver="1.9" rel="1"/></rpm:obsoletes>
    <rpm:recommends><rpm:entry name="rec"/></rpm:recommends>
    <rpm:suggests><rpm:entry name="sug"/></rpm:suggests>
    <rpm:supplements><rpm:entry name="(x and y)"/></rpm:supplements>
    <rpm:enhances><rpm:entry name="enh"/></rpm:enhances>
    <file>/usr/bin/foo</file>
    <file type="dir">/etc/foo.d</file>
  </format>
</package>
<package type="rpm"><name>b</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/><checksum type="sha256" pkgid="YES">def</checksum><size package="1" installed="1" archive="1"/><location href="b.rpm"/><format/></package>
</metadata>
`;

function parse(chunks: Buffer[]): PackageData[] {
  const out: PackageData[] = [];
  const p = new PrimaryParser((d) => out.push(d));
  for (const c of chunks) p.write(c);
  p.end();
  return out;
}

test('primary parser: every field, entities, CDATA, pre, rich deps', () => {
  const [foo, b] = parse([Buffer.from(XML)]);
  assert.ok(foo && b);
  assert.equal(foo.name, 'foo&bar');
  assert.equal(foo.arch, 'x86_64');
  assert.deepEqual([foo.epoch, foo.version, foo.release], [1, '2.0~rc1', '3.fc40']);
  assert.deepEqual(foo.checksum, { type: 'sha256', value: 'abc123' });
  assert.equal(foo.size, 1234);
  assert.equal(foo.installedSize, 5678);
  assert.equal(foo.location, 'Packages/f/foo&bar-2.0~rc1-3.fc40.x86_64.rpm');
  assert.equal(foo.locationBase, 'http://mirror/x/');
  assert.equal(foo.sourcerpm, 'foo-2.0-3.src.rpm');
  assert.deepEqual(foo.provides.map((d) => d.name), ['foo&bar', 'libfoo.so.1()(64bit)']);
  assert.deepEqual(foo.requires.map((d) => [d.name, d.flags, d.pre ?? false]), [['/bin/sh', 0, true], ['(a >= 1 with a < 2)', 0, false], ['bar', 3, false]]);
  assert.equal(foo.requires[2]!.evr?.epoch, undefined, 'missing epoch stays missing');
  assert.deepEqual(foo.obsoletes[0]!.evr, { epoch: 0, version: '1.9', release: '1' });
  assert.deepEqual([foo.recommends, foo.suggests, foo.supplements, foo.enhances].map((l) => l.map((d) => d.name)), [['rec'], ['sug'], ['(x and y)'], ['enh']]);
  assert.deepEqual(foo.files, ['/usr/bin/foo', '/etc/foo.d']);
  assert.equal(b.name, 'b');
  assert.deepEqual(b.files, []);
});

test('primary parser gives the same result for any chunking (split tags, entities, UTF-8)', () => {
  const whole = parse([Buffer.from(XML)]);
  const buf = Buffer.from(XML);
  for (const size of [1, 2, 3, 7, 64]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < buf.length; i += size) chunks.push(buf.subarray(i, i + size));
    assert.deepEqual(parse(chunks), whole, `chunk size ${size}`);
  }
});

test('filelists parser', () => {
  const xml = `<?xml version="1.0"?><filelists packages="1"><package pkgid="abc" name="foo" arch="x86_64"><version epoch="0" ver="1" rel="1"/><file>/usr/share/a&amp;b</file><file type="dir">/usr/share/d</file></package></filelists>`;
  const out: { pkgid: string; files: string[] }[] = [];
  const p = new FilelistsParser((e) => out.push(e));
  for (const ch of xml) p.write(Buffer.from(ch));
  p.end();
  assert.deepEqual(out.map((e) => [e.pkgid, e.files]), [['abc', ['/usr/share/a&b', '/usr/share/d']]]);
});
