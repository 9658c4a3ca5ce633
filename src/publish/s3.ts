import { createReadStream, promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CoreforgeError, UsageError } from '../errors.js';
import type { PublishTarget } from './targets.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const MUTABLE = 'public, max-age=60, must-revalidate';

function contentType(key: string): string {
  if (key === 'config' || key.startsWith('refs/')) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

/**
 * An S3 (or S3-compatible) bucket via the AWS SDK v3. Endpoint, region and
 * credentials come from the usual environment variables and config files
 * (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, ~/.aws/…), or from the
 * target spec: s3://BUCKET/PREFIX?endpoint=URL&region=R&path-style=1.
 * Objects carry their SHA-256 as metadata so mutable files are compared
 * without downloading them; large files go up in multipart.
 */
export class S3Target implements PublishTarget {
  private readonly client: S3Client;
  constructor(
    readonly bucket: string,
    readonly prefix: string,
    config: S3ClientConfig,
  ) {
    this.client = new S3Client(config);
  }

  static parse(spec: string): S3Target {
    const u = new URL(spec);
    if (!u.hostname) throw new UsageError(`invalid S3 target '${spec}': expected s3://BUCKET/PREFIX`);
    const prefix = u.pathname.replace(/^\/+/, '').replace(/\/*$/, '');
    const cfg: S3ClientConfig = {};
    const endpoint = u.searchParams.get('endpoint') ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    if (endpoint) cfg.endpoint = endpoint;
    const region = u.searchParams.get('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    cfg.region = region ?? 'us-east-1';
    if (u.searchParams.get('path-style') === '1' || (endpoint && u.searchParams.get('path-style') !== '0')) cfg.forcePathStyle = true;
    return new S3Target(u.hostname, prefix, cfg);
  }

  get description(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  private key(k: string): string {
    return this.prefix ? `${this.prefix}/${k}` : k;
  }

  private wrap(e: unknown, what: string): never {
    const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    throw new CoreforgeError('ENETWORK', `S3 ${what} on ${this.description}: ${err.name ?? 'error'}: ${err.message ?? String(e)}`);
  }

  async stat(key: string): Promise<{ size: number; sha256?: string } | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      const out: { size: number; sha256?: string } = { size: r.ContentLength ?? 0 };
      const sha = r.Metadata?.sha256;
      if (sha) out.sha256 = sha;
      return out;
    } catch (e) {
      const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404) return null;
      this.wrap(e, `HEAD ${key}`);
    }
  }

  async put(key: string, localPath: string, opts: { immutable: boolean }): Promise<void> {
    const h = createHash('sha256');
    for await (const c of createReadStream(localPath)) h.update(c as Buffer);
    const st = await fsp.stat(localPath);
    try {
      const up = new Upload({
        client: this.client,
        params: {
          Bucket: this.bucket,
          Key: this.key(key),
          Body: createReadStream(localPath),
          ContentLength: st.size,
          ContentType: contentType(key),
          CacheControl: opts.immutable ? IMMUTABLE : MUTABLE,
          Metadata: { sha256: h.digest('hex') },
        },
        partSize: 16 * 1024 * 1024,
        queueSize: 4,
      });
      await up.done();
    } catch (e) {
      this.wrap(e, `PUT ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
    } catch (e) {
      this.wrap(e, `DELETE ${key}`);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    const base = this.prefix ? `${this.prefix}/` : '';
    try {
      do {
        const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base + prefix, ContinuationToken: token }));
        for (const o of r.Contents ?? []) if (o.Key) out.push(o.Key.slice(base.length));
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      this.wrap(e, `LIST ${prefix}`);
    }
    return out;
  }
}
