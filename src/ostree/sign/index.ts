import { join } from 'node:path';
import { ObjectType } from '../objects/types.js';
import type { Checksum } from '../checksum.js';
import type { Repo } from '../repo/repo.js';
import { Transaction } from '../repo/transaction.js';
import { serializeCommitMeta, parseCommitMeta } from '../objects/commit.js';
import { readFileOrNull, writeFileAtomic } from '../../util/fs.js';
import { NotFoundError } from '../../errors.js';
import { appendSignature, gpgDetachSign, type GpgSignOptions } from './gpg.js';
import { ED25519_KEY, ed25519Sign } from './ed25519.js';

export { gpgDetachSign, appendSignature } from './gpg.js';
export { ed25519Sign, verifyEd25519, parseEd25519SecretKey, ED25519_KEY, readEd25519KeyFile } from './ed25519.js';

export interface SignWith {
  gpg?: GpgSignOptions[];
  /** base64 ed25519 secret keys */
  ed25519?: string[];
}

/** Add signatures over a commit to its detached metadata (atomically rewritten). */
export async function signCommit(repo: Repo, commit: Checksum, w: SignWith): Promise<void> {
  const bytes = await repo.readMetadata(ObjectType.Commit, commit);
  let meta = await repo.loadCommitMeta(commit);
  for (const g of w.gpg ?? []) meta = appendSignature(meta, 'ostree.gpgsigs', gpgDetachSign(bytes, g));
  for (const k of w.ed25519 ?? []) meta = appendSignature(meta, ED25519_KEY, ed25519Sign(bytes, k));
  const tx = await Transaction.begin(repo);
  try {
    await tx.writeCommitMeta(commit, meta);
    await tx.commit();
  } catch (e) {
    await tx.abort();
    throw e;
  }
}

/** Write summary.sig for the current summary (signatures over the summary file bytes). */
export async function signSummary(repo: Repo, w: SignWith): Promise<void> {
  const summary = await readFileOrNull(join(repo.path, 'summary'));
  if (!summary) throw new NotFoundError(`${repo.path} has no summary file; run summary -u first`);
  const sigPath = join(repo.path, 'summary.sig');
  const old = await readFileOrNull(sigPath);
  let meta = old ? parseCommitMeta(new Uint8Array(old), 'summary.sig') : null;
  for (const g of w.gpg ?? []) meta = appendSignature(meta, 'ostree.gpgsigs', gpgDetachSign(summary, g));
  for (const k of w.ed25519 ?? []) meta = appendSignature(meta, ED25519_KEY, ed25519Sign(summary, k));
  await writeFileAtomic(sigPath, serializeCommitMeta(meta ?? []), { tmpDir: join(repo.path, 'tmp') });
}
