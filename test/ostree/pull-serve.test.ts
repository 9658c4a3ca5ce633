/**
 * HTTP: `coreforge serve` against the real ostree client, and
 * `coreforge ostree pull` against the real ostree's server and repos —
 * including a server that lies (corrupt objects) and signature checks.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { CF, cf, ok, ostree, run } from '../util/exec.js';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync, symlinkSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, request, type Server } from 'node:http';
import { RepoServer } from '../../src/server/static-repo.js';
import { connect } from 'node:net';



function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((res, rej) => {
    const req = request(url, { method, headers }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => res({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', rej);
    req.end();
  });
}

let work: string;
let srcRepo: string;
let server: RepoServer;
let url: string;
let commit: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'cf-pull-'));
  const tree = join(work, 'tree');
  mkdirSync(join(tree, 'usr/bin'), { recursive: true });
  writeFileSync(join(tree, 'usr/bin/tool'), Buffer.alloc(300_000, 7));
  writeFileSync(join(tree, 'usr/hello'), 'hello\n');
  symlinkSync('bin/tool', join(tree, 'usr/link'));
  mkdirSync(join(tree, 'empty'));
  srcRepo = join(work, 'srv');
  await cf(`--repo=${srcRepo}`, 'init', '--mode=archive');
  commit = (await cf(`--repo=${srcRepo}`, 'commit', '-b', 'my/x86_64/stable', `--tree=dir=${tree}`, '--timestamp=2022-01-01', '-s', 'v1', '--add-metadata-string=version=1')).trim();
  await cf(`--repo=${srcRepo}`, 'summary', '-u');
  writeFileSync(join(work, 'secret'), 'outside the repo');
  symlinkSync(join(work, 'secret'), join(srcRepo, 'escape'));
  server = new RepoServer({ repos: [{ path: srcRepo }] });
  url = (await server.start()).url;
});
after(async () => {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
});

test('the real ostree pulls from coreforge serve (archive and bare-user clients)', async () => {
  for (const mode of ['archive', 'bare-user']) {
    const client = join(work, `client-${mode}`);
    await ostree(`--repo=${client}`, 'init', `--mode=${mode}`);
    await ostree(`--repo=${client}`, 'remote', 'add', '--no-gpg-verify', 'origin', url);
    await ostree(`--repo=${client}`, 'pull', 'origin', 'my/x86_64/stable');
    assert.equal((await ostree(`--repo=${client}`, 'rev-parse', 'origin:my/x86_64/stable')).trim(), commit);
    assert.match(await ostree(`--repo=${client}`, 'fsck'), /no errors found/);
    // a second pull is a no-op and still succeeds (summary revalidated)
    await ostree(`--repo=${client}`, 'pull', 'origin', 'my/x86_64/stable');
  }
});

test('serve: HEAD, Range, ETag/304, cache headers, and no escape from the repo', async () => {
  const obj = readdirSync(join(srcRepo, 'objects')).flatMap((d) => readdirSync(join(srcRepo, 'objects', d)).map((n) => `objects/${d}/${n}`)).find((p) => p.endsWith('.filez'))!;
  const full = await get(`${url}/${obj}`);
  assert.equal(full.status, 200);
  assert.deepEqual(full.body, readFileSync(join(srcRepo, obj)));
  assert.match(String(full.headers['cache-control']), /immutable/);
  const part = await get(`${url}/${obj}`, { range: 'bytes=2-9' });
  assert.equal(part.status, 206);
  assert.deepEqual(part.body, full.body.subarray(2, 10));
  assert.equal(part.headers['content-range'], `bytes 2-9/${full.body.length}`);
  const head = await get(`${url}/summary`, {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.match(String(head.headers['cache-control']), /max-age=0/);
  const again = await get(`${url}/summary`, { 'if-none-match': String(head.headers.etag) });
  assert.equal(again.status, 304);
  assert.equal((await get(`${url}/config`)).status, 200);
  assert.equal((await get(`${url}/objects/00/nope.filez`)).status, 404);
  for (const bad of ['/%2e%2e/secret', '/objects/..%2f..%2fsecret', '/escape', '/refs/../../secret']) {
    const r = await get(url + bad);
    assert.ok(r.status === 403 || r.status === 404 || r.status === 400, `${bad} → ${r.status}`);
    assert.ok(!r.body.toString().includes('outside the repo'), bad);
  }
  assert.equal((await get(`${url}/summary`, {}, 'POST')).status, 405);
});

test('serve: a cached object is answered byte-identically, with a current Date, over keep-alive and HTTP/1.0', async () => {
  const obj = readdirSync(join(srcRepo, 'objects')).flatMap((d) => readdirSync(join(srcRepo, 'objects', d)).map((n) => `objects/${d}/${n}`)).find((p) => p.endsWith('.filez'))!;
  const want = readFileSync(join(srcRepo, obj));
  const port = Number(new URL(url).port);
  /** Raw requests on one connection; resolves with the raw bytes once the server has answered `n` of them (or closed). */
  const raw = (reqs: string[], n: number) =>
    new Promise<string>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1');
      let got = Buffer.alloc(0);
      const done = () => {
        sock.destroy();
        resolve(got.toString('latin1'));
      };
      sock.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.toString('latin1').split('HTTP/1.1 ').length - 1 >= n && got.toString('latin1').endsWith(want.toString('latin1'))) done();
      });
      sock.on('end', done);
      sock.on('error', reject);
      sock.write(reqs.join(''));
    });
  const get11 = `GET /${obj} HTTP/1.1\r\nHost: x\r\n\r\n`;
  // the first fills the cache, the next two (pipelined) come from it
  const first = await raw([get11], 1);
  const cached = await raw([get11, get11], 2);
  const responses = cached.split(/(?=HTTP\/1\.1 200 OK\r\n)/);
  assert.equal(responses.length, 2);
  const strip = (r: string) => r.replace(/\r\nDate: [^\r]*/, '');
  for (const r of responses) {
    assert.equal(strip(r), strip(first), 'a cached response differs from the first one (beyond Date)');
    assert.ok(r.endsWith(want.toString('latin1')));
    assert.doesNotMatch(r.split('\r\n\r\n')[0]!, /Connection:/i);
  }
  const dateOf = (r: string) => Date.parse(/\r\nDate: ([^\r]*)/.exec(r)![1]!);
  await new Promise((r) => setTimeout(r, 1100));
  const later = await raw([get11], 1);
  assert.ok(dateOf(later) > dateOf(responses[1]!), 'the Date of a cached response was not brought up to date');
  assert.equal(strip(later), strip(first));
  // HTTP/1.0 without keep-alive: the same bytes, then the connection closes
  const old = await raw([`GET /${obj} HTTP/1.0\r\n\r\n`], 1);
  assert.match(old.split('\r\n\r\n')[0]!, /\r\nConnection: close/);
  assert.ok(old.endsWith(want.toString('latin1')));
});

test('coreforge pulls from the real ostree server (with and without a summary)', async () => {
  const theirs = join(work, 'theirs');
  await ostree(`--repo=${theirs}`, 'init', '--mode=archive');
  await ostree(`--repo=${theirs}`, 'pull-local', srcRepo, 'my/x86_64/stable');
  const httpd = '/usr/libexec/libostree/ostree-trivial-httpd';
  const portFile = join(work, 'port');
  const child: ChildProcess = spawn(httpd, ['--port-file', portFile, '-d', theirs], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100 && !existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 100));
    const port = readFileSync(portFile, 'utf8').trim();
    for (const withSummary of [false, true]) {
      if (withSummary) await ostree(`--repo=${theirs}`, 'summary', '-u');
      for (const mode of ['archive', 'bare-user']) {
        const client = join(work, `ours-${mode}-${withSummary}`);
        await cf(`--repo=${client}`, 'init', `--mode=${mode}`);
        await cf(`--repo=${client}`, 'remote', 'add', '--no-gpg-verify', 'origin', `http://127.0.0.1:${port}`);
        await cf(`--repo=${client}`, 'pull', 'origin', 'my/x86_64/stable');
        assert.equal((await cf(`--repo=${client}`, 'rev-parse', 'origin:my/x86_64/stable')).trim(), commit);
        assert.match(await ostree(`--repo=${client}`, 'fsck'), /no errors found/);
      }
    }
  } finally {
    child.kill();
  }
});

/** A server that serves the repo but corrupts one kind of object. */
async function lyingServer(root: string, corrupt: (path: string, body: Buffer) => Buffer): Promise<{ url: string; close: () => Promise<void> }> {
  const s: Server = createServer((req, res) => {
    const p = join(root, decodeURIComponent(req.url ?? '/'));
    if (!existsSync(p)) {
      res.writeHead(404);
      res.end();
      return;
    }
    const body = corrupt(req.url ?? '', readFileSync(p));
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as import('node:net').AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => s.close(() => r())) };
}

test('a corrupt object from the server is refused and the local repo is unchanged', async () => {
  const cases: Array<[string, (p: string, b: Buffer) => Buffer]> = [
    ['filez payload', (p, b) => (p.endsWith('.filez') && b.length > 100 ? Buffer.concat([b.subarray(0, b.length - 3), Buffer.from([1, 2, 3])]) : b)],
    ['dirtree', (p, b) => (p.endsWith('.dirtree') ? Buffer.concat([b.subarray(0, 5), Buffer.from([b[5]! ^ 0xff]), b.subarray(6)]) : b)],
    ['commit', (p, b) => (p.endsWith('.commit') ? Buffer.concat([b, Buffer.from([0])]) : b)],
    ['truncated filez', (p, b) => (p.endsWith('.filez') ? b.subarray(0, Math.floor(b.length / 2)) : b)],
  ];
  for (const [name, fn] of cases) {
    const srv = await lyingServer(srcRepo, fn);
    try {
      const client = join(work, `victim-${name.replace(/ /g, '-')}`);
      await cf(`--repo=${client}`, 'init', '--mode=archive');
      await cf(`--repo=${client}`, 'remote', 'add', '--no-gpg-verify', 'origin', srv.url);
      const r = await run(CF, ['ostree', `--repo=${client}`, 'pull', 'origin', 'my/x86_64/stable']);
      assert.notEqual(r.status, 0, name);
      assert.match(r.stderr, /^error: .*(Corrupted|corrupt|truncated|size|invalid|not in normal form|checksum)/im, name);
      assert.doesNotMatch(r.stderr, /internal error|at .*\.js:\d+/, name);
      assert.equal((await run(CF, ['ostree', `--repo=${client}`, 'rev-parse', 'origin:my/x86_64/stable'])).status, 1, `${name}: no ref`);
      assert.match(await ostree(`--repo=${client}`, 'fsck'), /no errors found/, name);
    } finally {
      await srv.close();
    }
  }
});

test('GPG: signed commits verify with the right key and are refused with a wrong or missing one', async () => {
  const gpgHome = join(work, 'gnupg');
  mkdirSync(gpgHome, { mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: gpgHome };
  const gen = async (name: string) => {
    await ok('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', `${name} <${name}@example.com>`, 'rsa2048', 'sign', 'never'], env);
    const keyid = (await ok('gpg', ['--batch', '--with-colons', '--list-keys', `${name}@example.com`], env)).split('\n').find((l) => l.startsWith('pub:'))!.split(':')[4]!;
    writeFileSync(join(work, `${name}.asc`), await ok('gpg', ['--batch', '--armor', '--export', keyid], env));
    return keyid;
  };
  const good = await gen('good');
  await gen('evil');
  const signed = join(work, 'signed');
  await ostree(`--repo=${signed}`, 'init', '--mode=archive');
  await ok('ostree', [`--repo=${signed}`, 'pull-local', srcRepo, 'my/x86_64/stable']);
  await ok('ostree', [`--repo=${signed}`, 'gpg-sign', `--gpg-homedir=${gpgHome}`, 'my/x86_64/stable', good], env);
  const srv = new RepoServer({ repos: [{ path: signed }] });
  return srv.start().then(async ({ url: u }) => {
    try {
      const tryPull = async (name: string, key: string | null) => {
        const client = join(work, `gpg-${name}`);
        await cf(`--repo=${client}`, 'init', '--mode=archive');
        await cf(`--repo=${client}`, 'remote', 'add', ...(key ? [`--gpg-import=${key}`] : []), 'origin', u);
        return await run(CF, ['ostree', `--repo=${client}`, 'pull', 'origin', 'my/x86_64/stable']);
      };
      assert.equal((await tryPull('good', join(work, 'good.asc'))).status, 0);
      const wrong = await tryPull('wrong', join(work, 'evil.asc'));
      assert.equal(wrong.status, 1);
      assert.match(wrong.stderr, /no valid GPG signature/);
      const none = await tryPull('none', null);
      assert.equal(none.status, 1);
      assert.match(none.stderr, /GPG|trusted/);
      // the real ostree accepts what we accepted
      const real = join(work, 'gpg-real');
      await ostree(`--repo=${real}`, 'init', '--mode=archive');
      await ostree(`--repo=${real}`, 'remote', 'add', `--gpg-import=${join(work, 'good.asc')}`, 'origin', u);
      await ostree(`--repo=${real}`, 'pull', 'origin', 'my/x86_64/stable');
    } finally {
      void srv.stop();
    }
  });
});
