import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { resolvePath } from '../../ostree/path.js';
import { xattrNameString } from '../../ostree/objects/xattrs.js';
import type { Repo } from '../../ostree/repo/repo.js';
import { TarWriter } from '../../util/tar.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

async function exportTree(repo: Repo, tar: TarWriter, tree: string, meta: string, prefix: string, noXattrs: boolean): Promise<void> {
  const dm = await repo.loadDirMeta(meta);
  if (prefix !== '') await tar.add({ path: prefix, type: 'dir', mode: dm.mode, uid: dm.uid, gid: dm.gid, xattrs: noXattrs ? [] : dm.xattrs.map(([k, v]) => [xattrNameString(k), v]) });
  const dt = await repo.loadDirTree(tree);
  for (const f of dt.files) {
    const obj = await repo.loadContent(f.checksum);
    const h = obj.header;
    const xattrs = noXattrs ? [] : h.xattrs.map(([k, v]) => [xattrNameString(k), v] as [string, Uint8Array]);
    const path = prefix === '' ? f.name : `${prefix}/${f.name}`;
    if (h.isSymlink) await tar.add({ path, type: 'symlink', mode: h.mode, uid: h.uid, gid: h.gid, linkname: h.symlinkTarget, xattrs });
    else await tar.add({ path, type: 'file', mode: h.mode, uid: h.uid, gid: h.gid, size: obj.size, xattrs }, obj.open());
  }
  for (const d of dt.dirs) await exportTree(repo, tar, d.treeChecksum, d.metaChecksum, prefix === '' ? d.name : `${prefix}/${d.name}`, noXattrs);
}

export const exportVerb: OstreeVerb = {
  name: 'export',
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      { ...REPO_OPT, output: { kind: 'string', short: 'o', arg: 'PATH', help: 'Output to PATH' }, subpath: { kind: 'string', arg: 'PATH', help: 'Checkout sub-directory PATH' }, prefix: { kind: 'string', arg: 'PATH', help: 'Add PATH as prefix to archive pathnames' }, 'no-xattrs': { kind: 'boolean', help: 'Skip output of extended attributes' } },
      'export [OPTION…] COMMIT',
      ctx,
    );
    if (!p) return 0;
    if (p.args.length === 0) throw new UsageError('A COMMIT argument is required');
    const repo = await openRepo(p.opts.repo, ctx);
    const commit = (await repo.resolveRev(p.args[0]!))!;
    const e = await resolvePath(repo, commit, p.opts.subpath ?? '/');
    if (e.kind !== 'dir') throw new UsageError('--subpath must name a directory');
    const out = p.opts.output ? createWriteStream(resolve(ctx.cwd, p.opts.output)) : ctx.stdout;
    const tar = new TarWriter(out as NodeJS.WritableStream as import('node:stream').Writable);
    await exportTree(repo, tar, e.tree, e.meta, (p.opts.prefix ?? '').replace(/\/+$/, ''), p.opts['no-xattrs']);
    await tar.finish();
    if (p.opts.output) await new Promise<void>((r, j) => (out as import('node:fs').WriteStream).end((err?: Error | null) => (err ? j(err) : r())));
    return 0;
  },
};
