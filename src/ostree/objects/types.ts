/** Object types with libostree's enum values (they appear in deltas and ostree.sizes). */
export enum ObjectType {
  File = 1,
  DirTree = 2,
  DirMeta = 3,
  Commit = 4,
  TombstoneCommit = 5,
  CommitMeta = 6,
  PayloadLink = 7,
}

export type ObjectTypeName = 'file' | 'dirtree' | 'dirmeta' | 'commit' | 'tombstone-commit' | 'commitmeta' | 'payload-link';

const NAMES: Record<ObjectType, ObjectTypeName> = {
  [ObjectType.File]: 'file',
  [ObjectType.DirTree]: 'dirtree',
  [ObjectType.DirMeta]: 'dirmeta',
  [ObjectType.Commit]: 'commit',
  [ObjectType.TombstoneCommit]: 'tombstone-commit',
  [ObjectType.CommitMeta]: 'commitmeta',
  [ObjectType.PayloadLink]: 'payload-link',
};

export function objectTypeName(t: ObjectType): ObjectTypeName {
  return NAMES[t];
}

export function objectTypeFromName(s: string): ObjectType | undefined {
  for (const [k, v] of Object.entries(NAMES)) if (v === s) return Number(k) as ObjectType;
  return undefined;
}

export function isMetaType(t: ObjectType): boolean {
  return t >= ObjectType.DirTree && t <= ObjectType.CommitMeta;
}

/** File-name extension of a loose object; archive repos store content as `.filez`. */
export function objectExtension(t: ObjectType, archive: boolean): string {
  if (t === ObjectType.File) return archive ? 'filez' : 'file';
  return NAMES[t];
}

/** Largest metadata object ostree accepts (OSTREE_MAX_METADATA_SIZE). */
export const MAX_METADATA_SIZE = 10 * 1024 * 1024;
