import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rpmvercmp, parseEVR, compareEVR, rangesOverlap, REL_EQ, REL_GT, REL_LT } from './version.js';

// rpm's tests/rpmvercmp.at vectors (plus the caret cases from rpm >= 4.15's suite).
const VECTORS: [string, string, number][] = [
  ['1.0', '1.0', 0], ['1.0', '2.0', -1], ['2.0', '1.0', 1],
  ['2.0.1', '2.0.1', 0], ['2.0', '2.0.1', -1], ['2.0.1', '2.0', 1],
  ['2.0.1a', '2.0.1a', 0], ['2.0.1a', '2.0.1', 1], ['2.0.1', '2.0.1a', -1],
  ['5.5p1', '5.5p1', 0], ['5.5p1', '5.5p2', -1], ['5.5p2', '5.5p1', 1],
  ['5.5p10', '5.5p10', 0], ['5.5p1', '5.5p10', -1], ['5.5p10', '5.5p1', 1],
  ['10xyz', '10.1xyz', -1], ['10.1xyz', '10xyz', 1],
  ['xyz10', 'xyz10', 0], ['xyz10', 'xyz10.1', -1], ['xyz10.1', 'xyz10', 1],
  ['xyz.4', 'xyz.4', 0], ['xyz.4', '8', -1], ['8', 'xyz.4', 1], ['xyz.4', '2', -1], ['2', 'xyz.4', 1],
  ['5.5p2', '5.6p1', -1], ['5.6p1', '5.5p2', 1],
  ['5.6p1', '6.5p1', -1], ['6.5p1', '5.6p1', 1],
  ['6.0.rc1', '6.0', 1], ['6.0', '6.0.rc1', -1],
  ['10b2', '10a1', 1], ['10a2', '10b2', -1],
  ['1.0aa', '1.0aa', 0], ['1.0a', '1.0aa', -1], ['1.0aa', '1.0a', 1],
  ['10.0001', '10.0001', 0], ['10.0001', '10.1', 0], ['10.1', '10.0001', 0], ['10.0001', '10.0039', -1], ['10.0039', '10.0001', 1],
  ['4.999.9', '5.0', -1], ['5.0', '4.999.9', 1],
  ['20101121', '20101121', 0], ['20101121', '20101122', -1], ['20101122', '20101121', 1],
  ['2_0', '2_0', 0], ['2.0', '2_0', 0], ['2_0', '2.0', 0],
  ['a', 'a', 0], ['a+', 'a+', 0], ['a+', 'a_', 0], ['a_', 'a+', 0], ['+a', '+a', 0], ['+a', '_a', 0], ['_a', '+a', 0],
  ['+_', '+_', 0], ['_+', '+_', 0], ['_+', '_+', 0], ['+', '_', 0], ['_', '+', 0],
  ['1.0~rc1', '1.0~rc1', 0], ['1.0~rc1', '1.0', -1], ['1.0', '1.0~rc1', 1], ['1.0~rc1', '1.0~rc2', -1], ['1.0~rc2', '1.0~rc1', 1],
  ['1.0~rc1~git123', '1.0~rc1~git123', 0], ['1.0~rc1~git123', '1.0~rc1', -1], ['1.0~rc1', '1.0~rc1~git123', 1],
  ['1.0^', '1.0^', 0], ['1.0^', '1.0', 1], ['1.0', '1.0^', -1],
  ['1.0^git1', '1.0^git1', 0], ['1.0^git1', '1.0', 1], ['1.0', '1.0^git1', -1],
  ['1.0^git1', '1.0^git2', -1], ['1.0^git2', '1.0^git1', 1], ['1.0^git1', '1.01', -1], ['1.01', '1.0^git1', 1],
  ['1.0^20160101', '1.0^20160101', 0], ['1.0^20160101', '1.0.1', -1], ['1.0.1', '1.0^20160101', 1],
  ['1.0^20160101^git1', '1.0^20160101^git1', 0], ['1.0^20160102', '1.0^20160101^git1', 1], ['1.0^20160101^git1', '1.0^20160102', -1],
  ['1.0~rc1^git1', '1.0~rc1^git1', 0], ['1.0~rc1^git1', '1.0~rc1', 1], ['1.0~rc1', '1.0~rc1^git1', -1],
  ['1.0^git1~pre', '1.0^git1~pre', 0], ['1.0^git1', '1.0^git1~pre', 1], ['1.0^git1~pre', '1.0^git1', -1],
];

test('rpmvercmp matches rpm test vectors', () => {
  for (const [a, b, want] of VECTORS) assert.equal(rpmvercmp(a, b), want, `rpmvercmp(${a}, ${b})`);
});

test('rpmvercmp agrees with the real rpm (lua rpm.vercmp) on random strings', (t) => {
  const probe = spawnSync('rpm', ['--eval', '%{lua: print(rpm.vercmp("1", "2"))}'], { encoding: 'utf8' });
  if (probe.status !== 0 || probe.stdout.trim() !== '-1') return t.skip('rpm with lua not available');
  let seed = 12345;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const alphabet = ['0', '1', '2', '9', '00', '10', 'a', 'b', 'z', 'rc', '.', '_', '~', '^', '+', '-'];
  const gen = () => Array.from({ length: 1 + rnd(6) }, () => alphabet[rnd(alphabet.length)]).join('');
  const pairs: [string, string][] = [];
  for (let i = 0; i < 600; i++) {
    const a = gen();
    pairs.push([a, rnd(4) === 0 ? a : rnd(2) ? gen() : a + gen()]);
  }
  const lua = pairs.map(([a, b]) => `print(rpm.vercmp("${a}", "${b}") .. "\\n")`).join(' ');
  const r = spawnSync('rpm', ['--eval', `%{lua: ${lua}}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = r.stdout.trim().split('\n').map(Number);
  assert.equal(got.length, pairs.length);
  pairs.forEach(([a, b], i) => assert.equal(rpmvercmp(a, b), got[i], `rpmvercmp(${a}, ${b})`));
});

test('EVR parse and compare', () => {
  assert.deepEqual(parseEVR('1:2.3-4.fc39'), { epoch: 1, version: '2.3', release: '4.fc39' });
  assert.deepEqual(parseEVR('2.3'), { epoch: undefined, version: '2.3' });
  assert.equal(compareEVR(parseEVR('1:1.0-1'), parseEVR('2.0-1')), 1);
  assert.equal(compareEVR(parseEVR('0:1.0-1'), parseEVR('1.0-1')), 0);
  assert.equal(compareEVR(parseEVR('1.0-2'), parseEVR('1.0-10')), -1);
});

test('dependency range overlap', () => {
  const e = parseEVR;
  assert.ok(rangesOverlap(REL_EQ, e('1.0-1'), REL_GT | REL_EQ, e('1.0')));
  assert.ok(!rangesOverlap(REL_EQ, e('1.0-1'), REL_GT, e('1.0')), 'release ignored when the requirement has none');
  assert.ok(rangesOverlap(REL_EQ, e('1.1-1'), REL_GT, e('1.0')));
  assert.ok(!rangesOverlap(REL_EQ, e('0.9-1'), REL_GT | REL_EQ, e('1.0')));
  assert.ok(rangesOverlap(REL_LT, e('2'), REL_GT, e('1')));
  assert.ok(!rangesOverlap(REL_LT, e('1'), REL_GT, e('2')));
  assert.ok(rangesOverlap(REL_GT, e('1'), REL_GT, e('5')));
  assert.ok(rangesOverlap(0, undefined, REL_LT, e('1')), 'unversioned provide matches anything');
  assert.ok(!rangesOverlap(REL_EQ, e('1:1.0'), REL_LT, e('2.0')), 'epoch wins');
});
