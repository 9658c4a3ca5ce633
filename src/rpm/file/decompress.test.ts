import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { PayloadDecoder, type Compressor } from './decompress.js';
import { RpmFormatError } from './errors.js';

/** Compressed by the real command-line tools, the way rpmbuild's payloads are. */
const TOOLS: Record<Exclude<Compressor, 'identity'>, [string, string[]]> = {
  zstd: ['zstd', ['-q', '-c', '-3']],
  xz: ['xz', ['-c', '-6']],
  lzma: ['xz', ['-c', '--format=lzma']],
  bzip2: ['bzip2', ['-c']],
  gzip: ['gzip', ['-c', '-n']],
};

function compress(kind: Exclude<Compressor, 'identity'>, data: Buffer): Buffer {
  const [cmd, args] = TOOLS[kind];
  return execFileSync(cmd, args, { input: data, maxBuffer: 1 << 28 });
}

/** Some text (compressible) and some random bytes (not), about 1.5 MB: several output chunks. */
const plain = Buffer.concat([Buffer.from('coreforge payload line\n'.repeat(40_000)), randomBytes(600_000)]);

function decodeIn(kind: Compressor, data: Buffer, step: number): Buffer {
  const d = new PayloadDecoder(kind, 'pkg-1-1.x86_64');
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += step) for (const c of d.decode(data.subarray(i, i + step), false)) out.push(Buffer.from(c));
  for (const c of d.decode(Buffer.alloc(0), true)) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

describe('PayloadDecoder (native zstd, xz, lzma, bzip2, gzip)', () => {
  for (const kind of Object.keys(TOOLS) as Array<Exclude<Compressor, 'identity'>>) {
    it(`${kind}: decodes what the ${TOOLS[kind][0]} tool wrote, whatever the chunking`, () => {
      const z = compress(kind, plain);
      for (const step of [z.length, 65_536, 4093, 1]) {
        if (step === 1 && z.length > 300_000) continue;
        assert.ok(decodeIn(kind, z, step).equals(plain), `${kind}, chunks of ${step}`);
      }
    });

    it(`${kind}: a truncated stream is a typed error naming the package`, () => {
      const z = compress(kind, plain);
      assert.throws(() => decodeIn(kind, z.subarray(0, z.length - 20), 65_536), (e: unknown) => e instanceof RpmFormatError && /pkg-1-1\.x86_64/.test(e.message) && /truncated|corrupt/.test(e.message));
    });

    it(`${kind}: corrupt data is a typed error`, () => {
      const z = Buffer.from(compress(kind, plain));
      for (let i = 64; i < z.length; i += 97) z[i] = z[i]! ^ 0x5a;
      assert.throws(() => decodeIn(kind, z, 65_536), (e: unknown) => e instanceof RpmFormatError && /pkg-1-1\.x86_64/.test(e.message));
    });
  }

  it('concatenated zstd frames and xz streams decode to the concatenation, as the tools do', () => {
    const a = Buffer.from('first part\n'.repeat(1000));
    const b = Buffer.from('second part\n'.repeat(1000));
    for (const kind of ['zstd', 'xz', 'bzip2', 'gzip'] as const) {
      assert.ok(decodeIn(kind, Buffer.concat([compress(kind, a), compress(kind, b)]), 4096).equals(Buffer.concat([a, b])), kind);
    }
  });

  it('gzip: non-gzip bytes after the last member are ignored (as gzread, and so rpm, does)', () => {
    const z = Buffer.concat([compress('gzip', plain), Buffer.from('trailing junk')]);
    assert.ok(decodeIn('gzip', z, 65_536).equals(plain));
  });

  it('an empty input is a truncated stream, not an empty payload', () => {
    assert.throws(() => decodeIn('zstd', Buffer.alloc(0), 1), /truncated/);
  });

  it('a bomb is decoded lazily: one output chunk per step, never the whole stream at once', () => {
    const zeros = compress('zstd', Buffer.alloc(64 << 20));
    const d = new PayloadDecoder('zstd', 'bomb-1-1.x86_64');
    const it = d.decode(zeros, true);
    const first = it.next();
    assert.equal(first.done, false);
    assert.ok((first.value as Buffer).length <= 1 << 20);
    let total = (first.value as Buffer).length;
    for (let r = it.next(); !r.done; r = it.next()) total += r.value.length;
    assert.equal(total, 64 << 20);
  });
});
