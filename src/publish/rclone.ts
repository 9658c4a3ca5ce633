import { spawn } from 'node:child_process';
import { CoreforgeError } from '../errors.js';
import type { PublishTarget } from './targets.js';

function rclone(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn('rclone', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', (e) => reject(new CoreforgeError('EIO', `cannot run rclone (install it, or use a directory or s3:// target): ${e.message}`)));
    c.on('close', (code) => (code === 0 ? resolve(out) : reject(new CoreforgeError('ENETWORK', `rclone ${args[0]} failed: ${err.trim().split('\n').pop() ?? `exit ${code}`}`))));
  });
}

/**
 * Any store rclone knows (REMOTE:path from the user's rclone.conf, or a
 * local path). The remote is listed once per publish; files are copied one
 * by one so the publish order (objects … summary) is kept.
 */
export class RcloneTarget implements PublishTarget {
  private listing: Map<string, { size: number }> | null = null;
  constructor(readonly remote: string) {}

  get description(): string {
    return `rclone:${this.remote}`;
  }

  private path(key: string): string {
    return `${this.remote.replace(/\/+$/, '')}/${key}`;
  }

  async prepare(): Promise<void> {
    const out = await rclone(['lsjson', '-R', '--files-only', '--no-mimetype', '--no-modtime', this.remote]).catch((e: unknown) => {
      if (/directory not found|not found/i.test((e as Error).message)) return '[]';
      throw e;
    });
    const items = JSON.parse(out || '[]') as Array<{ Path: string; Size: number }>;
    this.listing = new Map(items.map((i) => [i.Path, { size: i.Size }]));
  }

  async stat(key: string): Promise<{ size: number } | null> {
    if (!this.listing) await this.prepare();
    return this.listing!.get(key) ?? null;
  }

  async put(key: string, localPath: string): Promise<void> {
    await rclone(['copyto', localPath, this.path(key)]);
    const { statSync } = await import('node:fs');
    this.listing?.set(key, { size: statSync(localPath).size });
  }

  async delete(key: string): Promise<void> {
    await rclone(['deletefile', this.path(key)]);
    this.listing?.delete(key);
  }

  async list(prefix: string): Promise<string[]> {
    if (!this.listing) await this.prepare();
    return [...this.listing!.keys()].filter((k) => k.startsWith(prefix.replace(/\/?$/, '/')));
  }
}
