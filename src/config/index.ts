/** The config repository model: treefile engine, .repo files, lockfiles, image.yaml, overlays, live/, platforms. */
export * from './treefile/index.js';
export { ConfigError } from './errors.js';
export { SourceDoc, keyName, formatOf, type KeyPath } from './source.js';
export { parseRepoFile, parseIni, readRepoDir, resolveRepos, resolveGpgKey, substituteRepoVars, type RepoConfig, type RepoVars, type RepoDirEntry, type ResolvedRepos } from './repofile.js';
export { parseLockfile, mergeLockfiles, lockfilePaths, loadLockfiles, splitEvra, formatLockfile, type Lockfile, type LockedPackage, type LockfileMetadata, type LockfileInputPackage } from './lockfile.js';
export { loadImageYaml, IMAGE_DEFAULTS, type ImageConfig, type LoadedImage } from './image.js';
export { listOverlays, parseStatOverride, listTree, type Overlay, type StatOverride } from './overlays.js';
export { loadLive, type LiveDir } from './live.js';
export { loadPlatforms, type Platforms, type PlatformConsole } from './platforms.js';
export { ConfigRepo, manifestPath, repoVarsOf, type ComposeRepo } from './configrepo.js';
export { resolveConfigDir, initBuildDir, insideGitWorkTree, CONFIG_ENV, type InitOptions } from './builddir.js';
export { hostBasearch, BASEARCHES } from './arch.js';
export { newConfig, gpgcheckOffUnlessShipped, type NewConfigOptions, type NewConfigResult } from './scaffold.js';
export { checkConfig, type Finding } from './check.js';
