import { InvalidInputError } from '../../errors.js';
import { Variant, type VarDict } from '../../gvariant/index.js';
import type { Repo } from '../repo/repo.js';
import type { MutableTree } from './mtree.js';

/**
 * ostree.bootable / ostree.linux for a tree with exactly one kernel in
 * usr/lib/modules/$kver/vmlinuz (ostree_commit_metadata_for_bootable).
 */
export async function commitMetadataForBootable(_repo: Repo, root: MutableTree): Promise<VarDict> {
  const modules = await root.lookup(['usr', 'lib', 'modules']);
  if (!modules || !('dir' in modules)) throw new InvalidInputError('Opening usr/lib/modules: No such file or directory');
  let kver: string | null = null;
  for (const [name, sub] of await modules.dir.dirs()) {
    if (!(await sub.files()).has('vmlinuz')) continue;
    if (kver !== null) throw new InvalidInputError('Multiple kernels found in /usr/lib/modules');
    kver = name;
  }
  if (kver === null) throw new InvalidInputError('No kernel found in /usr/lib/modules');
  return [
    ['ostree.bootable', new Variant('b', true)],
    ['ostree.linux', new Variant('s', kver)],
  ];
}
