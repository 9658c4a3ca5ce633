import { UsageError } from '../../errors.js';
import { resolvePath, type TreeEntry } from '../../ostree/path.js';
import type { Repo } from '../../ostree/repo/repo.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';
import type { CliContext } from '../command.js';

interface LsOpts {
  checksum: boolean;
  xattrs: boolean;
  nul: boolean;
}

async function line(repo: Repo, e: TreeEntry, path: string, o: LsOpts): Promise<string> {
  let type: string;
  let mode: number;
  let uid: number;
  let gid: number;
  let size = 0;
  let extra = '';
  let tail = '';
  if (e.kind === 'dir') {
    const m = await repo.loadDirMeta(e.meta);
    type = 'd';
    mode = m.mode;
    uid = m.uid;
    gid = m.gid;
    if (o.checksum) extra = `${e.tree} ${e.meta} `;
  } else {
    const obj = await repo.loadContent(e.checksum);
    const h = obj.header;
    type = h.isSymlink ? 'l' : '-';
    mode = h.mode;
    uid = h.uid;
    gid = h.gid;
    size = obj.size;
    if (o.checksum) extra = `${e.checksum} `;
    if (h.isSymlink) tail = ` -> ${h.symlinkTarget}`;
  }
  const perm = (mode & 0o7777).toString(8).padStart(5, '0');
  if (o.nul) return `${path}\0`;
  return `${type}${perm} ${uid} ${gid} ${String(size).padStart(6)} ${extra}${path}${tail}\n`;
}

async function list(repo: Repo, e: TreeEntry, path: string, recursive: boolean, o: LsOpts, ctx: CliContext, self: boolean): Promise<void> {
  if (self || e.kind === 'file') {
    ctx.stdout.write(await line(repo, e, path, o));
    if (e.kind === 'file') return;
  }
  if (e.kind !== 'dir') return;
  const dt = await repo.loadDirTree(e.tree);
  const join = (n: string) => (path === '/' ? `/${n}` : `${path}/${n}`);
  const entries: TreeEntry[] = [
    ...dt.files.map((f) => ({ kind: 'file' as const, name: f.name, checksum: f.checksum })),
    ...dt.dirs.map((d) => ({ kind: 'dir' as const, name: d.name, tree: d.treeChecksum, meta: d.metaChecksum })),
  ];
  for (const c of entries) {
    ctx.stdout.write(await line(repo, c, join(c.name), o));
    if (recursive && c.kind === 'dir') await list(repo, c, join(c.name), true, o, ctx, false);
  }
}

export const lsVerb: OstreeVerb = {
  name: 'ls',
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      {
        ...REPO_OPT,
        dironly: { kind: 'boolean', short: 'd', help: 'Only list directory itself' },
        recursive: { kind: 'boolean', short: 'R', help: 'Recurse into directories' },
        checksum: { kind: 'boolean', short: 'C', help: 'Show object checksums' },
        xattrs: { kind: 'boolean', short: 'X', help: 'Show extended attributes' },
        nul: { kind: 'boolean', help: 'Print names separated by NUL' },
      },
      'ls [OPTION…] COMMIT [PATH…]',
      ctx,
    );
    if (!p) return 0;
    if (p.args.length === 0) throw new UsageError('An COMMIT argument is required');
    const repo = await openRepo(p.opts.repo, ctx);
    const commit = (await repo.resolveRev(p.args[0]!))!;
    const paths = p.args.length > 1 ? p.args.slice(1) : ['/'];
    const o = { checksum: p.opts.checksum, xattrs: p.opts.xattrs, nul: p.opts.nul };
    for (const path of paths) {
      const norm = '/' + path.split('/').filter((x) => x !== '').join('/');
      const e = await resolvePath(repo, commit, norm);
      if (p.opts.dironly || e.kind === 'file') ctx.stdout.write(await line(repo, e, norm, o));
      else await list(repo, e, norm, p.opts.recursive, o, ctx, true);
    }
    return 0;
  },
};
