import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTreefile, splitPackages, evaluateCondition, treefileChecksum } from '../../src/config/index.js';
import { tmp, write } from './helpers.js';

test('include merge: scalars first-wins, lists prepended per include, maps includer wins, packages a set', (t) => {
  const d = tmp(t);
  write(d, {
    'top.yaml': 'ref: top\ninclude: [a.yaml, b.yaml]\npostprocess: [own]\npackages: [zsh]\nadd-commit-metadata: {k: top, t: 1}\n',
    'a.yaml': 'ref: a\ninclude: a1.yaml\npostprocess: [a]\npackages: [bash zsh]\nrecommends: false\nadd-commit-metadata: {k: a, a: 1}\n',
    'a1.yaml': 'postprocess: [a1]\nrecommends: true\ndocumentation: false\n',
    'b.yaml': 'postprocess: [b]\ndocumentation: true\npackages: [\"aaa\"]\n',
  });
  const tf = loadTreefile(join(d, 'top.yaml'), { arch: 'x86_64' }).treefile;
  assert.equal(tf.ref, 'top');
  assert.deepEqual(tf.postprocess, ['b', 'a1', 'a', 'own']);
  assert.equal(tf.recommends, false, 'a (depth 1) beats a1 (its include)');
  assert.equal(tf.documentation, false, "a's subtree (first include) beats b");
  assert.deepEqual(tf.packages, ['aaa', 'bash', 'zsh']);
  assert.deepEqual(tf['add-commit-metadata'], { k: 'top', a: 1, t: 1 });
  assert.deepEqual(Object.keys(tf['add-commit-metadata']!), ['a', 'k', 't'], 'printed sorted, like a BTreeMap');
});

test('arch-include, packages-$arch, conditional-include, variables', (t) => {
  const d = tmp(t);
  write(d, {
    'm.yaml': [
      'variables: {stream: dev, prod: false, n: 5}',
      'releasever: "39"',
      'ref: "exampleos/${basearch}/${releasever}/${stream}/${n}/${prod}/${undefined}"',
      'include: vars.yaml',
      'arch-include: {x86_64: x.yaml, s390x: [nope.yaml]}',
      'conditional-include:',
      '  - if: prod == false',
      '    include: {postprocess: [inline], ref: ignored}',
      '  - if: [stream == "dev", basearch != "s390x"]',
      '    include: dev.yaml',
      '  - if: stream == "prod"',
      '    include: missing-but-false.yaml',
      'packages: [top]',
      "packages-x86_64: [\"x86 'kernel >= 6'\"]",
      'packages-aarch64: [arm]',
      'automatic-version-prefix: "${releasever}.<date:%Y%m%d>"',
      'postprocess: [own]',
    ].join('\n'),
    'vars.yaml': 'variables: {stream: ignored, late: yes}\nconditional-include:\n  - if: late == "yes"\n    include: late.yaml\n',
    'late.yaml': 'packages: [late]\n',
    'x.yaml': 'packages: [xinc]\n',
    'dev.yaml': 'packages: [devtool]\n',
  });
  const l = loadTreefile(join(d, 'm.yaml'), { arch: 'x86_64' });
  const tf = l.treefile;
  assert.equal(tf.ref, 'exampleos/x86_64/39/dev/5/false/${undefined}');
  assert.equal(tf['automatic-version-prefix'], '39.<date:%Y%m%d>');
  assert.deepEqual(tf.packages, ['devtool', 'kernel >= 6', 'late', 'top', 'x86', 'xinc']);
  // The inline treefile merges into the file like an include: its lists come first, its scalars lose.
  assert.deepEqual(tf.postprocess, ['inline', 'own']);
  assert.equal(l.variables.stream, 'dev', 'first definition wins');
  assert.equal(l.variables.late, 'yes', 'YAML 1.2: yes is a string');
  const s = loadTreefile(join(d, 'm.yaml'), { arch: 'aarch64' }).treefile;
  assert.deepEqual(s.packages, ['arm', 'devtool', 'late', 'top']);
});

test('a key with no value is absent (serde Option), in YAML and JSON', (t) => {
  const d = tmp(t);
  write(d, { 'n.yaml': 'ref: x\npackages:\n  # all commented out\npostprocess:\ninclude:\n', 'n.json': '{"ref": "y", "packages": null, "repos": null}' });
  const y = loadTreefile(join(d, 'n.yaml'), { arch: 'x86_64' }).treefile;
  assert.deepEqual([y.ref, y.packages, y.postprocess], ['x', [], undefined]);
  const j = loadTreefile(join(d, 'n.json'), { arch: 'x86_64' }).treefile;
  assert.deepEqual([j.ref, j.repos], ['y', undefined]);
});

test('JSON treefiles ignore unknown keys; legacy underscore spellings are accepted', (t) => {
  const d = tmp(t);
  write(d, {
    'tf.json': JSON.stringify({ ref: 'r', 'comment-packages': 'a comment', include: 'inc.yaml', default_target: 'multi-user.target', packages: ['a'] }),
    'inc.yaml': 'boot_location: modules\ngpg_key: ABC\n',
  });
  const tf = loadTreefile(join(d, 'tf.json'), { arch: 'x86_64' }).treefile;
  assert.equal(tf['default-target'], 'multi-user.target');
  assert.equal(tf['boot-location'], 'modules');
  assert.equal(tf['gpg-key'], 'ABC');
  assert.ok(!('comment-packages' in tf));
});

test('repo-packages: a package keeps only its last entry; container forces defaults', (t) => {
  const d = tmp(t);
  write(d, {
    'm.yaml': 'include: i.yaml\nrepo-packages: [{repo: b, packages: [foo]}]\ncontainer: true\n',
    'i.yaml': 'repo-packages: [{repo: a, packages: [foo bar]}]\n',
  });
  const tf = loadTreefile(join(d, 'm.yaml'), { arch: 'x86_64' }).treefile;
  assert.deepEqual(tf['repo-packages'], [
    { repo: 'a', packages: ['bar'] },
    { repo: 'b', packages: ['foo'] },
  ]);
  assert.equal(tf.selinux, false);
  assert.deepEqual(tf['check-passwd'], { type: 'none' });
});

test('packages entries split on whitespace, single quotes keep text together', () => {
  assert.deepEqual(splitPackages('  a b\tc '), ['a', 'b', 'c']);
  assert.deepEqual(splitPackages("'podman >= 4.1' skopeo"), ['podman >= 4.1', 'skopeo']);
  assert.throws(() => splitPackages("'unterminated"), /Missing terminating quote/);
});

test('conditions: operators, types and errors as rpm-ostree evaluates them', () => {
  const v = { releasever: 40, stream: 'dev', prod: false };
  assert.equal(evaluateCondition('releasever >= 40', v), true);
  assert.equal(evaluateCondition('releasever < 41', v), true);
  // rpm-ostree's regex takes the operator greedily: without spaces "<41" splits as "<4" "1".
  assert.throws(() => evaluateCondition('releasever<41', v), /Unknown operator "<4"/);
  assert.equal(evaluateCondition('prod==false', v), true);
  assert.equal(evaluateCondition('stream == "dev"', v), true);
  assert.equal(evaluateCondition('prod != true', v), true);
  assert.throws(() => evaluateCondition('releasever >= "40"', v), /not the same type/);
  assert.throws(() => evaluateCondition('nosuch == 1', v), /Undefined variable/);
  assert.throws(() => evaluateCondition('stream < "x"', v), /needs integers/);
  assert.throws(() => evaluateCondition('garbage', v), /Invalid condition/);
});

test('container: true forces its defaults in the file that sets it; an includer still wins', (t) => {
  const d = tmp(t);
  write(d, {
    'top.yaml': 'include: c.yaml\nselinux: true\nedition: "2024"\n',
    'c.yaml': 'container: true\nselinux: true\nopt-usrlocal: stateoverlay\n',
    'e.yaml': 'edition: "2024"\n',
  });
  const tf = loadTreefile(join(d, 'top.yaml'), { arch: 'x86_64' }).treefile;
  assert.equal(tf.selinux, true);
  assert.equal(tf['tmp-is-dir'], true);
  assert.equal(tf['boot-location'], 'modules');
  assert.deepEqual(tf['check-groups'], { type: 'none' });
  assert.equal(tf['opt-usrlocal'], 'state-overlay');
  const e = loadTreefile(join(d, 'e.yaml'), { arch: 'x86_64' }).treefile;
  assert.equal(e['boot-location'], 'modules');
  assert.equal(e.selinux, undefined);
});

test('kickstart treefiles (.ks): %packages, excludes, --exclude-weakdeps, %include; finalize.d', (t) => {
  const d = tmp(t);
  write(d, {
    'top.yaml': 'ref: ks\ninclude: base.ks\npackages: [vim]\n',
    'base.ks': '# comment\n%packages --exclude-weakdeps\nbash\n  # not a comment inside %packages? no: trimmed lines starting with # after spaces are packages\n-dnf\n%end\n%include more.ks\n',
    'more.ks': '%packages\ncoreutils\n%end\n',
    'bad.ks': '%packages\nbash\n',
    'verb.ks': 'rootpw secret\n',
    'loop.ks': '%include loop.ks\n',
    'finalize.d/10-x': '#!/bin/sh\n',
    'finalize.d/README': 'not executable',
  });
  chmodSync(join(d, 'finalize.d/10-x'), 0o755);
  const l = loadTreefile(join(d, 'top.yaml'), { arch: 'x86_64' });
  assert.deepEqual(l.treefile.packages, ['# not a comment inside %packages? no: trimmed lines starting with # after spaces are packages', 'bash', 'coreutils', 'vim']);
  assert.deepEqual(l.treefile['exclude-packages'], ['dnf']);
  assert.equal(l.treefile.recommends, false);
  assert.deepEqual(l.externals.finalizeD, { '10-x': join(d, 'finalize.d/10-x') });
  assert.throws(() => loadTreefile(join(d, 'bad.ks'), { arch: 'x86_64' }), /bad\.ks:1: Missing %end for %packages/);
  assert.throws(() => loadTreefile(join(d, 'verb.ks'), { arch: 'x86_64' }), /verb\.ks:1: Unhandled verb: rootpw/);
  assert.throws(() => loadTreefile(join(d, 'loop.ks'), { arch: 'x86_64' }), /Recursive include: .*loop\.ks/);
});

test('treefileChecksum: stable across formatting, sensitive to content, externals and layers', (t) => {
  const d = tmp(t);
  write(d, {
    'a.yaml': 'ref: r\npackages: [b, a]\nostree-layers: [overlay/x]\npostprocess-script: post.sh\nadd-files: [[f.txt, /usr/share/f.txt]]\n',
    'b.yaml': '# a comment\npackages:\n  - a\n  - b\nref: r\nadd-files:\n  - [f.txt, /usr/share/f.txt]\npostprocess-script: post.sh\nostree-layers: [overlay/renamed]\nmetadata: {ignored: true}\n',
    'post.sh': '#!/bin/sh\n',
    'f.txt': 'one',
  });
  const a = treefileChecksum(loadTreefile(join(d, 'a.yaml'), { arch: 'x86_64' }));
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.equal(treefileChecksum(loadTreefile(join(d, 'b.yaml'), { arch: 'x86_64' })), a);
  assert.notEqual(treefileChecksum(loadTreefile(join(d, 'a.yaml'), { arch: 'aarch64' })), a);
  assert.notEqual(treefileChecksum(loadTreefile(join(d, 'a.yaml'), { arch: 'x86_64' }), ['abc']), a);
  write(d, { 'f.txt': 'two' });
  assert.notEqual(treefileChecksum(loadTreefile(join(d, 'a.yaml'), { arch: 'x86_64' })), a);
});

test('the postprocess ordering example of rpm-ostree docs/treefile.md', (t) => {
  const d = tmp(t);
  write(d, {
    'manifest.yaml': 'include:\n  - manifests/kernel.yaml\n  - manifests/bootupd.yaml\npostprocess:\n  - echo foo\n',
    'manifests/kernel.yaml': 'postprocess:\n  - echo bar\n',
    'manifests/bootupd.yaml': 'postprocess:\n  - echo baz\n',
  });
  assert.deepEqual(loadTreefile(join(d, 'manifest.yaml'), { arch: 'x86_64' }).treefile.postprocess, ['echo baz', 'echo bar', 'echo foo']);
});
