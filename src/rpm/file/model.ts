import { HeaderBlob } from './blob.js';
import { RpmFormatError } from './errors.js';
import { DigestAlgo, FileFlag, ScriptFlag, Sense, SigTag, Tag } from './tags.js';

export type DepKind = 'provides' | 'requires' | 'conflicts' | 'obsoletes' | 'recommends' | 'suggests' | 'supplements' | 'enhances';

/** A dependency as rpm stores it: name, comparison flags and EVR. */
export interface Dependency {
  name: string;
  /** Raw RPMSENSE bits. */
  flags: number;
  /** EVR string ('' when unversioned). */
  version: string;
  /** '<', '<=', '=', '>=', '>' or '' (unversioned). */
  op: '' | '<' | '<=' | '=' | '>=' | '>';
  /** Decoded context bits (Requires(pre) etc.). */
  pre: boolean;
  post: boolean;
  preun: boolean;
  postun: boolean;
  pretrans: boolean;
  posttrans: boolean;
  verify: boolean;
  /** Requires(interp): generated from a scriptlet interpreter. */
  interp: boolean;
  rpmlib: boolean;
  config: boolean;
  missingok: boolean;
  meta: boolean;
  /** Legacy PreReq bit. */
  prereq: boolean;
}

export function decodeDependency(name: string, flags: number, version: string): Dependency {
  const lt = (flags & Sense.LESS) !== 0;
  const gt = (flags & Sense.GREATER) !== 0;
  const eq = (flags & Sense.EQUAL) !== 0;
  const op: Dependency['op'] = lt ? (eq ? '<=' : '<') : gt ? (eq ? '>=' : '>') : eq ? '=' : '';
  return {
    name,
    flags,
    version,
    op,
    pre: (flags & Sense.SCRIPT_PRE) !== 0,
    post: (flags & Sense.SCRIPT_POST) !== 0,
    preun: (flags & Sense.SCRIPT_PREUN) !== 0,
    postun: (flags & Sense.SCRIPT_POSTUN) !== 0,
    pretrans: (flags & Sense.PRETRANS) !== 0,
    posttrans: (flags & Sense.POSTTRANS) !== 0,
    verify: (flags & Sense.SCRIPT_VERIFY) !== 0,
    interp: (flags & Sense.INTERP) !== 0,
    rpmlib: (flags & Sense.RPMLIB) !== 0,
    config: (flags & Sense.CONFIG) !== 0,
    missingok: (flags & Sense.MISSINGOK) !== 0,
    meta: (flags & Sense.META) !== 0,
    prereq: (flags & Sense.PREREQ) !== 0,
  };
}

/** "name op version" as rpm -qR prints it. */
export function formatDependency(d: Dependency): string {
  return d.op === '' ? d.name : `${d.name} ${d.op} ${d.version}`;
}

export type FileType = 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket' | 'unknown';

export function fileTypeOfMode(mode: number): FileType {
  switch (mode & 0o170000) {
    case 0o100000: return 'file';
    case 0o040000: return 'dir';
    case 0o120000: return 'symlink';
    case 0o020000: return 'chardev';
    case 0o060000: return 'blockdev';
    case 0o010000: return 'fifo';
    case 0o140000: return 'socket';
    default: return 'unknown';
  }
}

export interface FileFlags {
  config: boolean;
  doc: boolean;
  icon: boolean;
  missingok: boolean;
  noreplace: boolean;
  specfile: boolean;
  ghost: boolean;
  license: boolean;
  readme: boolean;
  pubkey: boolean;
  artifact: boolean;
}

export function decodeFileFlags(f: number): FileFlags {
  return {
    config: (f & FileFlag.CONFIG) !== 0,
    doc: (f & FileFlag.DOC) !== 0,
    icon: (f & FileFlag.ICON) !== 0,
    missingok: (f & FileFlag.MISSINGOK) !== 0,
    noreplace: (f & FileFlag.NOREPLACE) !== 0,
    specfile: (f & FileFlag.SPECFILE) !== 0,
    ghost: (f & FileFlag.GHOST) !== 0,
    license: (f & FileFlag.LICENSE) !== 0,
    readme: (f & FileFlag.README) !== 0,
    pubkey: (f & FileFlag.PUBKEY) !== 0,
    artifact: (f & FileFlag.ARTIFACT) !== 0,
  };
}

/** One entry of the header's file list with all per-file metadata. */
export interface RpmFileInfo {
  index: number;
  /** Absolute path as installed ("/usr/bin/foo"). */
  path: string;
  size: number;
  mode: number;
  type: FileType;
  user: string;
  group: string;
  /** Raw RPMFILE_* bits and decoded view. */
  flags: number;
  attrs: FileFlags;
  /** Hex digest ('' for non-regular files); algorithm in RpmHeader.fileDigestAlgo. */
  digest: string;
  linkTarget: string;
  rdev: number;
  mtime: number;
  inode: number;
  device: number;
  lang: string;
  /** Textual capability set (as `getcap` prints it), '' for none. */
  caps: string;
  verifyFlags: number;
  color: number;
}

export type ScriptletKind = 'pretrans' | 'pre' | 'post' | 'preun' | 'postun' | 'posttrans' | 'preuntrans' | 'postuntrans' | 'verify';

export interface Scriptlet {
  kind: ScriptletKind;
  /** Script body ('' when only an interpreter is given, e.g. `%post -p /sbin/ldconfig`). */
  body: string;
  /** Interpreter and its arguments: ['/bin/sh'], ['<lua>'], ['/sbin/ldconfig']. */
  prog: string[];
  flags: number;
  expand: boolean;
  qformat: boolean;
  critical: boolean;
}

export type TriggerType = 'prein' | 'in' | 'un' | 'postun';

export interface Trigger {
  type: TriggerType;
  body: string;
  prog: string[];
  flags: number;
  /** Package (or, for file triggers, path-prefix) conditions that fire this script. */
  conditions: Dependency[];
  /** File triggers only: priority (rpm default 1000000). */
  priority?: number;
}

const SCRIPT_TAGS: { kind: ScriptletKind; body: number; prog: number; flags: number }[] = [
  { kind: 'pretrans', body: Tag.PRETRANS, prog: Tag.PRETRANSPROG, flags: Tag.PRETRANSFLAGS },
  { kind: 'pre', body: Tag.PREIN, prog: Tag.PREINPROG, flags: Tag.PREINFLAGS },
  { kind: 'post', body: Tag.POSTIN, prog: Tag.POSTINPROG, flags: Tag.POSTINFLAGS },
  { kind: 'preun', body: Tag.PREUN, prog: Tag.PREUNPROG, flags: Tag.PREUNFLAGS },
  { kind: 'postun', body: Tag.POSTUN, prog: Tag.POSTUNPROG, flags: Tag.POSTUNFLAGS },
  { kind: 'posttrans', body: Tag.POSTTRANS, prog: Tag.POSTTRANSPROG, flags: Tag.POSTTRANSFLAGS },
  { kind: 'preuntrans', body: Tag.PREUNTRANS, prog: Tag.PREUNTRANSPROG, flags: Tag.PREUNTRANSFLAGS },
  { kind: 'postuntrans', body: Tag.POSTUNTRANS, prog: Tag.POSTUNTRANSPROG, flags: Tag.POSTUNTRANSFLAGS },
  { kind: 'verify', body: Tag.VERIFYSCRIPT, prog: Tag.VERIFYSCRIPTPROG, flags: Tag.VERIFYSCRIPTFLAGS },
];

const DEP_TAGS: Record<DepKind, [number, number, number]> = {
  provides: [Tag.PROVIDENAME, Tag.PROVIDEFLAGS, Tag.PROVIDEVERSION],
  requires: [Tag.REQUIRENAME, Tag.REQUIREFLAGS, Tag.REQUIREVERSION],
  conflicts: [Tag.CONFLICTNAME, Tag.CONFLICTFLAGS, Tag.CONFLICTVERSION],
  obsoletes: [Tag.OBSOLETENAME, Tag.OBSOLETEFLAGS, Tag.OBSOLETEVERSION],
  recommends: [Tag.RECOMMENDNAME, Tag.RECOMMENDFLAGS, Tag.RECOMMENDVERSION],
  suggests: [Tag.SUGGESTNAME, Tag.SUGGESTFLAGS, Tag.SUGGESTVERSION],
  supplements: [Tag.SUPPLEMENTNAME, Tag.SUPPLEMENTFLAGS, Tag.SUPPLEMENTVERSION],
  enhances: [Tag.ENHANCENAME, Tag.ENHANCEFLAGS, Tag.ENHANCEVERSION],
};

/**
 * Typed view of the main header. Accessors validate cross-tag invariants
 * (parallel arrays of equal length, indexes in range) and throw
 * RpmFormatError naming the package when a header lies about them.
 */
export class RpmHeader {
  readonly blob: HeaderBlob;
  private readonly label: string;
  private filesCache: RpmFileInfo[] | undefined;

  constructor(blob: HeaderBlob, label: string) {
    this.blob = blob;
    this.label = label;
    for (const t of [Tag.NAME, Tag.VERSION, Tag.RELEASE]) {
      if (blob.string(t) === undefined) throw new RpmFormatError(label, `header: missing or non-string tag ${t} (name/version/release)`);
    }
  }

  private fail(msg: string): never {
    throw new RpmFormatError(this.nevraLabel(), `header: ${msg}`);
  }

  private str(tag: number): string | undefined {
    return this.blob.string(tag);
  }
  private strs(tag: number): string[] {
    return this.blob.strings(tag) ?? [];
  }
  /** A parallel array that must have `n` entries when present. */
  private parallel<T>(tag: number, n: number, get: (t: number) => T[] | undefined, what: string): T[] | undefined {
    const v = get.call(this.blob, tag);
    if (v === undefined) return undefined;
    if (v.length !== n) this.fail(`${what} has ${v.length} entries, expected ${n}`);
    return v;
  }

  get name(): string { return this.str(Tag.NAME)!; }
  get version(): string { return this.str(Tag.VERSION)!; }
  get release(): string { return this.str(Tag.RELEASE)!; }
  /** Epoch, undefined when the tag is absent (rpm treats that as 0 when comparing). */
  get epoch(): number | undefined { return this.blob.number(Tag.EPOCH); }
  get isSource(): boolean { return !this.blob.has(Tag.SOURCERPM); }
  /** Architecture; 'src' / 'nosrc' for source packages as rpm names them. */
  get arch(): string {
    if (this.isSource) return this.blob.has(1051) || this.blob.has(1052) ? 'nosrc' : 'src';
    return this.str(Tag.ARCH) ?? 'noarch';
  }
  get os(): string | undefined { return this.str(Tag.OS); }
  /** [epoch:]version-release */
  get evr(): string { return `${this.epoch !== undefined ? `${this.epoch}:` : ''}${this.version}-${this.release}`; }
  get nevra(): string { return `${this.name}-${this.evr}.${this.arch}`; }
  get nvra(): string { return `${this.name}-${this.version}-${this.release}.${this.arch}`; }
  nevraLabel(): string {
    try { return this.nevra; } catch { return this.label; }
  }
  get sourcerpm(): string | undefined { return this.str(Tag.SOURCERPM); }
  get summary(): string | undefined { return this.str(Tag.SUMMARY); }
  get description(): string | undefined { return this.str(Tag.DESCRIPTION); }
  get license(): string | undefined { return this.str(Tag.LICENSE); }
  get url(): string | undefined { return this.str(Tag.URL); }
  get vendor(): string | undefined { return this.str(Tag.VENDOR); }
  get packager(): string | undefined { return this.str(Tag.PACKAGER); }
  get group(): string | undefined { return this.str(Tag.GROUP); }
  get buildTime(): number | undefined { return this.blob.number(Tag.BUILDTIME); }
  get buildHost(): string | undefined { return this.str(Tag.BUILDHOST); }
  get rpmVersion(): string | undefined { return this.str(Tag.RPMVERSION); }
  get modularityLabel(): string | undefined { return this.str(Tag.MODULARITYLABEL); }
  /** Installed size: LONGSIZE when present, else SIZE. */
  get installedSize(): number | undefined { return this.blob.number(Tag.LONGSIZE) ?? this.blob.number(Tag.SIZE); }
  get archiveSize(): number | undefined { return this.blob.number(Tag.ARCHIVESIZE); }

  get payloadFormat(): string { return this.str(Tag.PAYLOADFORMAT) ?? 'cpio'; }
  /**
   * 'gzip', 'bzip2', 'xz', 'lzma', 'zstd', … as written; undefined when absent
   * (rpm then opens it with gzdio, which also passes uncompressed data through).
   */
  get payloadCompressor(): string | undefined { return this.str(Tag.PAYLOADCOMPRESSOR); }
  /** Compression level/flags string, e.g. '9', '6', '19'. */
  get payloadFlags(): string | undefined { return this.str(Tag.PAYLOADFLAGS); }
  /** Digest of the compressed payload: hex strings and algorithm. */
  get payloadDigest(): { algo: number; digests: string[]; alt: string[] } | undefined {
    const d = this.blob.strings(Tag.PAYLOADDIGEST);
    if (!d) return undefined;
    return { algo: this.blob.number(Tag.PAYLOADDIGESTALGO) ?? 8, digests: d, alt: this.blob.strings(Tag.PAYLOADDIGESTALT) ?? [] };
  }

  /** Changelog entries, newest first as rpm stores them. */
  get changelog(): { time: number; name: string; text: string }[] {
    const names = this.strs(Tag.CHANGELOGNAME);
    const times = this.parallel(Tag.CHANGELOGTIME, names.length, this.blob.numbers, 'changelog times') ?? [];
    const texts = this.parallel(Tag.CHANGELOGTEXT, names.length, this.blob.strings, 'changelog texts') ?? [];
    return names.map((name, i) => ({ time: times[i] ?? 0, name, text: texts[i] ?? '' }));
  }

  /** IMA file signatures (hex, '' where absent) when the package carries them. */
  get fileSignatures(): string[] | undefined {
    return this.blob.strings(Tag.FILESIGNATURES);
  }

  dependencies(kind: DepKind): Dependency[] {
    const [nt, ft, vt] = DEP_TAGS[kind];
    const names = this.strs(nt);
    const flags = this.parallel(ft, names.length, this.blob.numbers, `${kind} flags`) ?? new Array<number>(names.length).fill(0);
    const versions = this.parallel(vt, names.length, this.blob.strings, `${kind} versions`) ?? new Array<string>(names.length).fill('');
    return names.map((n, i) => decodeDependency(n, flags[i]!, versions[i]!));
  }
  get provides(): Dependency[] { return this.dependencies('provides'); }
  get requires(): Dependency[] { return this.dependencies('requires'); }
  get conflicts(): Dependency[] { return this.dependencies('conflicts'); }
  get obsoletes(): Dependency[] { return this.dependencies('obsoletes'); }
  get recommends(): Dependency[] { return this.dependencies('recommends'); }
  get suggests(): Dependency[] { return this.dependencies('suggests'); }
  get supplements(): Dependency[] { return this.dependencies('supplements'); }
  get enhances(): Dependency[] { return this.dependencies('enhances'); }

  /** File digest algorithm (PGPHASHALGO id); rpm's default is MD5 when the tag is absent. */
  get fileDigestAlgo(): number { return this.blob.number(Tag.FILEDIGESTALGO) ?? 1; }
  get fileDigestAlgoName(): string { return DigestAlgo[this.fileDigestAlgo]?.name ?? `unknown(${this.fileDigestAlgo})`; }

  /** Absolute paths from BASENAMES/DIRNAMES/DIRINDEXES, or legacy OLDFILENAMES. */
  get fileNames(): string[] {
    const base = this.blob.strings(Tag.BASENAMES);
    if (base) {
      const dirs = this.strs(Tag.DIRNAMES);
      const idx = this.parallel(Tag.DIRINDEXES, base.length, this.blob.numbers, 'dirindexes');
      if (!idx) this.fail('basenames without dirindexes');
      return base.map((b, i) => {
        const d = dirs[idx[i]!];
        if (d === undefined) this.fail(`dirindex ${idx[i]} out of range (${dirs.length} dirnames)`);
        return d + b;
      });
    }
    return this.strs(Tag.OLDFILENAMES);
  }

  get files(): RpmFileInfo[] {
    if (this.filesCache) return this.filesCache;
    const names = this.fileNames;
    const n = names.length;
    const b = this.blob;
    const longSizes = this.parallel(Tag.LONGFILESIZES, n, b.numbers, 'longfilesizes');
    const sizes = longSizes ?? this.parallel(Tag.FILESIZES, n, b.numbers, 'filesizes');
    const modes = this.parallel(Tag.FILEMODES, n, b.numbers, 'filemodes');
    const users = this.parallel(Tag.FILEUSERNAME, n, b.strings, 'fileusername');
    const groups = this.parallel(Tag.FILEGROUPNAME, n, b.strings, 'filegroupname');
    const flags = this.parallel(Tag.FILEFLAGS, n, b.numbers, 'fileflags');
    const digests = this.parallel(Tag.FILEDIGESTS, n, b.strings, 'filedigests');
    const links = this.parallel(Tag.FILELINKTOS, n, b.strings, 'filelinktos');
    const rdevs = this.parallel(Tag.FILERDEVS, n, b.numbers, 'filerdevs');
    const mtimes = this.parallel(Tag.FILEMTIMES, n, b.numbers, 'filemtimes');
    const inodes = this.parallel(Tag.FILEINODES, n, b.numbers, 'fileinodes');
    const devices = this.parallel(Tag.FILEDEVICES, n, b.numbers, 'filedevices');
    const langs = this.parallel(Tag.FILELANGS, n, b.strings, 'filelangs');
    const caps = this.parallel(Tag.FILECAPS, n, b.strings, 'filecaps');
    const vflags = this.parallel(Tag.FILEVERIFYFLAGS, n, b.numbers, 'fileverifyflags');
    const colors = this.parallel(Tag.FILECOLORS, n, b.numbers, 'filecolors');
    const out: RpmFileInfo[] = names.map((path, i) => {
      const mode = modes?.[i] ?? 0o100644;
      const f = flags?.[i] ?? 0;
      return {
        index: i,
        path,
        size: sizes?.[i] ?? 0,
        mode,
        type: fileTypeOfMode(mode),
        user: users?.[i] ?? 'root',
        group: groups?.[i] ?? 'root',
        flags: f,
        attrs: decodeFileFlags(f),
        digest: digests?.[i] ?? '',
        linkTarget: links?.[i] ?? '',
        rdev: rdevs?.[i] ?? 0,
        mtime: mtimes?.[i] ?? 0,
        inode: inodes?.[i] ?? 0,
        device: devices?.[i] ?? 0,
        lang: langs?.[i] ?? '',
        caps: caps?.[i] ?? '',
        verifyFlags: vflags?.[i] ?? 0xffffffff,
        color: colors?.[i] ?? 0,
      };
    });
    this.filesCache = out;
    return out;
  }

  /**
   * Hardlink sets: regular files sharing (device, inode) — rpm's own rule.
   * Returns lists of file indexes with more than one member.
   */
  get hardlinkSets(): number[][] {
    const m = new Map<string, number[]>();
    for (const f of this.files) {
      if (f.type !== 'file' || f.attrs.ghost) continue;
      const k = `${f.device}:${f.inode}`;
      const l = m.get(k);
      if (l) l.push(f.index); else m.set(k, [f.index]);
    }
    return [...m.values()].filter((l) => l.length > 1);
  }

  get scriptlets(): Scriptlet[] {
    const out: Scriptlet[] = [];
    for (const s of SCRIPT_TAGS) {
      const body = this.str(s.body);
      const prog = this.blob.strings(s.prog);
      if (body === undefined && prog === undefined) continue;
      const flags = this.blob.number(s.flags) ?? 0;
      out.push({
        kind: s.kind,
        body: body ?? '',
        prog: prog ?? ['/bin/sh'],
        flags,
        expand: (flags & ScriptFlag.EXPAND) !== 0,
        qformat: (flags & ScriptFlag.QFORMAT) !== 0,
        critical: (flags & ScriptFlag.CRITICAL) !== 0,
      });
    }
    return out;
  }

  scriptlet(kind: ScriptletKind): Scriptlet | undefined {
    return this.scriptlets.find((s) => s.kind === kind);
  }

  private triggerSet(t: { scripts: number; prog: number; sflags: number; name: number; index: number; version: number; flags: number; prio?: number }): Trigger[] {
    const scripts = this.blob.strings(t.scripts);
    if (!scripts) return [];
    const ns = scripts.length;
    const progs = this.parallel(t.prog, ns, this.blob.strings, 'trigger script progs');
    const sflags = this.parallel(t.sflags, ns, this.blob.numbers, 'trigger script flags');
    const prios = t.prio === undefined ? undefined : this.parallel(t.prio, ns, this.blob.numbers, 'file trigger priorities');
    const names = this.strs(t.name);
    const idx = this.parallel(t.index, names.length, this.blob.numbers, 'trigger index') ?? [];
    const flags = this.parallel(t.flags, names.length, this.blob.numbers, 'trigger flags') ?? new Array<number>(names.length).fill(0);
    const versions = this.parallel(t.version, names.length, this.blob.strings, 'trigger versions') ?? new Array<string>(names.length).fill('');
    const out: Trigger[] = scripts.map((body, i) => ({
      type: 'in' as TriggerType,
      body,
      prog: progs?.[i] !== undefined ? [progs[i]!] : ['/bin/sh'],
      flags: sflags?.[i] ?? 0,
      conditions: [],
      ...(prios ? { priority: prios[i]! } : {}),
    }));
    names.forEach((name, i) => {
      const k = idx[i]!;
      const trig = out[k];
      if (trig === undefined) this.fail(`trigger index ${k} out of range (${ns} scripts)`);
      const f = flags[i]!;
      trig.type = f & Sense.TRIGGERPREIN ? 'prein' : f & Sense.TRIGGERUN ? 'un' : f & Sense.TRIGGERPOSTUN ? 'postun' : 'in';
      trig.conditions.push(decodeDependency(name, f, versions[i]!));
    });
    return out;
  }

  get triggers(): Trigger[] {
    return this.triggerSet({ scripts: Tag.TRIGGERSCRIPTS, prog: Tag.TRIGGERSCRIPTPROG, sflags: Tag.TRIGGERSCRIPTFLAGS, name: Tag.TRIGGERNAME, index: Tag.TRIGGERINDEX, version: Tag.TRIGGERVERSION, flags: Tag.TRIGGERFLAGS });
  }
  get fileTriggers(): Trigger[] {
    return this.triggerSet({ scripts: Tag.FILETRIGGERSCRIPTS, prog: Tag.FILETRIGGERSCRIPTPROG, sflags: Tag.FILETRIGGERSCRIPTFLAGS, name: Tag.FILETRIGGERNAME, index: Tag.FILETRIGGERINDEX, version: Tag.FILETRIGGERVERSION, flags: Tag.FILETRIGGERFLAGS, prio: Tag.FILETRIGGERPRIORITIES });
  }
  get transFileTriggers(): Trigger[] {
    return this.triggerSet({ scripts: Tag.TRANSFILETRIGGERSCRIPTS, prog: Tag.TRANSFILETRIGGERSCRIPTPROG, sflags: Tag.TRANSFILETRIGGERSCRIPTFLAGS, name: Tag.TRANSFILETRIGGERNAME, index: Tag.TRANSFILETRIGGERINDEX, version: Tag.TRANSFILETRIGGERVERSION, flags: Tag.TRANSFILETRIGGERFLAGS, prio: Tag.TRANSFILETRIGGERPRIORITIES });
  }
}

/** Typed view of the signature header. */
export class SignatureHeader {
  readonly blob: HeaderBlob;
  constructor(blob: HeaderBlob) {
    this.blob = blob;
  }
  /** Hex SHA-256 of the main header (RPMSIGTAG_SHA256). */
  get sha256(): string | undefined { return this.blob.string(SigTag.SHA256); }
  /** Hex SHA-1 of the main header (RPMSIGTAG_SHA1). */
  get sha1(): string | undefined { return this.blob.string(SigTag.SHA1); }
  /** MD5 of header+payload (RPMSIGTAG_MD5), 16 raw bytes. */
  get md5(): Buffer | undefined { return this.blob.raw(SigTag.MD5); }
  /** Size of header+payload (LONGSIZE when present). */
  get size(): number | undefined { return this.blob.number(SigTag.LONGSIZE) ?? this.blob.number(SigTag.SIZE); }
  /** Uncompressed payload size. */
  get payloadSize(): number | undefined { return this.blob.number(SigTag.LONGARCHIVESIZE) ?? this.blob.number(SigTag.PAYLOADSIZE); }
  /** OpenPGP signature over the main header (RSA or EdDSA, despite the tag name RSAHEADER). */
  get rsaHeader(): Buffer | undefined { return this.blob.raw(SigTag.RSA); }
  get dsaHeader(): Buffer | undefined { return this.blob.raw(SigTag.DSA); }
  /** Legacy signatures over header+payload. */
  get pgp(): Buffer | undefined { return this.blob.raw(SigTag.PGP); }
  get gpg(): Buffer | undefined { return this.blob.raw(SigTag.GPG); }
}
