import type { OstreeVerb } from './verb.js';

/** Every `coreforge ostree` verb, in the order --help lists them. */
export const verbs: OstreeVerb[] = [];
