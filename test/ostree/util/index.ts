export { Prng, seedFromEnv } from './prng.js';
export { generateTree, xattrsSupported, type TreeOptions, type TreeStats } from './tree.js';
export { run, runOk, ostree, coreforge, start, hasProgram, tempDir, repoRoot, coreforgeBin } from './run.js';
