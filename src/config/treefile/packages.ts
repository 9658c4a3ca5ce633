/**
 * Split one `packages` entry the way rpm-ostree does (treefile.rs
 * `whitespace_split_packages`): on whitespace, except that text in single
 * quotes stays one entry (`'podman >= 4.1'`), so version constraints work.
 */
export function splitPackages(entry: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuote = false;
  let hadToken = false;
  for (const ch of entry) {
    if (inQuote) {
      if (ch === "'") {
        inQuote = false;
        out.push(cur);
        cur = '';
        hadToken = false;
      } else cur += ch;
    } else if (ch === "'") {
      if (hadToken) {
        out.push(cur);
        cur = '';
        hadToken = false;
      }
      inQuote = true;
    } else if (/\s/.test(ch)) {
      if (hadToken) out.push(cur);
      cur = '';
      hadToken = false;
    } else {
      cur += ch;
      hadToken = true;
    }
  }
  if (inQuote) throw new Error(`Missing terminating quote in "${entry}"`);
  if (hadToken) out.push(cur);
  return out;
}

/** rpm-ostree keeps packages in a BTreeSet: unique, byte-order sorted. */
export function sortedSet(items: Iterable<string>): string[] {
  return [...new Set(items)]
    .map((s) => ({ s, b: Buffer.from(s) }))
    .sort((x, y) => Buffer.compare(x.b, y.b))
    .map((x) => x.s);
}
