import { chmodSync, chownSync, closeSync, linkSync, mkdirSync, openSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Prng } from './prng.js';

/**
 * Random directory trees for OSTree tests and benchmarks: everything ostree
 * must preserve (modes incl. setuid/setgid/sticky, ownership when root,
 * relative/absolute/dangling symlinks, hardlinks, empty dirs, non-ASCII
 * names, user xattrs) with file sizes from 0 to several MiB, half of the
 * content compressible text and half incompressible. Reproducible from the
 * seed; large files are written in chunks so memory stays bounded.
 */
export interface TreeOptions {
  seed: number;
  /** Number of regular files (hardlinks and symlinks come on top). */
  files: number;
  /** Approximate total payload; large files absorb whatever the small ones leave. */
  totalBytes?: number;
  /** Largest file (default 4 MiB). */
  maxFileSize?: number;
  /** Fraction of files above 256 KiB (default 0.05). */
  largeFraction?: number;
  /** Fraction of files with compressible (text) content (default 0.5). */
  compressibleFraction?: number;
  /** Mean number of entries per directory before a new one is opened (default 24). */
  filesPerDir?: number;
  symlinks?: boolean;
  hardlinks?: boolean;
  emptyDirs?: boolean;
  nonAscii?: boolean;
  /** setuid/setgid/sticky and unusual permission bits (default true). */
  specialModes?: boolean;
  /** user.* xattrs on some files and dirs, set with setfattr (default true when supported). */
  xattrs?: boolean;
  /** chown some entries to non-root ids (default: true when running as root). */
  owners?: boolean;
}

export interface TreeStats {
  root: string;
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  emptyDirs: number;
  xattrs: number;
  bytes: number;
  largest: number;
}

const NON_ASCII = ['é', 'ß', 'ñ', 'ø', 'Ω', 'д', 'ж', '日本', '語', '中文', 'ü', '🙂', 'ç', 'ĳ', 'ﬁ', '\u00a0'];
const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'ostree', 'commit', 'dirtree', 'kernel', 'initramfs', 'usr', 'lib', 'systemd', 'unit', 'rpm', 'fedora', 'coreos', 'config', '\n', '=', '{', '}', '0', '42', 'true', 'false'];
const FILE_MODES = [0o644, 0o644, 0o644, 0o644, 0o755, 0o755, 0o600, 0o444, 0o640, 0o700];
const SPECIAL_FILE_MODES = [0o4755, 0o2755, 0o6755, 0o4711, 0o2711, 0o1755, 0o777, 0o000];
const DIR_MODES = [0o755, 0o755, 0o755, 0o700, 0o750, 0o775];
const SPECIAL_DIR_MODES = [0o1777, 0o2775, 0o3755];
const OWNERS = [
  [1000, 1000],
  [65534, 65534],
  [0, 1000],
  [42, 0],
];

/** A pool of compressible text that files take slices of (a cheap way to make GBs of text). */
function textPool(rng: Prng, size: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  while (n < size) {
    const w = rng.pick(WORDS);
    parts.push(w, rng.bool(0.8) ? ' ' : '');
    n += w.length + 1;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

export function xattrsSupported(dir: string): boolean {
  const probe = join(dir, '.xattr-probe');
  writeFileSync(probe, '');
  const r = spawnSync('setfattr', ['-n', 'user.probe', '-v', '1', probe]);
  spawnSync('rm', ['-f', probe]);
  return r.status === 0;
}

/** Generate a tree under `root` (created if missing). */
export function generateTree(root: string, opts: TreeOptions): TreeStats {
  const rng = new Prng(opts.seed);
  const maxFile = opts.maxFileSize ?? 4 * 1024 * 1024;
  const largeFraction = opts.largeFraction ?? 0.05;
  const compressible = opts.compressibleFraction ?? 0.5;
  const perDir = opts.filesPerDir ?? 24;
  const want = (v: boolean | undefined) => v !== false;
  const isRoot = process.getuid?.() === 0;
  const owners = opts.owners ?? isRoot;
  mkdirSync(root, { recursive: true });
  const xattrs = (opts.xattrs ?? true) && xattrsSupported(root);

  const stats: TreeStats = { root, files: 0, dirs: 1, symlinks: 0, hardlinks: 0, emptyDirs: 0, xattrs: 0, bytes: 0, largest: 0 };
  const pool = textPool(rng, 4 * 1024 * 1024);
  const used = new Set<string>();
  const dirs: string[] = [''];
  const regular: string[] = [];
  const dirModes: Array<[string, number]> = [];
  const restore: string[] = [];

  // sizes first, so large files can share out what is left of the byte budget
  const sizes: number[] = [];
  const large: number[] = [];
  for (let i = 0; i < opts.files; i++) {
    const r = rng.float();
    if (r < 0.03) sizes.push(0);
    else if (r < 0.33) sizes.push(rng.int(1, 512));
    else if (r < 0.73) sizes.push(rng.logInt(512, 16 * 1024));
    else if (r < 1 - largeFraction) sizes.push(rng.logInt(16 * 1024, 256 * 1024));
    else {
      sizes.push(-1);
      large.push(i);
    }
  }
  let smallTotal = sizes.reduce((a, b) => a + Math.max(0, b), 0);
  if (opts.totalBytes !== undefined && large.length > 0 && smallTotal > opts.totalBytes / 2) {
    // a small byte budget: shrink the small files so the large ones keep half of it
    const f = opts.totalBytes / 2 / smallTotal;
    for (let i = 0; i < sizes.length; i++) if (sizes[i]! > 0) sizes[i] = Math.floor(sizes[i]! * f);
    smallTotal = sizes.reduce((a, b) => a + Math.max(0, b), 0);
  }
  for (const i of large) {
    if (opts.totalBytes !== undefined) {
      const share = Math.max(256 * 1024, (opts.totalBytes - smallTotal) / Math.max(1, large.length));
      sizes[i] = Math.min(maxFile, Math.floor(share * (0.5 + rng.float())));
    } else sizes[i] = rng.logInt(256 * 1024, maxFile);
  }

  const name = (prefix: string): string => {
    for (;;) {
      let n = `${prefix}${rng.u32().toString(36)}`;
      if (want(opts.nonAscii) && rng.bool(0.15)) n = `${rng.pick(NON_ASCII)}${n}${rng.pick(NON_ASCII)}`;
      if (rng.bool(0.05)) n += ' x';
      if (rng.bool(0.1)) n += rng.pick(['.txt', '.so', '.conf', '.json', '.gz']);
      if (!used.has(n)) {
        used.add(n);
        return n;
      }
    }
  };
  const addXattr = (rel: string) => {
    if (!xattrs || !rng.bool(0.08)) return;
    const n = rng.int(1, 2);
    restore.push(`# file: ${rel}`);
    for (let i = 0; i < n; i++) {
      const v = rng.bool() ? Buffer.from(`v${rng.u32()}`) : rng.bytes(rng.int(1, 40));
      restore.push(`user.${rng.pick(['a', 'b', 'comment', 'mime_type', 'x.y'])}${i}=0x${v.toString('hex')}`);
      stats.xattrs++;
    }
    restore.push('');
  };

  let dirBudget = 0;
  let cur = '';
  for (let i = 0; i < opts.files; i++) {
    if (dirBudget <= 0) {
      // new directory under a random existing one: depth grows slowly
      const parent = rng.bool(0.3) ? '' : rng.pick(dirs);
      cur = parent ? `${parent}/${name('d')}` : name('d');
      mkdirSync(join(root, cur));
      dirs.push(cur);
      stats.dirs++;
      dirModes.push([cur, want(opts.specialModes) && rng.bool(0.05) ? rng.pick(SPECIAL_DIR_MODES) : rng.pick(DIR_MODES)]);
      addXattr(cur);
      dirBudget = rng.int(1, perDir * 2);
    }
    dirBudget--;
    const rel = `${cur}/${name('f')}`;
    const size = sizes[i]!;
    writeContent(join(root, rel), size, rng.bool(compressible) ? pool : null, rng.fork(), rel);
    stats.files++;
    stats.bytes += size;
    stats.largest = Math.max(stats.largest, size);
    chmodSync(join(root, rel), want(opts.specialModes) && rng.bool(0.03) ? rng.pick(SPECIAL_FILE_MODES) : rng.pick(FILE_MODES));
    if (owners && rng.bool(0.05)) {
      const [u, g] = rng.pick(OWNERS);
      chownSync(join(root, rel), u!, g!);
    }
    addXattr(rel);
    regular.push(rel);

    if (want(opts.symlinks) && rng.bool(0.05)) {
      const l = `${cur}/${name('l')}`;
      const kind = rng.int(0, 3);
      const target =
        kind === 0
          ? relativeTo(cur, rng.pick(regular)) // relative, resolves
          : kind === 1
            ? `/${rng.pick(regular)}` // absolute (resolves only inside a chroot of the tree)
            : kind === 2
              ? `missing-${rng.u32().toString(36)}` // dangling
              : relativeTo(cur, rng.pick(dirs) || '.'); // to a directory
      symlinkSync(target, join(root, l));
      if (owners && rng.bool(0.1)) {
        const [u, g] = rng.pick(OWNERS);
        spawnSync('chown', ['-h', `${u}:${g}`, join(root, l)]);
      }
      stats.symlinks++;
    }
    if (want(opts.hardlinks) && rng.bool(0.02) && regular.length > 1) {
      const src = rng.pick(regular);
      linkSync(join(root, src), join(root, `${cur}/${name('h')}`));
      stats.hardlinks++;
    }
    if (want(opts.emptyDirs) && rng.bool(0.01)) {
      const e = `${cur}/${name('e')}`;
      mkdirSync(join(root, e));
      dirModes.push([e, rng.pick(DIR_MODES)]);
      stats.emptyDirs++;
      stats.dirs++;
    }
  }
  if (restore.length > 0) {
    const r = spawnSync('setfattr', ['--restore=-'], { cwd: root, input: restore.join('\n') + '\n', encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`setfattr --restore failed: ${r.stderr}`);
  }
  // modes last: a 0500 directory would stop us writing into it
  for (const [d, m] of dirModes.reverse()) chmodSync(join(root, d), m);
  return stats;
}

function relativeTo(fromDir: string, target: string): string {
  const depth = fromDir === '' ? 0 : fromDir.split('/').length;
  return '../'.repeat(depth) + target;
}

const CHUNK = 1024 * 1024;

function writeContent(path: string, size: number, pool: Buffer | null, rng: Prng, rel: string): void {
  const fd = openSync(path, 'wx', 0o644);
  try {
    // a unique prefix keeps files distinct even when they share a pool slice
    let left = size;
    const head = Buffer.from(`${rel}\n`).subarray(0, left);
    writeSync(fd, head);
    left -= head.length;
    const next = pool ? null : rng.byteStream();
    let off = pool ? rng.int(0, pool.length - 1) : 0;
    while (left > 0) {
      const n = Math.min(left, CHUNK);
      if (pool) {
        const take = Math.min(n, pool.length - off);
        writeSync(fd, pool, off, take);
        off = (off + take) % pool.length;
        left -= take;
      } else {
        writeSync(fd, next!(n));
        left -= n;
      }
    }
  } finally {
    closeSync(fd);
  }
}
