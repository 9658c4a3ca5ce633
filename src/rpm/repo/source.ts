/**
 * RepoSource: one repository as a .repo section describes it. The config
 * engine produces exactly these fields; `normalizeRepoSource` fills dnf's
 * defaults for anything left out.
 */
export interface RepoSource {
  id: string;
  name?: string;
  baseurl: string[];
  mirrorlist?: string;
  metalink?: string;
  enabled: boolean;
  gpgcheck: boolean;
  repoGpgcheck: boolean;
  /** Armored key URLs or file paths (file:// or plain path). */
  gpgkey: string[];
  /** Glob patterns of package names hidden from this repo. */
  exclude: string[];
  /** If non-empty, only package names matching one of these globs are visible. */
  includepkgs: string[];
  skipIfUnavailable: boolean;
  /** Lower number wins (dnf). Default 99. */
  priority: number;
  /** Lower cost is preferred among equal choices. Default 1000. */
  cost: number;
}

export function normalizeRepoSource(r: Partial<RepoSource> & { id: string }): RepoSource {
  return {
    id: r.id,
    name: r.name,
    baseurl: r.baseurl ?? [],
    mirrorlist: r.mirrorlist,
    metalink: r.metalink,
    enabled: r.enabled ?? true,
    gpgcheck: r.gpgcheck ?? false,
    repoGpgcheck: r.repoGpgcheck ?? false,
    gpgkey: r.gpgkey ?? [],
    exclude: r.exclude ?? [],
    includepkgs: r.includepkgs ?? [],
    skipIfUnavailable: r.skipIfUnavailable ?? false,
    priority: r.priority ?? 99,
    cost: r.cost ?? 1000,
  };
}

/** dnf-style glob (fnmatch: `*`, `?`, `[...]`) compiled once. */
export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += '[' + body.replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** Returns a predicate telling whether a package name is visible in the repo. */
export function nameFilter(src: Pick<RepoSource, 'exclude' | 'includepkgs'>): (name: string) => boolean {
  const ex = src.exclude.map(globToRegExp);
  const inc = src.includepkgs.map(globToRegExp);
  return (name) => {
    if (ex.some((r) => r.test(name))) return false;
    if (inc.length > 0 && !inc.some((r) => r.test(name))) return false;
    return true;
  };
}
