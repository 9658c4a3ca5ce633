import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Variant, V, type VarDict } from '../gvariant/index.js';
import { Commit } from '../ostree/objects/commit.js';
import { commitMetaToJson, commitMetaToObject } from './commitmeta.js';

/** The same steps as cosa's src/commitmeta_to_json, run against the real libostree + json-glib. */
const COSA_PY = `
import sys, gi
gi.require_version('OSTree', '1.0'); gi.require_version('Json', '1.0')
from gi.repository import Gio, OSTree, Json
r = OSTree.Repo.new(Gio.File.new_for_path(sys.argv[1])); r.open(None)
_, rev = r.resolve_rev(sys.argv[2], True)
_, commit, _ = r.load_commit(rev)
m = commit.get_child_value(0)
if sys.byteorder != 'big':
    m = m.byteswap()
g = Json.Generator.new(); g.set_root(Json.gvariant_serialize(m)); g.set_pretty(True)
g.to_stream(Gio.UnixOutputStream.new(sys.stdout.fileno(), False))
`;

function sw(bytes: number, fill: (dv: DataView) => void): DataView {
  const dv = new DataView(new ArrayBuffer(bytes));
  fill(dv);
  new Uint8Array(dv.buffer).reverse();
  return dv;
}
/** Values stored big-endian as rpm-ostree does, so the host-order read after the swap is the given one. */
const be = {
  u: (n: number) => new Variant('u', sw(4, (d) => d.setUint32(0, n, true)).getUint32(0, true)),
  i: (n: number) => new Variant('i', sw(4, (d) => d.setInt32(0, n, true)).getInt32(0, true)),
  q: (n: number) => new Variant('q', sw(2, (d) => d.setUint16(0, n, true)).getUint16(0, true)),
  n: (n: number) => new Variant('n', sw(2, (d) => d.setInt16(0, n, true)).getInt16(0, true)),
  t: (n: bigint) => new Variant('t', sw(8, (d) => d.setBigUint64(0, n, true)).getBigUint64(0, true)),
  x: (n: bigint) => new Variant('x', sw(8, (d) => d.setBigInt64(0, n, true)).getBigInt64(0, true)),
  d: (n: number) => new Variant('d', sw(8, (d) => d.setFloat64(0, n, true)).getFloat64(0, true)),
};

describe('commitMetaToJson (vs cosa commitmeta_to_json on real libostree/json-glib)', () => {
  let dir: string;
  let repo: string;
  let base: { rootTree: string; rootMeta: string };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'commitmeta-'));
    repo = join(dir, 'repo');
    const run = (args: string[]) => {
      const r = spawnSync('ostree', args, { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    run(['init', `--repo=${repo}`, '--mode=archive']);
    mkdirSync(join(dir, 'tree'));
    writeFileSync(join(dir, 'tree', 'f'), 'x');
    const c = run(['commit', `--repo=${repo}`, '-b', 'base', `--tree=dir=${join(dir, 'tree')}`]);
    // take the root tree/meta of a real commit and attach our own metadata to it
    const parsed = Commit.parse(new Uint8Array(readFileSync(join(repo, 'objects', c.slice(0, 2), `${c.slice(2)}.commit`))));
    base = { rootTree: parsed.rootTree, rootMeta: parsed.rootMeta };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function writeCommit(ref: string, metadata: VarDict): string {
    const c = new Commit({ metadata, timestamp: 1717247045, subject: 's', ...base });
    const csum = c.checksum();
    mkdirSync(join(repo, 'objects', csum.slice(0, 2)), { recursive: true });
    writeFileSync(join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.commit`), c.serialize());
    mkdirSync(join(repo, 'refs', 'heads'), { recursive: true });
    writeFileSync(join(repo, 'refs', 'heads', ref), csum + '\n');
    return csum;
  }
  function cosa(ref: string): string {
    const r = spawnSync('/usr/bin/python3', ['-c', COSA_PY, repo, ref], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  }

  it('a typical rpm-ostree commit', () => {
    const meta: VarDict = [
      ['version', V.s('40.20240601.dev.0')],
      ['rpmostree.inputhash', V.s('f44f5836de5cc028196c9671f8155c94a0234aeb93b791f0f2b11a26c9802d33')],
      ['rpmostree.rpmdb.pkglist', new Variant('a(sssss)', [['bash', '0', '5.2.26', '3.fc40', 'x86_64'], ['podman', '5', '5.0.3', '1.fc40', 'x86_64']])],
      ['ostree.bootable', V.b(true)],
      ['ostree.linux', V.s('6.8.11-300.fc40.x86_64')],
      ['coreos-assembler.config-gitrev', V.s('640ecad99f5b2eacb66b9a3c06f56e79bd15690a')],
      ['coreos-assembler.config-dirty', V.s('false')],
      ['fedora-coreos.stream', V.s('testing-devel')],
      ['rpmostree.initramfs-args', V.as(['--add=ignition', '--no-hostonly'])],
      ['ostree.ref-binding', V.as(['fedora/x86_64/coreos/testing-devel'])],
      ['rpmostree.rojig', new Variant('a{sv}', [])],
    ];
    writeCommit('typical', meta);
    const want = cosa('typical');
    assert.equal(commitMetaToJson(meta), want);
    assert.equal((commitMetaToObject(meta)['rpmostree.rpmdb.pkglist'] as unknown[][])[1]![1], '5');
  });

  it('every GVariant type, byte-swapped numbers, escapes, duplicate keys', () => {
    const meta: VarDict = [
      ['u', be.u(7)], ['u-raw-le', V.u(1)], ['i', be.i(-2)], ['q', be.q(513)], ['n', be.n(-300)],
      ['t-max', be.t(18446744073709551615n)], ['t', be.t(42n)], ['x', be.x(-5n)], ['h', new Variant('h', 3)],
      ['y', new Variant('y', 0x41)], ['b', V.b(false)],
      ['d1', be.d(3)], ['d2', be.d(0.1)], ['d3', be.d(1e100)], ['d4', be.d(-0)], ['d5', be.d(1.5e-7)], ['d6', be.d(123456789012345678)],
      ['d7', be.d(1e16)], ['d8', be.d(1e17)], ['d9', be.d(2.5)], ['d10', be.d(5e-324)], ['d11', be.d(-1234.5678)], ['d12', be.d(0.0001)], ['d13', be.d(0.00001)], ['inf', be.d(Infinity)], ['ninf', be.d(-Infinity)], ['nan', be.d(NaN)],
      ['s', V.s('é\u0001\u001e\u001f\u007f"\\\n\r\t\b\f/ü😀')], ['o', new Variant('o', '/a/b')], ['g', new Variant('g', 'a{sv}')],
      ['ay', V.ay(new Uint8Array([0, 1, 255]))], ['ay-empty', V.ay(new Uint8Array(0))], ['as-empty', V.as([])],
      ['m-nothing', new Variant('ms', [])], ['m-just', new Variant('ms', ['j'])], ['mm', new Variant('mmi', [[]])],
      ['tuple', new Variant('(sub)', ['a', 7, true])], ['aa', new Variant('aas', [['a'], [], ['b', 'c']])],
      ['vv', new Variant('v', V.s('inner'))],
      ['nested', new Variant('a{sv}', [['k', be.u(3)], ['z', V.s('s')], ['k', V.s('again')], ['empty', new Variant('a{sv}', [])]])],
      ['intkeys', new Variant('a{us}', [[1, 'one'], [0x01000000, 'big']])],
      ['boolkeys', new Variant('a{bs}', [[true, 't']])],
      ['dblkeys', new Variant('a{ds}', [[1.5, 'x']])],
      ['entry', new Variant('{sv}', ['k', V.s('v')])],
      ['objs', new Variant('aa{sv}', [[['a', V.b(true)]], []])],
      ['dup', V.s('first')],
      ['dup', V.s('second')],
    ];
    writeCommit('types', meta);
    assert.equal(commitMetaToJson(meta), cosa('types'));
  });

  it('empty metadata', () => {
    writeCommit('empty', []);
    assert.equal(commitMetaToJson([]), cosa('empty'));
  });
});
