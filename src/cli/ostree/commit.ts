import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidInputError, UnsupportedError, UsageError } from '../../errors.js';
import { parseVariantText, Variant, type VarDict } from '../../gvariant/index.js';
import { assertChecksum } from '../../ostree/checksum.js';
import { MutableTree } from '../../ostree/commit/mtree.js';
import { writeDirectoryToMtree, type CommitModifier } from '../../ostree/commit/write-dir.js';
import { defaultTimestamp, writeCommit } from '../../ostree/commit/write-commit.js';
import { commitMetadataForBootable } from '../../ostree/commit/bootable.js';
import { Transaction } from '../../ostree/repo/transaction.js';
import { parseRefspec } from '../../ostree/repo/refs.js';
import { dictInGhashOrder } from '../../ostree/summary.js';
import { Commit } from '../../ostree/objects/commit.js';
import { sha256Hex } from '../../ostree/checksum.js';
import { appendSignature, ed25519Sign, ED25519_KEY, gpgDetachSign } from '../../ostree/sign/index.js';
import { REPO_OPT, openRepo, parseDateTime, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

const SPECS = {
  ...REPO_OPT,
  branch: { kind: 'string', short: 'b', arg: 'BRANCH', help: 'Branch' },
  subject: { kind: 'string', short: 's', arg: 'SUBJECT', help: 'One line subject' },
  body: { kind: 'string', short: 'm', arg: 'BODY', help: 'Full description' },
  'body-file': { kind: 'string', short: 'F', arg: 'FILE', help: 'Commit message from a file' },
  parent: { kind: 'string', arg: 'CHECKSUM', help: "Parent commit checksum, or 'none'" },
  tree: { kind: 'strings', arg: 'dir=PATH or ref=COMMIT', help: 'Overlay the given argument as a tree' },
  'add-metadata-string': { kind: 'strings', arg: 'KEY=VALUE', help: 'Add a key/value pair to metadata' },
  'add-metadata': { kind: 'strings', arg: 'KEY=VALUE', help: 'Add a key/value pair (GVariant text) to metadata' },
  'keep-metadata': { kind: 'strings', arg: 'KEY', help: 'Keep metadata KEY from the parent' },
  'add-detached-metadata-string': { kind: 'strings', arg: 'KEY=VALUE', help: 'Add a key/value pair to detached metadata' },
  'owner-uid': { kind: 'string', arg: 'UID', help: 'Set file ownership user id' },
  'owner-gid': { kind: 'string', arg: 'GID', help: 'Set file ownership group id' },
  'canonical-permissions': { kind: 'boolean', help: 'Canonicalize permissions (uid/gid 0, 0755/0644)' },
  'mode-ro-executables': { kind: 'boolean', help: 'Ensure executable files are not writable' },
  base: { kind: 'string', arg: 'REV', help: 'Start from the given commit as a base (no modifiers apply)' },
  editor: { kind: 'boolean', short: 'e', help: 'Use an editor to write the commit message' },
  'devino-canonical': { kind: 'boolean', short: 'I', help: 'Assume hardlinked objects are unmodified (accepted; no effect)' },
  'selinux-policy': { kind: 'string', arg: 'PATH', help: 'Set SELinux labels based on policy in root filesystem PATH' },
  'selinux-policy-from-base': { kind: 'boolean', short: 'P', help: 'Set SELinux labels based on first --tree argument' },
  'no-xattrs': { kind: 'boolean', help: 'Do not import extended attributes' },
  'statoverride': { kind: 'string', arg: 'PATH', help: 'File of mode modifications' },
  'skip-list': { kind: 'string', arg: 'PATH', help: 'File of paths to skip' },
  'skip-if-unchanged': { kind: 'boolean', help: "Don't commit if the root is unchanged" },
  timestamp: { kind: 'string', arg: 'TIMESTAMP', help: 'Override the timestamp of the commit' },
  orphan: { kind: 'boolean', help: 'Create a commit without writing a ref' },
  'no-bindings': { kind: 'boolean', help: 'Do not add ref binding metadata' },
  'bind-ref': { kind: 'strings', arg: 'REF', help: 'Add a ref to the ref binding metadata' },
  bootable: { kind: 'boolean', help: 'Add ostree.bootable and ostree.linux metadata' },
  consume: { kind: 'boolean', help: 'Delete the input tree after committing' },
  'link-checkout-speedup': { kind: 'boolean', help: 'Accepted for compatibility' },
  'generate-sizes': { kind: 'boolean', help: 'Accepted for compatibility' },
  fsync: { kind: 'string', arg: 'POLICY', help: 'Whether to fsync (true/false)' },
  'disable-fsync': { kind: 'boolean', help: 'Do not fsync' },
  'table-output': { kind: 'boolean', help: 'Print summary statistics' },
  'gpg-sign': { kind: 'strings', arg: 'KEY-ID', help: 'GPG Key ID to sign the commit with' },
  'gpg-homedir': { kind: 'string', arg: 'HOMEDIR', help: 'GPG Homedir to use when looking for keyrings' },
  sign: { kind: 'strings', arg: 'KEY', help: 'Sign the commit with this (base64 ed25519) secret key' },
  'sign-type': { kind: 'string', arg: 'NAME', help: 'Signature type to use (ed25519)' },
} as const;

export const commitVerb: OstreeVerb = {
  name: 'commit',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, SPECS, 'commit [OPTION…] [PATH]', ctx);
    if (!p) return 0;
    const o = p.opts;
    if (!o.branch && !o.orphan) throw new UsageError('A branch must be specified with --branch, or use --orphan');
    // refuse rather than silently produce an unsigned or unlabeled commit
    if ((o['sign-type'] ?? 'ed25519') !== 'ed25519') throw new UnsupportedError(`Requested signature type is not implemented: ${o['sign-type']}`);
    if (o['selinux-policy'] || o['selinux-policy-from-base']) throw new UnsupportedError('SELinux labeling is not supported by coreforge ostree yet');
    if (o.editor) throw new UnsupportedError('--editor is not supported; use -s/-m or -F');
    const repo = await openRepo(o.repo, ctx);
    if (o['disable-fsync'] || o.fsync === 'false') repo.config.setRaw('core', 'fsync', 'false');

    let parent: string | null = null;
    if (o.parent) parent = o.parent === 'none' ? null : assertChecksum(o.parent, 'parent');
    else if (o.branch && !o.orphan) parent = await repo.resolveRev(o.branch, true);

    const metadata: VarDict = [];
    for (const kv of o['add-metadata-string']) {
      const [k, v] = splitKv(kv);
      metadata.push([k, new Variant('s', v)]);
    }
    for (const kv of o['add-metadata']) {
      const [k, v] = splitKv(kv);
      metadata.push([k, parseVariantText(v)]);
    }
    if (o['keep-metadata'].length > 0) {
      if (!parent) throw new UsageError('Either --branch or --parent must be specified when using --keep-metadata');
      const pc = await repo.loadCommit(parent);
      for (const k of o['keep-metadata']) {
        const v = pc.meta(k);
        if (!v) throw new InvalidInputError(`Missing metadata key '${k}' from commit '${parent}'`);
        metadata.push([k, v]);
      }
    }
    const detached: VarDict = o['add-detached-metadata-string'].map((kv) => {
      const [k, v] = splitKv(kv);
      return [k, new Variant('s', v)];
    });

    const mod: CommitModifier = {};
    if (o['owner-uid'] !== undefined) mod.ownerUid = parseIntOpt(o['owner-uid'], '--owner-uid');
    if (o['owner-gid'] !== undefined) mod.ownerGid = parseIntOpt(o['owner-gid'], '--owner-gid');
    if (o['canonical-permissions'] && (mod.ownerUid ?? 0) > 0) throw new InvalidInputError('Cannot specify both --canonical-permissions and non-zero --owner-uid');
    if (o['canonical-permissions'] && (mod.ownerGid ?? 0) > 0) throw new InvalidInputError('Cannot specify both --canonical-permissions and non-zero --owner-gid');
    if (o['canonical-permissions'] || repo.mode === 'bare-user-only') mod.canonicalPermissions = true;
    if (o['no-xattrs'] || repo.mode === 'bare-user-only') mod.skipXattrs = true;
    if (o['mode-ro-executables']) mod.roExecutables = true;
    if (o.consume) mod.consume = true;
    if (o.statoverride) {
      mod.modeAdds = new Map();
      mod.modeOverrides = new Map();
      for (const line of (await fsp.readFile(resolve(ctx.cwd, o.statoverride), 'utf8')).split('\n')) {
        if (!line) continue;
        const sp = line.indexOf(' ');
        if (sp < 0) throw new InvalidInputError('Malformed statoverride file (no space found)');
        const path = line.slice(sp + 1);
        if (line.startsWith('=')) mod.modeOverrides.set(path, Math.trunc(parseFloat(line.slice(1))) >>> 0);
        else mod.modeAdds.set(path, Math.trunc(parseFloat(line)) >>> 0);
      }
    }
    if (o['skip-list']) {
      mod.skipList = new Set((await fsp.readFile(resolve(ctx.cwd, o['skip-list']), 'utf8')).split('\n').filter((l) => l !== ''));
    }

    const trees = o.tree.length > 0 ? o.tree : [`dir=${p.args[0] ?? '.'}`];
    // parsed before the walk, as ostree does: a bad SOURCE_DATE_EPOCH fails fast
    const timestamp = o.timestamp ? parseDateTime(o.timestamp) : defaultTimestamp(ctx.env);
    const tx = await Transaction.begin(repo);
    try {
      let mtree = new MutableTree();
      if (o.base) {
        const bc = await repo.loadCommit((await repo.resolveRev(o.base))!);
        mtree = MutableTree.fromTree(repo, bc.rootTree, bc.rootMeta);
      }
      let root: MutableTree = mtree;
      for (const spec of trees) {
        const eq = spec.indexOf('=');
        if (eq < 0) throw new UsageError(`Missing type in tree specification '${spec}'`);
        const kind = spec.slice(0, eq);
        const arg = spec.slice(eq + 1);
        if (kind === 'dir') {
          await writeDirectoryToMtree(tx, resolve(ctx.cwd, arg), root, mod);
        } else if (kind === 'ref') {
          const c = await repo.loadCommit((await repo.resolveRev(arg))!);
          if (root === mtree && !mtree.metaChecksum && (await mtree.files()).size === 0 && (await mtree.dirs()).size === 0) {
            root = MutableTree.fromTree(repo, c.rootTree, c.rootMeta);
          } else {
            await mergeTree(root, MutableTree.fromTree(repo, c.rootTree, c.rootMeta));
          }
        } else if (kind === 'tar') {
          throw new UnsupportedError('This version of ostree is not compiled with libarchive support');
        } else {
          throw new UsageError(`Invalid tree type specification '${kind}'`);
        }
      }
      if (mod.modeAdds && mod.modeAdds.size > 0) {
        for (const k of mod.modeAdds.keys()) ctx.stderr.write(`Unmatched statoverride path: ${k}\n`);
        throw new InvalidInputError('Unmatched statoverride paths');
      }
      if (mod.skipList && mod.skipList.size > 0) {
        for (const k of mod.skipList) ctx.stderr.write(`Unmatched skip-list path: ${k}\n`);
        throw new InvalidInputError('Unmatched skip-list paths');
      }
      const rootTree = await root.write(tx);
      if (o['skip-if-unchanged'] && parent) {
        const pc = await repo.loadCommit(parent);
        if (pc.rootTree === rootTree && pc.rootMeta === root.metaChecksum) {
          await tx.abort();
          ctx.stdout.write(`${parent}\n`);
          return 0;
        }
      }
      if (!o['no-bindings']) {
        const refs = [...(o.branch ? [o.branch] : []), ...o['bind-ref']].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        if (refs.length > 0 || o.branch) metadata.push(['ostree.ref-binding', new Variant('as', refs)]);
        if (repo.collectionId && !metadata.some(([k]) => k === 'ostree.collection-binding')) metadata.push(['ostree.collection-binding', new Variant('s', repo.collectionId)]);
      }
      let finalMeta = metadata;
      if (o.bootable) {
        const extra = await commitMetadataForBootable(repo, root);
        // ostree builds this through a GVariantDict, so the order is GLib's hash order
        const merged = [...metadata];
        for (const [k, v] of extra) {
          const i = merged.findIndex(([x]) => x === k);
          if (i >= 0) merged[i] = [k, v];
          else merged.push([k, v]);
        }
        finalMeta = dictInGhashOrder(merged);
      }
      let body = o.body ?? '';
      if (o['body-file']) body = await fsp.readFile(resolve(ctx.cwd, o['body-file']), 'utf8');
      const csum = await writeCommit(tx, root, { parent, subject: o.subject ?? '', body, metadata: finalMeta, timestamp });
      let detachedMeta = detached.length > 0 ? detached : null;
      if (o['gpg-sign'].length > 0 || o.sign.length > 0) {
        // sign before the ref moves, so a published ref never points at an unsigned commit
        const bytes = new Commit({ timestamp, rootTree, rootMeta: root.metaChecksum!, parent, subject: o.subject ?? '', body, metadata: finalMeta }).serialize();
        if (sha256Hex(bytes) !== csum) throw new Error('internal: re-serialized commit differs from the written one');
        for (const keyId of o['gpg-sign']) detachedMeta = appendSignature(detachedMeta, 'ostree.gpgsigs', gpgDetachSign(bytes, { keyId, ...(o['gpg-homedir'] ? { homedir: o['gpg-homedir'] } : {}) }));
        for (const k of o.sign) detachedMeta = appendSignature(detachedMeta, ED25519_KEY, ed25519Sign(bytes, k));
      }
      if (detachedMeta) await tx.writeCommitMeta(csum, detachedMeta);
      if (o.branch) {
        const { remote, ref } = parseRefspec(o.branch);
        tx.setRef(ref, csum, remote);
      }
      const stats = await tx.commit();
      if (o.consume) for (const spec of trees) if (spec.startsWith('dir=')) await fsp.rm(resolve(ctx.cwd, spec.slice(4)), { recursive: true, force: true });
      if (o['table-output']) {
        ctx.stdout.write(`Commit: ${csum}\nMetadata Total: ${stats.metadataWritten}\nMetadata Written: ${stats.metadataWritten}\nContent Total: ${stats.contentWritten}\nContent Written: ${stats.contentWritten}\nContent Cache Hits: 0\nContent Bytes Written: ${stats.contentBytesWritten}\n`);
      } else ctx.stdout.write(`${csum}\n`);
      return 0;
    } catch (e) {
      await tx.abort();
      throw e;
    }
  },
};

function splitKv(s: string): [string, string] {
  const eq = s.indexOf('=');
  if (eq < 0) throw new UsageError(`Missing '=' in KEY=VALUE metadata '${s}'`);
  return [s.slice(0, eq), s.slice(eq + 1)];
}

function parseIntOpt(s: string, name: string): number {
  if (!/^-?\d+$/.test(s)) throw new UsageError(`Cannot parse integer value '${s}' for ${name}`);
  return Number(s);
}

/** Overlay `src` onto `dst` (later trees win, as with repeated --tree). */
async function mergeTree(dst: MutableTree, src: MutableTree): Promise<void> {
  if (src.metaChecksum) dst.setMeta(src.metaChecksum);
  for (const [name, csum] of await src.files()) await dst.replaceFile(name, csum);
  for (const [name, sub] of await src.dirs()) {
    const d = await dst.ensureDir(name);
    await mergeTree(d, sub);
  }
}

