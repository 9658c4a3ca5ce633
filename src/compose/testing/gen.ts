/**
 * Synthetic RPM sets for compose tests and benches: N real RPMs (rpmbuild),
 * deterministic from a seed, whose regular files sum exactly to a target
 * installed size with a distro-like shape — log-normal package and file
 * sizes (many small files, a few MB-sized), text, ELF-like and incompressible
 * content, directory trees, symlinks, %config and %doc files, scriptlets,
 * system users and Requires between packages — indexed by createrepo_c.
 *
 * Packages are built as subpackages of a few source specs (each subpackage
 * with its own Version/Release), so one rpmbuild process amortises its
 * start-up over many packages and packs them in parallel (OpenMP). Output is
 * cached under `cacheDir` by a key over every input, so repeated bench runs
 * reuse it. With `base` (default) the example distribution's RPMs
 * (examples/rpms: setup, filesystem, busybox…) are added so scriptlets have a
 * shell and the set is a complete root filesystem.
 */
import { spawn, execFileSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildExampleRpms } from './example.js';

/** Bump when the generated content or layout changes (invalidates caches). */
const GEN_VERSION = 3;
const SOURCE_DATE_EPOCH = '1717200000';

export interface GenOptions {
  seed: number;
  /** Number of generated packages (the base packages come on top). */
  packages: number;
  /** Sum of the sizes of all regular files of the generated packages, bytes. */
  totalBytes: number;
  /** Where sets are cached; default os.tmpdir()/coreforge-gen-cache. */
  cacheDir?: string;
  /** Concurrent rpmbuild processes; default 2. */
  jobs?: number;
  /** rpm payload compressor; default 'w3.zstdio' (fast; gzdio, xzdio, bzdio also read by coreforge). */
  payload?: string;
  /** Add the example distribution's RPMs; default true. */
  base?: boolean;
  /** Mean file size used to pick file counts; default 32 KiB. */
  meanFileBytes?: number;
  /** Packages per source spec; default 24. */
  groupSize?: number;
}

export interface GenPackage {
  name: string;
  version: string;
  release: string;
  arch: 'x86_64' | 'noarch';
  /** Sum of regular file sizes. */
  bytes: number;
  files: number;
  symlinks: number;
  requires: string[];
  /** Scriptlet kinds this package carries: 'pre', 'post', 'posttrans'. */
  scriptlets: string[];
  /** System user its %pre creates (and owns /var/lib/NAME). */
  user?: string;
  /** Source spec (group) it is built from. */
  group: number;
  /** RPM file name. */
  rpm: string;
}

export interface GeneratedSet {
  key: string;
  /** rpm-md repository (Packages/ + repodata/). */
  repoDir: string;
  /** Every RPM in the repository (generated and base), sorted. */
  rpms: string[];
  /** The generated packages. */
  packages: GenPackage[];
  /** Names of the base packages included. */
  base: string[];
  totalBytes: number;
  fileCount: number;
  /** True when the set came from the cache. */
  cached: boolean;
  /** Seconds spent generating (0 when cached). */
  seconds: number;
  options: Required<Omit<GenOptions, 'cacheDir'>>;
}

// ---------------------------------------------------------------- randomness

/** splitmix32-style PRNG: fast, seedable, good enough for shapes. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  u32(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  float(): number {
    return this.u32() / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  logNormal(sigma: number): number {
    return Math.exp(sigma * this.normal());
  }
}

function subSeed(...parts: (number | string)[]): number {
  return createHash('sha256').update(parts.join('/')).digest().readUInt32LE(0);
}

/** Splits `total` into `weights.length` non-negative integers proportional to weights, summing exactly. */
function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const out = weights.map((w) => Math.floor((total * w) / sum));
  let rest = total - out.reduce((a, b) => a + b, 0);
  // hand the rounding remainder to the largest shares, deterministic order
  const order = weights.map((w, i) => [w, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; rest > 0; k = (k + 1) % order.length, rest--) out[order[k]![1]]!++;
  return out;
}

// ------------------------------------------------------------------ content

type Content = 'text' | 'binary' | 'random';

const VOCAB: Uint8Array[] = (() => {
  const r = new Rng(12345);
  const letters = 'etaoinshrdlucmfwypvbgkjqxz';
  const words: Uint8Array[] = [];
  for (let i = 0; i < 4096; i++) {
    const len = 2 + Math.min(12, Math.floor(r.logNormal(0.5) * 4));
    let w = '';
    for (let j = 0; j < len; j++) w += letters[Math.min(25, Math.floor(r.float() * r.float() * 26))];
    words.push(Buffer.from(w));
  }
  return words;
})();

function randomBytes(n: number, seed: number): Buffer {
  const key = createHash('sha256').update(`key/${seed}`).digest().subarray(0, 16);
  const c = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return c.update(Buffer.alloc(n));
}

/** Word soup with lines and indentation: compresses about 3x, like source and docs. */
function textBytes(n: number, seed: number): Buffer {
  const r = new Rng(seed);
  const buf = Buffer.allocUnsafe(n);
  let pos = 0;
  let col = 0;
  while (pos < n) {
    const x = r.u32();
    const w = VOCAB[x & 4095]!;
    const l = Math.min(w.length, n - pos);
    for (let i = 0; i < l; i++) buf[pos + i] = w[i]!;
    pos += l;
    col += l;
    if (pos >= n) break;
    if (col > 60 + ((x >>> 12) & 15)) {
      buf[pos++] = 10;
      col = 0;
      if (pos < n && (x >>> 20) % 3 === 0) {
        buf[pos++] = 32;
        if (pos < n) buf[pos++] = 32;
      }
    } else buf[pos++] = (x >>> 16) % 11 === 0 ? 44 : 32;
  }
  return buf;
}

/** ELF-like: runs of zeros, repeated "instruction" patterns and random spans; compresses about 2x. */
function binaryBytes(n: number, seed: number): Buffer {
  const r = new Rng(seed);
  const rnd = randomBytes(n, seed);
  const patterns = randomBytes(64 * 16, seed ^ 0x5bd1e995);
  const buf = Buffer.alloc(n);
  for (let pos = 0; pos < n; pos += 256) {
    const end = Math.min(n, pos + 256);
    const k = r.int(100);
    if (k < 20) continue; // zeros
    if (k < 50) rnd.copy(buf, pos, pos, end);
    else for (let p = pos; p < end; p += 16) patterns.copy(buf, p, r.int(64) * 16, r.int(64) * 16 + Math.min(16, end - p));
  }
  return buf;
}

// Text and ELF-like files are slices of fixed 16 MiB corpora (generated once per
// process): copying is ~50x faster than generating, and offsets drawn per
// 64 KiB chunk keep files distinct and compressors' windows from seeing repeats.
const CORPUS_BYTES = 16 << 20;
const corpora: Partial<Record<'text' | 'binary', Buffer>> = {};
function corpus(kind: 'text' | 'binary'): Buffer {
  return (corpora[kind] ??= kind === 'text' ? textBytes(CORPUS_BYTES, 0x7e17) : binaryBytes(CORPUS_BYTES, 0xb1a5));
}

/** @internal (exported for profiling) */
export function contentBytes(kind: Content, n: number, seed: number): Buffer {
  if (n === 0) return Buffer.alloc(0);
  if (kind === 'random') return randomBytes(n, seed);
  const c = corpus(kind);
  const r = new Rng(seed);
  const buf = Buffer.allocUnsafe(n);
  const CHUNK = 64 << 10;
  for (let pos = 0; pos < n; pos += CHUNK) {
    const len = Math.min(CHUNK, n - pos);
    const off = r.int(c.length - len);
    c.copy(buf, pos, off, off + len);
  }
  if (kind === 'binary' && n >= 4) buf.write('\x7fELF', 0, 'latin1');
  return buf;
}

// --------------------------------------------------------------------- plan

interface PlanFile {
  path: string;
  size: number;
  mode: number;
  content: Content;
  /** %config(noreplace) / %doc marker for %files. */
  flag?: 'config' | 'doc';
}

interface PlanPackage extends Omit<GenPackage, 'rpm' | 'files' | 'symlinks' | 'user'> {
  kind: 'lib' | 'tool' | 'data' | 'firmware';
  fileList: PlanFile[];
  links: { path: string; target: string }[];
  dirs: string[];
  /** %files entries owning directories. */
  ownDirs: string[];
  provides: string[];
  user?: string;
  seed: number;
}

function pad(i: number, n: number): string {
  return String(i).padStart(String(n - 1).length, '0');
}

/** @internal (exported for tests) */
export function planSet(o: Required<Omit<GenOptions, 'cacheDir'>>): PlanPackage[] {
  const r = new Rng(subSeed('set', o.seed));
  const N = o.packages;
  const kinds: PlanPackage['kind'][] = [];
  const weights: number[] = [];
  for (let i = 0; i < N; i++) {
    const k = r.int(100);
    const kind = k < 40 ? 'lib' : k < 65 ? 'tool' : k < 95 ? 'data' : 'firmware';
    kinds.push(kind);
    weights.push(r.logNormal(1.6) * (kind === 'firmware' ? 4 : 1));
  }
  const sizes = apportion(o.totalBytes, weights);
  const pkgs: PlanPackage[] = [];
  for (let i = 0; i < N; i++) {
    const kind = kinds[i]!;
    const name = `gen-${kind}${pad(i, N)}`;
    const pr = new Rng(subSeed('pkg', o.seed, i));
    const arch: GenPackage['arch'] = kind === 'lib' || kind === 'tool' ? 'x86_64' : 'noarch';
    const bytes = sizes[i]!;
    const nfiles = Math.max(1, Math.min(kind === 'firmware' ? 40 : 2000, Math.round(bytes / o.meanFileBytes)));
    const fsizes = apportion(
      bytes,
      Array.from({ length: nfiles }, () => pr.logNormal(1.5)),
    );
    const files: PlanFile[] = [];
    const links: PlanPackage['links'] = [];
    const dirs = new Set<string>();
    const ownDirs: string[] = [];
    const provides: string[] = [];
    const share = `/usr/share/${name}`;
    ownDirs.push(share);
    // The largest file is the package's main payload: the library, the binary or a blob.
    const order = fsizes.map((s, j) => [s, j] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const mainIdx = order[0]![1];
    for (let j = 0; j < nfiles; j++) {
      const size = fsizes[j]!;
      let p: string;
      let mode = 0o644;
      let content: Content;
      let flag: PlanFile['flag'];
      if (j === mainIdx && kind === 'lib') {
        const so = `libgen${pad(i, N)}.so`;
        p = `/usr/lib64/${so}.1.0.0`;
        mode = 0o755;
        content = 'binary';
        links.push({ path: `/usr/lib64/${so}.1`, target: `${so}.1.0.0` });
        provides.push(`${so}.1()(64bit)`);
      } else if (j === mainIdx && kind === 'tool') {
        p = `/usr/bin/${name}`;
        mode = 0o755;
        content = 'binary';
      } else if (j === mainIdx && kind === 'firmware') {
        p = `/usr/lib/firmware/${name}/fw-main.bin`;
        content = 'random';
      } else {
        const c = pr.int(100);
        content = kind === 'firmware' ? 'random' : c < 45 ? 'text' : c < 75 ? 'binary' : 'random';
        const depth = pr.int(3);
        let d = kind === 'firmware' ? `/usr/lib/firmware/${name}` : share;
        for (let k = 0; k < depth; k++) d += `/d${pr.int(6)}`;
        const ext = content === 'text' ? (pr.int(4) === 0 ? '.conf' : '.txt') : content === 'binary' ? '.so' : '.dat';
        p = `${d}/f${j}${ext}`;
        if (j === 1 && kind !== 'firmware') {
          p = `/usr/share/doc/${name}/README`;
          content = 'text';
          flag = 'doc';
        } else if (j === 2 && pr.int(3) === 0) {
          p = `/etc/${name}/${name}.conf`;
          content = 'text';
          flag = 'config';
        }
      }
      files.push({ path: p, size, mode, content, ...(flag ? { flag } : {}) });
    }
    if (files.some((f) => f.path.startsWith(`/etc/${name}/`))) ownDirs.push(`/etc/${name}`);
    if (kind === 'firmware') ownDirs.push(`/usr/lib/firmware/${name}`);
    // a few in-tree symlinks, as packages ship compat names
    const nlinks = pr.int(3);
    for (let k = 0; k < nlinks; k++) {
      const f = files[pr.int(files.length)]!;
      if (!f.path.startsWith(share + '/')) continue;
      const lp = `${share}/link${k}`;
      if (links.some((l) => l.path === lp)) continue;
      links.push({ path: lp, target: path.posix.relative(share, f.path) });
    }
    dirs.add(share);
    for (const f of files) dirs.add(path.posix.dirname(f.path));
    for (const l of links) dirs.add(path.posix.dirname(l.path));
    const scriptlets: string[] = [];
    let user: string | undefined;
    const s = pr.int(100);
    // scriptlets need the base's /bin/sh
    if (o.base && s < 8) scriptlets.push('post');
    else if (o.base && s < 10) scriptlets.push('posttrans');
    else if (o.base && s < 12) {
      scriptlets.push('pre');
      user = `g${pad(i, N)}`;
    }
    if (user || pr.int(10) === 0) {
      dirs.add(`/var/lib/${name}`);
      ownDirs.push(`/var/lib/${name}`);
    }
    // Requires: earlier packages (a layered DAG, as a distro's base), sometimes versioned or by soname.
    const requires: string[] = [];
    const nreq = i === 0 ? 0 : pr.int(Math.min(i, 4));
    for (let k = 0; k < nreq; k++) {
      const j = i - 1 - pr.int(Math.min(i, 40));
      const dep = pkgs[j]!;
      const so = dep.provides[0];
      const req = so && pr.int(2) === 0 ? so : pr.int(3) === 0 ? `${dep.name} >= ${dep.version}` : dep.name;
      if (!requires.includes(req)) requires.push(req);
    }
    pkgs.push({
      name,
      version: `${1 + pr.int(5)}.${pr.int(20)}`,
      release: '1.gen',
      arch,
      bytes,
      requires,
      scriptlets,
      group: Math.floor(i / o.groupSize),
      kind,
      fileList: files,
      links,
      dirs: [...dirs].sort(),
      ownDirs,
      provides,
      ...(user ? { user } : {}),
      seed: subSeed('content', o.seed, i),
    });
  }
  return pkgs;
}

// -------------------------------------------------------------------- build

function specFor(group: number, pkgs: PlanPackage[], stage: string, withBase: boolean): string {
  const L: string[] = [
    `Name: gen-src${group}`,
    'Version: 1',
    'Release: 1.gen',
    'Summary: generated packages',
    'License: MIT',
    '',
    '%description',
    'Generated packages for coreforge tests and benches.',
    '',
    '%install',
    // the buildroot is the staged tree, moved in (a rename, no copy)
    'rmdir %{buildroot}',
    `mv '${stage}' %{buildroot}`,
    '',
  ];
  for (const p of pkgs) {
    L.push(`%package -n ${p.name}`, `Version: ${p.version}`, `Release: ${p.release}`, `Summary: generated ${p.kind} package ${p.name}`);
    if (p.arch === 'noarch') L.push('BuildArch: noarch');
    if (withBase) L.push('Requires: filesystem');
    for (const rq of p.requires) L.push(`Requires: ${rq}`);
    for (const pv of p.provides) L.push(`Provides: ${pv}`);
    if (p.user) L.push('Requires(pre): /usr/bin/getent /usr/sbin/useradd /usr/sbin/groupadd');
    L.push('', `%description -n ${p.name}`, `Generated ${p.kind} package.`, '');
    L.push(`%files -n ${p.name}`, '%defattr(-,root,root,-)');
    // /usr trees are listed whole; /etc and /var dirs alone (their files carry flags)
    const whole = p.ownDirs.filter((d) => d.startsWith('/usr/'));
    for (const d of p.ownDirs) {
      if (d.startsWith('/var/lib/') && p.user) L.push(`%dir %attr(0750,${p.user},${p.user}) ${d}`);
      else L.push(whole.includes(d) ? d : `%dir ${d}`);
    }
    for (const f of p.fileList) {
      if (whole.some((d) => f.path.startsWith(d + '/'))) continue;
      if (f.flag === 'doc') L.push(`%doc ${f.path}`);
      else if (f.flag === 'config') L.push(`%config(noreplace) ${f.path}`);
      else L.push(f.path);
    }
    for (const l of p.links) if (!whole.some((d) => l.path.startsWith(d + '/'))) L.push(l.path);
    L.push('');
    if (p.user) {
      L.push(`%pre -n ${p.name}`, `getent group ${p.user} >/dev/null || groupadd -r ${p.user}`);
      L.push(`getent passwd ${p.user} >/dev/null || useradd -r -g ${p.user} -d /var/lib/${p.name} -s /sbin/nologin ${p.user}`, 'exit 0', '');
    }
    if (p.scriptlets.includes('post')) {
      L.push(`%post -n ${p.name}`, `mkdir -p /etc/${p.name}.d`, `echo "configured ${p.name} $1" > /etc/${p.name}.d/generated`, '');
    }
    if (p.scriptlets.includes('posttrans')) L.push(`%posttrans -n ${p.name}`, `test -d /usr/share/${p.name}`, '');
  }
  return L.join('\n') + '\n';
}

function stageGroup(stage: string, pkgs: PlanPackage[]): void {
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  for (const p of pkgs) {
    for (const d of p.dirs) fs.mkdirSync(path.join(stage, d), { recursive: true, mode: 0o755 });
    p.fileList.forEach((f, j) => {
      const file = path.join(stage, f.path);
      fs.writeFileSync(file, contentBytes(f.content, f.size, p.seed + j));
      fs.chmodSync(file, f.mode); // umask-independent modes: builds are reproducible
    });
    for (const l of p.links) fs.symlinkSync(l.target, path.join(stage, l.path));
  }
}

function rpmName(p: { name: string; version: string; release: string; arch: string }): string {
  return `${p.name}-${p.version}-${p.release}.${p.arch}.rpm`;
}

/**
 * rpmbuild classifies every file with libmagic (rpmfc), which with the full
 * magic database costs ~3 ms a file — most of a generated set's build time.
 * Generated files need no classification (no real ELF, no scripts), so
 * rpmbuild gets a one-rule database through libmagic's MAGIC variable; it
 * also keeps FILECLASS independent of the host's libmagic version.
 */
function magicFile(dir: string): string {
  const f = path.join(dir, 'coreforge-gen.magic');
  fs.writeFileSync(f, '0\tstring\t\\x7fELF\tELF-like data (coreforge generated)\n');
  return f;
}

function runRpmbuild(spec: string, topdir: string, rpmdir: string, payload: string): Promise<void> {
  const defs: [string, string][] = [
    ['_topdir', topdir],
    ['_rpmdir', rpmdir],
    ['_build_name_fmt', '%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm'],
    ['_buildhost', 'build.example.invalid'],
    ['use_source_date_epoch_as_buildtime', '1'],
    ['clamp_mtime_to_source_date_epoch', '1'],
    ['_binary_payload', payload],
    ['debug_package', '%{nil}'],
    ['__os_install_post', '%{nil}'],
    ['_build_id_links', 'none'],
  ];
  const args = ['-bb', '--quiet', '--target', 'x86_64-linux'];
  for (const [k, v] of defs) args.push('--define', `${k} ${v}`);
  args.push(spec);
  return new Promise((resolve, reject) => {
    const c = spawn('rpmbuild', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C', SOURCE_DATE_EPOCH, MAGIC: magicFile(path.dirname(spec)) } });
    let log = '';
    c.stdout.on('data', (d: Buffer) => (log += d.toString()));
    c.stderr.on('data', (d: Buffer) => (log += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`rpmbuild failed for ${spec} (exit ${code}):\n${log.slice(-4000)}`))));
  });
}

async function pool<T>(items: T[], jobs: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
}

function createrepo(dir: string): void {
  for (const f of fs.readdirSync(path.join(dir, 'Packages'))) fs.utimesSync(path.join(dir, 'Packages', f), Number(SOURCE_DATE_EPOCH), Number(SOURCE_DATE_EPOCH));
  fs.rmSync(path.join(dir, 'repodata'), { recursive: true, force: true });
  execFileSync('createrepo_c', ['--quiet', '--no-database', '--workers', '2', '--revision', SOURCE_DATE_EPOCH, '--set-timestamp-to-revision', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function defaults(o: GenOptions): Required<Omit<GenOptions, 'cacheDir'>> {
  return {
    seed: o.seed,
    packages: o.packages,
    totalBytes: o.totalBytes,
    jobs: o.jobs ?? 2,
    payload: o.payload ?? 'w3.zstdio',
    base: o.base ?? true,
    meanFileBytes: o.meanFileBytes ?? 32 * 1024,
    groupSize: o.groupSize ?? 24,
  };
}

function defaultCache(o: GenOptions): string {
  return o.cacheDir ?? path.join(os.tmpdir(), `coreforge-gen-cache-${process.getuid?.() ?? 0}`);
}

function rpmbuildVersion(): string {
  return execFileSync('rpmbuild', ['--version']).toString().trim();
}

function publicPackage(p: PlanPackage): GenPackage {
  return {
    name: p.name,
    version: p.version,
    release: p.release,
    arch: p.arch,
    bytes: p.bytes,
    files: p.fileList.length,
    symlinks: p.links.length,
    requires: p.requires,
    scriptlets: p.scriptlets,
    ...(p.user ? { user: p.user } : {}),
    group: p.group,
    rpm: rpmName(p),
  };
}

async function buildGroups(plan: PlanPackage[], groups: number[], work: string, rpmdir: string, o: Required<Omit<GenOptions, 'cacheDir'>>): Promise<void> {
  fs.mkdirSync(rpmdir, { recursive: true });
  await pool(groups, o.jobs, async (g) => {
    const members = plan.filter((p) => p.group === g);
    const stage = path.join(work, `stage${g}`);
    const t0 = performance.now();
    stageGroup(stage, members);
    const t1 = performance.now();
    const spec = path.join(work, `gen-src${g}.spec`);
    fs.writeFileSync(spec, specFor(g, members, stage, o.base));
    await runRpmbuild(spec, path.join(work, `top${g}`), rpmdir, o.payload);
    if (process.env.COREFORGE_GEN_PROFILE) console.error(`group ${g}: stage ${(t1 - t0).toFixed(0)} ms, rpmbuild ${(performance.now() - t1).toFixed(0)} ms`);
    fs.rmSync(path.join(work, `top${g}`), { recursive: true, force: true });
  });
}

function finishRepo(repoDir: string, withBase: boolean, cache: string): string[] {
  const base: string[] = [];
  if (withBase) {
    const ex = buildExampleRpms(path.join(cache, 'example-rpms'));
    for (const f of ex.rpms) {
      const dest = path.join(repoDir, 'Packages', path.basename(f));
      fs.rmSync(dest, { force: true });
      fs.copyFileSync(f, dest);
      base.push(path.basename(f).replace(/-[^-]+-[^-]+\.[^.]+\.rpm$/, ''));
    }
  }
  createrepo(repoDir);
  return base;
}

function listRpms(repoDir: string): string[] {
  return fs
    .readdirSync(path.join(repoDir, 'Packages'))
    .filter((f) => f.endsWith('.rpm'))
    .sort()
    .map((f) => path.join(repoDir, 'Packages', f));
}

/** Generates (or takes from the cache) a set of RPMs as an rpm-md repository. */
export async function generateRpms(opts: GenOptions): Promise<GeneratedSet> {
  const o = defaults(opts);
  if (!Number.isInteger(o.packages) || o.packages < 1) throw new Error(`generateRpms: packages must be a positive integer, got ${o.packages}`);
  if (!Number.isInteger(o.totalBytes) || o.totalBytes < 0) throw new Error(`generateRpms: totalBytes must be a non-negative integer, got ${o.totalBytes}`);
  const cache = defaultCache(opts);
  const { jobs: _jobs, ...keyed } = o; // parallelism does not change the output
  void _jobs;
  const key = createHash('sha256').update(JSON.stringify({ GEN_VERSION, keyed, rpmbuild: rpmbuildVersion() })).digest('hex').slice(0, 16);
  const dir = path.join(cache, `set-${key}`);
  const meta = path.join(dir, 'set.json');
  if (fs.existsSync(meta)) {
    const s = JSON.parse(fs.readFileSync(meta, 'utf8')) as GeneratedSet;
    return { ...s, repoDir: path.join(dir, 'repo'), rpms: listRpms(path.join(dir, 'repo')), cached: true };
  }
  const t0 = process.hrtime.bigint();
  fs.mkdirSync(cache, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(cache, `.set-${key}-`));
  try {
    const plan = planSet(o);
    const repoDir = path.join(tmp, 'repo');
    const groups = [...new Set(plan.map((p) => p.group))];
    await buildGroups(plan, groups, path.join(tmp, 'work'), path.join(repoDir, 'Packages'), o);
    fs.rmSync(path.join(tmp, 'work'), { recursive: true, force: true });
    const base = finishRepo(repoDir, o.base, cache);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const set: GeneratedSet = {
      key,
      repoDir: '',
      rpms: [],
      packages: plan.map(publicPackage),
      base,
      totalBytes: plan.reduce((a, p) => a + p.bytes, 0),
      fileCount: plan.reduce((a, p) => a + p.fileList.length, 0),
      cached: false,
      seconds,
      options: o,
    };
    fs.writeFileSync(path.join(tmp, 'set.json'), JSON.stringify(set, null, 1));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    return { ...set, repoDir: path.join(dir, 'repo'), rpms: listRpms(path.join(dir, 'repo')) };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

export interface VariantSet extends GeneratedSet {
  /** The package whose release was bumped (and one of whose files changed). */
  changed: GenPackage;
  /** Its RPM in the original set. */
  previous: GenPackage;
}

/**
 * The same set with one package changed: its release bumped and its first
 * file's content changed. Every other RPM is byte-identical to `set`'s
 * (hardlinked when possible). `name` picks the package; default a
 * seed-chosen one. Cached like the set.
 */
export async function bumpOnePackage(set: GeneratedSet, opts: { name?: string; cacheDir?: string } = {}): Promise<VariantSet> {
  const o = set.options;
  const cache = opts.cacheDir ?? defaultCache({ ...o });
  const plan = planSet(o);
  const target = opts.name ?? plan[new Rng(subSeed('bump', o.seed)).int(plan.length)]!.name;
  const pi = plan.findIndex((p) => p.name === target);
  if (pi < 0) throw new Error(`bumpOnePackage: no generated package named ${target}`);
  const old = plan[pi]!;
  const bumped: PlanPackage = { ...old, release: old.release.replace(/^(\d+)/, (m) => String(Number(m) + 1)), seed: old.seed ^ 0x3c6ef372 };
  // only the first file's content changes (seed of file 0), the rest stay as they were
  bumped.fileList = old.fileList;
  const key = `${set.key}-bump-${target}`;
  const dir = path.join(cache, `set-${key}`);
  const meta = path.join(dir, 'set.json');
  if (fs.existsSync(meta)) {
    const s = JSON.parse(fs.readFileSync(meta, 'utf8')) as VariantSet;
    return { ...s, repoDir: path.join(dir, 'repo'), rpms: listRpms(path.join(dir, 'repo')), cached: true };
  }
  const t0 = process.hrtime.bigint();
  const tmp = fs.mkdtempSync(path.join(cache, `.set-${key}-`));
  try {
    const repoDir = path.join(tmp, 'repo');
    const pk = path.join(repoDir, 'Packages');
    fs.mkdirSync(pk, { recursive: true });
    // Build the bumped package alone in a one-package spec: the other RPMs are reused as they are.
    const single: PlanPackage = { ...bumped, group: -1 };
    const work = path.join(tmp, 'work');
    fs.mkdirSync(work, { recursive: true });
    const stage = path.join(work, 'stage');
    stageGroup(stage, [{ ...single, seed: old.seed }]);
    // change file 0's content
    const f0 = single.fileList[0]!;
    fs.writeFileSync(path.join(stage, f0.path), contentBytes(f0.content, f0.size, bumped.seed));
    fs.chmodSync(path.join(stage, f0.path), f0.mode);
    const spec = path.join(work, 'gen-bump.spec');
    fs.writeFileSync(spec, specFor(old.group, [single], stage, o.base));
    await runRpmbuild(spec, path.join(work, 'top'), pk, o.payload);
    fs.rmSync(work, { recursive: true, force: true });
    for (const f of set.rpms) {
      const base = path.basename(f);
      if (base === rpmName(old)) continue;
      try {
        fs.linkSync(f, path.join(pk, base));
      } catch {
        fs.copyFileSync(f, path.join(pk, base));
      }
    }
    createrepo(repoDir);
    const changed = publicPackage(single);
    changed.group = old.group;
    const packages = set.packages.map((p) => (p.name === target ? changed : p));
    const v: VariantSet = {
      ...set,
      key,
      repoDir: '',
      rpms: [],
      packages,
      cached: false,
      seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      changed,
      previous: publicPackage(old),
    };
    fs.writeFileSync(path.join(tmp, 'set.json'), JSON.stringify(v, null, 1));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    return { ...v, repoDir: path.join(dir, 'repo'), rpms: listRpms(path.join(dir, 'repo')) };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
