import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { CoreforgeError } from '../errors.js';

/** Linux syscalls that Node lacks, from our small N-API addon (binding.gyp). */
export interface Native {
  /** Names of the extended attributes of a path (symlinks not followed) or fd. */
  listXattrs(target: string | number): string[];
  /** Value of one attribute, or null if absent. */
  getXattr(target: string | number, name: string): Buffer | null;
  setXattr(target: string | number, name: string, value: Buffer): void;
  removeXattr(target: string | number, name: string): void;
  /** Non-blocking flock; false when another holder conflicts. */
  flock(fd: number, op: 'sh' | 'ex' | 'un'): boolean;
  syncfs(fd: number): void;
  /** A zero-filled Buffer of `size` bytes at a 4096-byte aligned address (for O_DIRECT writes). */
  alignedBuffer(size: number): Buffer;
  /** A streaming decoder (zstd, xz, lzma, bzip2, gzip) that refuses to need more than `memLimit` bytes (0: no limit). */
  createDecoder(kind: 'zstd' | 'xz' | 'lzma' | 'bzip2' | 'gzip', memLimit: number): DecoderHandle;
  /**
   * Decodes from input[offset..] into output until one is used up: [bytes consumed, bytes produced, stream ended].
   * `final`: no input follows. Throws (code ECORRUPT) on corrupt or, when final, truncated data.
   */
  decode(handle: DecoderHandle, input: Buffer, offset: number, output: Buffer, final: boolean): [number, number, boolean];
}

/** An opaque native decoder state (freed by the garbage collector). */
export type DecoderHandle = { readonly __decoder: unique symbol };

let loaded: Native | undefined;

export function native(): Native {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  // src/native → repo root is two levels up from source, three from dist/src/native
  const candidates = ['../../build/Release/coreforge_native.node', '../../../build/Release/coreforge_native.node'].map((p) => new URL(p, import.meta.url).pathname);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new CoreforgeError('ENATIVE', 'the native helper is not built: run `npm ci` (it compiles build/Release/coreforge_native.node)');
  loaded = require(found) as Native;
  return loaded;
}
