import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { LoadedTreefile } from './types.js';

/**
 * rpm-ostree's change-detection checksum of a flattened treefile
 * (treefile.rs Treefile::get_checksum): SHA-256 over the compact JSON of the
 * merged config without `ostree-layers` and `metadata`, then the contents of
 * the external files (postprocess-script, passwd, group, add-files by source
 * name), then the content checksum of each `ostree-layers` and
 * `ostree-override-layers` commit, in order (the caller resolves those in its
 * OSTree repo). Comments, key order and whitespace in the sources do not
 * change it.
 */
export function treefileChecksum(t: LoadedTreefile, layerContentChecksums: string[] = []): string {
  const h = createHash('sha256');
  const { 'ostree-layers': _layers, metadata: _metadata, ...rest } = t.treefile;
  void _layers;
  void _metadata;
  h.update(JSON.stringify(rest));
  const e = t.externals;
  for (const f of [e.postprocessScript, e.passwd, e.group]) if (f) h.update(readFileSync(f));
  // A BTreeMap keyed by the source as written; an included file's entry replaces the includer's.
  const byName = new Map<string, string>();
  for (const a of e.addFiles) if (!byName.has(a.name)) byName.set(a.name, a.src);
  for (const name of [...byName.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) h.update(readFileSync(byName.get(name)!));
  for (const c of layerContentChecksums) h.update(c);
  return h.digest('hex');
}
