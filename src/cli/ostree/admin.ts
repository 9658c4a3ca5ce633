import { resolve } from 'node:path';
import { NotFoundError, UsageError } from '../../errors.js';
import { KeyFile } from '../../util/keyfile.js';
import { pull } from '../../ostree/pull/pull.js';
import { parseRefspec } from '../../ostree/repo/refs.js';
import { Sysroot, type Deployment } from '../../ostree/sysroot/sysroot.js';
import { groupFallback, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';
import type { CliContext } from '../command.js';

const ADMIN_SUBCOMMANDS = [
  ['cleanup', 'Delete untagged deployments and repository objects'],
  ['deploy', 'Checkout revision REFSPEC as the new default deployment'],
  ['init-fs', 'Initialize a root filesystem'],
  ['os-init', 'Initialize empty state for given operating system'],
  ['status', 'List deployments'],
  ['switch', 'Construct new tree from REF and deploy it'],
  ['undeploy', 'Delete deployment INDEX'],
  ['upgrade', 'Construct new tree from current origin and deploy it, if it changed'],
] as const;

const SYSROOT = { sysroot: { kind: 'string', arg: 'PATH', help: 'Create a new OSTree sysroot at PATH' } } as const;
const OS = { os: { kind: 'string', arg: 'OSNAME', help: 'Use a different operating system root than the current one' } } as const;

function sysrootOf(opt: string | undefined, ctx: CliContext): Sysroot {
  return new Sysroot(resolve(ctx.cwd, opt ?? ctx.env.OSTREE_SYSROOT ?? '/'));
}

async function mergeFor(sr: Sysroot, os: string | undefined): Promise<Deployment> {
  const list = await sr.deployments();
  const d = os ? list.find((x) => x.osname === os) : list[0];
  if (!d) throw new NotFoundError(os ? `No deployments for OS '${os}'` : 'Not currently booted into an OSTree system and no --os= argument given');
  return d;
}

function originRefspec(d: Deployment): string {
  const r = d.origin?.getString('origin', 'refspec');
  if (!r) throw new UsageError(`No origin/refspec in current deployment origin; cannot upgrade via ostree`);
  return r;
}

/** Pull the refspec's remote (if any) into the sysroot repo; returns the new commit. */
async function fetchRefspec(sr: Sysroot, refspec: string): Promise<string> {
  const repo = await sr.repo();
  const { remote, ref } = parseRefspec(refspec);
  if (remote) await pull(repo, remote, [ref]);
  return (await repo.resolveRev(refspec))!;
}

export const adminVerb: OstreeVerb = {
  name: 'admin',
  async run(argv, ctx) {
    const sub = argv.find((a) => !a.startsWith('-'));
    const rest = argv.filter((_, i) => i !== argv.indexOf(sub!));
    switch (sub) {
      case 'init-fs': {
        const p = parseVerbArgs(rest, { ...SYSROOT, modern: { kind: 'boolean', help: 'Accepted for compatibility' } }, 'admin init-fs PATH', ctx);
        if (!p) return 0;
        if (!p.args[0]) throw new UsageError('PATH must be specified');
        await Sysroot.initFs(resolve(ctx.cwd, p.args[0]));
        return 0;
      }
      case 'os-init': {
        const p = parseVerbArgs(rest, { ...SYSROOT }, 'admin os-init [OPTION…] OSNAME', ctx);
        if (!p) return 0;
        if (!p.args[0]) throw new UsageError('OSNAME must be specified');
        await sysrootOf(p.opts.sysroot, ctx).osInit(p.args[0]);
        ctx.stdout.write(`ostree/deploy/${p.args[0]} initialized as OSTree root\n`);
        return 0;
      }
      case 'deploy': {
        const p = parseVerbArgs(
          rest,
          { ...SYSROOT, ...OS, karg: { kind: 'strings', arg: 'NAME=VALUE', help: 'Set kernel argument' }, 'karg-append': { kind: 'strings', arg: 'NAME=VALUE', help: 'Append kernel argument' }, 'karg-proc-cmdline': { kind: 'boolean', help: 'Import current /proc/cmdline' }, retain: { kind: 'boolean', help: 'Do not delete previous deployments' }, 'origin-file': { kind: 'string', arg: 'FILENAME', help: 'Specify origin file' }, 'no-prune': { kind: 'boolean', help: 'Accepted for compatibility' } },
          'admin deploy [OPTION…] REFSPEC',
          ctx,
        );
        if (!p) return 0;
        if (!p.args[0]) throw new UsageError('REF/REV must be specified');
        const sr = sysrootOf(p.opts.sysroot, ctx);
        const list = await sr.deployments();
        const os = p.opts.os ?? list[0]?.osname;
        if (!os) throw new UsageError('Not currently booted into an OSTree system and no --os= argument given');
        const repo = await sr.repo();
        const refspec = p.args[0];
        const csum = (await repo.resolveRev(refspec))!;
        let origin: KeyFile;
        if (p.opts['origin-file']) origin = KeyFile.parse(await (await import('node:fs/promises')).readFile(resolve(ctx.cwd, p.opts['origin-file']), 'utf8'));
        else {
          origin = new KeyFile();
          origin.setString('origin', 'refspec', refspec);
        }
        const merge = list.find((d) => d.osname === os) ?? null;
        const kargs = p.opts.karg.length > 0 ? p.opts.karg : [...(merge?.kargs ?? []), ...p.opts['karg-append']];
        await sr.deploy(os, csum, { origin, kargs, retain: p.opts.retain, merge });
        return 0;
      }
      case 'status': {
        const p = parseVerbArgs(rest, { ...SYSROOT, verify: { kind: 'boolean', short: 'V', help: 'Accepted for compatibility' } }, 'admin status', ctx);
        if (!p) return 0;
        const sr = sysrootOf(p.opts.sysroot, ctx);
        const list = await sr.deployments();
        if (list.length === 0) {
          ctx.stdout.write('No deployments.\n');
          return 0;
        }
        const repo = await sr.repo();
        for (const d of list) {
          ctx.stdout.write(`  ${d.osname} ${d.csum}.${d.deployserial}\n`);
          const v = (await repo.loadCommit(d.csum).catch(() => null))?.version;
          if (v) ctx.stdout.write(`    Version: ${v}\n`);
          const r = d.origin?.getString('origin', 'refspec');
          ctx.stdout.write(r ? `    origin refspec: ${r}\n` : `    origin: none\n`);
        }
        return 0;
      }
      case 'upgrade':
      case 'switch': {
        const p = parseVerbArgs(
          rest,
          { ...SYSROOT, ...OS, 'pull-only': { kind: 'boolean', help: 'Do not create a new deployment, just download' }, 'deploy-only': { kind: 'boolean', help: 'Do not download, just deploy' }, reboot: { kind: 'boolean', short: 'r', help: 'Accepted for compatibility' }, 'allow-downgrade': { kind: 'boolean', help: 'Accepted for compatibility' } },
          sub === 'switch' ? 'admin switch [OPTION…] REF' : 'admin upgrade [OPTION…]',
          ctx,
        );
        if (!p) return 0;
        const sr = sysrootOf(p.opts.sysroot, ctx);
        const merge = await mergeFor(sr, p.opts.os);
        let refspec = originRefspec(merge);
        if (sub === 'switch') {
          if (!p.args[0]) throw new UsageError('REF must be specified');
          const cur = parseRefspec(refspec);
          refspec = p.args[0].includes(':') ? p.args[0] : cur.remote ? `${cur.remote}:${p.args[0]}` : p.args[0];
        }
        const repo = await sr.repo();
        const csum = p.opts['deploy-only'] ? (await repo.resolveRev(refspec))! : await fetchRefspec(sr, refspec);
        if (p.opts['pull-only']) return 0;
        if (csum === merge.csum && sub === 'upgrade') {
          ctx.stdout.write('No update available.\n');
          return 0;
        }
        const origin = KeyFile.parse(merge.origin?.toString() ?? '[origin]\n');
        origin.setString('origin', 'refspec', refspec);
        await sr.deploy(merge.osname, csum, { origin, merge });
        return 0;
      }
      case 'undeploy': {
        const p = parseVerbArgs(rest, { ...SYSROOT }, 'admin undeploy INDEX', ctx);
        if (!p) return 0;
        if (p.args[0] === undefined || !/^\d+$/.test(p.args[0])) throw new UsageError('INDEX must be specified');
        const sr = sysrootOf(p.opts.sysroot, ctx);
        const list = await sr.deployments();
        const i = Number(p.args[0]);
        if (i >= list.length) throw new UsageError(`Out of range deployment index ${i}, expected < ${list.length}`);
        const gone = list.splice(i, 1)[0]!;
        await sr.writeDeployments(list);
        ctx.stdout.write(`Deleted deployment ${gone.csum}.${gone.deployserial}\n`);
        return 0;
      }
      case 'cleanup': {
        const p = parseVerbArgs(rest, { ...SYSROOT }, 'admin cleanup', ctx);
        if (!p) return 0;
        await sysrootOf(p.opts.sysroot, ctx).cleanup();
        return 0;
      }
      default:
        return groupFallback('admin', ADMIN_SUBCOMMANDS, sub, rest, ctx);
    }
  },
};
