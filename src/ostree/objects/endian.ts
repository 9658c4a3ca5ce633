/**
 * ostree serializes GVariants in host (little-endian) order but stores a few
 * fields big-endian by swapping them by hand; these helpers do that swap.
 */
export function bswap32(n: number): number {
  return (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | ((n >>> 24) & 0xff)) >>> 0;
}

export function bswap64(n: bigint): bigint {
  let out = 0n;
  for (let i = 0; i < 8; i++) {
    out = (out << 8n) | (n & 0xffn);
    n >>= 8n;
  }
  return out;
}

export function be32Bytes(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}
