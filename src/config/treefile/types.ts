/**
 * The flattened treefile: what `rpm-ostree compose tree --print-only`
 * prints, keys spelled exactly as in treefiles. Every key rpm-ostree's
 * docs/treefile.md documents is here (plus the client-side derivation keys);
 * `include`, `arch-include`, `conditional-include`, `variables`, `repovars`
 * are consumed by the merge and are not part of the result (repovars and
 * variables are exposed on LoadedTreefile instead).
 */
export interface CheckPasswd {
  type: 'none' | 'previous' | 'file' | 'data';
  filename?: string;
  entries?: Record<string, number | number[]>;
}

export interface Rojig {
  name: string;
  summary: string;
  license: string;
  description?: string;
}

export interface RepoPackages {
  repo: string;
  packages: string[];
}

export interface OverrideReplace {
  from: { repo: string };
  packages: string[];
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

export interface Treefile {
  ref?: string;
  basearch?: string;
  releasever?: string | number;
  edition?: '2014' | '2024';
  rojig?: Rojig;
  metadata?: Record<string, JsonValue>;
  repos?: string[];
  'lockfile-repos'?: string[];
  packages: string[];
  'exclude-packages'?: string[];
  'repo-packages'?: RepoPackages[];
  'ostree-layers'?: string[];
  'ostree-override-layers'?: string[];
  'platform-module'?: string;
  container?: boolean;
  recommends?: boolean;
  documentation?: boolean;
  selinux?: boolean;
  'selinux-label-version'?: number;
  'ignore-devices'?: boolean;
  ima?: boolean;
  'readonly-executables'?: boolean;
  'no-initramfs'?: boolean;
  'machineid-compat'?: boolean;
  'tmp-is-dir'?: boolean;
  'preserve-passwd'?: boolean;
  'rpmdb-normalize'?: boolean;
  cliwrap?: boolean;
  'cliwrap-binaries'?: string[];
  'install-langs'?: string[];
  'initramfs-args'?: string[];
  units?: string[];
  'etc-group-members'?: string[];
  'container-cmd'?: string[];
  'boot-location'?: 'new' | 'modules' | 'kernel-install';
  'opt-usrlocal'?: 'var' | 'root' | 'state-overlay';
  sysusers?: 'compose-auto' | 'compose-forced';
  'default-target'?: string;
  'automatic-version-prefix'?: string;
  'automatic-version-suffix'?: string;
  'mutate-os-release'?: string;
  'gpg-key'?: string;
  'check-passwd'?: CheckPasswd;
  'check-groups'?: CheckPasswd;
  'ignore-removed-users'?: string[];
  'ignore-removed-groups'?: string[];
  postprocess?: string[];
  'postprocess-script'?: string;
  'add-files'?: [string, string][];
  'remove-files'?: string[];
  'remove-from-packages'?: [string, ...string[]][];
  'add-commit-metadata'?: Record<string, JsonValue>;
  'repo-metadata'?: 'inline' | 'detached' | 'disabled';
  'advisories-metadata'?: 'inline' | 'detached' | 'disabled';
  rpmdb?: string;
  // Client-side (derivation) keys; rpm-ostree rejects them in a server compose.
  'base-refspec'?: string;
  'container-image-reference'?: string;
  'packages-local'?: Record<string, string>;
  'packages-local-fileoverride'?: Record<string, string>;
  'override-remove'?: string[];
  'ex-override-replace'?: OverrideReplace[];
  'override-replace-local'?: Record<string, string>;
  initramfs?: { regenerate?: boolean; etc?: string[]; args?: string[] };
  custom?: { url: string; description?: string };
  'override-commit'?: string;
  'unconfigured-state'?: string;
}

export type TreefileKey = keyof Treefile;

/** Files a treefile refers to, resolved against the file that declared them. */
export interface TreefileExternals {
  /** Absolute path of `postprocess-script`. */
  postprocessScript?: string;
  /** Absolute path of `check-passwd` `{type: file}`. */
  passwd?: string;
  /** Absolute path of `check-groups` `{type: file}`. */
  group?: string;
  /** `add-files`, in merged order: source as written, absolute source path, destination. */
  addFiles: { name: string; src: string; dest: string }[];
  /** Experimental `finalize.d/` executables next to any treefile read: name → absolute path. */
  finalizeD?: Record<string, string>;
}

export interface LoadedTreefile {
  /** Absolute path of the top-level treefile. */
  path: string;
  /** Its directory: rpm-ostree reads `.repo` files from here only. */
  dir: string;
  arch: string;
  treefile: Treefile;
  /** Variables after the merge (basearch, releasever, every `variables` entry). */
  variables: Record<string, string | number | boolean>;
  repovars: Record<string, string>;
  externals: TreefileExternals;
  /** Every treefile read, in the order it was opened. */
  files: string[];
  /** Non-fatal findings, `file:line:col: key: message` (nested keys rpm-ostree ignores). */
  warnings: string[];
}
