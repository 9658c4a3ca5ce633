import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { buildDate, chooseVersion, formatDate, nextVersion, validateBuildId } from './version.js';
import { InvalidInputError } from '../errors.js';

const NOW = new Date(Date.UTC(2024, 5, 1, 13, 4, 5));
const f = (fmt: string) => formatDate(fmt, NOW);

describe('nextVersion (rpm-ostree util_next_version cases)', () => {
  const v = (prefix: string, last: string, suffix?: string) => nextVersion(prefix, last, { now: NOW, ...(suffix ? { suffix } : {}) });

  it('increments without a date tag', () => {
    for (const last of ['', 'xyz', '9', '11']) assert.equal(v('10', last), '10');
    const cases: Array<[string, string, string]> = [
      ['10', '10', '10.1'], ['10.1', '10.1', '10.1.1'], ['10', '10.0', '10.1'], ['10', '10.1', '10.2'],
      ['10', '10.2', '10.3'], ['10', '10.3', '10.4'], ['10', '10.1.5', '10.2'], ['10.1', '10.1.5', '10.1.6'],
      ['10.1', '10.1.1.5', '10.1.2'], ['10', '10001', '10'], ['10', '101.1', '10'], ['10', '10x.1', '10'],
      ['10.1', '10', '10.1'], ['10.1', '10.', '10.1'], ['10.1', '10.0', '10.1'], ['10.1', '10.2', '10.1'],
      ['10.1', '10.12', '10.1'], ['10.1', '10.1x', '10.1'], ['10.1', '10.1.x', '10.1.1'], ['10.1', '10.1.2x', '10.1.3'],
    ];
    for (const [p, last, want] of cases) assert.equal(v(p, last), want, `${p} after ${last}`);
  });

  it('uses automatic-version-suffix', () => {
    assert.equal(v('10', '10', '-'), '10-1');
    assert.equal(v('10', '10-1', '-'), '10-2');
    assert.equal(v('10.1', '10.1-5', '-'), '10.1-6');
    assert.throws(() => v('10', '10', '--'), InvalidInputError);
  });

  it('renders <date:...> and restarts or increments the count', () => {
    assert.equal(v('10.<date:%Y%m%d>', '10.20001010'), f('10.%Y%m%d.0'));
    assert.equal(v('10.<date:%Y%m%d>', '10.20001010.5'), f('10.%Y%m%d.0'));
    assert.equal(v('10.<date:%Y%m%d>', f('10.%Y%m%d.1')), f('10.%Y%m%d.2'));
    assert.equal(v('10.<date:%Y%m%d>', ''), f('10.%Y%m%d.0'));
    assert.equal(v('10.<date:%Y%m%d>.0', f('10.%Y%m%d')), f('10.%Y%m%d.0.0'));
    assert.equal(v('10.<date:%Y%m%d>.0', f('10.%Y%m%d.0')), f('10.%Y%m%d.0.0'));
    assert.equal(v('10.<date:%Y%m%d>', f('10.%Y%m%d.x')), f('10.%Y%m%d.1'));
    assert.equal(v('10.<date:%Y%m%d>.2', f('10.%Y%m%d.2.x')), f('10.%Y%m%d.2.1'));
    assert.equal(v('10.<date:%Y%m%d>.1', f('10.%Y%m%d.1.2x')), f('10.%Y%m%d.1.3'));
    assert.equal(v('10.<date: %Y%m%d>', '10.20001010'), f('10. %Y%m%d.0'));
    assert.equal(v('10.<date:%Y%m%d>.', '10.20001010.'), f('10.%Y%m%d..0'));
    assert.equal(v('10.<date:%Y%m%d>abc', '10.20001010abc'), f('10.%Y%m%dabc.0'));
    assert.equal(v('10.<date:%Y%m%d >', '10.20001010'), f('10.%Y%m%d .0'));
    assert.equal(v('10.<date:text%Y%m%dhere>', '10.20001010'), f('10.text%Y%m%dhere.0'));
    assert.equal(v('10.<date:%Y%m%d here>', '10.20001010'), f('10.%Y%m%d here.0'));
    assert.equal(v('10.<date:%Y%m%d>', f('10.%Y%m%d')), f('10.%Y%m%d.0'));
    assert.equal(v('10.<date:%Y%m%d>', '10'), f('10.%Y%m%d.0'));
    assert.equal(v('10.<date: >', '10.20001010'), '10. .0');
    assert.equal(v('10.<date:>', '10.20001010'), '10..0');
    assert.equal(v('10.<wrongtag: >', '10.20001010'), '10.<wrongtag: >');
    assert.throws(() => v('10.<date:%E>', '10.20001010'), /error in formatting date string \(%E\)/);
    assert.equal(f('%Y%m%d'), '20240601');
  });

  it('FCOS 2020 dev prefix', () => {
    assert.equal(v('32.<date:%Y%m%d>.dev', ''), '32.20240601.dev.0');
    assert.equal(v('32.<date:%Y%m%d>.dev', '32.20240601.dev.0'), '32.20240601.dev.1');
  });
});

describe('formatDate', () => {
  it('matches GLib g_date_time_format (the real one, through python3-gi)', () => {
    const fmts = ['%Y%m%d', '%F %T', '%a %A %b %B %h', '%C %y %j %e %k %l %I %p %P', '%u %w %V %G %g', '%s', '%R %r', '%x %X', '%c', '%H%M%S',
      '%_d %-d %0e %-m %_-d %-_d %0k', '%%', '%z %:z %::z %:::z %Z', '%Oy %OY %Od %Ob', '%f', 'text here', '', '%E', '%Ey', '%EC', '%Q', '%', 'a%_', 'a%O', '%:', '%:x', '%::::z', '%^a', '%#Z'];
    const times = [new Date(Date.UTC(2024, 5, 1, 3, 4, 5)), new Date(Date.UTC(2021, 0, 3, 0, 0, 9)), new Date(Date.UTC(2020, 11, 31, 23, 59, 59)), new Date(Date.UTC(1999, 0, 1, 12, 0, 0))];
    const py = `
import json, sys
from gi.repository import GLib
fmts, times = json.loads(sys.stdin.read())
print(json.dumps([[GLib.DateTime.new_from_unix_utc(t).format(f) for f in fmts] for t in times]))`;
    const r = spawnSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify([fmts, times.map((t) => t.getTime() / 1000)]), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const want = JSON.parse(r.stdout) as Array<Array<string | null>>;
    times.forEach((t, ti) => {
      fmts.forEach((fmt, fi) => {
        let got: string | null;
        try {
          got = formatDate(fmt, t);
        } catch {
          got = null;
        }
        assert.equal(got, want[ti]![fi], `${JSON.stringify(fmt)} at ${t.toISOString()}`);
      });
    });
  });
});

describe('chooseVersion', () => {
  it('honours --version and validates it as a directory name', () => {
    assert.equal(chooseVersion({ override: '40.1', prefix: 'x' }), '40.1');
    for (const bad of ['', '.', '..', 'latest', 'a/b', '.hidden']) assert.throws(() => chooseVersion({ override: bad }), InvalidInputError);
    assert.throws(() => validateBuildId('a\0b'), InvalidInputError);
  });
  it('defaults to releasever.<date>.dev.N, else <date>.dev.N', () => {
    assert.equal(chooseVersion({ releasever: 40, now: NOW }), '40.20240601.dev.0');
    assert.equal(chooseVersion({ now: NOW }), '20240601.dev.0');
    assert.equal(chooseVersion({ releasever: '40', previous: '40.20240601.dev.3', now: NOW }), '40.20240601.dev.4');
  });
  it('never returns an existing build ID', () => {
    assert.equal(chooseVersion({ prefix: '10.<date:%Y%m%d>', previous: '9.1', existing: ['10.20240601.0', '10.20240601.1'], now: NOW }), '10.20240601.2');
    assert.equal(chooseVersion({ prefix: '10', previous: 'x', existing: ['10', '10.1'], now: NOW }), '10.2');
  });
});

describe('buildDate', () => {
  it('reads SOURCE_DATE_EPOCH', () => {
    assert.equal(buildDate({ SOURCE_DATE_EPOCH: '1717247045' }).toISOString(), '2024-06-01T13:04:05.000Z');
    assert.equal(buildDate({}, () => NOW), NOW);
    assert.throws(() => buildDate({ SOURCE_DATE_EPOCH: 'soon' }), InvalidInputError);
  });
});
