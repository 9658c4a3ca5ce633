/**
 * Package model as rpm-md primary (+ filelists) describes it.
 */
import type { EVR } from '../version.js';
import { formatEVR } from '../version.js';
import type { Checksum } from './http.js';
import type { StoredPackage } from './store.js';

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

/**
 * One package. Built either from freshly parsed primary data or from a
 * warm-cache snapshot (store.ts), in which case dependency and file lists are
 * decoded lazily on first access.
 */
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
  /** Solver index, assigned when the package enters a pool. */
  id = -1;
  private _provides: Dep[] | undefined;
  private _requires: Dep[] | undefined;
  private _conflicts: Dep[] | undefined;
  private _obsoletes: Dep[] | undefined;
  private _recommends: Dep[] | undefined;
  private _suggests: Dep[] | undefined;
  private _supplements: Dep[] | undefined;
  private _enhances: Dep[] | undefined;
  private _files: string[] | undefined;
  /** The warm-cache record this package was decoded from, if any. */
  readonly src: StoredPackage | undefined;

  constructor(
    data: PackageData | StoredPackage,
    readonly repo: RepoRef,
  ) {
    if ('store' in data) {
      data.store.readInto(this as unknown as PackageData, data.index);
      this.src = data;
      return;
    }
    this.name = data.name;
    this.arch = data.arch;
    this.epoch = data.epoch;
    this.version = data.version;
    this.release = data.release;
    this.checksum = data.checksum;
    this.size = data.size;
    this.installedSize = data.installedSize;
    this.location = data.location;
    if (data.locationBase !== undefined) this.locationBase = data.locationBase;
    if (data.sourcerpm !== undefined) this.sourcerpm = data.sourcerpm;
    {
      this.src = undefined;
      this._provides = data.provides;
      this._requires = data.requires;
      this._conflicts = data.conflicts;
      this._obsoletes = data.obsoletes;
      this._recommends = data.recommends;
      this._suggests = data.suggests;
      this._supplements = data.supplements;
      this._enhances = data.enhances;
      this._files = data.files;
    }
  }
  get provides(): Dep[] {
    return (this._provides ??= this.src ? this.src.store.deps(this.src.index, 'provides') : []);
  }
  set provides(v: Dep[]) {
    this._provides = v;
  }
  get requires(): Dep[] {
    return (this._requires ??= this.src ? this.src.store.deps(this.src.index, 'requires') : []);
  }
  set requires(v: Dep[]) {
    this._requires = v;
  }
  get conflicts(): Dep[] {
    return (this._conflicts ??= this.src ? this.src.store.deps(this.src.index, 'conflicts') : []);
  }
  set conflicts(v: Dep[]) {
    this._conflicts = v;
  }
  get obsoletes(): Dep[] {
    return (this._obsoletes ??= this.src ? this.src.store.deps(this.src.index, 'obsoletes') : []);
  }
  set obsoletes(v: Dep[]) {
    this._obsoletes = v;
  }
  get recommends(): Dep[] {
    return (this._recommends ??= this.src ? this.src.store.deps(this.src.index, 'recommends') : []);
  }
  set recommends(v: Dep[]) {
    this._recommends = v;
  }
  get suggests(): Dep[] {
    return (this._suggests ??= this.src ? this.src.store.deps(this.src.index, 'suggests') : []);
  }
  set suggests(v: Dep[]) {
    this._suggests = v;
  }
  get supplements(): Dep[] {
    return (this._supplements ??= this.src ? this.src.store.deps(this.src.index, 'supplements') : []);
  }
  set supplements(v: Dep[]) {
    this._supplements = v;
  }
  get enhances(): Dep[] {
    return (this._enhances ??= this.src ? this.src.store.deps(this.src.index, 'enhances') : []);
  }
  set enhances(v: Dep[]) {
    this._enhances = v;
  }
  /** Visit provides without materialising Dep objects when they are still in the store. */
  eachProvide(cb: (name: string, flags: number, evr: EVR | undefined) => void): void {
    if (this._provides || !this.src) for (const d of this.provides) cb(d.name, d.flags, d.evr);
    else this.src.store.eachDep(this.src.index, 'provides', cb);
  }
  eachFile(cb: (path: string) => void): void {
    if (this._files || !this.src) for (const f of this.files) cb(f);
    else this.src.store.eachFile(this.src.index, cb);
  }
  get files(): string[] {
    return (this._files ??= this.src ? this.src.store.files(this.src.index) : []);
  }
  set files(v: string[]) {
    this._files = v;
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
    const d: PackageData = {
      name: this.name,
      arch: this.arch,
      epoch: this.epoch,
      version: this.version,
      release: this.release,
      checksum: this.checksum,
      size: this.size,
      installedSize: this.installedSize,
      location: this.location,
      provides: this.provides,
      requires: this.requires,
      conflicts: this.conflicts,
      obsoletes: this.obsoletes,
      recommends: this.recommends,
      suggests: this.suggests,
      supplements: this.supplements,
      enhances: this.enhances,
      files: this.files,
    };
    if (this.locationBase !== undefined) d.locationBase = this.locationBase;
    if (this.sourcerpm !== undefined) d.sourcerpm = this.sourcerpm;
    return d;
  }
}
