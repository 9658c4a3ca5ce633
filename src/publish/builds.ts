import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError, NotFoundError } from '../errors.js';

/** builds/builds.json as coreos-assembler writes it (newest build first). */
export interface BuildsJson {
  'schema-version'?: string;
  builds: Array<{ id: string; arches: string[] }>;
  timestamp?: string;
}

export interface BuildMeta {
  buildid: string;
  name?: string;
  ref?: string;
  'ostree-commit': string;
  'ostree-version'?: string;
  images?: Record<string, { path: string; sha256?: string; size?: number }>;
  [k: string]: unknown;
}

export interface BuildRef {
  id: string;
  arch: string;
  dir: string;
  meta: BuildMeta;
  /** The build's OSTree artifact (a tar of an archive repo). */
  ostreeTar: string;
}

async function readJson<T>(path: string): Promise<T> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch {
    throw new NotFoundError(`${path} does not exist (is this a coreforge/cosa build directory?)`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new InvalidInputError(`${path}: invalid JSON: ${(e as Error).message}`);
  }
}

/** Find a build (default: the newest) in a build directory's builds/. */
export async function findBuild(buildDir: string, opts: { id?: string; arch?: string } = {}): Promise<BuildRef> {
  const bj = await readJson<BuildsJson>(join(buildDir, 'builds', 'builds.json'));
  if (!Array.isArray(bj.builds) || bj.builds.length === 0) throw new NotFoundError(`${join(buildDir, 'builds', 'builds.json')}: no builds yet (run coreforge build)`);
  const b = opts.id ? bj.builds.find((x) => x.id === opts.id) : bj.builds[0];
  if (!b) throw new NotFoundError(`no build '${opts.id}' in builds/builds.json`);
  const arch = opts.arch ?? b.arches[0];
  if (!arch || !b.arches.includes(arch)) throw new NotFoundError(`build ${b.id} has no arch '${opts.arch}'`);
  const dir = join(buildDir, 'builds', b.id, arch);
  const meta = await readJson<BuildMeta>(join(dir, 'meta.json'));
  if (!/^[0-9a-f]{64}$/.test(meta['ostree-commit'] ?? '')) throw new InvalidInputError(`${join(dir, 'meta.json')}: ostree-commit: not a checksum`);
  const tarName = meta.images?.ostree?.path;
  if (!tarName) throw new InvalidInputError(`${join(dir, 'meta.json')}: images.ostree.path: missing (the build has no OSTree artifact)`);
  if (tarName.includes('/')) throw new InvalidInputError(`${join(dir, 'meta.json')}: images.ostree.path: must be a file name`);
  return { id: b.id, arch, dir, meta, ostreeTar: join(dir, tarName) };
}
