/**
 * Streaming parser for primary.xml and filelists.xml. Dependency names and
 * EVR strings are interned: Fedora's primary repeats the same few thousand
 * names hundreds of thousands of times.
 */
import { XmlTokenizer, type XmlHandler, getAttr, decodeEntities } from './xml.js';
import type { Dep, DepKind, PackageData } from './package.js';
import type { EVR } from '../version.js';
import { parseFlags } from '../version.js';

const DEP_TAGS: Record<string, DepKind> = {
  'rpm:provides': 'provides',
  'rpm:requires': 'requires',
  'rpm:conflicts': 'conflicts',
  'rpm:obsoletes': 'obsoletes',
  'rpm:recommends': 'recommends',
  'rpm:suggests': 'suggests',
  'rpm:supplements': 'supplements',
  'rpm:enhances': 'enhances',
};

export class Interner {
  private readonly m = new Map<string, string>();
  str(s: string): string {
    const v = this.m.get(s);
    if (v !== undefined) return v;
    this.m.set(s, s);
    return s;
  }
}

function emptyPackage(): PackageData {
  return {
    name: '',
    arch: '',
    epoch: 0,
    version: '',
    release: '',
    checksum: { type: 'sha256', value: '' },
    size: 0,
    installedSize: 0,
    location: '',
    provides: [],
    requires: [],
    conflicts: [],
    obsoletes: [],
    recommends: [],
    suggests: [],
    supplements: [],
    enhances: [],
    files: [],
  };
}

const enum T {
  None,
  Name,
  Arch,
  Checksum,
  File,
  Sourcerpm,
}

export class PrimaryParser implements XmlHandler {
  wantText = false;
  private cur: PackageData | undefined;
  private depKind: DepKind | undefined;
  private field = T.None;
  private acc = '';
  private readonly tok = new XmlTokenizer(this);
  private readonly evrCache = new Map<string, EVR>();
  count = 0;

  constructor(
    private readonly onPackage: (p: PackageData) => void,
    private readonly intern = new Interner(),
  ) {}

  write(chunk: Buffer): void {
    this.tok.write(chunk);
  }
  end(): void {
    this.tok.end();
  }

  open(tag: string, attrs: string): void {
    const cur = this.cur;
    if (tag === 'package') {
      this.cur = emptyPackage();
      return;
    }
    if (!cur) return;
    switch (tag) {
      case 'rpm:entry': {
        if (!this.depKind) return;
        const name = this.intern.str(getAttr(attrs, 'name') ?? '');
        const fl = getAttr(attrs, 'flags');
        const dep: Dep = { name, flags: fl ? parseFlags(fl) : 0 };
        if (fl) dep.evr = this.evr(getAttr(attrs, 'epoch'), getAttr(attrs, 'ver'), getAttr(attrs, 'rel'));
        if (attrs.includes('pre=')) {
          const pre = getAttr(attrs, 'pre');
          if (pre === '1' || pre === 'true') dep.pre = true;
        }
        cur[this.depKind].push(dep);
        return;
      }
      case 'name':
        this.begin(T.Name);
        return;
      case 'arch':
        this.begin(T.Arch);
        return;
      case 'version':
        cur.epoch = Number(getAttr(attrs, 'epoch') ?? '0') || 0;
        cur.version = this.intern.str(getAttr(attrs, 'ver') ?? '');
        cur.release = this.intern.str(getAttr(attrs, 'rel') ?? '');
        return;
      case 'checksum':
        cur.checksum = { type: getAttr(attrs, 'type') ?? 'sha256', value: '' };
        this.begin(T.Checksum);
        return;
      case 'size':
        cur.size = Number(getAttr(attrs, 'package') ?? '0');
        cur.installedSize = Number(getAttr(attrs, 'installed') ?? '0');
        return;
      case 'location': {
        cur.location = getAttr(attrs, 'href') ?? '';
        const base = getAttr(attrs, 'xml:base');
        if (base) cur.locationBase = base;
        return;
      }
      case 'file':
        this.begin(T.File);
        return;
      case 'rpm:sourcerpm':
        this.begin(T.Sourcerpm);
        return;
      default: {
        const k = DEP_TAGS[tag];
        if (k) this.depKind = k;
      }
    }
  }

  private begin(f: T): void {
    this.field = f;
    this.acc = '';
    this.wantText = true;
  }

  text(raw: string): void {
    this.acc += raw;
  }

  close(tag: string): void {
    const cur = this.cur;
    if (!cur) return;
    if (this.field !== T.None) {
      const v = decodeEntities(this.acc);
      switch (this.field) {
        case T.Name:
          if (tag === 'name') cur.name = this.intern.str(v);
          break;
        case T.Arch:
          if (tag === 'arch') cur.arch = this.intern.str(v);
          break;
        case T.Checksum:
          cur.checksum.value = v.trim();
          break;
        case T.File:
          cur.files.push(this.intern.str(v));
          break;
        case T.Sourcerpm:
          cur.sourcerpm = v;
          break;
      }
      this.field = T.None;
      this.wantText = false;
      return;
    }
    if (tag === 'package') {
      this.count++;
      this.onPackage(cur);
      this.cur = undefined;
    } else if (this.depKind && DEP_TAGS[tag] === this.depKind) this.depKind = undefined;
  }

  private evr(e: string | undefined, v: string | undefined, r: string | undefined): EVR {
    const key = `${e ?? ''}:${v ?? ''}-${r ?? ''}`;
    let evr = this.evrCache.get(key);
    if (!evr) {
      evr = { version: v ?? '' };
      if (e !== undefined) evr.epoch = Number(e) || 0;
      if (r !== undefined) evr.release = r;
      this.evrCache.set(key, evr);
    }
    return evr;
  }
}

export interface FilelistEntry {
  pkgid: string;
  name: string;
  arch: string;
  files: string[];
}

export class FilelistsParser implements XmlHandler {
  wantText = false;
  private cur: FilelistEntry | undefined;
  private acc = '';
  private readonly tok = new XmlTokenizer(this);
  constructor(
    private readonly onEntry: (e: FilelistEntry) => void,
    private readonly intern = new Interner(),
  ) {}
  write(chunk: Buffer): void {
    this.tok.write(chunk);
  }
  end(): void {
    this.tok.end();
  }
  open(tag: string, attrs: string): void {
    if (tag === 'package') {
      this.cur = { pkgid: getAttr(attrs, 'pkgid') ?? '', name: getAttr(attrs, 'name') ?? '', arch: getAttr(attrs, 'arch') ?? '', files: [] };
    } else if (tag === 'file' && this.cur) {
      this.acc = '';
      this.wantText = true;
    }
  }
  text(raw: string): void {
    this.acc += raw;
  }
  close(tag: string): void {
    if (tag === 'file' && this.cur) {
      this.cur.files.push(this.intern.str(decodeEntities(this.acc)));
      this.wantText = false;
    } else if (tag === 'package' && this.cur) {
      this.onEntry(this.cur);
      this.cur = undefined;
    }
  }
}
