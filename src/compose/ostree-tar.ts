import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { assertChecksum, type Checksum } from '../ostree/checksum.js';
import { ObjectType } from '../ostree/objects/types.js';
import { pullLocal } from '../ostree/pull-local.js';
import { validateRef } from '../ostree/repo/refs.js';
import { Repo } from '../ostree/repo/repo.js';
import { traverseCommit } from '../ostree/traverse.js';
import { fsyncDir, mapLimit, randomName } from '../util/fs.js';
import { TarWriter, type TarEntry } from '../util/tar.js';

/**
 * The build's OSTree artifact, `<name>-<version>-ostree.<arch>.tar`, as cosa made it before
 * OCI (`ostree init --mode=archive` + `pull-local` of the commit + `tar -cf X -C repo .`): an
 * uncompressed tar whose root is an archive repository holding exactly the commit, its
 * detached metadata and the objects it reaches, with the ref(s) pointing at it. So the
 * documented import works verbatim:
 *   tar -xf builds/latest/x86_64/*-ostree.x86_64.tar -C tmp/build-repo
 *   ostree --repo=repo pull-local tmp/build-repo my/x86_64/coreos/stable
 * The tar is deterministic (entries sorted, fixed modes, owner 0, one mtime) and streamed.
 */

export interface OstreeTarOptions {
  /** More refs to create (cosa also wrote the build ID as a ref). */
  extraRefs?: readonly string[];
  /** mtime of every entry (default 0; pass SOURCE_DATE_EPOCH for a meaningful date). */
  mtime?: number;
  /** Where to stage the conversion of a non-archive source (default: beside outFile). */
  tmpDir?: string;
  /** Object files stat'ed concurrently. */
  concurrency?: number;
}

export interface OstreeTarResult {
  path: string;
  sha256: string;
  size: number;
  /** Objects in the tar (commit, commitmeta, dirtrees, dirmetas, content). */
  objects: number;
}

/** What ostree init --mode=archive writes. */
const ARCHIVE_CONFIG = '[core]\nrepo_version=1\nmode=archive-z2\n';
const SKELETON_DIRS = ['extensions', 'objects', 'refs', 'refs/heads', 'refs/mirrors', 'refs/remotes', 'state', 'tmp', 'tmp/cache'];

/** Hashes and counts what passes through. */
class Digest extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
}

interface PlannedEntry {
  path: string;
  kind: 'dir' | 'file';
  /** Source file to stream, or inline bytes. */
  src?: string;
  data?: Buffer;
  size: number;
}

const comparePaths = (a: string, b: string): number => {
  // component-wise byte order: a directory sorts right before its contents
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = Buffer.compare(Buffer.from(pa[i]!), Buffer.from(pb[i]!));
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
};

export async function writeOstreeTar(srcRepo: Repo, commit: Checksum, ref: string | null, outFile: string, opts: OstreeTarOptions = {}): Promise<OstreeTarResult> {
  assertChecksum(commit);
  const refs = [...(ref ? [ref] : []), ...(opts.extraRefs ?? [])];
  for (const r of refs) validateRef(r);
  if (!(await srcRepo.hasObject(ObjectType.Commit, commit))) throw new NotFoundError(`${srcRepo.path}: no commit ${commit}`);
  if (await srcRepo.isCommitPartial(commit)) throw new InvalidInputError(`${srcRepo.path}: commit ${commit} is partial; cannot write a complete OSTree artifact`);
  // ostree pull-local checks ostree.ref-binding: a ref the commit is not bound to would fail at import
  const binding = (await srcRepo.loadCommit(commit)).meta('ostree.ref-binding');
  if (binding && binding.typeString === 'as') {
    const bound = binding.value as string[];
    for (const r of refs) if (!bound.includes(r)) throw new InvalidInputError(`commit ${commit} has ref binding [${bound.join(', ')}]; '${r}' is not among them, so ostree pull-local would refuse it`);
  }

  let repo = srcRepo;
  let staging: string | null = null;
  try {
    if (!srcRepo.isArchive) {
      // archive objects are compressed per file: convert once through pull-local
      staging = join(opts.tmpDir ?? dirname(outFile), randomName('.ostree-tar'));
      repo = await Repo.create(staging, 'archive');
      await pullLocal(repo, srcRepo, [commit], { noRefs: true });
    }

    const objects: string[] = [];
    for await (const o of traverseCommit(repo, commit, { depth: 0 })) objects.push(repo.objectRelPath(o.type, o.checksum));
    if (await repo.hasObject(ObjectType.CommitMeta, commit)) objects.push(repo.objectRelPath(ObjectType.CommitMeta, commit));

    const planned: PlannedEntry[] = [{ path: '.', kind: 'dir', size: 0 }, { path: 'config', kind: 'file', data: Buffer.from(ARCHIVE_CONFIG), size: ARCHIVE_CONFIG.length }];
    const dirs = new Set(SKELETON_DIRS);
    for (const rel of objects) dirs.add(dirname(rel));
    for (const r of refs) {
      const parts = `refs/heads/${r}`.split('/');
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
      const data = Buffer.from(`${commit}\n`);
      planned.push({ path: `refs/heads/${r}`, kind: 'file', data, size: data.length });
    }
    for (const d of dirs) planned.push({ path: d, kind: 'dir', size: 0 });
    const sizes = await mapLimit(objects, opts.concurrency ?? 16, async (rel) => {
      try {
        return (await fsp.stat(join(repo.path, rel))).size;
      } catch (e) {
        throw new NotFoundError(`${repo.path}: missing object ${rel} of commit ${commit}`, { cause: e });
      }
    });
    objects.forEach((rel, i) => planned.push({ path: rel, kind: 'file', src: join(repo.path, rel), size: sizes[i]! }));
    planned.sort((a, b) => comparePaths(a.path, b.path));

    const tmpOut = join(dirname(outFile), `.${basename(outFile)}.${randomName('tmp')}`);
    const digest = new Digest();
    const file = createWriteStream(tmpOut, { mode: 0o644, flags: 'wx' });
    digest.pipe(file);
    const done = finished(file);
    done.catch(() => undefined);
    try {
      const tar = new TarWriter(digest);
      const mtime = opts.mtime ?? 0;
      for (const e of planned) {
        const path = e.path === '.' ? '.' : `./${e.path}`;
        const base: TarEntry = { path, type: e.kind, mode: e.kind === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtime, size: e.size };
        if (e.kind === 'dir') await tar.add(base);
        else if (e.data) await tar.add(base, e.data);
        else await tar.add(base, createReadStream(e.src!));
      }
      await tar.finish();
      digest.end();
      await done;
      const fh = await fsp.open(tmpOut, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmpOut, outFile);
      await fsyncDir(dirname(outFile));
    } catch (e) {
      digest.destroy();
      file.destroy();
      await fsp.rm(tmpOut, { force: true });
      throw e;
    }
    return { path: outFile, sha256: digest.hash.digest('hex'), size: digest.size, objects: objects.length };
  } finally {
    if (staging) {
      repo.close();
      await fsp.rm(staging, { recursive: true, force: true });
    }
  }
}
