import { createHash, type Hash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { treefileChecksum } from '../config/treefile/checksum.js';
import type { LoadedTreefile } from '../config/treefile/types.js';
import { InvalidInputError, NotFoundError, isErrno } from '../errors.js';
import type { RpmHeader } from '../rpm/file/index.js';
import { mapLimit } from '../util/fs.js';
import type { ComposePackage } from './types.js';

/**
 * The compose's change-detection hash (commit metadata `rpmostree.inputhash`, meta.json
 * `rpm-ostree-inputhash`). rpm-ostree's state digest (rpmostree_context_get_state_digest) is
 * SHA-256 over the treefile checksum (treefile.rs get_checksum: compact JSON of the flattened
 * treefile without ostree-layers/metadata, then the external files) followed by, per package
 * in a fixed order, its action and its repodata checksum. We hash the same treefile checksum,
 * then every package as NEVRA + the SHA-256 of its header (which covers every file digest, so
 * a rebuilt package with the same NEVRA changes the hash while a re-signature does not), then
 * what rpm-ostree takes from ostree-layer commits, read from the config itself: each overlay.d
 * tree (paths, modes, symlink targets, file bytes), and the extra inputs it does not see
 * (add-files destinations and modes, postprocess-script mode, finalize.d).
 */

/** One package of the compose, as far as the hash is concerned. */
export interface InputPackage {
  nevra: string;
  /** Hex SHA-256 of the package's main header (RPMSIGTAG_SHA256). */
  headerSha256: string;
}

export interface InputOverlay {
  /** overlay.d entry name (e.g. 05core): part of the hash, order matters (later wins). */
  name: string;
  /** Directory to read (symlinks at the top already followed). */
  realPath: string;
}

export interface InputHashOptions {
  treefile: LoadedTreefile;
  packages: readonly InputPackage[];
  /** overlay.d trees, in the order they are applied. */
  overlays?: readonly InputOverlay[];
  /** Anything else that changes the output (e.g. a format version); hashed sorted by key. */
  extra?: Readonly<Record<string, string>>;
  /** Files hashed concurrently (default 8). */
  concurrency?: number;
}

/** SHA-256 of an RPM main header, as the signature header's RPMSIGTAG_SHA256 records it. */
export function headerSha256(header: RpmHeader): string {
  return createHash('sha256').update(header.blob.bytes).digest('hex');
}

/** Length-prefixed framing for everything we add, so no two input sets hash alike by concatenation. */
function field(h: Hash, tag: string, value: string | Uint8Array): void {
  const b = typeof value === 'string' ? Buffer.from(value) : value;
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(b.length));
  h.update(tag);
  h.update('\0');
  h.update(head);
  h.update(b);
}

async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

interface TreeEntry {
  rel: string;
  kind: 'dir' | 'file' | 'symlink';
  mode: number;
  abs: string;
  target?: string;
}

/** Every entry under `root`, depth-first in byte order of names; symlinks are not followed. */
async function walkTree(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (dir: string, rel: string) => {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw new NotFoundError(`${dir}: vanished while computing the input hash`);
      throw e;
    }
    names.sort(byteOrder);
    for (const n of names) {
      const abs = join(dir, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = await fsp.lstat(abs);
      if (st.isSymbolicLink()) out.push({ rel: r, kind: 'symlink', mode: 0o777, abs, target: await fsp.readlink(abs) });
      else if (st.isDirectory()) {
        out.push({ rel: r, kind: 'dir', mode: st.mode & 0o7777, abs });
        await walk(abs, r);
      } else if (st.isFile()) out.push({ rel: r, kind: 'file', mode: st.mode & 0o7777, abs });
      else throw new InvalidInputError(`${abs}: overlay trees may hold only files, directories and symlinks`);
    }
  };
  await walk(root, '');
  return out;
}

/** Feed a directory tree into `h`: per entry its path, type, mode and target or content digest. */
export async function hashTree(h: Hash, root: string, concurrency = 8): Promise<void> {
  const entries = await walkTree(root);
  const digests = await mapLimit(entries, concurrency, (e) => (e.kind === 'file' ? fileSha256(e.abs) : Promise.resolve('')));
  entries.forEach((e, i) => {
    field(h, 'path', e.rel);
    field(h, 'kind', e.kind);
    field(h, 'mode', e.mode.toString(8));
    if (e.kind === 'symlink') field(h, 'target', e.target!);
    if (e.kind === 'file') field(h, 'sha256', digests[i]!);
  });
}

/** The input hash of a compose (hex SHA-256). */
export async function computeInputHash(o: InputHashOptions): Promise<string> {
  const h = createHash('sha256');
  // rpm-ostree starts the state digest with the treefile checksum's hex string
  h.update(treefileChecksum(o.treefile));

  // packages: a set, so sorted; the same package listed twice counts once
  const pkgs = new Map<string, string>();
  for (const p of o.packages) {
    if (!/^[0-9a-f]{64}$/i.test(p.headerSha256)) throw new InvalidInputError(`package ${p.nevra}: header sha256 '${p.headerSha256}' is not a SHA-256`);
    const prev = pkgs.get(p.nevra);
    if (prev !== undefined && prev !== p.headerSha256.toLowerCase()) throw new InvalidInputError(`package ${p.nevra} appears twice with different headers`);
    pkgs.set(p.nevra, p.headerSha256.toLowerCase());
  }
  for (const nevra of [...pkgs.keys()].sort(byteOrder)) {
    field(h, 'package', nevra);
    field(h, 'header-sha256', pkgs.get(nevra)!);
  }

  const e = o.treefile.externals;
  if (e.postprocessScript) field(h, 'postprocess-script-mode', ((await fsp.stat(e.postprocessScript)).mode & 0o7777).toString(8));
  for (const a of e.addFiles) {
    field(h, 'add-file', `${a.name}\0${a.dest}`);
    field(h, 'add-file-mode', ((await fsp.stat(a.src)).mode & 0o7777).toString(8));
  }
  for (const name of Object.keys(e.finalizeD ?? {}).sort(byteOrder)) {
    const path = e.finalizeD![name]!;
    field(h, 'finalize.d', name);
    field(h, 'finalize.d-mode', ((await fsp.stat(path)).mode & 0o7777).toString(8));
    field(h, 'finalize.d-sha256', await fileSha256(path));
  }

  for (const ov of o.overlays ?? []) {
    field(h, 'overlay', ov.name);
    await hashTree(h, ov.realPath, o.concurrency ?? 8);
  }

  for (const k of Object.keys(o.extra ?? {}).sort(byteOrder)) field(h, `extra:${k}`, o.extra![k]!);
  return h.digest('hex');
}

/** The hash inputs of fetched packages. */
export function inputPackages(pkgs: readonly Pick<ComposePackage, 'nevra' | 'header'>[]): InputPackage[] {
  return pkgs.map((p) => ({ nevra: p.nevra, headerSha256: headerSha256(p.header) }));
}
