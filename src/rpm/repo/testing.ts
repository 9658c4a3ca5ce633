/**
 * Test helpers (used only by tests and benches): build real RPMs with
 * rpmbuild, index them with createrepo_c and serve a directory over HTTP on
 * 127.0.0.1 with optional fault injection.
 */
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface SpecPackage {
  name: string;
  arch?: string;
  provides?: string[];
  requires?: string[];
  requiresPre?: string[];
  conflicts?: string[];
  obsoletes?: string[];
  recommends?: string[];
  suggests?: string[];
  supplements?: string[];
  enhances?: string[];
  /** Files shipped (created empty). */
  files?: string[];
}

export interface SpecGroup {
  epoch?: number;
  version: string;
  release: string;
  arch: string;
  packages: SpecPackage[];
}

/** Build one rpmbuild run per group (all packages of a group share EVR and arch). */
export function buildRpms(groups: SpecGroup[], outDir: string, work: string): void {
  fs.mkdirSync(outDir, { recursive: true });
  fs.mkdirSync(work, { recursive: true });
  groups.forEach((g, gi) => {
    const lines: string[] = [
      `Name: cfgen${gi}`,
      ...(g.epoch ? [`Epoch: ${g.epoch}`] : []),
      `Version: ${g.version}`,
      `Release: ${g.release}`,
      'Summary: generated',
      'License: MIT',
      ...(g.arch === 'noarch' ? ['BuildArch: noarch'] : []),
      '%description',
      'generated',
      '%install',
      'mkdir -p %{buildroot}',
    ];
    for (const p of g.packages) for (const f of p.files ?? []) lines.push(`mkdir -p '%{buildroot}${path.posix.dirname(f)}' && touch '%{buildroot}${f}'`);
    for (const p of g.packages) {
      lines.push(`%package -n ${p.name}`, `Summary: ${p.name}`);
      const tag = (t: string, vs: string[] | undefined) => (vs ?? []).forEach((v) => lines.push(`${t}: ${v}`));
      tag('Provides', p.provides);
      tag('Requires', p.requires);
      tag('Requires(pre)', p.requiresPre);
      tag('Conflicts', p.conflicts);
      tag('Obsoletes', p.obsoletes);
      tag('Recommends', p.recommends);
      tag('Suggests', p.suggests);
      tag('Supplements', p.supplements);
      tag('Enhances', p.enhances);
      lines.push(`%description -n ${p.name}`, p.name, `%files -n ${p.name}`, ...(p.files ?? []));
    }
    const spec = path.join(work, `g${gi}.spec`);
    fs.writeFileSync(spec, lines.join('\n') + '\n');
    const args = [
      '-bb',
      '--quiet',
      '--define', `_topdir ${path.join(work, 'top')}`,
      '--define', `_rpmdir ${outDir}`,
      '--define', 'debug_package %{nil}',
      '--define', '__os_install_post %{nil}',
      '--define', '_build_id_links none',
      '--define', '_binary_payload w1.gzdio',
      ...(g.arch !== 'noarch' ? ['--target', g.arch] : []),
      spec,
    ];
    const r = spawnSync('rpmbuild', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`rpmbuild failed: ${r.stderr}\n${lines.join('\n')}`);
  });
}

/**
 * Index `dir` with createrepo_c. Debian's createrepo_c 0.17 has no zstd
 * support, so for zstd the gz output is recompressed with `zstd` and
 * repomd.xml's checksums and locations are rewritten to match.
 */
export function createrepo(dir: string, compress: 'gz' | 'xz' | 'zstd' | 'bz2' = 'gz'): void {
  const ct = compress === 'zstd' ? 'gz' : compress;
  const r = spawnSync('createrepo_c', ['--quiet', '--no-database', '--general-compress-type', ct, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`createrepo_c failed: ${r.stderr}`);
  if (compress === 'zstd') recompressZstd(dir);
}

function recompressZstd(dir: string): void {
  const repodata = path.join(dir, 'repodata');
  const repomdPath = path.join(repodata, 'repomd.xml');
  let repomd = fs.readFileSync(repomdPath, 'utf8');
  for (const f of fs.readdirSync(repodata)) {
    if (!f.endsWith('.xml.gz')) continue;
    const plain = zlib.gunzipSync(fs.readFileSync(path.join(repodata, f)));
    const z = spawnSync('zstd', ['-q', '-c', '-3'], { input: plain });
    if (z.status !== 0) throw new Error('zstd failed');
    const sum = createHash('sha256').update(z.stdout).digest('hex');
    const oldSum = f.split('-')[0]!;
    const nf = `${sum}-${f.slice(oldSum.length + 1).replace(/\.gz$/, '.zst')}`;
    fs.writeFileSync(path.join(repodata, nf), z.stdout);
    fs.rmSync(path.join(repodata, f));
    const oldSize = String(fs.statSync(path.join(repodata, nf)).size);
    repomd = repomd
      .replace(`repodata/${f}`, `repodata/${nf}`)
      .replace(new RegExp(`(<checksum type="sha256">)${oldSum}(</checksum>)`), `$1${sum}$2`)
      .replace(new RegExp(`(<location href="repodata/${nf.replace(/\./g, '\\.')}"/>\\s*<timestamp>\\d+</timestamp>\\s*<size>)\\d+`), `$1${oldSize}`);
  }
  fs.writeFileSync(repomdPath, repomd);
}

export interface Fault {
  /** Matches request paths (substring). */
  match: string;
  kind: '404' | '500' | 'truncate' | 'corrupt' | 'reset' | 'slow';
  /** How many times to fire; default forever. */
  times?: number;
}

export interface TestServer {
  url: string;
  requests: { path: string; range?: string }[];
  faults: Fault[];
  /** Most requests being answered at once, and TCP connections accepted (keep-alive reuses them). */
  stats: { inFlight: number; maxInFlight: number; connections: number };
  close(): Promise<void>;
}

/** Serve `root` on 127.0.0.1 (random port) with Range support and injectable faults. */
export async function serveDir(root: string): Promise<TestServer> {
  const requests: { path: string; range?: string }[] = [];
  const faults: Fault[] = [];
  const stats = { inFlight: 0, maxInFlight: 0, connections: 0 };
  const server = http.createServer((req, res) => {
    const slowed = (req as { slowed?: boolean }).slowed;
    if (!slowed) {
      stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
      res.on('close', () => stats.inFlight--);
    }
    const p = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    if (!slowed) requests.push({ path: p, range: req.headers.range });
    const fault = faults.find((f) => p.includes(f.match) && (f.times === undefined || f.times > 0));
    if (fault && fault.times !== undefined) fault.times--;
    if (fault?.kind === '404') return void res.writeHead(404).end('not found');
    if (fault?.kind === '500') return void res.writeHead(500).end('boom');
    if (fault?.kind === 'reset') return void req.socket.destroy();
    const file = path.join(root, path.normalize(p));
    if (!file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return void res.writeHead(404).end('not found');
    if (fault?.kind === 'slow' && !slowed) {
      (req as { slowed?: boolean }).slowed = true;
      // Answer 50 ms later, again through this handler.
      return void setTimeout(() => server.emit('request', req, res), 50);
    }
    let data = fs.readFileSync(file);
    if (fault?.kind === 'corrupt') {
      data = Buffer.from(data);
      data[data.length >> 1] ^= 0xff;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) {
      start = Number(m[1]);
      if (start >= data.length) return void res.writeHead(416).end();
      res.writeHead(206, { 'Content-Length': data.length - start, 'Content-Range': `bytes ${start}-${data.length - 1}/${data.length}` });
    } else res.writeHead(200, { 'Content-Length': data.length });
    if (fault?.kind === 'truncate') {
      res.write(data.subarray(start, start + ((data.length - start) >> 1)));
      setTimeout(() => req.socket.destroy(), 5);
      return;
    }
    res.end(data.subarray(start));
  });
  server.on('connection', () => stats.connections++);
  // Node's agent drops a socket 1 s before the server's advertised timeout: 1 s would mean no reuse at all.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    faults,
    stats,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
