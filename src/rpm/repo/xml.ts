/**
 * Minimal streaming XML tokenizer tuned for rpm-md (repomd, primary,
 * filelists, metalink). It emits open/close/text events from string chunks,
 * keeps only the unfinished tail between chunks (bounded memory) and only
 * materialises text when the handler asks for it — descriptions and
 * summaries in primary are skipped without copying.
 */
import { StringDecoder } from 'node:string_decoder';

export interface XmlHandler {
  open(tag: string, attrs: string, selfClosing: boolean): void;
  close(tag: string): void;
  /** Called with raw (still entity-encoded) text when `wantText` is true. */
  text(raw: string): void;
  wantText: boolean;
}

export class XmlTokenizer {
  private buf = '';
  private readonly decoder = new StringDecoder('utf8');
  constructor(private readonly h: XmlHandler) {}

  write(chunk: Buffer | string): void {
    this.buf += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    this.pump();
  }

  end(): void {
    this.buf += this.decoder.end();
    this.pump();
    if (this.buf.trim() !== '') throw new Error('unexpected end of XML document');
  }

  private pump(): void {
    const buf = this.buf;
    const h = this.h;
    const len = buf.length;
    let pos = 0;
    for (;;) {
      const lt = buf.indexOf('<', pos);
      if (lt < 0) break;
      if (lt > pos && h.wantText) h.text(buf.slice(pos, lt));
      const c = buf.charCodeAt(lt + 1);
      if (lt + 1 >= len) {
        pos = lt;
        break;
      }
      if (c === 33 /* ! */) {
        if (buf.startsWith('<!--', lt)) {
          const e = buf.indexOf('-->', lt + 4);
          if (e < 0) {
            pos = lt;
            break;
          }
          pos = e + 3;
          continue;
        }
        if (buf.startsWith('<![CDATA[', lt)) {
          const e = buf.indexOf(']]>', lt + 9);
          if (e < 0) {
            pos = lt;
            break;
          }
          if (h.wantText) h.text(escapeText(buf.slice(lt + 9, e)));
          pos = e + 3;
          continue;
        }
      }
      // Find the closing '>' outside quoted attribute values.
      let gt = buf.indexOf('>', lt + 1);
      while (gt >= 0) {
        let quotes = 0;
        let k = buf.indexOf('"', lt);
        while (k >= 0 && k < gt) {
          quotes++;
          k = buf.indexOf('"', k + 1);
        }
        if ((quotes & 1) === 0) break;
        gt = buf.indexOf('>', gt + 1);
      }
      if (gt < 0) {
        pos = lt;
        break;
      }
      if (c === 63 /* ? */ || c === 33 /* ! (doctype) */) {
        pos = gt + 1;
        continue;
      }
      if (c === 47 /* / */) {
        h.close(buf.slice(lt + 2, gt).trim());
        pos = gt + 1;
        continue;
      }
      const self = buf.charCodeAt(gt - 1) === 47;
      const inner = self ? buf.slice(lt + 1, gt - 1) : buf.slice(lt + 1, gt);
      let sp = 0;
      while (sp < inner.length) {
        const k = inner.charCodeAt(sp);
        if (k === 32 || k === 9 || k === 10 || k === 13) break;
        sp++;
      }
      const tag = inner.slice(0, sp);
      h.open(tag, inner.slice(sp), self);
      if (self) h.close(tag);
      pos = gt + 1;
    }
    this.buf = pos === 0 ? buf : buf.slice(pos);
  }
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

const ENT: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.charCodeAt(0) === 35) return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENT[e]!;
  });
}

/** Parse `a="x" b='y'` into a record (values entity-decoded). */
export function parseAttrs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const n = s.length;
  while (i < n) {
    const eq = s.indexOf('=', i);
    if (eq < 0) break;
    const name = s.slice(i, eq).trim();
    let j = eq + 1;
    while (j < n && s.charCodeAt(j) <= 32) j++;
    const quote = s[j];
    if (quote !== '"' && quote !== "'") break;
    const end = s.indexOf(quote, j + 1);
    if (end < 0) break;
    out[name] = decodeEntities(s.slice(j + 1, end));
    i = end + 1;
  }
  return out;
}

/** Fast single attribute lookup without building a record. */
export function getAttr(s: string, name: string): string | undefined {
  let from = 0;
  for (;;) {
    const k = s.indexOf(name + '=', from);
    if (k < 0) return undefined;
    const before = k === 0 ? 32 : s.charCodeAt(k - 1);
    if (before <= 32) {
      const quote = s[k + name.length + 1];
      const start = k + name.length + 2;
      const end = s.indexOf(quote!, start);
      return decodeEntities(s.slice(start, end));
    }
    from = k + 1;
  }
}
