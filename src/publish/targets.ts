import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { S3Target } from './s3.js';
import { RcloneTarget } from './rclone.js';
import { randomName } from '../util/fs.js';

/**
 * Where a repository is published: a static-file store addressed by
 * repository-relative keys ("objects/ab/cd….filez", "summary"). Writes must be
 * atomic per key (readers see the old or the new file, never a partial one).
 */
export interface PublishTarget {
  readonly description: string;
  /** Size and content digest of a key, or null if absent. */
  stat(key: string): Promise<{ size: number; sha256?: string } | null>;
  put(key: string, localPath: string, opts: { immutable: boolean }): Promise<void>;
  delete(key: string): Promise<void>;
  /** Every key under a prefix. */
  list(prefix: string): Promise<string[]>;
  /** Called once before a sync (e.g. to create the directory skeleton). */
  prepare?(): Promise<void>;
}

/** A plain directory, e.g. a web server's document root. */
export class DirTarget implements PublishTarget {
  constructor(readonly root: string) {}
  get description(): string {
    return this.root;
  }
  /** Keep the published directory a complete repository that ostree can also open locally. */
  async prepare(): Promise<void> {
    for (const d of ['objects', 'refs/heads', 'refs/remotes', 'refs/mirrors', 'tmp', 'state', 'extensions']) await fsp.mkdir(join(this.root, d), { recursive: true });
  }
  async stat(key: string): Promise<{ size: number; sha256?: string } | null> {
    const p = join(this.root, key);
    const st = await fsp.stat(p).catch(() => null);
    if (!st?.isFile()) return null;
    // mutable keys are compared by content, so hash small files
    if (st.size <= 4 * 1024 * 1024) return { size: st.size, sha256: createHash('sha256').update(await fsp.readFile(p)).digest('hex') };
    return { size: st.size };
  }
  async put(key: string, localPath: string): Promise<void> {
    const dest = join(this.root, key);
    await fsp.mkdir(dirname(dest), { recursive: true });
    const tmp = join(dirname(dest), randomName('.publish'));
    await fsp.copyFile(localPath, tmp);
    await fsp.rename(tmp, dest);
  }
  async delete(key: string): Promise<void> {
    await fsp.rm(join(this.root, key), { force: true });
  }
  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (rel: string) => {
      const ents = await fsp.readdir(join(this.root, rel), { withFileTypes: true }).catch(() => []);
      for (const e of ents) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(r);
        else if (e.isFile() && !e.name.startsWith('.publish-')) out.push(r);
      }
    };
    await walk(prefix.replace(/\/$/, ''));
    return out;
  }
}

export function parseTarget(spec: string, cwd: string): PublishTarget {
  if (/^s3:\/\//.test(spec)) return S3Target.parse(spec);
  if (/^rclone:/.test(spec)) return new RcloneTarget(spec.slice('rclone:'.length));
  return new DirTarget(resolve(cwd, spec.replace(/^file:\/\//, '')));
}
