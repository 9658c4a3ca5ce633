// Behaviour cases from rpm-ostree's own treefile tests (rust/src/treefile.rs @d5ef5f0),
// re-expressed against our loader.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTreefile } from '../../src/config/index.js';
import { tmp, write } from './helpers.js';

const PRELUDE = `ref: "exampleos/x86_64/blah"
metadata:
  foo: bar
  name: fedora-coreos
  deeper:
    answer: 42
    reasons: ["because", "universe"]
repos:
 - baserepo
repovars:
  foobar: bazboo
lockfile-repos:
 - lockrepo
ostree-layers:
 - foo
ostree-override-layers:
 - bar
exclude-packages:
 - mypkg
platform-module: platform:f36
packages:
 - foo bar
 - baz
 - corge 'quuz >= 1.0'
packages-x86_64:
 - grub2 grub2-tools
packages-s390x:
 - zipl
repo-packages:
    - repo: baserepo
      packages:
        - blah bloo
`;

test('includes: repo-packages entries overridden by later ones disappear', (t) => {
  const d = tmp(t);
  write(d, {
    'foo.yaml': 'repos: [foo]\npackages: [fooinclude]\nrepo-packages:\n  - repo: foo\n    packages: [qwert]\n  - repo: foob\n    packages: [blah]\n  - repo: foo2\n    packages: [qwert]\n',
    'tf.yaml': PRELUDE + 'include: foo.yaml\n',
  });
  const tf = loadTreefile(join(d, 'tf.yaml'), { arch: 'aarch64' }).treefile;
  assert.deepEqual(tf.packages, ['bar', 'baz', 'corge', 'foo', 'fooinclude', 'quuz >= 1.0']);
  assert.deepEqual(tf['repo-packages'], [
    { repo: 'foo2', packages: ['qwert'] },
    { repo: 'baserepo', packages: ['blah', 'bloo'] },
  ]);
  assert.deepEqual(tf.repos, ['foo', 'baserepo']);
  assert.equal(tf['platform-module'], 'platform:f36');
  assert.deepEqual(tf.metadata, { deeper: { answer: 42, reasons: ['because', 'universe'] }, foo: 'bar', name: 'fedora-coreos' });
});

test('arch-include of a missing file for another arch is fine', (t) => {
  const d = tmp(t);
  write(d, { 'foo-x86_64.yaml': 'repos: [foo]\npackages: [foo-x86_64-include]\n', 'tf.yaml': PRELUDE + 'arch-include:\n    x86_64: foo-x86_64.yaml\n    s390x: foo-s390x.yaml\n' });
  const tf = loadTreefile(join(d, 'tf.yaml'), { arch: 'x86_64' }).treefile;
  assert.ok(tf.packages.includes('foo-x86_64-include'));
  assert.ok(tf.packages.includes('grub2-tools'));
});

test('conditional includes: every operator, multi-conditions, nested conditionals', (t) => {
  const d = tmp(t);
  const files: Record<string, string> = {};
  for (const n of ['foo-x86_64', 'foo-le', 'foo-ge', 'foo-eq', 'foo-true', 'foo-false', 'foo-str', 'foo-multi-a', 'foo-multi-b', 'foo-more-nested']) files[`${n}.yaml`] = `packages: [${n === 'foo-x86_64' ? 'foo-x86_64-include' : n}]`;
  files['nested.yaml'] = 'conditional-include:\n  - if: releasever == 35\n    include: foo-nested.yaml';
  files['foo-nested.yaml'] = 'packages:\n  - foo-nested\nconditional-include:\n  - if: releasever == 35\n    include: foo-more-nested.yaml';
  files['tf.yaml'] =
    PRELUDE +
    `releasever: 35
variables:
  mynum: 5
  myfalse: false
  mytrue: true
  mystr: ""
  mystr2: "dodo"
  mystr3: "dada"
include: nested.yaml
conditional-include:
  - if: basearch == "x86_64"
    include: foo-x86_64.yaml
  - if: basearch == "s390x"
    include: enoent1.yaml
  - if: releasever < 35
    include: enoent2.yaml
  - if: releasever > 35
    include: enoent3.yaml
  - if: releasever <= 35
    include: foo-le.yaml
  - if: releasever == 35
    include: foo-eq.yaml
  - if: releasever != 35
    include: enoent4.yaml
  - if: releasever >= 35
    include: foo-ge.yaml
  - if: myfalse == false
    include: foo-false.yaml
  - if: mytrue == true
    include: foo-true.yaml
  - if: myfalse != false
    include: enoent5.yaml
  - if: mytrue != true
    include: enoent6.yaml
  - if: [mystr == "", mystr2 == "dodo", mystr3 == "dada"]
    include: foo-str.yaml
  - if: [mystr == "x", mystr2 == "dodo", mystr3 == "dada"]
    include: enoent7.yaml
  - if: [mynum == 5, mystr == "", releasever == 35, myfalse == false]
    include: [foo-multi-a.yaml, foo-multi-b.yaml]
`;
  write(d, files);
  const tf = loadTreefile(join(d, 'tf.yaml'), { arch: 'x86_64' }).treefile;
  for (const p of ['foo-x86_64-include', 'foo-le', 'foo-eq', 'foo-ge', 'foo-false', 'foo-true', 'foo-str', 'foo-multi-a', 'foo-multi-b', 'foo-nested', 'foo-more-nested']) assert.ok(tf.packages.includes(p), p);
});

test('conditional includes: string releasever, inline treefiles, initial (command-line) variables', (t) => {
  const d = tmp(t);
  write(d, {
    'foo.yaml': 'packages: [foo]',
    's.yaml': PRELUDE + 'releasever: "35"\nconditional-include:\n    - if: releasever == "35"\n      include: foo.yaml\n',
    'i.yaml': PRELUDE + 'releasever: "35"\nconditional-include:\n    - if: releasever == "35"\n      include:\n        packages:\n          - inlinedpkg\n',
    'v.yaml': PRELUDE + 'conditional-include:\n    - if: foobar == "bazboo"\n      include:\n        packages:\n          - inlinedpkg\n',
  });
  assert.ok(loadTreefile(join(d, 's.yaml'), { arch: 'x86_64' }).treefile.packages.includes('foo'));
  assert.ok(loadTreefile(join(d, 'i.yaml'), { arch: 'x86_64' }).treefile.packages.includes('inlinedpkg'));
  assert.ok(!loadTreefile(join(d, 'v.yaml'), { arch: 'x86_64', variables: { foobar: 'nope' } }).treefile.packages.includes('inlinedpkg'));
  assert.ok(loadTreefile(join(d, 'v.yaml'), { arch: 'x86_64', variables: { foobar: 'bazboo' } }).treefile.packages.includes('inlinedpkg'));
});

test('conditional include errors', (t) => {
  const d = tmp(t);
  const cases = [
    'conditional-include:\n    - if: garbage\n      include: enoent.yaml\n',
    'conditional-include:\n    - if: 5\n      include: enoent.yaml\n',
    'conditional-include:\n    - if: myvar garbage true\n      include: enoent.yaml\n',
    'conditional-include:\n    - if: myvar == garbage\n      include: enoent.yaml\n',
    'variables:\n    mystr: "str"\nconditional-include:\n    - if: mystr > 8\n      include: enoent.yaml\n',
    'variables:\n    mybool: true\nconditional-include:\n    - if: mybool <= 5\n      include: enoent.yaml\n',
    'variables:\n    mystr: "str"\nconditional-include:\n    - if: mystr > "asd"\n      include: enoent.yaml\n',
    'conditional-include:\n    - if: enoent > "asd"\n      include: enoent.yaml\n',
  ];
  cases.forEach((c, i) => {
    write(d, { [`e${i}.yaml`]: PRELUDE + c });
    assert.throws(() => loadTreefile(join(d, `e${i}.yaml`), { arch: 'x86_64' }), (e: unknown) => e instanceof Error && /e\d\.yaml:\d+:\d+: conditional-include\[0\]\.if/.test(e.message), `case ${i}`);
  });
});

test('variables: first definition wins across includes; substitution in the documented fields only', (t) => {
  const d = tmp(t);
  write(d, {
    'top.yaml': 'include: mid.yaml\nrojig:\n  name: exampleos ${releasever}\n  summary: s\n  license: MIT\nreleasever: "35"\n',
    'mid.yaml':
      'include: base.yaml\nvariables:\n  mystr_override: overridden\n  mynum_override: 6\n  mybool_override: true\nreleasever: 1\npackages:\n  - some layered packages\nadd-commit-metadata:\n  my-second-key: something better\n  my-third-key: 1000\n  my-fourth-key:\n    nested: table\nmetadata:\n  foo: baz\n  bar: substituted ${mystr_override}\n  deeper:\n    answer: 9001\netc-group-members: [docker]\n',
    'base.yaml':
      'variables:\n  mystr: "don\'t override me"\n  mystr_override: override me\n  mynum: 4\n  mynum_override: 5\n  mybool: true\n  mybool_override: false\nreleasever: "3"\nadd-commit-metadata:\n  my-first-key: "please don\'t override me"\n  my-second-key: override me\n  my-arch: my arch is ${basearch}\netc-group-members: [sudo]\npostprocess: ["echo ${basearch}"]\n',
  });
  const l = loadTreefile(join(d, 'top.yaml'), { arch: 'x86_64' });
  const tf = l.treefile;
  assert.equal(tf.releasever, '35');
  assert.equal(tf.rojig!.name, 'exampleos 35');
  assert.deepEqual(tf.packages, ['layered', 'packages', 'some']);
  assert.deepEqual(tf['etc-group-members'], ['sudo', 'docker']);
  assert.deepEqual(tf['add-commit-metadata'], { 'my-arch': 'my arch is x86_64', 'my-first-key': "please don't override me", 'my-fourth-key': { nested: 'table' }, 'my-second-key': 'something better', 'my-third-key': 1000 });
  assert.deepEqual(tf.metadata, { bar: 'substituted overridden', deeper: { answer: 9001 }, foo: 'baz' });
  assert.deepEqual(tf.postprocess, ['echo ${basearch}'], 'no substitution in postprocess');
  assert.deepEqual(l.variables, { basearch: 'x86_64', releasever: '35', mystr: "don't override me", mystr_override: 'overridden', mynum: 4, mynum_override: 6, mybool: true, mybool_override: true });
});

test('packages split like split_whitespace_unless_quoted', (t) => {
  const d = tmp(t);
  const ok = (entry: string) => {
    write(d, { 'p.yaml': `packages:\n  - ${JSON.stringify(entry)}\n` });
    return loadTreefile(join(d, 'p.yaml'), { arch: 'x86_64' }).treefile.packages;
  };
  assert.deepEqual(ok("'foobar >= 1.0' 'quuz < 0.5' 'corge > 2'"), ['corge > 2', 'foobar >= 1.0', 'quuz < 0.5']);
  assert.deepEqual(ok("corge 'foobar >= 1.1' baz-package 'quuz < 0.0.1'"), ['baz-package', 'corge', 'foobar >= 1.1', 'quuz < 0.0.1']);
  assert.deepEqual(ok('foobar >= 1.0 quuz'), ['1.0', '>=', 'foobar', 'quuz']);
  for (const bad of ["foobar >= 1.0'", "'foobar >= 1.0 baz-package", "'foobar >= 1.0' quuz' corge"]) assert.throws(() => ok(bad), /p\.yaml:2:5: packages\[0\]: Missing terminating quote/);
});

test('check-passwd / check-groups variants', (t) => {
  const d = tmp(t);
  write(d, {
    'n.yaml': PRELUDE + 'check-passwd: { "type": "none" }\n',
    'data.yaml': PRELUDE + 'check-passwd: { "type": "data", "entries": { "bin": 1, "adm": [3, 4], "foo" : [2] } }\ncheck-groups: { "type": "data", "entries": { "wheel": 10 } }\n',
    'file.yaml': PRELUDE + 'check-passwd: { "type": "file", "filename": "local-file" }\n',
    'local-file': '',
    'badg.yaml': PRELUDE + 'check-groups: { "type": "data", "entries": { "wheel": [10, 10] } }\n',
  });
  assert.deepEqual(loadTreefile(join(d, 'n.yaml'), { arch: 'x86_64' }).treefile['check-passwd'], { type: 'none' });
  const data = loadTreefile(join(d, 'data.yaml'), { arch: 'x86_64' }).treefile;
  assert.deepEqual(data['check-passwd'], { type: 'data', entries: { adm: [3, 4], bin: 1, foo: [2] } });
  assert.deepEqual(data['check-groups'], { type: 'data', entries: { wheel: 10 } });
  const f = loadTreefile(join(d, 'file.yaml'), { arch: 'x86_64' });
  assert.deepEqual(f.treefile['check-passwd'], { type: 'file', filename: 'local-file' });
  assert.equal(f.externals.passwd, join(d, 'local-file'));
  assert.throws(() => loadTreefile(join(d, 'badg.yaml'), { arch: 'x86_64' }), /check-groups\.entries\.wheel: expected a gid/);
});
