/**
 * Package model as rpm-md primary (+ filelists) describes it.
 */
import type { EVR } from '../version.js';
import { formatEVR } from '../version.js';
import type { Checksum } from './http.js';

export interface Dep {
  name: string;
  /** libsolv relation bits (GT=1, EQ=2, LT=4); 0 = unversioned. */
  flags: number;
  evr?: EVR;
  /** `Requires(pre)` and friends. */
  pre?: boolean;
}

export interface RepoRef {
  id: string;
  priority: number;
  cost: number;
  /** Base URLs the package locations are relative to. */
  baseurls: string[];
}

export const DEP_KINDS = ['provides', 'requires', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances'] as const;
export type DepKind = (typeof DEP_KINDS)[number];

export interface PackageData {
  name: string;
  arch: string;
  epoch: number;
  version: string;
  release: string;
  checksum: Checksum;
  /** Package file size in bytes. */
  size: number;
  installedSize: number;
  location: string;
  locationBase?: string;
  sourcerpm?: string;
  provides: Dep[];
  requires: Dep[];
  conflicts: Dep[];
  obsoletes: Dep[];
  recommends: Dep[];
  suggests: Dep[];
  supplements: Dep[];
  enhances: Dep[];
  /** Primary carries only /etc/*, *bin/* and /usr/lib/sendmail; filelists adds the rest. */
  files: string[];
}

export class Package implements PackageData {
  name!: string;
  arch!: string;
  epoch!: number;
  version!: string;
  release!: string;
  checksum!: Checksum;
  size!: number;
  installedSize!: number;
  location!: string;
  locationBase?: string;
  sourcerpm?: string;
  provides!: Dep[];
  requires!: Dep[];
  conflicts!: Dep[];
  obsoletes!: Dep[];
  recommends!: Dep[];
  suggests!: Dep[];
  supplements!: Dep[];
  enhances!: Dep[];
  files!: string[];
  /** Solver index, assigned when the package enters a pool. */
  id = -1;
  constructor(
    data: PackageData,
    readonly repo: RepoRef,
  ) {
    Object.assign(this, data);
  }
  get evr(): EVR {
    return { epoch: this.epoch, version: this.version, release: this.release };
  }
  /** `name-[epoch:]version-release.arch` as dnf prints it (epoch only when non-zero). */
  get nevra(): string {
    return `${this.name}-${formatEVR(this.evr)}.${this.arch}`;
  }
  get evrString(): string {
    return formatEVR(this.evr);
  }
  toData(): PackageData {
    const { id: _id, repo: _repo, ...rest } = this as Package & Record<string, unknown>;
    return rest as unknown as PackageData;
  }
}
