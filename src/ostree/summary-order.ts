import type { VarDict } from '../gvariant/index.js';
import { ghashOrder } from '../util/ghash.js';

/** Order a GVariantDict's entries as GLib's hash table would emit them (ostree builds these dicts that way). */
export function dictInGhashOrder(entries: VarDict): VarDict {
  const map = new Map(entries);
  return ghashOrder(entries.map(([k]) => k)).map((k) => [k, map.get(k)!]);
}
