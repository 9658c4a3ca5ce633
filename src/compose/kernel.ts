/**
 * Kernel and initramfs of a composed tree (rpmostree-postprocess.cxx
 * process_kernel_and_initramfs, rpmostree-kernel.cxx): find the kernel
 * (usr/lib/ostree-boot or boot `vmlinuz-$kver[-$csum]`, else
 * usr/lib/modules/$kver/vmlinuz), run depmod, generate the initramfs with the
 * tree's dracut in the sandbox, and place both at usr/lib/modules/$kver/
 * {vmlinuz,initramfs.img}; with `boot-location: new` (rpm-ostree's default)
 * also as usr/lib/ostree-boot/{vmlinuz,initramfs}-$kver…-$bootcsum hardlinks.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CoreforgeError, InvalidInputError, NotFoundError } from '../errors.js';
import type { LoadedTreefile } from '../config/treefile/types.js';
import type { RunScript } from './postprocess.js';
import { withTempEtc } from './postprocess.js';
import { ensureDir, lstatOrNull, replaceFile, rmrf } from './postprocess-fs.js';

export class KernelError extends CoreforgeError {
  constructor(message: string) {
    super('EKERNEL', message);
  }
}

export interface KernelContext {
  treefile: LoadedTreefile;
  /** Runs a script inside the root in the sandbox (the same runner as postprocess scripts). */
  runScript: RunScript;
  /** Around dracut: rpm-ostree's prepare_rpm_layering / complete_rpm_layering (usr/lib/passwd visible in /etc). */
  beforeDracut?: (root: string) => Promise<void>;
  afterDracut?: (root: string) => Promise<void>;
  /** normalize_etc_shadow, run after the initramfs step. */
  normalizeShadow?: (root: string) => Promise<void>;
  log?: (m: string) => void;
}

export interface KernelResult {
  /** uname -r of the kernel (the `ostree.linux` commit metadata). */
  kver: string;
  /** sha256 of vmlinuz then initramfs.img (ostree's boot checksum for this layout). */
  bootcsum: string;
  /** Where the initramfs came from. */
  initramfs: 'dracut' | 'prebuilt' | 'none';
  bootLocation: 'new' | 'modules';
}

const OSTREE_BOOT = 'usr/lib/ostree-boot';

interface FoundKernel {
  kver: string;
  bootdir: string;
  kernel: string;
  initramfs: string | null;
}

/** find_kernel_and_initramfs_in_bootdir: regular files only; several kernels/initramfs images are an error. */
async function findInBootdir(root: string, bootdir: string, suffixed: boolean): Promise<{ ksuffix: string | null; kernel: string | null; initramfs: string | null }> {
  let ents;
  try {
    ents = await fsp.readdir(join(root, bootdir), { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ksuffix: null, kernel: null, initramfs: null };
    throw e;
  }
  let kernel: string | null = null;
  let initramfs: string | null = null;
  let ksuffix: string | null = null;
  for (const d of ents.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!d.isFile()) continue;
    const name = d.name;
    if (suffixed ? name.startsWith('vmlinuz-') : name === 'vmlinuz') {
      if (kernel) throw new KernelError(`Multiple vmlinuz${suffixed ? '-' : ''} in ${bootdir}, occurrences '${kernel}' and '${bootdir}/${name}'`);
      if (suffixed) ksuffix = name.slice('vmlinuz-'.length);
      kernel = `${bootdir}/${name}`;
    } else if (name === 'initramfs.img' || name.startsWith('initramfs-')) {
      if (initramfs) throw new KernelError(`Multiple initramfs- in ${bootdir}, occurrences '${initramfs}' and '${bootdir}/${name}'`);
      initramfs = `${bootdir}/${name}`;
    }
  }
  return { ksuffix, kernel, initramfs };
}

/** rpmostree_find_kernel */
export async function findKernel(root: string): Promise<FoundKernel> {
  for (const bootdir of [OSTREE_BOOT, 'boot']) {
    const r = await findInBootdir(root, bootdir, true);
    if (!r.kernel) continue;
    let kver = r.ksuffix!;
    // Strip a -<sha256> boot checksum.
    const n = kver.length;
    if (n > 65 && kver[n - 65] === '-' && /^[0-9a-f]{64}$/.test(kver.slice(n - 64))) kver = kver.slice(0, n - 65);
    return { kver, bootdir, kernel: r.kernel, initramfs: r.initramfs };
  }
  const modules = 'usr/lib/modules';
  let ents;
  try {
    ents = await fsp.readdir(join(root, modules), { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('Unable to find kernel (vmlinuz) in /boot or /usr/lib/modules: /usr/lib/modules does not exist (is a kernel package in the manifest?)');
    throw e;
  }
  let found: string | null = null;
  for (const d of ents.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!d.isDirectory()) continue;
    if (!(await lstatOrNull(join(root, modules, d.name, 'vmlinuz')))) continue;
    if (found) throw new KernelError(`Multiple kernels (vmlinuz) found in: ${modules}: ${found} ${d.name}`);
    found = d.name;
  }
  if (!found) throw new NotFoundError('Unable to find kernel (vmlinuz) in /boot or /usr/lib/modules (is a kernel package in the manifest?)');
  const bootdir = `${modules}/${found}`;
  const r = await findInBootdir(root, bootdir, false);
  if (!r.kernel) throw new NotFoundError(`Unable to find kernel (vmlinuz) in /boot or /usr/lib/modules (bootdir=${bootdir})`);
  return { kver: found, bootdir, kernel: r.kernel, initramfs: r.initramfs };
}

/** The first of `names` present (as anything but a directory) under usr/bin, usr/sbin, bin, sbin. */
async function treeHasProgram(root: string, name: string): Promise<boolean> {
  for (const d of ['usr/bin', 'usr/sbin', 'bin', 'sbin']) {
    const st = await lstatOrNull(join(root, d, name));
    if (st && !st.isDirectory()) return true;
  }
  return false;
}

function shq(s: string): string {
  return /^[A-Za-z0-9\-._/=:,+@%]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** rpmostree_run_dracut's arguments: `initramfs-args` (derivation args first), else --no-hostonly. */
export function dracutArgs(tf: LoadedTreefile['treefile']): string[] {
  const args = [...(tf.initramfs?.args ?? []), ...(tf['initramfs-args'] ?? [])];
  return args.length > 0 ? args : ['--no-hostonly'];
}

/**
 * The script rpm-ostree runs in the sandbox (rpmostree-dracut-wrapper),
 * writing into a scratch directory of the root instead of fd 3 so any
 * sandbox that runs a script with the root as / can run it.
 */
export function dracutWrapper(scratch: string, args: string[], kver: string): string {
  const noXattr = process.env.DRACUT_NO_XATTR;
  return [
    '#!/bin/sh',
    'set -eu',
    'export DRACUT_NO_MKNOD=1',
    ...(noXattr !== undefined ? [`export DRACUT_NO_XATTR=${shq(noXattr)}`] : []),
    'extra_argv=; if (dracut --help; true) | grep -q -e --reproducible; then extra_argv="--reproducible"; fi',
    `mkdir -p ${scratch}/tmp`,
    `dracut $extra_argv -v --add ostree --tmpdir=${scratch}/tmp -f ${scratch}/initramfs.img ${args.map(shq).join(' ')} --kver ${shq(kver)}`,
    '',
  ].join('\n');
}

function cpioNewc(name: string, mode: number, rdevMajor = 0, rdevMinor = 0, ino = 0): Buffer {
  const nameBuf = Buffer.from(name + '\0');
  const fields = [ino, mode, 0, 0, 1, 0, 0, 0, 0, rdevMajor, rdevMinor, nameBuf.length, 0];
  const head = Buffer.concat([Buffer.from('070701' + fields.map((v) => v.toString(16).padStart(8, '0')).join(''), 'latin1'), nameBuf]);
  return Buffer.concat([head, Buffer.alloc((4 - (head.length % 4)) % 4)]);
}

/**
 * initramfs.rs append_dracut_random_cpio: a gzip'd newc archive with
 * dev/random (c 1 8) and dev/urandom (c 1 9), appended after padding the
 * image with 4 NULs plus alignment to 4, for FIPS mode.
 */
export function dracutRandomCpio(): Buffer {
  const entries = [cpioNewc('.', 0o40755, 0, 0, 1), cpioNewc('dev', 0o40755, 0, 0, 2), cpioNewc('dev/random', 0o20666, 1, 8, 3), cpioNewc('dev/urandom', 0o20666, 1, 9, 4), cpioNewc('TRAILER!!!', 0, 0, 0, 0)];
  return gzipSync(Buffer.concat(entries), { level: 9 });
}

export function appendRandomCpio(image: Buffer): Buffer {
  const pad = 4 + ((4 - (image.length % 4)) % 4);
  return Buffer.concat([image, Buffer.alloc(pad), dracutRandomCpio()]);
}

async function sha256Files(paths: string[]): Promise<string> {
  const h = createHash('sha256');
  for (const p of paths) {
    for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  }
  return h.digest('hex');
}

async function relink(root: string, from: string, to: string): Promise<void> {
  await rmrf(join(root, to));
  await fsp.link(join(root, from), join(root, to));
}

/** core.rs verify_kernel_hmac: an absolute path in .vmlinuz.hmac becomes the bare file name. */
async function fixKernelHmac(root: string, moddir: string): Promise<void> {
  const p = join(root, moddir, '.vmlinuz.hmac');
  let text: string;
  try {
    text = await fsp.readFile(p, 'utf8');
  } catch {
    return;
  }
  if (!text.includes('/')) return;
  const i = text.indexOf('  ');
  if (i < 0) throw new KernelError(`Missing path in .vmlinuz.hmac: ${text}`);
  const path = text.slice(i + 2);
  const file = path.replace(/\/+$/, '').split('/').pop()!;
  const next = `${text.slice(0, i)}  ${file}`;
  if (next.includes('/')) throw new KernelError(`Unexpected '/' in .vmlinuz.hmac: ${next}`);
  await replaceFile(p, next, 0o644);
}

async function runInRoot(root: string, ctx: KernelContext, name: string, script: string, label: string): Promise<void> {
  const host = join(root, 'usr/bin', name);
  await replaceFile(host, script, 0o755);
  try {
    await withTempEtc(root, () => ctx.runScript(`/usr/bin/${name}`, label));
  } finally {
    await rmrf(host);
  }
}

/** process_kernel_and_initramfs + rpmostree_finalize_kernel, on a root whose /etc is usr/etc. */
export async function processKernel(root: string, ctx: KernelContext): Promise<KernelResult> {
  const log = ctx.log ?? (() => {});
  const tf = ctx.treefile.treefile;
  // kernel-install leaves /boot/$machine_id/$kver behind; drop it.
  const mid = join(root, 'usr/etc/machine-id');
  const midText = await fsp.readFile(mid, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (midText !== null && midText.length > 0) {
    if (midText.length !== 33) throw new KernelError(`invalid machine ID '${midText.slice(0, 33)}' in /usr/etc/machine-id`);
    await rmrf(join(root, 'boot', midText.slice(0, 32)));
  }
  await rmrf(join(root, 'boot/loader'));
  // Non-kernel /boot content (and a legacy-placed kernel) goes to usr/lib/ostree-boot.
  if (await lstatOrNull(join(root, 'boot'))) {
    await ensureDir(join(root, 'usr/lib'));
    try {
      await fsp.rename(join(root, 'boot'), join(root, OSTREE_BOOT));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
      await fsp.rmdir(join(root, 'boot')).catch(() => {
        throw new KernelError(`/boot and /${OSTREE_BOOT} both hold files`);
      });
    }
  }
  const found = await findKernel(root);
  const { kver } = found;
  const moddir = `usr/lib/modules/${kver}`;
  const modInitramfs = `${moddir}/initramfs.img`;
  const hasDracut = await treeHasProgram(root, 'dracut');
  const noInitramfs = tf['no-initramfs'] ?? false;
  // An RPM-generated initramfs outside the modules dir: replaced when we run dracut, otherwise kept as the prebuilt one.
  if (found.initramfs && found.initramfs !== modInitramfs) {
    if (hasDracut && !noInitramfs) {
      log(`Removing RPM-generated '${found.initramfs}'`);
      await rmrf(join(root, found.initramfs));
    } else {
      await ensureDir(join(root, moddir));
      if (!(await lstatOrNull(join(root, modInitramfs)))) await fsp.link(join(root, found.initramfs), join(root, modInitramfs));
      await rmrf(join(root, found.initramfs));
    }
  }
  if (await treeHasProgram(root, 'depmod')) {
    await runInRoot(root, ctx, 'rpmostree-depmod-wrapper', `#!/bin/sh\nset -eu\nexec depmod -a ${shq(kver)}\n`, `depmod ${kver}`);
  } else {
    log('No depmod in the tree; skipping the kernel module index');
  }
  const bootLocation: 'new' | 'modules' = (tf['boot-location'] ?? 'new') === 'new' ? 'new' : 'modules';
  if (tf['machineid-compat'] ?? true) {
    log('Creating empty machine-id');
    await ensureDir(join(root, 'usr/etc'));
    await replaceFile(mid, '', 0o644);
  } else {
    await rmrf(mid);
  }
  let newInitramfs: Buffer | null = null;
  let source: KernelResult['initramfs'] = 'none';
  if (!noInitramfs) {
    if (hasDracut) {
      const scratchName = `rpmostree-dracut.${randomBytes(4).toString('hex')}`;
      const scratch = join(root, scratchName);
      await fsp.mkdir(scratch, { mode: 0o700 });
      try {
        if (ctx.beforeDracut) await ctx.beforeDracut(root);
        try {
          await runInRoot(root, ctx, 'rpmostree-dracut-wrapper', dracutWrapper(`/${scratchName}`, dracutArgs(tf), kver), `dracut ${kver}`);
        } finally {
          if (ctx.afterDracut) await ctx.afterDracut(root);
        }
        let img: Buffer;
        try {
          img = await fsp.readFile(join(scratch, 'initramfs.img'));
        } catch {
          throw new KernelError(`dracut for kernel ${kver} finished without writing an initramfs`);
        }
        newInitramfs = appendRandomCpio(img);
      } finally {
        await rmrf(scratch);
      }
      source = 'dracut';
    } else if (await lstatOrNull(join(root, modInitramfs))) {
      log(`No dracut in the tree; keeping the prebuilt /${modInitramfs}`);
      source = 'prebuilt';
    } else {
      throw new KernelError(`the tree has no dracut and no prebuilt initramfs for kernel ${kver} (add dracut to the packages, ship /${modInitramfs}, or set no-initramfs: true)`);
    }
  } else if (await lstatOrNull(join(root, modInitramfs))) {
    source = 'prebuilt';
  }
  if (ctx.normalizeShadow) await ctx.normalizeShadow(root);

  // rpmostree_finalize_kernel
  await ensureDir(join(root, moddir));
  const modKernel = `${moddir}/vmlinuz`;
  if (newInitramfs) await replaceFile(join(root, modInitramfs), newInitramfs, 0o644);
  const hasInitramfs = !!(await lstatOrNull(join(root, modInitramfs)));
  if (found.kernel !== modKernel) {
    await relink(root, found.kernel, modKernel);
  }
  const bootcsum = await sha256Files([join(root, modKernel), ...(hasInitramfs ? [join(root, modInitramfs)] : [])]);
  await fixKernelHmac(root, moddir);
  if (found.kernel !== modKernel) await rmrf(join(root, found.kernel));
  if (bootLocation === 'new') {
    // copy_kernel_into usr/lib/ostree-boot: replace any vmlinuz-*/initramfs-* with checksummed hardlinks.
    await ensureDir(join(root, OSTREE_BOOT));
    const legacy = await findInBootdir(root, OSTREE_BOOT, true);
    if (legacy.kernel) await rmrf(join(root, legacy.kernel));
    if (legacy.initramfs) await rmrf(join(root, legacy.initramfs));
    await fsp.link(join(root, modKernel), join(root, OSTREE_BOOT, `vmlinuz-${kver}-${bootcsum}`));
    if (!hasInitramfs) throw new KernelError(`boot-location: new needs an initramfs for kernel ${kver} (no-initramfs is set and none is prebuilt)`);
    await fsp.link(join(root, modInitramfs), join(root, OSTREE_BOOT, `initramfs-${kver}.img-${bootcsum}`));
  }
  await ensureDir(join(root, 'boot'));
  if (!(await lstatOrNull(join(root, modKernel)))?.isFile()) throw new InvalidInputError(`/${modKernel} is not a regular file`);
  return { kver, bootcsum, initramfs: source, bootLocation };
}
