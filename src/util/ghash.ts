/**
 * Iteration order of a GLib GHashTable keyed by strings (g_str_hash), used
 * where ostree serializes a GVariantDict: the order of its a{sv} entries is
 * part of the hashed commit bytes, so reproducing ostree's checksums needs
 * GLib's table layout (open addressing, (hash*11) % prime, quadratic probe).
 */
const PRIME_MOD = [1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139, 524287];
const MIN_SHIFT = 3;

export function gStrHash(s: string): number {
  let h = 5381;
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = byte >= 0x80 ? byte - 256 : byte; // GLib hashes signed chars
    h = (Math.imul(h, 33) + c) >>> 0;
  }
  return h;
}

/** Keys in the order g_hash_table_iter visits them after inserting `keys` in order. */
export function ghashOrder(keys: readonly string[]): string[] {
  let shift = MIN_SHIFT;
  let slots: Array<string | undefined> = new Array(1 << shift);
  let hashes: number[] = new Array(1 << shift).fill(0);
  let nnodes = 0;

  const place = (key: string, hash: number) => {
    const size = slots.length;
    let idx = Math.imul(hash, 11) >>> 0;
    idx = idx % PRIME_MOD[shift]!;
    let step = 0;
    while (hashes[idx] !== 0) {
      if (hashes[idx] === hash && slots[idx] === key) return false;
      step++;
      idx = (idx + step) & (size - 1);
    }
    slots[idx] = key;
    hashes[idx] = hash;
    return true;
  };

  for (const k of keys) {
    let h = gStrHash(k);
    if (h <= 1) h = 2;
    if (!place(k, h)) continue;
    nnodes++;
    const size = slots.length;
    if ((size > nnodes * 4 && size > 1 << MIN_SHIFT) || size <= nnodes + Math.floor(nnodes / 16)) {
      // grow; GLib relocates in place, which for our small dicts lands where a fresh insert would
      let n = Math.floor(nnodes * 1.333);
      let s = 0;
      while (n) {
        n >>= 1;
        s++;
      }
      shift = Math.max(s, MIN_SHIFT);
      const old = slots.map((key, i) => [key, hashes[i]] as const).filter(([key]) => key !== undefined);
      slots = new Array(1 << shift);
      hashes = new Array(1 << shift).fill(0);
      for (const [key, hash] of old) place(key!, hash);
    }
  }
  return slots.filter((k): k is string => k !== undefined);
}
