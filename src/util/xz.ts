import { spawn } from 'node:child_process';
import { CoreforgeError } from '../errors.js';

/**
 * xz (LZMA2, .xz container) via the system `xz` tool: Node's zlib has no
 * lzma, and xz-utils is the reference implementation ostree itself links.
 */
function runXz(args: string[], input: Uint8Array, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = spawn('xz', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    c.stdout.on('data', (d: Buffer) => out.push(d));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', (e) => reject(new CoreforgeError('EIO', `${what}: cannot run xz: ${e.message}`)));
    c.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new CoreforgeError('ECORRUPT', `${what}: xz failed: ${err.trim() || `exit ${code}`}`));
    });
    c.stdin.on('error', () => undefined);
    c.stdin.end(input);
  });
}

/** Compress like ostree's delta parts: preset 8, CRC64. */
export function xzCompress(data: Uint8Array, what = 'xz'): Promise<Buffer> {
  return runXz(['-z', '-8', '-C', 'crc64', '-c', '-T1'], data, what);
}

export function xzDecompress(data: Uint8Array, what = 'xz'): Promise<Buffer> {
  return runXz(['-d', '-c'], data, what);
}
