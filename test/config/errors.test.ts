import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoreforgeError } from '../../src/errors.js';
import { ConfigRepo, listOverlays, loadTreefile, parseLockfile, parseRepoFile, loadImageYaml } from '../../src/config/index.js';
import { cli, tmp, write } from './helpers.js';

function throwsConfig(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CoreforgeError, `expected a CoreforgeError, got ${String(e)}`);
    assert.equal(e.code, 'ECONFIG');
    assert.match(e.message, re);
    return true;
  });
}

test('malformed YAML names file, line and column', (t) => {
  const d = tmp(t);
  write(d, { 'm.yaml': 'ref: x\npackages:\n  - a\n - b\n' });
  throwsConfig(() => loadTreefile(join(d, 'm.yaml'), { arch: 'x86_64' }), /m\.yaml:4:\d+: invalid YAML/);
  write(d, { 'dup.yaml': 'ref: x\nref: y\n' });
  throwsConfig(() => loadTreefile(join(d, 'dup.yaml'), { arch: 'x86_64' }), /dup\.yaml:2:1: invalid YAML: .*unique/i);
  write(d, { 'bad.json': '{"ref": "x",\n "packages": [}\n' });
  throwsConfig(() => loadTreefile(join(d, 'bad.json'), { arch: 'x86_64' }), /bad\.json:2:\d+: invalid JSON/);
});

test('wrong types name file:line:col and the key path', (t) => {
  const d = tmp(t);
  write(d, { 'm.yaml': 'ref: x\npackages:\n  - a\n  - 5\nrecommends: "no"\n' });
  throwsConfig(() => loadTreefile(join(d, 'm.yaml'), { arch: 'x86_64' }), /m\.yaml:4:5: packages\[1\]: expected a string, found a number \(5\)/);
  write(d, { 'b.yaml': 'recommends: "no"\n' });
  throwsConfig(() => loadTreefile(join(d, 'b.yaml'), { arch: 'x86_64' }), /b\.yaml:1:13: recommends: expected a boolean/);
  write(d, { 'c.yaml': 'check-passwd:\n  type: file\n  filname: passwd\n' });
  throwsConfig(() => loadTreefile(join(d, 'c.yaml'), { arch: 'x86_64' }), /c\.yaml:2:3: check-passwd: type 'file' needs 'filename'/);
  // Like serde in rpm-ostree, unknown keys inside nested structs are dropped, with a warning naming them.
  write(d, { 'r.yaml': 'rojig:\n  name: a\n  summary: b\n  license: MIT\n  descripton: typo\n' });
  const r = loadTreefile(join(d, 'r.yaml'), { arch: 'x86_64' });
  assert.deepEqual(r.treefile.rojig, { name: 'a', summary: 'b', license: 'MIT' });
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /r\.yaml:5:3: rojig\.descripton: unknown key ignored/);
  write(d, { 'v.yaml': 'variables: {basearch: x}\n' });
  throwsConfig(() => loadTreefile(join(d, 'v.yaml'), { arch: 'x86_64' }), /variables\.basearch: cannot define reserved variable 'basearch'/);
  write(d, { 'l.yaml': 'gpg_key: a\ngpg-key: b\n' });
  throwsConfig(() => loadTreefile(join(d, 'l.yaml'), { arch: 'x86_64' }), /l\.yaml:1:1: gpg_key: Cannot use new and legacy forms of gpg-key/);
  write(d, { 'ci.yaml': 'variables: {v: "1"}\nconditional-include:\n  - if: v >= 1\n    include: x.yaml\n' });
  throwsConfig(() => loadTreefile(join(d, 'ci.yaml'), { arch: 'x86_64' }), /ci\.yaml:3:9: conditional-include\[0\]\.if: .*not the same type/);
});

test('external files (postprocess-script, add-files, check-passwd file) must exist, relative to the declaring file', (t) => {
  const d = tmp(t);
  write(d, { 'm.yaml': 'include: sub/i.yaml\n', 'sub/i.yaml': 'postprocess-script: post.sh\n', 'a.yaml': 'add-files:\n  - [here.txt, /usr/share/x]\n', 'p.yaml': 'check-groups: {type: file, filename: group}\n' });
  throwsConfig(() => loadTreefile(join(d, 'm.yaml'), { arch: 'x86_64' }), /sub\/i\.yaml:1:21: postprocess-script: .*sub\/post\.sh not found/);
  throwsConfig(() => loadTreefile(join(d, 'a.yaml'), { arch: 'x86_64' }), /a\.yaml:2:6: add-files\[0\]\[0\]: .*here\.txt not found/);
  throwsConfig(() => loadTreefile(join(d, 'p.yaml'), { arch: 'x86_64' }), /p\.yaml:1:38: check-groups\.filename: .*group not found/);
  write(d, { 'sub/post.sh': '#!/bin/sh\n' });
  assert.equal(loadTreefile(join(d, 'm.yaml'), { arch: 'x86_64' }).externals.postprocessScript, join(d, 'sub', 'post.sh'));
});

test('unknown keys are rejected in YAML with file:line:col', (t) => {
  const d = tmp(t);
  write(d, { 'm.yaml': 'ref: x\nincldue: other.yaml\n' });
  throwsConfig(() => loadTreefile(join(d, 'm.yaml'), { arch: 'x86_64' }), /m\.yaml:2:1: incldue: unknown key 'incldue'/);
});

test('missing include, include loops, depth limit', (t) => {
  const d = tmp(t);
  write(d, { 'm.yaml': 'ref: x\ninclude:\n  - ok.yaml\n  - gone.yaml\n', 'ok.yaml': 'packages: [a]\n' });
  throwsConfig(() => loadTreefile(join(d, 'm.yaml'), { arch: 'x86_64' }), /m\.yaml:4:5: include\[1\]: included file .*gone\.yaml not found/);
  write(d, { 'a.yaml': 'include: b.yaml\n', 'b.yaml': 'include: a.yaml\n' });
  throwsConfig(() => loadTreefile(join(d, 'a.yaml'), { arch: 'x86_64' }), /b\.yaml:1:10: include: Include loop detected; .*a\.yaml was already included/);
  // A diamond (two files including the same third) is an error in rpm-ostree too.
  write(d, { 'd.yaml': 'include: [e.yaml, f.yaml]\n', 'e.yaml': 'include: g.yaml\n', 'f.yaml': 'include: g.yaml\n', 'g.yaml': 'packages: [x]\n' });
  throwsConfig(() => loadTreefile(join(d, 'd.yaml'), { arch: 'x86_64' }), /f\.yaml.*Include loop detected/);
  const files: Record<string, string> = {};
  for (let i = 0; i <= 51; i++) files[`n${i}.yaml`] = `include: n${i + 1}.yaml\n`;
  files['n52.yaml'] = 'packages: [x]\n';
  write(d, files);
  throwsConfig(() => loadTreefile(join(d, 'n0.yaml'), { arch: 'x86_64' }), /n50\.yaml:1:10: include: Reached maximum include depth 50/);
});

test('broken symlink in overlay.d is a clear error; symlinked overlays are followed', (t) => {
  const d = tmp(t);
  write(d, { 'up/overlay.d/05core/etc/x': 'x', 'cfg/overlay.d/README.md': 'readme' });
  mkdirSync(join(d, 'cfg', 'overlay.d', '99mine'));
  symlinkSync('../../up/overlay.d/05core', join(d, 'cfg', 'overlay.d', '05core'));
  const ov = listOverlays(join(d, 'cfg'));
  assert.deepEqual(
    ov.map((o) => [o.name, o.symlink, o.ref]),
    [
      ['05core', true, 'overlay/05core'],
      ['99mine', false, 'overlay/99mine'],
    ],
  );
  symlinkSync('../../up/overlay.d/15fcos', join(d, 'cfg', 'overlay.d', '15fcos'));
  throwsConfig(() => listOverlays(join(d, 'cfg')), /overlay\.d\/15fcos: broken symlink to \.\.\/\.\.\/up\/overlay\.d\/15fcos/);
});

test('the CLI reports a broken overlay.d symlink as one error line', async (t) => {
  const d = tmp(t);
  write(d, { 'manifest.yaml': 'ref: x\npackages: [bash]\n' });
  mkdirSync(join(d, 'overlay.d'));
  symlinkSync('../upstream/overlay.d/05core', join(d, 'overlay.d', '05core'));
  const r = await cli(['config', 'show', '--config', d, '--arch', 'x86_64'], { env: {} });
  assert.equal(r.rc, 1);
  assert.equal(r.stderr, 'error: overlay.d/05core: broken symlink to ../upstream/overlay.d/05core (is the upstream submodule checked out? try: git submodule update --init)\n');
  const c = await cli(['check', '--config', d, '--arch', 'x86_64'], { env: {} });
  assert.equal(c.rc, 1);
  assert.match(c.stdout, /^error: overlay\.d: overlay\.d\/05core: broken symlink/m);
});

test('lockfile, repo file and image.yaml errors name file and key', (t) => {
  const d = tmp(t);
  write(d, { 'l.yaml': 'packages:\n  foo:\n    evr: 1-1\n    evra: 1-1.x86_64\n' });
  throwsConfig(() => parseLockfile(join(d, 'l.yaml')), /l\.yaml:3:5: packages\.foo: needs exactly one of evra, evr/);
  write(d, { 'k.json': '{"packages": {}, "extra": 1}' });
  throwsConfig(() => parseLockfile(join(d, 'k.json')), /k\.json:1:\d+: extra: unknown key/);
  write(d, { 'n.json': '{"metadata": {}}' });
  throwsConfig(() => parseLockfile(join(d, 'n.json')), /Key 'packages' not found/);
  write(d, { 'r.repo': '[a]\nbaseurl=http://x\nenabled=maybe\n' });
  throwsConfig(() => parseRepoFile(join(d, 'r.repo'), { basearch: 'x86_64' }, d), /r\.repo:3: \[a\] enabled: expected a boolean/);
  write(d, { 'i.yaml': 'include: base.yaml\nsize: big\n' });
  throwsConfig(() => loadImageYaml(join(d, 'i.yaml')), /i\.yaml:2:7: size: expected a non-negative integer/);
  write(d, { 'j.yaml': 'include: nothere.yaml\n' });
  throwsConfig(() => loadImageYaml(join(d, 'j.yaml')), /j\.yaml:1:10: include: included file .*nothere\.yaml not found/);
});

test('a repo named in the treefile without a .repo file is an error naming the key', (t) => {
  const d = tmp(t);
  write(d, { 'manifest.yaml': 'ref: x\nrepos: [fedora, mine]\npackages: [a]\n', 'f.repo': '[fedora]\nbaseurl=http://x/$basearch\n' });
  throwsConfig(() => ConfigRepo.load(d, { arch: 'x86_64' }), /manifest\.yaml: repos: repository 'mine' is not defined in any \.repo file .*\(defined: fedora\)/);
});

test('the CLI prints "error: …" with no stack trace for bad config', async (t) => {
  const d = tmp(t);
  write(d, { 'manifest.yaml': 'ref: x\npackages: {a: 1}\n' });
  const r = await cli(['manifest', '--config', d, '--json']);
  assert.equal(r.rc, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^error: .*manifest\.yaml:2:11: packages: expected a list of strings, found a mapping\n$/);
  assert.doesNotMatch(r.stderr, /\bat .*\.(ts|js):\d+/);
});

test('links into an unchecked-out upstream are errors, never silently skipped (lockfiles, image.yaml, platforms.yaml, overlay.d)', async (t) => {
  const d = tmp(t);
  write(d, { 'manifest.yaml': 'ref: x\npackages: [bash]\n' });
  const up = '../up/fedora-coreos-config';
  symlinkSync(`${up}/manifest-lock.x86_64.json`, join(d, 'manifest-lock.x86_64.json'));
  // Before: the build silently ran unlocked. Now the loader, show and check all refuse.
  throwsConfig(() => ConfigRepo.load(d, { arch: 'x86_64' }), /manifest-lock\.x86_64\.json: broken symlink to \.\.\/up\/.*\(is the upstream submodule checked out\? try: git submodule update --init\)/);
  const c = await cli(['check', '--config', d, '--arch', 'x86_64'], { env: {} });
  assert.equal(c.rc, 1);
  assert.match(c.stdout, /^error: lockfiles: .*manifest-lock\.x86_64\.json: broken symlink/m);
  unlinkSync(join(d, 'manifest-lock.x86_64.json'));
  for (const f of ['image.yaml', 'platforms.yaml', 'overlay.d']) {
    symlinkSync(`${up}/${f}`, join(d, f));
    throwsConfig(() => ConfigRepo.load(d, { arch: 'x86_64' }), new RegExp(`${f.replace('.', '\\.')}: broken symlink to \\.\\./up/fedora-coreos-config/${f.replace('.', '\\.')} \\(is the upstream`));
    const k = await cli(['check', '--config', d, '--arch', 'x86_64'], { env: {} });
    assert.equal(k.rc, 1, f);
    assert.match(k.stdout, new RegExp(`^error: ${f.replace('.', '\\.')}: .*broken symlink`, 'm'), k.stdout);
    unlinkSync(join(d, f));
  }
  assert.equal(ConfigRepo.load(d, { arch: 'x86_64' }).lockfile.files.length, 0, 'absent files are still simply absent');
});

test('odd overlay.d shapes and non-UTF-8 files are errors naming the file, not crashes', async (t) => {
  const d = tmp(t);
  write(d, { 'manifest.yaml': 'ref: x\npackages: [bash]\n', 'overlay.d': 'not a directory\n' });
  throwsConfig(() => listOverlays(d), /overlay\.d: overlay\.d must be a directory/);
  rmSync(join(d, 'overlay.d'));
  write(d, { 'overlay.d/05a/statoverride/oops': '' });
  throwsConfig(() => listOverlays(d), /overlay\.d\/05a\/statoverride: expected a file of '=MODE \/path' lines, found a directory/);
  for (const argv of [['config', 'show'], ['check']]) {
    const r = await cli([...argv, '--config', d, '--arch', 'x86_64'], { env: {} });
    assert.equal(r.rc, 1);
    assert.doesNotMatch(r.stdout + r.stderr, /internal error|\n\s+at /);
    assert.match(r.stdout + r.stderr, /^error: (overlay\.d: )?overlay\.d\/05a\/statoverride: expected a file/m);
  }
  rmSync(join(d, 'overlay.d'), { recursive: true });
  // serde refuses invalid UTF-8; reading it leniently would put U+FFFD into a ref or a package name.
  writeFileSync(join(d, 'manifest.yaml'), Buffer.concat([Buffer.from('ref: x\npackages:\n  - caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
  throwsConfig(() => loadTreefile(join(d, 'manifest.yaml'), { arch: 'x86_64' }), /manifest\.yaml:3: treefile is not valid UTF-8$/);
  writeFileSync(join(d, 'l.yaml'), Buffer.from([0x70, 0x61, 0xff, 0x3a]));
  throwsConfig(() => parseLockfile(join(d, 'l.yaml')), /l\.yaml:1: lockfile is not valid UTF-8/);
  // A byte-order mark is not an error (it is dropped, as serde_json/serde_yaml skip it).
  writeFileSync(join(d, 'bom.json'), '\uFEFF{"ref": "bom", "packages": ["a"]}');
  assert.equal(loadTreefile(join(d, 'bom.json'), { arch: 'x86_64' }).treefile.ref, 'bom');
});
