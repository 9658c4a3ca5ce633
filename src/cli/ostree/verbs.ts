import type { OstreeVerb } from './verb.js';
import { adminVerb } from './admin.js';
import { catVerb } from './cat.js';
import { checkoutVerb } from './checkout.js';
import { checksumVerb } from './checksum.js';
import { commitVerb } from './commit.js';
import { configVerb } from './config.js';
import { diffVerb } from './diff.js';
import { exportVerb } from './export.js';
import { fsckVerb } from './fsck.js';
import { gpgSignVerb } from './gpg-sign.js';
import { signVerb } from './sign.js';
import { initVerb } from './init.js';
import { lsVerb } from './ls.js';
import { pruneVerb } from './prune.js';
import { pullVerb } from './pull.js';
import { pullLocalVerb } from './pull-local.js';
import { refsVerb } from './refs.js';
import { remoteVerb } from './remote.js';
import { resetVerb } from './reset.js';
import { revParseVerb } from './rev-parse.js';
import { logVerb, showVerb } from './show.js';
import { summaryVerb } from './summary.js';
import { staticDeltaVerb } from './static-delta.js';

/** Every `coreforge ostree` verb, in the order --help lists them. */
export const verbs: OstreeVerb[] = [
  adminVerb,
  catVerb,
  checkoutVerb,
  checksumVerb,
  commitVerb,
  configVerb,
  diffVerb,
  exportVerb,
  fsckVerb,
  gpgSignVerb,
  initVerb,
  logVerb,
  lsVerb,
  pruneVerb,
  pullVerb,
  pullLocalVerb,
  refsVerb,
  remoteVerb,
  resetVerb,
  revParseVerb,
  showVerb,
  signVerb,
  staticDeltaVerb,
  summaryVerb,
];
