import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { CoreforgeError, UsageError } from '../../errors.js';
import { Variant } from '../../gvariant/index.js';
import { MutableTree } from '../../ostree/commit/mtree.js';
import { writeCommit } from '../../ostree/commit/write-commit.js';
import { DirMeta, S_IFDIR } from '../../ostree/objects/dirmeta.js';
import { ObjectType } from '../../ostree/objects/types.js';
import type { Repo } from '../../ostree/repo/repo.js';
import { Transaction } from '../../ostree/repo/transaction.js';
import { dictInGhashOrder } from '../../ostree/summary.js';
import { dictGet, formatValue, parseVariantText, type VarDict } from '../../gvariant/index.js';
import { bswap64 } from '../../ostree/objects/endian.js';
import { parseSummary, regenerateSummary } from '../../ostree/summary.js';
import { signSummary } from '../../ostree/sign/index.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

function isoDate(ts: bigint): string {
  return new Date(Number(ts) * 1000).toISOString().replace(/\.\d{3}Z$/, '+00');
}

export const summaryVerb: OstreeVerb = {
  name: 'summary',
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      {
        ...REPO_OPT,
        update: { kind: 'boolean', short: 'u', help: 'Update the summary' },
        view: { kind: 'boolean', short: 'v', help: 'View the local summary file' },
        raw: { kind: 'boolean', help: 'View the raw bytes of the summary file' },
        'add-metadata': { kind: 'strings', short: 'm', arg: 'KEY=VALUE', help: 'Additional metadata field to add to the summary' },
        'gpg-sign': { kind: 'strings', arg: 'KEY-ID', help: 'GPG Key ID to sign the summary with' },
        'gpg-homedir': { kind: 'string', arg: 'HOMEDIR', help: 'GPG Homedir to use when looking for keyrings' },
        sign: { kind: 'strings', arg: 'KEY', help: 'Sign the summary with this (base64 ed25519) secret key' },
        'sign-type': { kind: 'string', arg: 'NAME', help: 'Signature type to use (ed25519)' },
      },
      'summary [OPTION…]',
      ctx,
    );
    if (!p) return 0;
    const repo = await openRepo(p.opts.repo, ctx);
    if (p.opts.update) {
      const extra: VarDict = p.opts['add-metadata'].map((kv) => {
        const eq = kv.indexOf('=');
        if (eq < 0) throw new UsageError(`Missing '=' in KEY=VALUE metadata '${kv}'`);
        const text = kv.slice(eq + 1);
        try {
          return [kv.slice(0, eq), parseVariantText(text)];
        } catch (e) {
          throw new CoreforgeError('EINVAL', `Error parsing variant ‘${text}’: ${(e as Error).message}`);
        }
      });
      if (repo.collectionId) await writeMetadataCommit(repo, repo.collectionId, extra);
      await regenerateSummary(repo, { additionalMetadata: extra });
      if (p.opts['gpg-sign'].length > 0 || p.opts.sign.length > 0) {
        const homedir = p.opts['gpg-homedir'];
        await signSummary(repo, { gpg: p.opts['gpg-sign'].map((keyId) => ({ keyId, ...(homedir ? { homedir } : {}) })), ed25519: p.opts.sign });
      }
      if (!repo.config.getRaw('core', 'indexed-deltas')) {
        repo.config.setRaw('core', 'indexed-deltas', 'true');
        await repo.writeConfig();
      }
      return 0;
    }
    if (p.opts.view || p.opts.raw) {
      const bytes = new Uint8Array(await fsp.readFile(join(repo.path, 'summary')));
      const s = parseSummary(bytes);
      if (p.opts.raw) {
        const { parseType, deserialize } = await import('../../gvariant/index.js');
        const t = parseType('(a(s(taya{sv}))a{sv})');
        ctx.stdout.write(formatValue(t, deserialize(t, bytes)) + '\n');
        return 0;
      }
      let out = '';
      for (const r of s.refs) {
        out += `* ${r.name}\n    Latest Commit (${r.commitSize} bytes):\n      ${r.checksum}\n`;
        const ver = dictGet(r.metadata, 'ostree.commit.version');
        if (ver) out += `    Version (ostree.commit.version): ${ver.value as string}\n`;
        const ts = dictGet(r.metadata, 'ostree.commit.timestamp');
        if (ts) out += `    Timestamp (ostree.commit.timestamp): ${isoDate(bswap64(ts.value as bigint))}\n`;
        out += '\n';
      }
      for (const [k, v] of s.metadata) {
        if (k === 'ostree.summary.mode') out += `Repository Mode (ostree.summary.mode): ${v.value as string}\n`;
        else if (k === 'ostree.summary.last-modified') out += `Last-Modified (ostree.summary.last-modified): ${isoDate(bswap64(v.value as bigint))}\n`;
        else if (k === 'ostree.summary.tombstone-commits') out += `Has Tombstone Commits (ostree.summary.tombstone-commits): ${v.value ? 'Yes' : 'No'}\n`;
        else out += `${k}: ${formatValue(v.type, v.value, false)}\n`;
      }
      ctx.stdout.write(out);
      return 0;
    }
    throw new UsageError('No option specified; use -u to update summary');
  },
};

/** OSTREE_REPO_METADATA_REF: with a collection ID, each summary update also commits its metadata here. */
const METADATA_REF = 'ostree-metadata';

/** As ot-builtin-summary.c: an empty-tree commit carrying the summary metadata and bindings, on top of the previous one. */
async function writeMetadataCommit(repo: Repo, collectionId: string, extra: VarDict): Promise<void> {
  const parent = await repo.resolveRev(METADATA_REF, true);
  const meta: VarDict = extra.filter(([k]) => k !== 'ostree.collection-binding' && k !== 'ostree.ref-binding');
  meta.push(['ostree.collection-binding', new Variant('s', collectionId)], ['ostree.ref-binding', new Variant('as', [METADATA_REF])]);
  const tx = await Transaction.begin(repo);
  try {
    const root = new MutableTree();
    root.setMeta(await tx.writeMetadata(ObjectType.DirMeta, new DirMeta(0, 0, S_IFDIR | 0o755, []).serialize()));
    const csum = await writeCommit(tx, root, { parent, metadata: dictInGhashOrder(dedupeLast(meta)) });
    tx.setRef(METADATA_REF, csum);
    await tx.commit();
  } catch (e) {
    await tx.abort();
    throw e;
  }
}

/** A GVariantDict keeps the last value given for a key. */
function dedupeLast(d: VarDict): VarDict {
  const m = new Map<string, VarDict[number][1]>();
  for (const [k, v] of d) m.set(k, v);
  return [...m.entries()];
}
