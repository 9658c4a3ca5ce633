import { InvalidInputError } from '../../errors.js';
import { validateFilename } from '../objects/dirtree.js';
import { DirTree } from '../objects/dirtree.js';
import { ObjectType } from '../objects/types.js';
import type { Checksum } from '../checksum.js';
import { objectKey } from '../traverse.js';
import type { Repo } from '../repo/repo.js';
import type { Transaction } from '../repo/transaction.js';

/**
 * A directory tree being assembled for a commit (libostree's
 * OstreeMutableTree): names → content checksums and subtrees, plus the
 * directory's dirmeta. A subtree taken from an existing commit stays unloaded
 * until something changes inside it, so layering many commits (or one big
 * base) is cheap.
 */
export class MutableTree {
  metaChecksum: Checksum | null = null;
  private _files = new Map<string, Checksum>();
  private _dirs = new Map<string, MutableTree>();
  /** Existing dirtree this node mirrors until first modification. */
  private lazy: { repo: Repo; tree: Checksum } | null = null;
  /** Valid while unmodified: the dirtree checksum this node serializes to. */
  private cachedTree: Checksum | null = null;

  static fromTree(repo: Repo, tree: Checksum, meta: Checksum): MutableTree {
    const t = new MutableTree();
    t.metaChecksum = meta;
    t.lazy = { repo, tree };
    t.cachedTree = tree;
    return t;
  }

  private async load(): Promise<void> {
    if (!this.lazy) return;
    const { repo, tree } = this.lazy;
    this.lazy = null;
    const dt = await repo.loadDirTree(tree);
    for (const f of dt.files) this._files.set(f.name, f.checksum);
    for (const d of dt.dirs) this._dirs.set(d.name, MutableTree.fromTree(repo, d.treeChecksum, d.metaChecksum));
  }

  private touch(): void {
    this.cachedTree = null;
  }

  async files(): Promise<ReadonlyMap<string, Checksum>> {
    await this.load();
    return this._files;
  }

  async dirs(): Promise<ReadonlyMap<string, MutableTree>> {
    await this.load();
    return this._dirs;
  }

  async replaceFile(name: string, csum: Checksum): Promise<void> {
    validateFilename(name);
    await this.load();
    if (this._dirs.has(name)) throw new InvalidInputError(`Can't replace directory '${name}' with a file`);
    this._files.set(name, csum);
    this.touch();
  }

  /** The subdirectory `name`, created empty (without dirmeta) if missing. */
  async ensureDir(name: string): Promise<MutableTree> {
    validateFilename(name);
    await this.load();
    if (this._files.has(name)) throw new InvalidInputError(`Can't replace file '${name}' with a directory`);
    let d = this._dirs.get(name);
    if (!d) {
      d = new MutableTree();
      this._dirs.set(name, d);
    }
    this.touch();
    return d;
  }

  async remove(name: string): Promise<boolean> {
    await this.load();
    const had = this._files.delete(name) || this._dirs.delete(name);
    if (had) this.touch();
    return had;
  }

  /** Walk a path of components, creating directories; returns the last one. */
  async ensureParents(components: readonly string[], defaultMeta: Checksum): Promise<MutableTree> {
    let cur: MutableTree = this;
    for (const c of components) {
      cur = await cur.ensureDir(c);
      if (!cur.metaChecksum) cur.metaChecksum = defaultMeta;
    }
    return cur;
  }

  /** Look up a path; returns a file checksum, a subtree, or undefined. */
  async lookup(components: readonly string[]): Promise<{ file: Checksum } | { dir: MutableTree } | undefined> {
    let cur: MutableTree = this;
    for (let i = 0; i < components.length; i++) {
      await cur.load();
      const c = components[i]!;
      if (i === components.length - 1 && cur._files.has(c)) return { file: cur._files.get(c)! };
      const d = cur._dirs.get(c);
      if (!d) return undefined;
      cur = d;
    }
    return { dir: cur };
  }

  setMeta(csum: Checksum): void {
    if (this.metaChecksum !== csum) {
      this.metaChecksum = csum;
      // dirmeta is referenced from the parent's dirtree, not this node's
    }
  }

  /** Mark modified (used after direct child changes). */
  invalidate(): void {
    this.touch();
  }

  /**
   * Write this tree's dirtree objects bottom-up; returns the root dirtree
   * checksum. Unmodified subtrees from existing commits are not rewritten.
   */
  async write(tx: Transaction): Promise<Checksum> {
    if (this.cachedTree && (this.lazy || !this.anyDirty())) return this.cachedTree;
    await this.load();
    const dirs = [];
    for (const [name, sub] of this._dirs) {
      if (!sub.metaChecksum) throw new InvalidInputError(`directory '${name}' has no metadata`);
      const tree = await sub.write(tx);
      dirs.push({ name, treeChecksum: tree, metaChecksum: sub.metaChecksum });
    }
    const files = [...this._files].map(([name, checksum]) => ({ name, checksum }));
    const dt = DirTree.from(files, dirs);
    const csum = await tx.writeMetadata(ObjectType.DirTree, dt.serialize());
    this.cachedTree = csum;
    return csum;
  }

  /**
   * After write(): add the objectKey (traverse.ts) of every dirtree, dirmeta and file of this tree to `into`.
   * False (and `into` incomplete) when part of the tree was never loaded: its objects are not known here.
   */
  collectObjects(into: Set<string>): boolean {
    if (this.lazy || !this.cachedTree || !this.metaChecksum) return false;
    into.add(objectKey(ObjectType.DirTree, this.cachedTree));
    into.add(objectKey(ObjectType.DirMeta, this.metaChecksum));
    for (const c of this._files.values()) into.add(objectKey(ObjectType.File, c));
    for (const d of this._dirs.values()) if (!d.collectObjects(into)) return false;
    return true;
  }

  private anyDirty(): boolean {
    if (!this.cachedTree) return true;
    for (const d of this._dirs.values()) if (d.anyDirty()) return true;
    return false;
  }
}
