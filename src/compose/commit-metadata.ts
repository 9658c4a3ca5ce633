import { Variant, type VarDict } from '../gvariant/index.js';
import { InvalidInputError } from '../errors.js';
import { compareEVR, parseEVR } from '../rpm/version.js';
import type { ComposePackage } from './types.js';

/** libdnf's dnf_package_cmp order: name (bytes), then EVR (rpmvercmp), then arch. */
export function comparePackages(a: ComposePackage, b: ComposePackage): number {
  if (a.name !== b.name) return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
  const c = compareEVR(parseEVR(a.evr), parseEVR(b.evr));
  if (c !== 0) return c;
  return a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0;
}

/**
 * rpmostree.rpmdb.pkglist: a(sssss) of (name, epoch, version, release, arch),
 * sorted as rpm-ostree sorts the sack; the epoch is a decimal string, "0" when unset.
 */
export function pkglistVariant(pkgs: ComposePackage[]): Variant {
  const rows = [...pkgs].sort(comparePackages).map((p) => [p.name, String(p.header.epoch ?? 0), p.header.version, p.header.release, p.arch] as const);
  return new Variant('a(sssss)', rows);
}

/**
 * A JSON value as json-glib's json_gvariant_deserialize types it inside a
 * `v` (how rpm-ostree reads add-commit-metadata): string s, integer x,
 * other numbers d, boolean b, array av, object a{sv}, null mv.
 */
export function jsonToVariant(v: unknown, where: string): Variant {
  if (typeof v === 'string') return new Variant('s', v);
  if (typeof v === 'boolean') return new Variant('b', v);
  if (typeof v === 'number') {
    // rpm-ostree canonicalises commit metadata to big endian (rpmostree_variant_native_to_be),
    // and readers such as cosa's commitmeta_to_json swap back; our codec writes little endian
    const b = Buffer.alloc(8);
    if (Number.isInteger(v)) {
      b.writeBigInt64BE(BigInt(v));
      return new Variant('x', b.readBigInt64LE());
    }
    b.writeDoubleBE(v);
    return new Variant('d', b.readDoubleLE());
  }
  if (v === null) return new Variant('mv', []);
  if (Array.isArray(v)) return new Variant('av', v.map((x, i) => jsonToVariant(x, `${where}[${i}]`)));
  if (typeof v === 'object') return new Variant('a{sv}', Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, jsonToVariant(x, `${where}.${k}`)]));
  throw new InvalidInputError(`${where}: cannot be stored as commit metadata`);
}

/**
 * The commit's a{sv}: the treefile's add-commit-metadata (lowest priority, as
 * rpm-ostree), then what the build computes. Keys sorted, so the commit
 * checksum does not depend on insertion order (reproducible builds).
 */
export function buildCommitMetadata(addCommitMetadata: Record<string, unknown> | undefined, computed: VarDict): VarDict {
  const m = new Map<string, Variant>();
  for (const [k, v] of Object.entries(addCommitMetadata ?? {})) m.set(k, jsonToVariant(v, `add-commit-metadata.${k}`));
  for (const [k, v] of computed) m.set(k, v);
  return [...m].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}
