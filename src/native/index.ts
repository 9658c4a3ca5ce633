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
  /**
   * A directory's entries (no . and ..) with getdents' d_type and d_ino: [names, kinds, inos]; use readDirEntries
   * (readdir.ts), which splits `names` (one NUL-separated string when all are UTF-8).
   */
  readdirIno(path: string): [names: string | string[], kinds: Buffer, inos: Float64Array];
  /** A zero-filled Buffer of `size` bytes at a 4096-byte aligned address (for O_DIRECT writes). */
  alignedBuffer(size: number): Buffer;
  /** A streaming decoder (zstd, xz, lzma, bzip2, gzip) that refuses to need more than `memLimit` bytes (0: no limit). */
  createDecoder(kind: 'zstd' | 'xz' | 'lzma' | 'bzip2' | 'gzip', memLimit: number): DecoderHandle;
  /**
   * Decodes from input[offset..] into output until one is used up: [bytes consumed, bytes produced, stream ended].
   * `final`: no input follows. Throws (code ECORRUPT) on corrupt or, when final, truncated data.
   */
  decode(handle: DecoderHandle, input: Buffer, offset: number, output: Buffer, final: boolean): [number, number, boolean];
  /** A running SHA-256 (OpenSSL's, as linked into Node). */
  sha256Create(): Sha256Handle;
  /** The 32-byte digest; the handle cannot be used afterwards. */
  sha256Digest(handle: Sha256Handle): Buffer;
  /**
   * On the thread pool: feed buffer[0..hashLength) to `sha` (if given), then, unless fd is -1, write
   * buffer[0..length) at `position` (short writes continued). One call per handle at a time; the buffer must not
   * change until it settles.
   */
  hashWrite(fd: number, buffer: Buffer, length: number, position: number, sha: Sha256Handle | null, hashLength: number): Promise<void>;
  /**
   * On the thread pool: for each i, read table[4i+2] bytes of paths[i] from offset table[4i+1] into
   * buffer[table[4i]..]; table[4i+3] is the size the file must have. Rejects with code ECHANGED (another size, or
   * shorter) or the open/read errno's code, and `path`.
   */
  fillFromFiles(buffer: Buffer, paths: string[], table: Float64Array): Promise<void>;
  /** Each file's size (stat), -1 for a missing one. */
  fileSizes(paths: string[]): Float64Array;
  /**
   * posix_spawn (no copy of this process's page tables, unlike fork): `path` with argv and envp, signals at
   * their defaults; fdMap holds up to 64 (child fd, parent fd) pairs. Returns the pid; reap it with waitProcess.
   */
  spawnProcess(path: string, argv: string[], envp: string[], fdMap: Int32Array): number;
  /** [exit code or -1, terminating signal number or 0], once the process ends (waitpid on the thread pool). */
  waitProcess(pid: number): Promise<[number, number]>;
  /** A close-on-exec pipe: [read end, write end]. */
  pipe(): [number, number];
}

/** An opaque native SHA-256 state. */
export type Sha256Handle = { readonly __sha256: unique symbol };

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
