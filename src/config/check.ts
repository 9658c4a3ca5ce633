import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { isCoreforgeError } from '../errors.js';
import { ConfigRepo, manifestPath, repoVarsOf } from './configrepo.js';
import { loadImageYaml, type LoadedImage } from './image.js';
import { configEntryExists } from './links.js';
import { loadLive } from './live.js';
import { lockfilePaths, parseLockfile } from './lockfile.js';
import { listOverlays, type Overlay } from './overlays.js';
import { loadPlatforms } from './platforms.js';
import { readRepoDir, type RepoDirEntry } from './repofile.js';
import { loadTreefile } from './treefile/load.js';
import type { LoadedTreefile } from './treefile/types.js';

export interface Finding {
  level: 'error' | 'warning';
  /** File (relative to the config) and key, e.g. `manifest.yaml: repos`. */
  where: string;
  message: string;
  /** One line telling the user what to do. */
  fix: string;
}

/** Submodule paths from .gitmodules (the upstream configs this one derives from). */
function submodules(dir: string): string[] {
  const f = join(dir, '.gitmodules');
  if (!existsSync(f)) return [];
  return [...readFileSync(f, 'utf8').matchAll(/^\s*path\s*=\s*(.+?)\s*$/gm)].map((m) => m[1]!);
}

/**
 * Lint a config repository for one arch. Load errors become findings too, so
 * that one run reports everything it can.
 */
export function checkConfig(dir: string, arch: string): Finding[] {
  const findings: Finding[] = [];
  const rel = (p: string) => (isAbsolute(p) ? relative(dir, p) || '.' : p);
  const add = (level: Finding['level'], where: string, message: string, fix: string) => findings.push({ level, where, message, fix });
  const attempt = <T>(what: string, fn: () => T, fix: string): T | undefined => {
    try {
      return fn();
    } catch (e) {
      if (!isCoreforgeError(e)) throw e;
      add('error', what, e.message, fix);
      return undefined;
    }
  };

  const mpath = attempt('manifest.yaml', () => manifestPath(dir), 'create manifest.yaml, e.g. with: coreforge config new DIR --upstream URL');
  if (!mpath) return findings;
  // An upstream submodule that is not checked out breaks everything after it: say so first.
  const subs = submodules(dir);
  const missing = subs.filter((sub) => !existsSync(join(dir, sub)) || readdirSync(join(dir, sub)).length === 0);
  for (const sub of missing) add('error', sub, `submodule ${sub} is not checked out`, 'run: git submodule update --init');
  const m = attempt(rel(mpath), () => loadTreefile(mpath, { arch }), missing.length ? 'run: git submodule update --init' : 'fix the file and key named above');
  if (!m) return findings;
  const tf = m.treefile;
  const top = rel(mpath);
  for (const w of m.warnings) {
    const i = w.indexOf(': ');
    add('warning', rel(w.slice(0, i)), w.slice(i + 2), 'fix the spelling of the key or remove it');
  }

  if (!tf.ref) add('error', `${top}: ref`, 'no ref: the compose needs a branch name', "add ref: 'NAME/${basearch}/coreos/STREAM' to manifest.yaml");
  if (tf.ref) {
    const unresolved = /\$\{([^}]*)\}/.exec(tf.ref);
    if (unresolved)
      add('error', `${top}: ref`, `ref ${tf.ref} uses \${${unresolved[1]}}, which no file defines`, `define it under variables: in manifest.yaml, or spell the value out in ref`);
    // ostree's ref grammar (ostree_validate_rev): components of [\w\d][-._\w\d]* joined by '/'.
    else if (!/^[\w\d][-._\w\d]*(\/[\w\d][-._\w\d]*)*$/.test(tf.ref))
      add('error', `${top}: ref`, `ref ${tf.ref} is not a valid OSTree ref`, 'use letters, digits, . _ - and / between components, e.g. myos/${basearch}/coreos/stable');
  }
  if (!tf['automatic-version-prefix'])
    add('warning', `${top}: automatic-version-prefix`, 'no automatic-version-prefix: cosa requires it to version builds', "add automatic-version-prefix: '${releasever}.<date:%Y%m%d>.dev' (or include a manifest that sets it)");
  if (tf.packages.length === 0) add('error', `${top}: packages`, 'no packages: a compose needs at least one', 'add packages: [...] or include a manifest that has them');

  // Upstream config(s): its ref, its image remote.
  const upstreams: { sub: string; manifest?: LoadedTreefile; image?: LoadedImage }[] = [];
  for (const sub of subs) {
    const um = join(dir, sub, 'manifest.yaml');
    if (!existsSync(um)) continue;
    const u: (typeof upstreams)[number] = { sub };
    try {
      u.manifest = loadTreefile(um, { arch });
    } catch {
      /* the upstream's own problems are not ours to lint */
    }
    const ui = join(dir, sub, 'image.yaml');
    try {
      if (existsSync(ui)) u.image = loadImageYaml(ui);
    } catch {
      /* idem */
    }
    upstreams.push(u);
  }
  for (const u of upstreams) {
    if (tf.ref && u.manifest?.treefile.ref === tf.ref)
      add('error', `${top}: ref`, `ref ${tf.ref} is the same as the upstream's (${u.sub}); your updates and theirs would collide`, "set your own ref in manifest.yaml, e.g. ref: 'myos/${basearch}/coreos/stable'");
  }

  // Repos: every name in repos/lockfile-repos needs a .repo in the top directory.
  let repoFiles: RepoDirEntry[] = [];
  const loaded = attempt(top, () => readRepoDir(m.dir, repoVarsOf(m)), 'fix the .repo file named above');
  if (loaded) repoFiles = loaded;
  const defined = new Map(repoFiles.flatMap((f) => f.repos.map((r) => [r.id, r] as const)));
  for (const [key, names] of [
    ['repos', tf.repos ?? []],
    ['lockfile-repos', tf['lockfile-repos'] ?? []],
  ] as const) {
    for (const id of new Set(names)) {
      if (defined.has(id)) continue;
      const defines = (s: string) => {
        try {
          return readRepoDir(join(dir, s), repoVarsOf(m)).some((f) => f.repos.some((r) => r.id === id));
        } catch {
          return false;
        }
      };
      const src = upstreams.map((u) => u.sub).find((s) => existsSync(join(dir, s)) && defines(s));
      add(
        'error',
        `${top}: ${key}`,
        `repository '${id}' has no .repo file in ${rel(m.dir)} (rpm-ostree reads .repo files from the manifest's directory only)`,
        src ? `copy the .repo file defining [${id}] from ${src}/ to the config's top directory` : `add a .repo file with a [${id}] section, or remove '${id}' from ${key}`,
      );
    }
  }
  const used = new Set([...(tf.repos ?? []), ...(tf['lockfile-repos'] ?? [])]);
  for (const f of repoFiles)
    for (const r of f.repos) {
      if (tf.repos !== undefined && !used.has(r.id)) continue;
      if (!r.enabled && tf.repos === undefined && !used.has(r.id)) continue;
      if (r.baseurl.length === 0 && !r.mirrorlist && !r.metalink)
        add('error', `${rel(f.file)}: [${r.id}]`, `repository '${r.id}' has none of baseurl, mirrorlist, metalink`, `add baseurl=https://…/$basearch/ to [${r.id}] in ${rel(f.file)}`);
      if (!r.gpgcheck) continue;
      for (const k of r.gpgkey) {
        if (/^[a-z]+:\/\//i.test(k)) continue;
        if (!existsSync(k)) {
          const inConfig = !relative(dir, k).startsWith('..');
          add(
            inConfig ? 'error' : 'warning',
            `${rel(f.file)}: [${r.id}] gpgkey`,
            `key ${k} does not exist${inConfig ? '' : ' on this host'}`,
            inConfig ? `add the key at ${rel(k)} or fix gpgkey=` : `install the key (e.g. apt-get install distribution-gpg-keys), ship it in the config and use gpgkey=file://keys/NAME, or set gpgcheck=0`,
          );
        }
      }
    }

  // remove-files: rpm-ostree refuses absolute paths and '..' at compose time.
  for (const f of tf['remove-files'] ?? [])
    if (f.startsWith('/') || f.split('/').includes('..'))
      add('error', `${top}: remove-files`, `'${f}' must be a relative path without '..' (the compose would fail)`, `write it relative to the root, e.g. ${f.replace(/^\/+/, '').split('/').filter((x) => x !== '..').join('/') || 'usr/share/doc'}`);

  // packages vs exclude-packages (rpm-ostree fails the compose).
  for (const p of tf['exclude-packages'] ?? [])
    if (tf.packages.includes(p)) add('error', `${top}: packages`, `${p} is both in packages and in exclude-packages`, `remove ${p} from one of the two lists`);

  // Overlays: every ostree-layers entry needs an overlay.d dir; own overlays should be layered.
  let overlays: Overlay[] = [];
  const ov = attempt('overlay.d', () => listOverlays(dir), 'fix or remove the overlay.d entry named above');
  if (ov) overlays = ov;
  const layers = tf['ostree-layers'] ?? [];
  for (const ref of layers) {
    const name = ref.replace(/^overlay\//, '');
    if (!ref.startsWith('overlay/')) continue;
    if (overlays.some((o) => o.name === name)) continue;
    const sub = upstreams.find((u) => existsSync(join(dir, u.sub, 'overlay.d', name)));
    add('error', `${top}: ostree-layers`, `${ref} has no overlay.d/${name}`, sub ? `ln -s ../${sub.sub}/overlay.d/${name} overlay.d/${name}` : `create overlay.d/${name} or remove ${ref} from ostree-layers`);
  }
  for (const o of overlays)
    if (!o.symlink && !layers.includes(o.ref))
      add('warning', `overlay.d/${o.name}`, `overlay ${o.name} is not in ostree-layers, so it is committed but never used`, `add '- ${o.ref}' to ostree-layers in manifest.yaml`);

  // image.yaml: the remote the deployment tracks must be defined in the OS, and not be the upstream's.
  const imageFile = join(dir, 'image.yaml');
  const image = attempt('image.yaml', () => (configEntryExists(imageFile) ? loadImageYaml(imageFile) : undefined), 'fix image.yaml as named above');
  if (image) {
    for (const u of image.unknownKeys) add('warning', `${rel(u.where)}`, `image key '${u.key}' is unknown (ignored)`, `check its spelling or remove it`);
    const remote = image.config['ostree-remote'];
    const upRemotes = new Set(upstreams.map((u) => u.image?.config['ostree-remote']).filter((x): x is string => !!x));
    if (remote && remote !== 'NONE') {
      if (upRemotes.has(remote))
        add('error', 'image.yaml: ostree-remote', `ostree-remote '${remote}' is the upstream's remote; machines would update from upstream, not from you`, 'set ostree-remote: YOURS in image.yaml and add its remotes.d file');
      const layered = overlays.filter((o) => layers.includes(o.ref));
      let has = false;
      for (const o of layered)
        for (const e of ['etc', 'usr/etc']) {
          const conf = join(o.realPath, e, 'ostree/remotes.d', `${remote}.conf`);
          if (!existsSync(conf)) continue;
          has = true;
          lintRemoteConf(conf, `overlay.d/${o.name}/${e}/ostree/remotes.d/${remote}.conf`, remote, o.realPath, add);
        }
      if (!has && !upRemotes.has(remote))
        add('warning', 'image.yaml: ostree-remote', `remote '${remote}' has no etc/ostree/remotes.d/${remote}.conf in any layered overlay (fine only if a package ships it)`, `create overlay.d/99NAME/etc/ostree/remotes.d/${remote}.conf with [remote "${remote}"] url=… and list overlay/99NAME in ostree-layers`);
    }
    for (const up of upRemotes) {
      if (up === remote) continue;
      const removed = (tf.postprocess ?? []).some((s) => s.includes(`remotes.d/${up}.conf`)) || (tf['remove-files'] ?? []).some((f) => f.includes(`remotes.d/${up}.conf`));
      if (!removed)
        add('warning', `${top}: postprocess`, `the upstream remote '${up}' (/etc/ostree/remotes.d/${up}.conf) is left in place`, `add a postprocess script: rm -f /etc/ostree/remotes.d/${up}.conf`);
    }
  }

  // Lockfiles: the config's own override entries for packages nothing asks for any more.
  const lockfiles = attempt('lockfiles', () => lockfilePaths(dir, arch), 'remove one of the two files');
  if (lockfiles) {
    const parsed = lockfiles.map((f) => ({ f, l: attempt(rel(f), () => parseLockfile(f), 'fix the lockfile as named above') }));
    const base = parsed.find((p) => /manifest-lock\.[^.]+\.(json|yaml)$/.test(p.f) && !p.f.includes('overrides'))?.l;
    for (const { f, l } of parsed) {
      if (!l || !f.includes('overrides') || lstatSync(f).isSymbolicLink()) continue;
      for (const [name, e] of l.packages)
        if (e.metadata?.type === 'pin' && !e.metadata.reason)
          add('warning', `${rel(f)}: packages.${name}`, `pin of ${name} has no metadata.reason`, `add metadata: {reason: URL-of-the-issue} to ${name} (fedora-coreos-config rule: every pin says why)`);
      for (const name of l.packages.keys())
        if (!tf.packages.includes(name) && !(base?.packages.has(name) ?? false))
          add('warning', `${rel(f)}: packages.${name}`, `${name} is locked but no longer requested (not in packages, not in the base lockfile)`, `remove ${name} from ${rel(f)}`);
    }
  }
  // live/ and platforms.yaml: read by the image steps, so their problems are errors here too.
  attempt('live', () => loadLive(dir), 'fix or remove live/ as named above');
  const platformsFile = join(dir, 'platforms.yaml');
  attempt('platforms.yaml', () => configEntryExists(platformsFile) && loadPlatforms(platformsFile), 'fix platforms.yaml as named above');

  // Whatever else a build would refuse: check never passes a config that cannot be loaded.
  if (!findings.some((f) => f.level === 'error')) attempt('config', () => ConfigRepo.load(dir, { arch }).layers(), 'fix the file named above');
  return findings;
}

/** An ostree remote config (`[remote "NAME"]`, url=, gpg-verify=, gpgkeypath=) shipped in an overlay. */
function lintRemoteConf(file: string, shown: string, remote: string, overlayRoot: string, add: (l: Finding['level'], w: string, m: string, f: string) => void): void {
  const text = readFileSync(file, 'utf8');
  const header = /^\s*\[remote "([^"]+)"\]\s*$/m.exec(text);
  if (!header) {
    add('error', shown, 'no [remote "NAME"] section', `start the file with [remote "${remote}"]`);
    return;
  }
  if (header[1] !== remote) add('error', shown, `defines remote '${header[1]}', but the file and image.yaml say '${remote}'`, `use [remote "${remote}"] in ${shown}`);
  const get = (k: string) => new RegExp(`^\\s*${k}\\s*=\\s*(.*?)\\s*$`, 'm').exec(text)?.[1];
  const url = get('url');
  if (!url) add('error', shown, 'no url=', `add url=https://… (where your OSTree repo is published) to ${shown}`);
  const verify = get('gpg-verify');
  if (verify === undefined || /^(true|1|yes)$/i.test(verify)) {
    const keypath = get('gpgkeypath');
    if (!keypath) add('warning', shown, 'gpg-verify is on but no gpgkeypath= is set (ostree then needs the key imported into the repo)', `ship the key in the overlay and add gpgkeypath=/etc/pki/rpm-gpg/KEY to ${shown}`);
    else
      for (const k of keypath.split(/[;,]/).map((x) => x.trim()).filter(Boolean))
        if (!existsSync(join(overlayRoot, k.replace(/^\/+/, ''))) && !existsSync(join(overlayRoot, 'usr', k.replace(/^\/+/, ''))))
          add('warning', shown, `gpgkeypath ${k} is not shipped in this overlay (fine only if a package ships it)`, `copy the public key to ${k} inside the overlay`);
  } else if (/^(false|0|no)$/i.test(verify))
    add('warning', shown, 'gpg-verify=false: machines will accept unsigned updates', `sign commits and ship the key: coreforge config new … --gpg-key FILE, or set gpg-verify=true with gpgkeypath=`);
}
