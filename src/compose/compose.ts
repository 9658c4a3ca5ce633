/**
 * `coreforge build`: rpm-ostree compose tree + cosa build, step by step as
 * src/compose/README.md lays out. Each step is its own module; this file only
 * sequences them and owns the build's scratch directory.
 */
import { existsSync, lstatSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ConfigRepo } from '../config/configrepo.js';
import { fetchForBuild } from '../fetch/fetch.js';
import { readRpmHeaders } from '../rpm/file/index.js';
import { Repo } from '../ostree/repo/repo.js';
import { Variant, type VarDict } from '../gvariant/index.js';
import { defaultTimestamp } from '../ostree/commit/write-commit.js';
import { ObjectType } from '../ostree/objects/types.js';
import { mapLimit, randomName } from '../util/fs.js';
import { CoreforgeError, InvalidInputError, UnsupportedError } from '../errors.js';
import type { ComposePackage, ComposeProgress, DevinoCache, FileMetaMap } from './types.js';
import { sandboxAvailable, withRootOverlay } from './sandbox.js';
import { runScriptlets } from './scriptlets.js';
import { PkgCache } from './pkgcache.js';
import { assembleRoot, type FlatPackage } from './assemble.js';
import type { Checksum } from '../ostree/checksum.js';
import { keepRoot, takePreviousRoot } from './previous-root.js';
import { commitRootfs } from './commit-rootfs.js';
import { applyOverlays, composeLayers } from './overlays.js';
import { postprocess, removeFromPackages } from './postprocess.js';
import { finalizeRootfs, prepareRootfs } from './conventions.js';
import { checkPasswd, preparePasswd, readPreviousPwGrp, splitPasswd, type PreviousPwGrp } from './passwd.js';
import { mergeFileMetaMaps, resolveRpmOwners } from './owners.js';
import { lockedModesMeta, unlockTree } from './rootless.js';
import { createRpmdb, installRpmdb } from './rpmdb.js';
import { labelTree, loadSelinuxPolicy } from './selinux.js';
import { buildCommitMetadata, pkglistVariant } from './commit-metadata.js';
import { computeInputHash, inputPackages } from './inputhash.js';
import { chooseVersion, buildDate } from './version.js';
import { previousBuild, readBuildsJson, writeBuild } from './builds.js';
import { formatPkgDiff, pkgdiffSummary } from './pkgdiff.js';
import { BUILD_REPO_DEPTH, pruneBuildRepo, pruneBuilds } from './prune.js';

export interface BuildOptions {
  configDir: string;
  buildDir: string;
  arch: string;
  /** Build even when the inputs are unchanged (cosa build --force). */
  force?: boolean;
  /** Use this version instead of the automatic one. */
  version?: string;
  /** Keep every previous build (cosa build --skip-prune); otherwise the newest 3 untagged builds stay. */
  skipPrune?: boolean;
  env?: NodeJS.ProcessEnv;
  onProgress?: (ev: ComposeProgress) => void;
  /** Output of scriptlets and postprocess scripts, as it comes. */
  onOutput?: (label: string, text: string) => void;
}

export interface BuildResult {
  status: 'built' | 'unchanged';
  buildId?: string;
  version?: string;
  commit?: string;
  ref: string;
  inputhash: string;
  /** builds/$id/$arch */
  dir?: string;
  /** One line: "3 upgraded, 1 added". */
  pkgdiff?: string;
  /** `rpm-ostree db diff`-style listing against the previous build. */
  pkgdiffText?: string;
  /** Packages in the build; how many were unpacked now vs. taken from the pkgcache. */
  packages?: { total: number; unpacked: number; cached: number };
  /** Builds pruned afterwards (cosa build prunes all but the newest 3). */
  pruned?: string[];
}

export async function readComposePackages(paths: Map<string, string>): Promise<ComposePackage[]> {
  const sorted = [...paths].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // a few at a time: each is several small reads
  return mapLimit(sorted, 8, async ([nevra, rpmPath]) => {
    const headers = await readRpmHeaders(rpmPath, { label: nevra });
    const header = headers.header;
    return { nevra: header.nevra, name: header.name, evr: header.evr, arch: header.arch, rpmPath, header, headers };
  });
}

/**
 * The build's working area under tmp/ — removed when the build ends, whatever happens; `keep` may first move
 * what the next build reuses out of it.
 */
export async function withScratch<T>(buildDir: string, fn: (dir: string) => Promise<T>, keep?: (dir: string) => void): Promise<T> {
  const dir = join(buildDir, 'tmp', randomName('compose'));
  await fsp.mkdir(dir, { recursive: true });
  try {
    return await fn(dir);
  } finally {
    try {
      keep?.(dir);
    } catch {
      // only an optimisation: the next build assembles from scratch
    }
    await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The build repo (cosa's tmp/repo), archive mode. */
export async function openBuildRepo(buildDir: string): Promise<Repo> {
  const path = join(buildDir, 'tmp', 'repo');
  if (existsSync(join(path, 'config'))) return Repo.open(path);
  await fsp.mkdir(join(buildDir, 'tmp'), { recursive: true });
  return Repo.create(path, 'archive');
}

export function sourceDateEpoch(env: NodeJS.ProcessEnv): number | undefined {
  return env.SOURCE_DATE_EPOCH !== undefined ? defaultTimestamp(env) : undefined;
}



/** A postprocess script (or dracut) that failed; its output is kept for the message. */
export class PostprocessScriptError extends CoreforgeError {
  constructor(label: string, why: string, output: string) {
    const tail = output.trimEnd().split('\n').slice(-30).join('\n');
    super('POSTPROCESS_FAILED', `${label} failed (${why})${tail ? `; output:\n${tail}` : ''}`);
  }
}

/**
 * The whole build. Stops early when the inputs are unchanged (cosa's
 * behaviour) unless `force`. Nothing under builds/ changes until the commit
 * and the OSTree tar exist; builds.json moves last.
 */
export async function build(o: BuildOptions): Promise<BuildResult> {
  const env = o.env ?? process.env;
  const progress = o.onProgress ?? (() => {});
  const config = ConfigRepo.load(o.configDir, { arch: o.arch });
  const tf = config.treefile;
  const ref = tf.ref;
  if (!ref) throw new InvalidInputError(`${config.manifest.path}: ref: missing (the manifest must name the ref to commit to)`);

  const avail = sandboxAvailable();
  if (!avail.ok) throw new UnsupportedError(`coreforge build runs scriptlets in a sandbox, which is not available here: ${avail.reason ?? 'unknown reason'}`);

  progress({ phase: 'resolve' });
  const fetched = await fetchForBuild({
    configDir: o.configDir,
    buildDir: o.buildDir,
    arch: o.arch,
    onProgress: (ev) => (ev.phase === 'download' ? progress({ phase: 'download', ...(ev.done !== undefined ? { done: ev.done } : {}), ...(ev.total !== undefined ? { total: ev.total } : {}), ...(ev.name ? { item: ev.name } : {}) }) : progress({ phase: 'resolve' })),
  });
  const pkgs = await readComposePackages(fetched.paths);

  const prev = await previousBuild(o.buildDir, o.arch);
  const layers = composeLayers(config);
  const inputhash = await computeInputHash({
    treefile: config.manifest,
    packages: inputPackages(pkgs),
    overlays: layers.map((l) => ({ name: l.overlay.name, realPath: l.overlay.realPath })),
  });
  if (!o.force && prev && prev.inputhash === inputhash) return { status: 'unchanged', ref, inputhash };

  const repo = await openBuildRepo(o.buildDir);
  const now = buildDate(env);
  const timestamp = Math.floor(now.getTime() / 1000);
  const existing = (await readBuildsJson(o.buildDir))?.builds.map((b) => b.id) ?? [];
  const version = chooseVersion({
    ...(o.version ? { override: o.version } : {}),
    ...(tf['automatic-version-prefix'] !== undefined ? { prefix: tf['automatic-version-prefix'] } : {}),
    ...(tf['automatic-version-suffix'] !== undefined ? { suffix: tf['automatic-version-suffix'] } : {}),
    ...(tf.releasever !== undefined ? { releasever: tf.releasever } : {}),
    ...(prev?.version ? { previous: prev.version } : {}),
    existing,
    now,
  });
  const epoch = sourceDateEpoch(env);
  const parent = prev && (await repo.hasObject(ObjectType.Commit, prev.commit)) ? prev.commit : null;
  const previousPw: PreviousPwGrp | null = parent ? await readPreviousPwGrp(repo, parent) : null;

  let pkgStats: BuildResult['packages'];
  let devino: DevinoCache = new Map();
  let plan: Map<Checksum, FlatPackage> = new Map();
  // what the new commit reaches: the tar writes it without walking the commit, the prune starts from it
  const objects = new Set<string>();
  // held while the unpack stores new objects in the build repo ahead of the commit that will reference them
  const unlockRepo = await repo.lock('sh');
  const commit = await withScratch(o.buildDir, async (work) => {
    const rootfs = join(work, 'rootfs');
    const scratch = join(work, 'scratch');
    await fsp.mkdir(scratch);

    progress({ phase: 'unpack', done: 0, total: pkgs.length });
    const cache = await PkgCache.open(join(o.buildDir, 'cache', 'pkgcache-repo'));
    // new content goes into the build repo while it is unpacked (a core is free then); the commit finds it there
    const prefill = { objectsDir: join(repo.path, 'objects'), tmpDir: join(repo.path, 'tmp'), level: repo.zlibLevel };
    const cached = await cache.importPackages(pkgs, { documentation: tf.documentation ?? true, onProgress: progress, prefill });
    pkgStats = { total: pkgs.length, unpacked: cache.lastStats?.imported ?? 0, cached: cache.lastStats?.cached ?? 0 };

    // rpm --justdb reads only the RPM files: it writes the database on the other core while the tree is built
    const rpmdbRoot = join(work, 'rpmdb');
    const rpmdbOpts = { ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}), ...(tf.rpmdb ? { backend: tf.rpmdb } : {}) };
    const rpmdbReady = fsp.mkdir(rpmdbRoot).then(() => createRpmdb(rpmdbRoot, pkgs, rpmdbOpts));
    rpmdbReady.catch(() => {});
    try {
      progress({ phase: 'assemble' });
      // the previous build's root is recycled, and this one's kept for the next (previous-root.ts)
      ({ devino, plan } = await assembleRoot(cache, cached, rootfs, { onProgress: progress, reuse: takePreviousRoot(o.buildDir, work) }));
      const meta: FileMetaMap = new Map();
      const locked = await unlockTree(rootfs);
      await applyOverlays(rootfs, layers, meta);
      await removeFromPackages(rootfs, tf['remove-from-packages'] ?? [], pkgs, { meta });
      await preparePasswd(rootfs, previousPw, config.manifest);

      progress({ phase: 'scriptlets' });
      await runScriptlets(rootfs, pkgs, { scratchDir: scratch, onProgress: progress, ...(o.onOutput ? { onOutput: o.onOutput } : {}) });
      // owners by name now that %pre created the users (rpm-ostree's apply_rpmfi_overrides)
      const owners = await resolveRpmOwners(rootfs, pkgs, { includeVar: true });

      progress({ phase: 'postprocess' });
      // postprocess scripts and dracut: one sandbox session each, over whichever root the step works on
      const runIn = (root: string) => async (scriptPath: string, label: string): Promise<void> => {
        await withRootOverlay(root, scratch, async (s) => {
          const r = await s.run({ argv: [scriptPath], label, ...(o.onOutput ? { onOutput: (t: string) => o.onOutput!(label, t) } : {}) });
          if (r.code !== 0 || r.signal) throw new PostprocessScriptError(label, r.signal ? `killed by ${r.signal}` : `exit status ${r.code}`, r.output);
        });
      };
      await postprocess(rootfs, {
        treefile: config.manifest,
        version,
        runScript: runIn(rootfs),
        meta,
        hooks: { rpmdb: async (root) => (await rpmdbReady, await installRpmdb(root, rpmdbRoot)) },
      });
      const finalRoot = join(work, 'final');
      await fsp.mkdir(finalRoot, { mode: 0o755 });
      await prepareRootfs(rootfs, finalRoot, tf);
      const lockedBefore: FileMetaMap = new Map();
      await lockedModesMeta(finalRoot, locked, lockedBefore);
      const kernel = await finalizeRootfs(finalRoot, {
        treefile: config.manifest,
        meta: mergeFileMetaMaps(owners, lockedBefore, meta),
        kernel: { runScript: runIn(finalRoot) },
        hooks: { passwdMigrate: (root) => splitPasswd(root, config.manifest) },
      });
      await checkPasswd(finalRoot, config.manifest, previousPw, { owners });

      let labels: FileMetaMap = new Map();
      if ((tf.selinux ?? true) && (await loadSelinuxPolicy(finalRoot))) labels = await labelTree(finalRoot, { ...(tf['selinux-label-version'] !== undefined ? { labelVersion: tf['selinux-label-version'] } : {}) });

      // files the postprocess steps wrote with owner-unreadable modes (shadow) must still be read by the commit
      await unlockTree(finalRoot, locked, (rel) => rel);
      const lockedNow: FileMetaMap = new Map();
      await lockedModesMeta(finalRoot, locked, lockedNow);

      progress({ phase: 'commit' });
      const metadata = buildCommitMetadata(tf['add-commit-metadata'], [
        ['version', new Variant('s', version)],
        ['rpmostree.inputhash', new Variant('s', inputhash)],
        ['rpmostree.rpmdb.pkglist', pkglistVariant(pkgs)],
        ...(kernel ? ([['ostree.bootable', new Variant('b', true)], ['ostree.linux', new Variant('s', kernel.kver)]] as VarDict) : []),
      ]);
      return commitRootfs(repo, finalRoot, { devino, meta: mergeFileMetaMaps(lockedNow, owners, meta, labels), branch: ref, parent, metadata, timestamp, onProgress: progress, objects });
    } finally {
      // never leave rpm writing into a work dir that is being removed
      await rpmdbReady.catch(() => undefined);
    }
  }, (work) => {
    const root = ['final', 'rootfs'].map((n) => join(work, n)).find((p) => lstatSync(join(p, 'usr'), { throwIfNoEntry: false })?.isDirectory());
    if (root) keepRoot(o.buildDir, work, root, devino, plan);
  }).finally(unlockRepo);
  progress({ phase: 'artifacts' });
  const written = await writeBuild({
    buildDir: o.buildDir,
    arch: o.arch,
    id: version,
    name: buildName(config),
    repo,
    commit,
    ref,
    inputhash,
    previous: prev,
    now,
    ...(objects.size > 0 ? { reachable: objects } : {}),
  });
  // cosa build: tmp/repo keeps each ref's commit and two ancestors (the tar walked the new commit already);
  // builds/ the newest 3 untagged builds (unless --skip-prune)
  await pruneBuildRepo(repo, BUILD_REPO_DEPTH, written.reachable);
  const pruned = o.skipPrune ? [] : (await pruneBuilds(o.buildDir, { now })).pruned;
  return {
    status: 'built',
    buildId: written.id,
    version,
    commit,
    ref,
    inputhash,
    dir: written.dir,
    ...(pkgStats ? { packages: pkgStats } : {}),
    ...(written.pkgdiff ? { pkgdiff: pkgdiffSummary(written.pkgdiff), pkgdiffText: formatPkgDiff(written.pkgdiff) } : {}),
    ...(pruned.length > 0 ? { pruned } : {}),
  };
}

/** cosa's `name` (it names the artifacts): the treefile's `rojig.name` as cosa read it, else `metadata.name`, else the ref's first component. */
function buildName(config: ConfigRepo): string {
  const rojig = config.treefile.rojig as { name?: unknown } | undefined;
  if (rojig && typeof rojig.name === 'string' && rojig.name) return rojig.name;
  const m = config.treefile.metadata as Record<string, unknown> | undefined;
  if (m && typeof m.name === 'string' && m.name) return m.name;
  return config.treefile.ref?.split('/')[0] ?? 'coreforge';
}
