import { promises as fsp, createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CoreforgeError, InvalidInputError, NotFoundError, isErrno } from '../../errors.js';
import { KeyFile } from '../../util/keyfile.js';
import { exists, fsyncDir, randomName, writeFileAtomic } from '../../util/fs.js';
import { checkoutCommit } from '../checkout.js';
import type { Checksum } from '../checksum.js';
import { pruneRepo } from '../prune.js';
import { Repo } from '../repo/repo.js';
import { BootEntry, parseOstreeKarg } from './bls.js';
import { copyTree, mergeEtc } from './etc-merge.js';

export class SysrootError extends CoreforgeError {
  constructor(message: string) {
    super('ESYSROOT', message);
  }
}

export interface Deployment {
  osname: string;
  csum: Checksum;
  deployserial: number;
  bootcsum: string;
  /** Index among deployments sharing (osname, bootcsum); assigned when written. */
  bootserial: number;
  /** Position in the boot order, 0 = default. */
  index: number;
  origin: KeyFile | null;
  /** Kernel arguments other than ostree=. */
  kargs: string[];
}

export interface DeployOptions {
  origin?: KeyFile;
  kargs?: string[];
  /** Keep every existing deployment (--retain). */
  retain?: boolean;
  /** Deployment whose /etc and kargs carry over (default: the first of this OS). */
  merge?: Deployment | null;
}

const deployName = (d: { csum: string; deployserial: number }) => `${d.csum}.${d.deployserial}`;

async function readlinkOrNull(p: string): Promise<string | null> {
  try {
    return await fsp.readlink(p);
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'EINVAL')) return null;
    throw e;
  }
}

/** Replace a symlink atomically (create beside it, rename over). */
async function symlinkReplace(target: string, path: string): Promise<void> {
  const tmp = join(path, '..', randomName('.tmplink'));
  await fsp.symlink(target, tmp);
  await fsp.rename(tmp, path);
}

/**
 * A physical sysroot with ostree's layout: ostree/repo (bare),
 * ostree/deploy/$os/{var,deploy/$csum.$serial[.origin]}, ostree/boot.$bv.$sub
 * bootlink farms and boot/loader.$bv/entries (BLS). The BLS entries of the
 * current boot version are the list of deployments, and switching
 * boot/loader is the single atomic step of every change.
 */
export class Sysroot {
  constructor(readonly path: string) {}

  get repoPath(): string {
    return join(this.path, 'ostree', 'repo');
  }

  async repo(): Promise<Repo> {
    return Repo.open(this.repoPath);
  }

  static async initFs(path: string): Promise<Sysroot> {
    await fsp.mkdir(path, { recursive: true });
    for (const [d, mode] of [['boot', 0o755], ['dev', 0o755], ['home', 0o755], ['proc', 0o755], ['run', 0o755], ['sys', 0o755], ['tmp', 0o1777], ['root', 0o700], ['ostree', 0o755], ['ostree/deploy', 0o755]] as const) {
      await fsp.mkdir(join(path, d), { recursive: true });
      await fsp.chmod(join(path, d), mode);
    }
    await Repo.create(join(path, 'ostree', 'repo'), 'bare');
    return new Sysroot(path);
  }

  async osInit(osname: string): Promise<void> {
    if (!/^[A-Za-z0-9_.-]+$/.test(osname)) throw new InvalidInputError(`invalid OS name '${osname}'`);
    const base = join(this.path, 'ostree', 'deploy', osname);
    await fsp.mkdir(join(base, 'deploy'), { recursive: true });
    const v = join(base, 'var');
    for (const [d, mode] of [['lib', 0o755], ['log', 0o755], ['tmp', 0o1777]] as const) {
      await fsp.mkdir(join(v, d), { recursive: true });
      await fsp.chmod(join(v, d), mode);
    }
    for (const [l, t] of [['lock', '../run/lock'], ['run', '../run']]) if (!(await readlinkOrNull(join(v, l)))) await fsp.symlink(t, join(v, l));
  }

  async bootversion(): Promise<number> {
    const l = await readlinkOrNull(join(this.path, 'boot', 'loader'));
    if (l === null) return 0;
    const m = /^loader\.([01])$/.exec(l);
    if (!m) throw new SysrootError(`boot/loader points at unexpected '${l}'`);
    return Number(m[1]);
  }

  async subbootversion(bv: number): Promise<number> {
    const l = await readlinkOrNull(join(this.path, 'ostree', `boot.${bv}`));
    if (l === null) return 0;
    const m = /^boot\.[01]\.([01])$/.exec(l);
    if (!m) throw new SysrootError(`ostree/boot.${bv} points at unexpected '${l}'`);
    return Number(m[1]);
  }

  deploymentDir(d: { osname: string; csum: string; deployserial: number }): string {
    return join(this.path, 'ostree', 'deploy', d.osname, 'deploy', deployName(d));
  }

  /** Deployments in boot order, read from the current BLS entries. */
  async deployments(): Promise<Deployment[]> {
    const bv = await this.bootversion();
    const dir = join(this.path, 'boot', `loader.${bv}`, 'entries');
    let names: string[];
    try {
      names = (await fsp.readdir(dir)).filter((n) => n.startsWith('ostree-') && n.endsWith('.conf'));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return [];
      throw e;
    }
    const found: Array<{ version: string; d: Deployment }> = [];
    for (const n of names) {
      const entry = BootEntry.parse(await fsp.readFile(join(dir, n), 'utf8'));
      const options = entry.get('options') ?? '';
      const k = parseOstreeKarg(options);
      if (!k) continue;
      const link = await readlinkOrNull(join(this.path, 'ostree', `boot.${bv}`, k.osname, k.bootcsum, String(k.bootserial)));
      if (!link) throw new SysrootError(`boot entry ${n}: bootlink for ${k.osname}/${k.bootcsum}/${k.bootserial} is missing`);
      const m = /deploy\/([^/]+)\/deploy\/([0-9a-f]{64})\.(\d+)$/.exec(link);
      if (!m) throw new SysrootError(`boot entry ${n}: bootlink points at unexpected '${link}'`);
      const d: Deployment = { osname: m[1]!, csum: m[2]!, deployserial: Number(m[3]), bootcsum: k.bootcsum, bootserial: k.bootserial, index: 0, origin: null, kargs: options.split(/\s+/).filter((a) => a !== '' && !a.startsWith('ostree=')) };
      const originPath = `${this.deploymentDir(d)}.origin`;
      const originText = await fsp.readFile(originPath, 'utf8').catch(() => null);
      if (originText !== null) d.origin = KeyFile.parse(originText, originPath);
      found.push({ version: entry.get('version') ?? '0', d });
    }
    found.sort((a, b) => compareVersions(b.version, a.version));
    return found.map((f, i) => ({ ...f.d, index: i }));
  }

  /** Deploy a commit (ostree admin deploy): check out, set up /etc, merge it, write the new boot state. */
  async deploy(osname: string, csum: Checksum, opts: DeployOptions = {}): Promise<Deployment> {
    const repo = await this.repo();
    await repo.loadCommit(csum);
    const current = await this.deployments();
    const merge = opts.merge === undefined ? (current.find((d) => d.osname === osname) ?? null) : opts.merge;
    const osDir = join(this.path, 'ostree', 'deploy', osname);
    if (!(await exists(osDir))) throw new NotFoundError(`No such OS '${osname}' in ${this.path} (run admin os-init)`);
    let serial = 0;
    const onDisk = await fsp.readdir(join(osDir, 'deploy')).catch(() => [] as string[]);
    for (const n of onDisk) {
      const m = new RegExp(`^${csum}\\.(\\d+)$`).exec(n);
      if (m) serial = Math.max(serial, Number(m[1]) + 1);
    }
    const d: Deployment = { osname, csum, deployserial: serial, bootcsum: '', bootserial: 0, index: 0, origin: opts.origin ?? merge?.origin ?? null, kargs: opts.kargs ?? merge?.kargs ?? [] };
    const dir = this.deploymentDir(d);
    await checkoutCommit(repo, csum, dir, {});
    const usrEtc = join(dir, 'usr', 'etc');
    const etc = join(dir, 'etc');
    const hasUsrEtc = await exists(usrEtc);
    if (await exists(etc)) {
      if (hasUsrEtc) throw new SysrootError('Preparing /etc: Tree contains both /etc and /usr/etc');
      await fsp.rename(etc, usrEtc);
    }
    if (await exists(usrEtc)) {
      await copyTree(usrEtc, etc);
      if (merge) {
        const md = this.deploymentDir(merge);
        await mergeEtc(join(md, 'usr', 'etc'), join(md, 'etc'), etc);
      }
    }
    d.bootcsum = await this.bootChecksum(dir);
    if (d.origin) await writeFileAtomic(`${dir}.origin`, d.origin.toString());
    const next: Deployment[] = [d];
    for (const old of current) {
      if (opts.retain || old.osname !== osname || (merge && deployName(old) === deployName(merge) && old.osname === merge.osname)) next.push(old);
    }
    await this.writeDeployments(next);
    return { ...d, index: 0 };
  }

  private async kernelOf(dir: string): Promise<{ kver: string; vmlinuz: string; initramfs: string | null }> {
    const modules = join(dir, 'usr', 'lib', 'modules');
    for (const kver of (await fsp.readdir(modules).catch(() => [] as string[])).sort()) {
      const vmlinuz = join(modules, kver, 'vmlinuz');
      if (!(await exists(vmlinuz))) continue;
      const initramfs = join(modules, kver, 'initramfs.img');
      return { kver, vmlinuz, initramfs: (await exists(initramfs)) ? initramfs : null };
    }
    throw new SysrootError(`Failed to find kernel in ${modules} (expected usr/lib/modules/$kver/vmlinuz)`);
  }

  private async bootChecksum(dir: string): Promise<string> {
    const k = await this.kernelOf(dir);
    const h = createHash('sha256');
    for (const f of [k.vmlinuz, k.initramfs]) if (f) for await (const c of createReadStream(f)) h.update(c as Buffer);
    return h.digest('hex');
  }

  /**
   * Make `list` the deployment list: kernels into /boot, BLS entries for the
   * other boot version, a fresh bootlink farm, deployment refs, then the
   * atomic boot/loader swap; afterwards, clean up what is no longer used.
   */
  async writeDeployments(list: Deployment[]): Promise<void> {
    const repo = await this.repo();
    const curBv = await this.bootversion();
    const newBv = curBv === 0 ? 1 : 0;
    const seen = new Map<string, number>();
    list.forEach((d, i) => {
      d.index = i;
      const k = `${d.osname}/${d.bootcsum}`;
      d.bootserial = seen.get(k) ?? 0;
      seen.set(k, d.bootserial + 1);
    });
    const boot = join(this.path, 'boot');
    await fsp.mkdir(boot, { recursive: true });
    const showOsname = list.some((d) => d.osname !== list[0]!.osname);
    const entriesDir = join(boot, `loader.${newBv}`, 'entries');
    await fsp.rm(join(boot, `loader.${newBv}`), { recursive: true, force: true });
    await fsp.mkdir(entriesDir, { recursive: true });
    for (const d of list) {
      const dir = this.deploymentDir(d);
      const k = await this.kernelOf(dir);
      const bootcsumDir = join(boot, 'ostree', `${d.osname}-${d.bootcsum}`);
      await fsp.mkdir(bootcsumDir, { recursive: true });
      const kernelName = `vmlinuz-${k.kver}`;
      const initrdName = `initramfs-${k.kver}.img`;
      if (!(await exists(join(bootcsumDir, kernelName)))) await fsp.copyFile(k.vmlinuz, join(bootcsumDir, kernelName));
      if (k.initramfs && !(await exists(join(bootcsumDir, initrdName)))) await fsp.copyFile(k.initramfs, join(bootcsumDir, initrdName));
      const osRelease = await this.osRelease(dir);
      const name = osRelease.get('PRETTY_NAME') ?? osRelease.get('ID');
      if (!name) throw new SysrootError(`No PRETTY_NAME or ID in /etc/os-release of ${deployName(d)}`);
      const version = (await repo.loadCommit(d.csum)).version;
      let title = name;
      if (version && !name.includes(version)) title += ` ${version}`;
      title += ` (ostree${showOsname ? `:${d.osname}` : ''}:${d.index})`;
      const e = new BootEntry();
      e.set('title', title);
      e.set('version', String(list.length - d.index));
      e.set('options', [...d.kargs, `ostree=/ostree/boot.${newBv}/${d.osname}/${d.bootcsum}/${d.bootserial}`].join(' '));
      e.set('linux', `/ostree/${d.osname}-${d.bootcsum}/${kernelName}`);
      if (k.initramfs) e.set('initrd', `/ostree/${d.osname}-${d.bootcsum}/${initrdName}`);
      await writeFileAtomic(join(entriesDir, `ostree-${list.length - d.index}-${d.osname}.conf`), e.toString());
    }
    // bootlinks for the new boot version
    const ostreeDir = join(this.path, 'ostree');
    const oldSub = await this.subbootversion(newBv);
    const newSub = oldSub === 0 ? 1 : 0;
    const farm = join(ostreeDir, `boot.${newBv}.${newSub}`);
    await fsp.rm(farm, { recursive: true, force: true });
    for (const d of list) {
      await fsp.mkdir(join(farm, d.osname, d.bootcsum), { recursive: true });
      await fsp.symlink(`../../../deploy/${d.osname}/deploy/${deployName(d)}`, join(farm, d.osname, d.bootcsum, String(d.bootserial)));
    }
    await symlinkReplace(`boot.${newBv}.${newSub}`, join(ostreeDir, `boot.${newBv}`));
    // refs keep deployed commits from being pruned
    const refs = await repo.listRefs({ prefix: 'ostree', remotes: false });
    for (const r of refs.keys()) if (/^ostree\/\d+\/\d+\/\d+$/.test(r)) await repo.setRef(r, null);
    for (const d of list) await repo.setRef(`ostree/${newBv}/${newSub}/${d.index}`, d.csum);
    if (!(await readlinkOrNull(join(boot, 'boot')))) await fsp.symlink('.', join(boot, 'boot'));
    await repo.syncfs();
    // the commit point: boot/loader now names the new entries
    await symlinkReplace(`loader.${newBv}`, join(boot, 'loader'));
    await fsyncDir(boot);
    await this.cleanup();
  }

  private async osRelease(dir: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const p of [join(dir, 'etc', 'os-release'), join(dir, 'usr', 'lib', 'os-release'), join(dir, 'usr', 'etc', 'os-release')]) {
      const text = await fsp.readFile(p, 'utf8').catch(() => null);
      if (text === null) continue;
      for (const line of text.split('\n')) {
        const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
        if (m) out.set(m[1]!, m[2]!.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1'));
      }
      break;
    }
    return out;
  }

  /** Remove deployments, boot directories and loader versions nothing refers to, then prune the repo. */
  async cleanup(): Promise<void> {
    const list = await this.deployments();
    const bv = await this.bootversion();
    const sub = await this.subbootversion(bv);
    const live = new Set(list.map((d) => `${d.osname}/${deployName(d)}`));
    const deployBase = join(this.path, 'ostree', 'deploy');
    for (const os of await fsp.readdir(deployBase).catch(() => [] as string[])) {
      for (const n of await fsp.readdir(join(deployBase, os, 'deploy')).catch(() => [] as string[])) {
        const name = n.replace(/\.origin$/, '');
        if (!/^[0-9a-f]{64}\.\d+$/.test(name) || live.has(`${os}/${name}`)) continue;
        await fsp.rm(join(deployBase, os, 'deploy', n), { recursive: true, force: true });
      }
    }
    const bootOstree = join(this.path, 'boot', 'ostree');
    const liveBoot = new Set(list.map((d) => `${d.osname}-${d.bootcsum}`));
    for (const n of await fsp.readdir(bootOstree).catch(() => [] as string[])) if (!liveBoot.has(n)) await fsp.rm(join(bootOstree, n), { recursive: true, force: true });
    await fsp.rm(join(this.path, 'boot', `loader.${bv === 0 ? 1 : 0}`), { recursive: true, force: true });
    for (const n of await fsp.readdir(join(this.path, 'ostree'))) {
      if (/^boot\.[01]$/.test(n) && n !== `boot.${bv}`) await fsp.rm(join(this.path, 'ostree', n), { force: true });
      if (/^boot\.[01]\.[01]$/.test(n) && n !== `boot.${bv}.${sub}`) await fsp.rm(join(this.path, 'ostree', n), { recursive: true, force: true });
    }
    await pruneRepo(await this.repo(), { refsOnly: true, depth: 0 });
  }
}

/** strverscmp-ish ordering for BLS "version" fields (they are small integers in practice). */
function compareVersions(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}
