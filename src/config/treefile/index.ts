export { loadTreefile, mergeValue, INCLUDE_MAXDEPTH, type LoadTreefileOptions } from './load.js';
export { KEYS, LEGACY, type MergeClass, type KeySpec } from './schema.js';
export { splitPackages, sortedSet } from './packages.js';
export { evaluateCondition, substitute, type VarValue } from './conditions.js';
export { treefileChecksum } from './checksum.js';
export { loadKickstart, parseKickstartText, type KickstartPackages } from './kickstart.js';
export type * from './types.js';
