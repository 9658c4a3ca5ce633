import { join, resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { loadImageYaml, type LoadedImage } from './image.js';
import { configEntryExists } from './links.js';
import { loadLive, type LiveDir } from './live.js';
import { loadLockfiles, type Lockfile } from './lockfile.js';
import { listOverlays, type Overlay } from './overlays.js';
import { loadPlatforms, type Platforms } from './platforms.js';
import { resolveRepos, type RepoConfig, type RepoVars } from './repofile.js';
import { loadTreefile } from './treefile/load.js';
import type { LoadedTreefile } from './treefile/types.js';

export type ComposeRepo = RepoConfig & { lockfileRepo: boolean };

/** The top-level treefile of a config dir: manifest.yaml (cosa's name), else manifest.json. */
export function manifestPath(configDir: string): string {
  for (const n of ['manifest.yaml', 'manifest.yml', 'manifest.json']) {
    const p = join(configDir, n);
    if (configEntryExists(p)) return p;
  }
  throw new ConfigError(`${configDir}: no manifest.yaml (is this a config repository? create one with: coreforge config new DIR --upstream URL)`);
}

export function repoVarsOf(t: LoadedTreefile): RepoVars {
  const rel = t.treefile.releasever;
  return { ...t.repovars, basearch: t.arch, ...(rel !== undefined ? { releasever: rel } : {}) };
}

/**
 * A loaded config repository for one architecture: the flattened treefile,
 * the repos it composes from, the merged lockfile, image.yaml, overlay.d,
 * live/ and platforms.yaml, everything validated.
 */
export class ConfigRepo {
  private constructor(
    readonly dir: string,
    readonly arch: string,
    readonly manifest: LoadedTreefile,
    readonly repos: ComposeRepo[],
    readonly lockfile: Lockfile,
    readonly image: LoadedImage | undefined,
    readonly overlays: Overlay[],
    readonly live: LiveDir | undefined,
    readonly platforms: Platforms | undefined,
  ) {}

  static load(dir: string, opts: { arch: string }): ConfigRepo {
    const d = resolve(dir);
    const manifest = loadTreefile(manifestPath(d), { arch: opts.arch });
    const { repos } = resolveRepos(manifest.dir, manifest.path, { repos: manifest.treefile.repos, lockfileRepos: manifest.treefile['lockfile-repos'] }, repoVarsOf(manifest));
    const lockfile = loadLockfiles(d, opts.arch);
    const imageFile = join(d, 'image.yaml');
    const image = configEntryExists(imageFile) ? loadImageYaml(imageFile) : undefined;
    const overlays = listOverlays(d);
    const live = loadLive(d);
    const platformsFile = join(d, 'platforms.yaml');
    const platforms = configEntryExists(platformsFile) ? loadPlatforms(platformsFile) : undefined;
    return new ConfigRepo(d, opts.arch, manifest, repos, lockfile, image, overlays, live, platforms);
  }

  get treefile() {
    return this.manifest.treefile;
  }

  /** Overlays the compose layers, in `ostree-layers` order; a named layer without an overlay.d dir is an error. */
  layers(): Overlay[] {
    return (this.treefile['ostree-layers'] ?? []).map((ref) => {
      const o = this.overlays.find((x) => x.ref === ref);
      if (!o) throw new ConfigError(`${this.manifest.path}: ostree-layers: ${ref} has no overlay.d/${ref.replace(/^overlay\//, '')} in ${this.dir}`);
      return o;
    });
  }

  /** platforms.yaml entries for this arch. */
  platformsForArch(): Platforms[string] {
    return this.platforms?.[this.arch] ?? {};
  }
}
