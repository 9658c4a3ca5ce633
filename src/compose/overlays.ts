/**
 * overlay.d → rootfs, as cosa commits each overlay dir and rpm-ostree checks
 * the `ostree-layers` / `ostree-override-layers` commits out over the
 * packages (rpmostree-core.cxx process_ostree_layers).
 *
 * cosa's commit_overlay shapes the tree before committing: a copy made with
 * umask 0022, `chmod -R gu-s`, `ostree commit --owner-uid 0 --owner-gid 0
 * --no-xattrs --mode-ro-executables --statoverride … --skip-list /statoverride`.
 * We apply the same shaping while copying, without the intermediate commit.
 *
 * rpm-ostree checks `ostree-layers` out with UNION_IDENTICAL (a path already
 * present must be identical, else the compose fails) and
 * `ostree-override-layers` with UNION_FILES (the layer's file replaces it).
 */
import { promises as fsp, type Stats } from 'node:fs';
import { join } from 'node:path';
import { CoreforgeError, InvalidInputError, UnsupportedError } from '../errors.js';
import type { ConfigRepo } from '../config/configrepo.js';
import { ConfigError } from '../config/errors.js';
import type { Overlay, StatOverride } from '../config/overlays.js';
import type { FileMetaMap } from './types.js';
import { lstatOrNull, replaceSymlink, replaceWithCopy, resolveInRoot, treePath } from './postprocess-fs.js';

export interface OverlayLayer {
  overlay: Overlay;
  /** An `ostree-override-layers` entry: its files replace what is there. */
  override: boolean;
}

export interface ApplyOverlaysResult {
  /** Paths written (final tree form, e.g. /usr/etc/x), in order. */
  written: string[];
}

/** The layers a compose applies: `ostree-layers` in order, then `ostree-override-layers`. */
export function composeLayers(config: ConfigRepo): OverlayLayer[] {
  const find = (ref: string, key: string): Overlay => {
    const o = config.overlays.find((x) => x.ref === ref);
    if (!o) throw new ConfigError(`${config.manifest.path}: ${key}: ${ref} has no overlay.d/${ref.replace(/^overlay\//, '')} in ${config.dir}`);
    return o;
  };
  return [
    ...(config.treefile['ostree-layers'] ?? []).map((r) => ({ overlay: find(r, 'ostree-layers'), override: false })),
    ...(config.treefile['ostree-override-layers'] ?? []).map((r) => ({ overlay: find(r, 'ostree-override-layers'), override: true })),
  ];
}

/** The mode cosa's overlay commit gives an entry (before statoverride). */
export function shapeOverlayMode(st: Stats): number {
  let mode = st.mode & 0o7777 & ~0o022 & ~0o6000;
  if (st.isFile() && (mode & 0o111) !== 0) mode &= ~0o222;
  return mode;
}

function applyStatOverride(mode: number, so: StatOverride | undefined): number {
  if (!so) return mode;
  // ostree commit: `=MODE` sets the permission bits, anything else ORs them in.
  // A `-MODE` line is taken as "remove these bits" (ostree would OR a negative number, which is never meant).
  if (so.op === '=') return so.mode & 0o7777;
  if (so.op === '+') return (mode | so.mode) & 0o7777;
  return mode & ~so.mode & 0o7777;
}

/**
 * Where the rootfs keeps /etc right now: `etc` while it is a real directory
 * (before the etc→usr/etc move, or under rpm-ostree's temporary /etc), else
 * `usr/etc`.
 */
async function etcLocation(rootfs: string): Promise<string> {
  if ((await lstatOrNull(join(rootfs, 'etc')))?.isDirectory()) return 'etc';
  if ((await lstatOrNull(join(rootfs, 'usr/etc')))?.isDirectory()) return 'usr/etc';
  return 'etc';
}

async function sameContent(a: string, b: string, size: number): Promise<boolean> {
  if (size > 64 * 1024 * 1024) {
    // Stream compare for big files (bounded memory).
    const [fa, fb] = await Promise.all([fsp.open(a), fsp.open(b)]);
    try {
      const ba = Buffer.alloc(1 << 20);
      const bb = Buffer.alloc(1 << 20);
      for (;;) {
        const [ra, rb] = await Promise.all([fa.read(ba, 0, ba.length), fb.read(bb, 0, bb.length)]);
        if (ra.bytesRead !== rb.bytesRead) return false;
        if (ra.bytesRead === 0) return true;
        if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
      }
    } finally {
      await Promise.all([fa.close(), fb.close()]);
    }
  }
  const [x, y] = await Promise.all([fsp.readFile(a), fsp.readFile(b)]);
  return x.equals(y);
}

/**
 * Copy every layer onto `rootfs` in order. Regular files are new copies
 * renamed into place (an existing entry — often a hardlink into the pkgcache —
 * is replaced, never written through); symlinks stay symlinks; directories
 * merge. Modes are shaped as cosa commits them; `statoverride` results go to
 * `meta` (keyed by the final path, /etc → /usr/etc) and, when they keep the
 * file readable by its owner, to disk as well so later scripts see them.
 */
export async function applyOverlays(rootfs: string, layers: OverlayLayer[], meta: FileMetaMap): Promise<ApplyOverlaysResult> {
  const written: string[] = [];
  for (const layer of layers) {
    const { overlay } = layer;
    const overrides = new Map(overlay.statoverride.map((s) => [s.path, s]));
    const etc = await etcLocation(rootfs);
    const walk = async (srcDir: string, rel: string[]): Promise<void> => {
      const names = (await fsp.readdir(srcDir)).sort();
      for (const name of names) {
        if (rel.length === 0 && name === 'statoverride') continue;
        const src = join(srcDir, name);
        const relParts = [...rel, name];
        const overlayPath = '/' + relParts.join('/');
        const mapped = relParts[0] === 'etc' ? [etc, ...relParts.slice(1)] : relParts;
        const finalPath = relParts[0] === 'etc' ? treePath('usr/etc', ...relParts.slice(1)) : treePath(...relParts);
        const st = await fsp.lstat(src);
        const so = overrides.get(overlayPath);
        const mode = applyStatOverride(shapeOverlayMode(st), so);
        // Parent directories are resolved inside the root (a layer's lib/… goes through /lib → usr/lib).
        const dest = await resolveInRoot(rootfs, mapped.join('/'), false);
        const cur = await lstatOrNull(dest);
        const where = `overlay.d/${overlay.name}${overlayPath}`;
        if (st.isDirectory()) {
          let target = dest;
          if (cur?.isSymbolicLink()) {
            target = await resolveInRoot(rootfs, mapped.join('/'), true);
            const t = await lstatOrNull(target);
            if (!t?.isDirectory()) throw conflict(where, finalPath, 'a symlink that is not a directory is in the way');
          } else if (cur && !cur.isDirectory()) {
            throw conflict(where, finalPath, 'a non-directory is in the way');
          } else if (!cur) {
            await fsp.mkdir(target, { mode });
            await fsp.chmod(target, mode);
            if (so) meta.set(finalPath, { ...meta.get(finalPath), mode });
          }
          await walk(src, relParts);
          continue;
        }
        if (st.isSymbolicLink()) {
          const linkTarget = await fsp.readlink(src);
          if (cur) {
            if (cur.isSymbolicLink() && (await fsp.readlink(dest)) === linkTarget) continue;
            if (!layer.override || cur.isDirectory()) throw conflict(where, finalPath, 'a different entry exists');
          }
          await replaceSymlink(linkTarget, dest);
          written.push(finalPath);
          continue;
        }
        if (!st.isFile()) throw new UnsupportedError(`${where}: unsupported file type (only files, directories and symlinks can be in an overlay)`);
        if (cur) {
          if (cur.isDirectory()) throw conflict(where, finalPath, 'a directory is in the way');
          if (!layer.override) {
            const curMode = meta.get(finalPath)?.mode ?? cur.mode & 0o7777;
            if (cur.isFile() && curMode === mode && cur.size === st.size && (await sameContent(src, dest, st.size))) continue;
            throw conflict(where, finalPath, 'a different file exists (ostree-layers may only add files or repeat identical ones; use ostree-override-layers to replace)');
          }
        }
        const diskMode = (mode & 0o400) !== 0 ? mode : mode | 0o600;
        await replaceWithCopy(src, dest, diskMode);
        // A replaced path loses whatever metadata the package gave it: overlays are root-owned.
        if (so || diskMode !== mode || meta.has(finalPath)) meta.set(finalPath, { uid: 0, gid: 0, mode });
        written.push(finalPath);
      }
    };
    let rootSt;
    try {
      rootSt = await fsp.stat(overlay.realPath);
    } catch (e) {
      throw new InvalidInputError(`overlay.d/${overlay.name}: cannot read ${overlay.realPath}: ${(e as Error).message}`);
    }
    if (!rootSt.isDirectory()) throw new InvalidInputError(`overlay.d/${overlay.name}: ${overlay.realPath} is not a directory`);
    await walk(overlay.realPath, []);
  }
  return { written };
}

function conflict(where: string, finalPath: string, why: string): CoreforgeError {
  return new CoreforgeError('ECONFLICT', `${where}: cannot check out over ${finalPath}: ${why}`);
}
