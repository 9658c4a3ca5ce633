import { parseType, type GVType } from './type.js';

/**
 * JS representation of GVariant values:
 *   b → boolean; y n q i u h d → number; x t → bigint; s o g → string;
 *   ay → Uint8Array; aT → array; mT → [] (Nothing) or [value] (Just);
 *   tuple → array; dict entry → [key, value]; v → Variant.
 * a{sv} is therefore Array<[string, Variant]>: order is kept because it is
 * part of the hashed bytes of ostree metadata.
 */
export type GValue = boolean | number | bigint | string | Uint8Array | Variant | readonly GValue[];

export class Variant {
  readonly type: GVType;
  constructor(
    type: string | GVType,
    readonly value: GValue,
  ) {
    this.type = typeof type === 'string' ? parseType(type) : type;
  }
  get typeString(): string {
    return this.type.str;
  }
}

/** Convenience constructors for values used throughout ostree metadata. */
export const V = {
  s: (s: string) => new Variant('s', s),
  b: (b: boolean) => new Variant('b', b),
  u: (n: number) => new Variant('u', n),
  t: (n: bigint) => new Variant('t', n),
  ay: (b: Uint8Array) => new Variant('ay', b),
  as: (a: readonly string[]) => new Variant('as', a),
};

/** An a{sv} dictionary as an ordered list of entries. */
export type VarDict = Array<[string, Variant]>;

export function dictGet(dict: readonly (readonly [string, Variant])[], key: string): Variant | undefined {
  for (const [k, v] of dict) if (k === key) return v;
  return undefined;
}
