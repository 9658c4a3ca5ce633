import type { RpmHeader, RpmPackageHeaders } from '../rpm/file/index.js';
import type { Checksum } from '../ostree/checksum.js';
import type { Xattrs } from '../ostree/objects/xattrs.js';
import type { DevinoEntry } from '../ostree/commit/write-dir.js';

export type { DevinoEntry };

/** One package of the compose: a fetched RPM and its parsed header. */
export interface ComposePackage {
  /** name-[epoch:]version-release.arch */
  nevra: string;
  name: string;
  /** [epoch:]version-release */
  evr: string;
  arch: string;
  /** The RPM file (in cache/pkgs). */
  rpmPath: string;
  header: RpmHeader;
  /** Signature header and header as read from rpmPath, when the reader kept them (the pkgcache needs both). */
  headers?: RpmPackageHeaders;
}

/** A package imported into the pkgcache. */
export interface CachedPackage extends ComposePackage {
  /** The pkgcache commit holding the package's files. */
  commit: Checksum;
}

/**
 * (dev, ino) of a file hardlinked from the pkgcache → its content object checksum and header, so the final commit
 * reuses them instead of reading the file (or its xattrs) again. Key: `${dev}:${ino}` (st.dev/st.ino as bigint-safe
 * decimal strings).
 */
export type DevinoCache = Map<string, DevinoEntry>;

/** Metadata the final commit uses for a path instead of what is on disk. */
export interface FileMeta {
  uid?: number;
  gid?: number;
  /** Permission bits (07777), file type is taken from disk. */
  mode?: number;
  /** Extra xattrs, merged over the on-disk ones (e.g. security.capability, security.selinux). */
  xattrs?: Xattrs;
}

/** Path ("/usr/bin/foo", as in the final tree) → metadata overrides. */
export type FileMetaMap = Map<string, FileMeta>;

/** Progress events of a build (the CLI renders them). */
export type ComposePhase = 'resolve' | 'download' | 'unpack' | 'assemble' | 'scriptlets' | 'postprocess' | 'commit' | 'artifacts';
export interface ComposeProgress {
  phase: ComposePhase;
  done?: number;
  total?: number;
  item?: string;
}
