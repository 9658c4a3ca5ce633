export { resolve, resolvePackages, ResolveError, type ResolveRequest, type ResolveResult, type Lock, type LockEntry } from './resolve.js';
export { Pool, archScores } from './pool.js';
export { Solver, depToString, parseSpecDep, type RuleInfo, type SolveJob } from './solver.js';
export { Sat } from './sat.js';
export { parseRich, isRich, richToString, type RichDep } from './rich.js';
