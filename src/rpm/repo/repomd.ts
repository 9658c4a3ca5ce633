/** repomd.xml, metalink and mirrorlist parsing. */
import { XmlTokenizer, parseAttrs, decodeEntities } from './xml.js';
import type { Checksum } from './http.js';
import { RepoError } from './errors.js';

export interface RepomdRecord {
  type: string;
  location: string;
  checksum: Checksum;
  openChecksum?: Checksum;
  size?: number;
  timestamp?: number;
}

export interface Repomd {
  revision?: string;
  records: Map<string, RepomdRecord>;
}

/** Collects a tiny DOM-ish event list; repomd and metalink are small documents. */
function events(xml: string, what: string): { tag: string; attrs: Record<string, string>; text: string; path: string[] }[] {
  const out: { tag: string; attrs: Record<string, string>; text: string; path: string[] }[] = [];
  const stack: { tag: string; attrs: Record<string, string>; text: string }[] = [];
  const tok = new XmlTokenizer({
    wantText: true,
    open(tag, attrs) {
      stack.push({ tag, attrs: parseAttrs(attrs), text: '' });
    },
    close() {
      const e = stack.pop();
      if (e) out.push({ ...e, text: decodeEntities(e.text).trim(), path: stack.map((s) => s.tag) });
    },
    text(raw) {
      const top = stack[stack.length - 1];
      if (top) top.text += raw;
    },
  });
  try {
    tok.write(xml);
    tok.end();
  } catch (e) {
    throw new RepoError(`${what}: malformed XML: ${(e as Error).message}`);
  }
  return out;
}

export function parseRepomd(xml: string, what: string): Repomd {
  const records = new Map<string, RepomdRecord>();
  let revision: string | undefined;
  let cur: Partial<RepomdRecord> = {};
  for (const e of events(xml, what)) {
    const parent = e.path[e.path.length - 1];
    if (e.tag === 'revision' && parent === 'repomd') revision = e.text;
    if (parent !== 'data') {
      if (e.tag === 'data') {
        if (!cur.location || !cur.checksum) throw new RepoError(`${what}: <data type="${e.attrs.type}"> lacks location or checksum`);
        records.set(e.attrs.type ?? '', { ...(cur as RepomdRecord), type: e.attrs.type ?? '' });
        cur = {};
      }
      continue;
    }
    switch (e.tag) {
      case 'location':
        cur.location = e.attrs.href;
        break;
      case 'checksum':
        cur.checksum = { type: e.attrs.type ?? 'sha256', value: e.text };
        break;
      case 'open-checksum':
        cur.openChecksum = { type: e.attrs.type ?? 'sha256', value: e.text };
        break;
      case 'size':
        cur.size = Number(e.text);
        break;
      case 'timestamp':
        cur.timestamp = Number(e.text);
        break;
    }
  }
  if (!records.has('primary')) throw new RepoError(`${what}: repomd.xml has no primary data`);
  return { revision, records };
}

export interface Metalink {
  /** Acceptable repomd.xml hashes (current and alternates), by type. */
  hashes: Checksum[];
  size?: number;
  /** Base URLs (repomd.xml URL with `repodata/repomd.xml` cut off), by preference. */
  baseurls: string[];
}

export function parseMetalink(xml: string, what: string): Metalink {
  const hashes: Checksum[] = [];
  const urls: { url: string; pref: number }[] = [];
  let size: number | undefined;
  let inRepomd = false;
  for (const e of events(xml, what)) {
    // Events arrive at close time: a <file name="repomd.xml"> closes after its children.
    if (e.tag === 'hash' && e.path.includes('verification')) hashes.push({ type: (e.attrs.type ?? '').toLowerCase(), value: e.text.toLowerCase() });
    else if (e.tag === 'size') size ??= Number(e.text);
    else if (e.tag === 'url' && (e.attrs.protocol === undefined || /^https?$|^file$/.test(e.attrs.protocol))) {
      urls.push({ url: e.text, pref: Number(e.attrs.preference ?? '0') });
    } else if (e.tag === 'file' && e.attrs.name === 'repomd.xml') inRepomd = true;
  }
  if (!inRepomd) throw new RepoError(`${what}: metalink has no repomd.xml file entry`);
  urls.sort((a, b) => b.pref - a.pref);
  const baseurls = urls.map((u) => u.url.replace(/repodata\/repomd\.xml$/, ''));
  return { hashes, size, baseurls };
}

export function parseMirrorlist(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
