/**
 * fsck must catch a flipped byte in every object type, in archive and
 * bare-user repositories written by coreforge, and must reject at least
 * everything the real `ostree fsck` rejects on the same corruption.
 *
 * ostree 2022.7 is more lenient than we are in a few places (measured, and
 * reported as divergences, not failures): it never reads `.commitmeta`, and in
 * a `.filez` it ignores the 4 padding bytes, the uncompressed-size field and
 * non-normal header encodings that decode to the same header. We reject all of
 * those, since they are corruption all the same.
 *
 * Deterministic by default (seed 20261127); COREFORGE_FSCK_SEED replays others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, closeSync, copyFileSync, mkdirSync, openSync, readFileSync, readdirSync, readSync, statSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize } from '../../src/gvariant/index.js';
import { fsckRepo } from '../../src/ostree/fsck.js';
import { Repo } from '../../src/ostree/repo/repo.js';
import type { RepoMode } from '../../src/ostree/repo/mode.js';
import { Prng } from './util/prng.js';
import { coreforge, hasProgram, ostree, tempDir } from './util/run.js';
import { native } from '../../src/native/index.js';

const SEED = Number(process.env.COREFORGE_FSCK_SEED ?? 20261127) >>> 0;
/** Byte positions tried per object: all of them for small objects, else a sample incl. both ends. */
const MAX_POSITIONS = 48;
const haveOstree = hasProgram('ostree');

interface Target {
  kind: string;
  checksum: string;
  ext: string;
  path: string;
}

function makeTree(dir: string, rng: Prng): void {
  mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(dir, 'hello.txt'), 'hello, ostree\n'.repeat(5));
  writeFileSync(join(dir, 'sub', 'random.bin'), rng.bytes(700));
  writeFileSync(join(dir, 'sub', 'deeper', 'empty'), '');
  symlinkSync('../hello.txt', join(dir, 'sub', 'link'));
}

function objectFiles(repo: string): string[] {
  const out: string[] = [];
  const od = join(repo, 'objects');
  for (const d of readdirSync(od).sort()) for (const f of readdirSync(join(od, d)).sort()) out.push(join(od, d, f));
  return out;
}

async function findTargets(repoPath: string): Promise<Target[]> {
  const repo = await Repo.open(repoPath);
  const targets: Target[] = [];
  const seen = new Set<string>();
  for (const path of objectFiles(repoPath)) {
    const name = path.split('/').slice(-2).join('');
    const [csum, ext] = name.split('.') as [string, string];
    let kind = ext;
    if (ext === 'file' || ext === 'filez') {
      const obj = await repo.loadContent(csum);
      kind = obj.header.isSymlink ? 'symlink' : obj.size === 0 ? 'empty-file' : 'file';
    }
    // one object of each kind is enough, but keep every dirtree (root and subdirs differ in shape)
    if (seen.has(kind) && kind !== 'dirtree') continue;
    seen.add(kind);
    targets.push({ kind, checksum: csum, ext, path });
  }
  repo.close();
  return targets;
}

function positions(size: number, rng: Prng): number[] {
  if (size <= MAX_POSITIONS) return Array.from({ length: size }, (_, i) => i);
  const set = new Set<number>();
  for (let i = 0; i < 12; i++) {
    set.add(i);
    set.add(size - 1 - i);
  }
  while (set.size < MAX_POSITIONS) set.add(rng.int(0, size - 1));
  return [...set].sort((a, b) => a - b);
}

function flipByte(path: string, pos: number, mask: number): number {
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, pos);
    const old = b[0]!;
    b[0] = old ^ mask;
    writeSync(fd, b, 0, 1, pos);
    return old;
  } finally {
    closeSync(fd);
  }
}

function restoreByte(path: string, pos: number, old: number): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.from([old]), 0, 1, pos);
  } finally {
    closeSync(fd);
  }
}

async function oursFails(repoPath: string): Promise<string[]> {
  const repo = await Repo.open(repoPath);
  try {
    return (await fsckRepo(repo)).errors;
  } finally {
    repo.close();
  }
}

function theirsFails(repoPath: string): boolean {
  const r = ostree([`--repo=${repoPath}`, 'fsck', '-q']);
  assert.ok(r.status !== null, `ostree fsck was killed by ${r.signal}`);
  // ostree ≥ 2020.x marks a commit it found corrupt as partial ("f" = fsck) and then
  // fails every later fsck on that alone; undo the mark so each flip is judged on its own
  const state = join(repoPath, 'state');
  for (const f of readdirSync(state)) if (f.endsWith('.commitpartial')) rmSync(join(state, f));
  return r.status !== 0;
}

/** A flip that leaves detached metadata a valid, normal-form a{sv} cannot be detected by anyone. */
function stillValidCommitMeta(path: string): boolean {
  try {
    deserialize('a{sv}', new Uint8Array(readFileSync(path)));
    return true;
  } catch {
    return false;
  }
}

for (const mode of ['archive', 'bare-user'] as RepoMode[]) {
  test(`fsck catches a flipped byte in every object type (${mode})`, { skip: !haveOstree && 'ostree not installed', timeout: 240_000 }, async (t) => {
    const { dir, cleanup } = tempDir(`fsck-${mode}`);
    try {
      const rng = new Prng(SEED);
      const tree = join(dir, 'tree');
      makeTree(tree, rng);
      const repo = join(dir, 'repo');
      assert.equal(coreforge(['ostree', `--repo=${repo}`, 'init', `--mode=${mode}`]).status, 0);
      const c = coreforge(['ostree', `--repo=${repo}`, 'commit', '-b', 'main', '--timestamp=2020-01-01T00:00:00Z', '-s', 'corruption', '--add-detached-metadata-string=test.note=detached', tree]);
      assert.equal(c.status, 0, c.stderr);
      const commit = c.stdout.trim();
      assert.equal(coreforge(['ostree', `--repo=${repo}`, 'fsck']).status, 0, 'clean repo must pass our fsck');
      assert.equal(theirsFails(repo), false, 'clean repo must pass ostree fsck');

      const targets = await findTargets(repo);
      const kinds = new Set(targets.map((x) => x.kind));
      for (const k of ['commit', 'commitmeta', 'dirtree', 'dirmeta', 'file', 'empty-file', 'symlink']) assert.ok(kinds.has(k), `no ${k} object found in ${[...kinds].join(', ')}`);
      assert.ok(targets.some((x) => x.kind === 'commit' && x.checksum === commit));

      const divergences: string[] = [];
      for (const target of targets) {
        const size = statSync(target.path).size;
        let tried = 0;
        for (const pos of positions(size, rng)) {
          const mask = rng.int(1, 255);
          const old = flipByte(target.path, pos, mask);
          try {
            if (target.kind === 'commitmeta' && stillValidCommitMeta(target.path)) continue;
            tried++;
            const ours = await oursFails(repo);
            const theirs = theirsFails(repo);
            const where = `${target.kind} ${target.checksum}.${target.ext} byte ${pos} ^0x${mask.toString(16)}`;
            assert.ok(ours.length > 0, `our fsck missed ${where} (ostree fsck ${theirs ? 'caught' : 'missed'} it)`);
            assert.ok(
              ours.some((e) => e.includes(target.checksum)),
              `our fsck error does not name ${target.checksum}: ${ours.join(' | ')}`,
            );
            if (!theirs) divergences.push(where);
          } finally {
            restoreByte(target.path, pos, old);
          }
        }
        assert.ok(tried > 0 || size === 0, `no detectable flip tried for ${target.kind}`);
      }
      assert.equal((await oursFails(repo)).length, 0, 'restored repo must pass again');
      assert.equal(theirsFails(repo), false, 'restored repo must pass ostree fsck again');
      // what ostree lets through must be only what we know it does not check
      for (const d of divergences) {
        const ok = d.startsWith('commitmeta') || (mode === 'archive' && /^(file|empty-file|symlink) /.test(d));
        assert.ok(ok, `ostree fsck missed a corruption we did not expect it to miss: ${d}`);
      }
      const byKind = new Map<string, string[]>();
      for (const d of divergences) {
        const [kind, , , pos] = d.split(' ');
        byKind.set(kind!, [...(byKind.get(kind!) ?? []), pos!]);
      }
      t.diagnostic(`${mode}: ${targets.length} objects; flips ostree fsck lets through and we reject: ${[...byKind].map(([k, ps]) => `${k} bytes ${ps.join(',')}`).join('; ') || 'none'}`);

      // the CLI: one representative flip per object type, exit status and message
      for (const target of targets) {
        const size = statSync(target.path).size;
        // the last byte is a framing offset for metadata and payload for content: always structural or hashed
        if (size === 0) continue; // a bare-user empty file has no bytes to flip; its xattr is corrupted below
        const pos = size - 1;
        const old = flipByte(target.path, pos, 0xff);
        try {
          const r = coreforge(['ostree', `--repo=${repo}`, 'fsck']);
          assert.notEqual(r.status, 0, `coreforge fsck passed with ${target.kind} corrupted`);
          assert.match(r.stderr, new RegExp(target.kind === 'commitmeta' ? `${target.checksum}\\.commitmeta` : target.checksum), `stderr names the object: ${r.stderr}`);
          assert.doesNotMatch(r.stderr, /TypeError|RangeError|at .*\.js:\d+/, 'no stack trace');
          if (target.kind !== 'commitmeta') assert.equal(theirsFails(repo), true, `ostree fsck should agree that ${target.kind} is corrupt`);
        } finally {
          restoreByte(target.path, pos, old);
        }
        assert.equal(theirsFails(repo), false, `after restoring ${target.kind}`);
      }

      // truncated content objects
      const content = targets.find((x) => x.kind === 'file')!;
      const saved = join(dir, 'saved');
      copyFileSync(content.path, saved);
      const full = statSync(content.path).size;
      for (const len of [Math.floor(full / 2), full - 1, 8, 3, 0]) {
        truncateSync(content.path, len);
        const r = coreforge(['ostree', `--repo=${repo}`, 'fsck']);
        assert.notEqual(r.status, 0, `coreforge fsck passed a .${content.ext} truncated to ${len} bytes`);
        assert.match(r.stderr, new RegExp(content.checksum), r.stderr);
        assert.doesNotMatch(r.stderr, /TypeError|RangeError/);
        assert.equal(theirsFails(repo), true, `ostree fsck should reject a .${content.ext} truncated to ${len}`);
        copyFileSync(saved, content.path);
        assert.equal(theirsFails(repo), false, `after restoring from truncation to ${len}`);
      }
      // bare-user keeps ownership in an xattr; a broken one is corruption too
      if (mode === 'bare-user') {
        for (const target of targets.filter((x) => x.kind === 'file' || x.kind === 'empty-file' || x.kind === 'symlink')) {
          const meta = native().getXattr(target.path, 'user.ostreemeta');
          assert.ok(meta, `${target.kind} object lacks user.ostreemeta`);
          const bad = Buffer.from(meta);
          bad[11] ^= 0x01; // lowest mode byte (the mode is big-endian): 0644 → 0645
          native().setXattr(target.path, 'user.ostreemeta', bad);
          try {
            const r = coreforge(['ostree', `--repo=${repo}`, 'fsck']);
            assert.notEqual(r.status, 0, `coreforge fsck passed a broken user.ostreemeta on a ${target.kind}`);
            assert.match(r.stderr, new RegExp(target.checksum));
            assert.equal(theirsFails(repo), true, `ostree fsck should reject a broken user.ostreemeta on a ${target.kind}`);
          } finally {
            native().setXattr(target.path, 'user.ostreemeta', meta);
          }
          assert.equal(theirsFails(repo), false, `after restoring the xattr of ${target.kind}`);
        }
      }
      const final = ostree([`--repo=${repo}`, 'fsck']);
      assert.equal(final.status, 0, `restored repo must pass ostree fsck: ${final.stderr} ${targets.map((x) => x.kind + "=" + x.checksum.slice(0, 8)).join(" ")}`);
    } finally {
      cleanup();
    }
  });
}
