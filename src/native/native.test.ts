import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from './index.js';
import { DT_DIR, DT_LNK, DT_REG, NOT_UTF8, direntInoIsStIno, readDirEntries } from './readdir.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'coreforge-native-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('readDirEntries', () => {
  it('lists names with d_type and the inode lstat reports, names that are not UTF-8 flagged', () => {
    const d = join(dir, 'rd');
    mkdirSync(d);
    writeFileSync(join(d, 'file'), 'x');
    writeFileSync(join(d, 'é'), 'x');
    mkdirSync(join(d, 'sub'));
    symlinkSync('file', join(d, 'link'));
    writeFileSync(Buffer.from(`${d}/bad-\xff`, 'latin1'), 'x');
    const e = readDirEntries(d);
    const byName = new Map(e.names.map((n, i) => [n, i]));
    assert.deepEqual([...byName.keys()].sort(), ['bad-\xff', 'file', 'link', 'sub', 'é'].sort());
    assert.equal(e.kinds[byName.get('file')!], DT_REG);
    assert.equal(e.kinds[byName.get('sub')!], DT_DIR);
    assert.equal(e.kinds[byName.get('link')!], DT_LNK);
    assert.equal(e.kinds[byName.get('bad-\xff')!], DT_REG | NOT_UTF8);
    assert.equal(direntInoIsStIno(d), true); // tmpdir: ext4 or tmpfs here
    for (const [n, i] of byName) {
      const p = Buffer.concat([Buffer.from(`${d}/`), Buffer.from(n, e.kinds[i]! & NOT_UTF8 ? 'latin1' : 'utf8')]);
      assert.equal(e.inos[i], lstatSync(p).ino, n);
    }
    assert.deepEqual(readDirEntries(join(d, 'sub')).names, []);
    assert.throws(() => readDirEntries(join(d, 'missing')), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
  });
});

describe('hashWrite', () => {
  it('hashes and writes in order across calls, hash-only with fd -1, and reports write errors', async () => {
    const n = native();
    const a = randomBytes(1 << 20);
    const b = randomBytes(5000);
    const sha = n.sha256Create();
    const path = join(dir, 'out');
    const fd = openSync(path, 'w');
    await n.hashWrite(fd, a, a.length, 0, sha, a.length);
    await n.hashWrite(-1, b, 0, 0, sha, 3000); // hashed, not written
    await n.hashWrite(fd, b, b.length, a.length, null, 0); // written, not hashed
    closeSync(fd);
    assert.equal(n.sha256Digest(sha).toString('hex'), createHash('sha256').update(a).update(b.subarray(0, 3000)).digest('hex'));
    assert.deepEqual(readFileSync(path), Buffer.concat([a, b]));
    assert.throws(() => n.sha256Digest(sha), /already taken/);
    await assert.rejects(n.hashWrite(openSync(path, 'r'), b, 10, 0, null, 0), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
    assert.throws(() => n.hashWrite(-1, b, b.length + 1, 0, null, 0), RangeError);
  });
});

describe('fileSizes and fillFromFiles', () => {
  it('sizes files (-1 when missing) and reads pieces of them on the thread pool; a changed or missing file is named', async () => {
    const n = native();
    const a = join(dir, 'fa');
    const b = join(dir, 'fb');
    const abytes = randomBytes(100000);
    writeFileSync(a, abytes);
    writeFileSync(b, 'hello');
    assert.deepEqual([...n.fileSizes([a, b, join(dir, 'nope')])], [100000, 5, -1]);
    const buf = Buffer.alloc(70000, 0xaa);
    // the second half of a, then b, at chosen offsets
    await n.fillFromFiles(buf, [a, b], Float64Array.from([10, 50000, 50000, 100000, 60010, 0, 5, 5]));
    assert.deepEqual(buf.subarray(10, 50010), abytes.subarray(50000));
    assert.equal(buf.subarray(60010, 60015).toString(), 'hello');
    assert.equal(buf[9], 0xaa);
    assert.equal(buf[60015], 0xaa);
    await assert.rejects(n.fillFromFiles(buf, [b], Float64Array.from([0, 0, 5, 6])), (e: NodeJS.ErrnoException & { path?: string }) => e.code === 'ECHANGED' && e.path === b);
    await assert.rejects(n.fillFromFiles(buf, [join(dir, 'nope')], Float64Array.from([0, 0, 1, 1])), (e: NodeJS.ErrnoException & { path?: string }) => e.code === 'ENOENT' && e.path === join(dir, 'nope'));
    assert.throws(() => n.fillFromFiles(buf, [b], Float64Array.from([69999, 0, 5, 5])), RangeError);
  });
});

describe('spawnProcess / waitProcess / pipe', () => {
  it('runs a program with the given argv, env and fds, and reports its exit code or signal', async () => {
    const n = native();
    const [rd, wr] = n.pipe();
    const input = join(dir, 'stdin');
    writeFileSync(input, 'from stdin');
    const inFd = openSync(input, 'r');
    const extra = openSync(input, 'r');
    // fd 0 from a file, 1 and 2 into the pipe, 3 another file; the parent fd numbers are deliberately reused targets
    const pid = n.spawnProcess('/bin/sh', ['sh', '-c', 'cat; echo " $X $0"; echo err >&2; cat <&3 >/dev/null && exit 7', 'arg0'], ['X=env-ok'], Int32Array.from([0, inFd, 1, wr, 2, wr, 3, extra]));
    closeSync(wr);
    closeSync(inFd);
    closeSync(extra);
    const chunks: Buffer[] = [];
    const out = new (await import('node:net')).Socket({ fd: rd, readable: true, writable: false });
    out.on('data', (b: Buffer) => chunks.push(b));
    const closed = new Promise((r) => out.on('close', r));
    assert.deepEqual(await n.waitProcess(pid), [7, 0]);
    await closed;
    assert.equal(Buffer.concat(chunks).toString(), 'from stdin env-ok arg0\nerr\n');
    const p2 = n.spawnProcess('/bin/sleep', ['sleep', '30'], [], new Int32Array(0));
    process.kill(p2, 'SIGKILL');
    assert.deepEqual(await n.waitProcess(p2), [-1, 9]);
    assert.throws(() => n.spawnProcess('/nonexistent/prog', ['x'], [], new Int32Array(0)), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  });
});
