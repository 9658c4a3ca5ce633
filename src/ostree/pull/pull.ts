import { promises as fsp, existsSync } from 'node:fs';
import { readEd25519KeyFile, verifyEd25519 } from '../sign/ed25519.js';
import { join } from 'node:path';
import { CorruptionError, InvalidInputError, NotFoundError } from '../../errors.js';
import { dictGet, type VarDict } from '../../gvariant/index.js';
import { fetchBuffer, fetchStream, joinUrl } from '../../net/http.js';
import { assertChecksum, sha256Hex, type Checksum } from '../checksum.js';
import { Commit, parseCommitMeta } from '../objects/commit.js';
import { FetchPool } from './fetch-pool.js';
import { fetchArchiveObject, verifyArchiveBytes } from './archive-content.js';
import { DirMeta } from '../objects/dirmeta.js';
import { DirTree } from '../objects/dirtree.js';
import { MAX_METADATA_SIZE, ObjectType, objectExtension } from '../objects/types.js';
import type { Repo } from '../repo/repo.js';
import { Transaction } from '../repo/transaction.js';
import { getRemote } from '../remotes.js';
import { parseSummary, type Summary } from '../summary.js';
import { trustedKeyrings, verifyGpgSignatures } from './gpg-verify.js';
import { applyDeltaPart, UnsupportedDeltaError } from '../deltas/apply.js';
import { deltaDir, deltaIndexPath, parseSuperblock } from '../deltas/format.js';


/** Content objects up to this size are buffered and inflated in one synchronous step (no thread-pool hop). */

export interface PullOptions {
  /** History depth below each commit (0 = just it, -1 = all). */
  depth?: number;
  /** Write refs/heads/REF instead of refs/remotes/REMOTE/REF. */
  mirror?: boolean;
  /** Fetch only the commit objects (and detached metadata). */
  commitMetadataOnly?: boolean;
  /** Never use static deltas. */
  disableStaticDeltas?: boolean;
  /** Parallel object fetches (libostree uses 8). */
  concurrency?: number;
  onProgress?: (p: PullProgress) => void;
}

export interface PullProgress {
  deltaParts: number;
  fetchedMetadata: number;
  fetchedContent: number;
  bytesTransferred: number;
  requested: number;
}

export interface PullResult extends PullProgress {
  refs: Map<string, Checksum>;
}

function isTrue(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return v === 'true' || v === '1';
}

/**
 * Pull refs from a remote over HTTP(S) or file:// (ostree pull): summary
 * (signature-checked when the remote asks for it), commits with their
 * detached metadata (GPG-verified when gpg-verify is on), then trees and
 * content, every object checked against its name before it is stored. The
 * objects become visible commit-last in one transaction; refs move after.
 */
export async function pull(repo: Repo, remoteName: string, refs: readonly string[], opts: PullOptions = {}): Promise<PullResult> {
  const remote = await getRemote(repo, remoteName);
  const baseUrl = remote.url.replace(/^(mirrorlist|metalink)=/, '');
  const contentUrl = (remote.options.get('contenturl') ?? baseUrl).replace(/^(mirrorlist|metalink)=/, '');
  const gpgVerify = isTrue(remote.options.get('gpg-verify'), true);
  const gpgVerifySummary = isTrue(remote.options.get('gpg-verify-summary'), false);
  const keyrings = () => trustedKeyrings(repo.path, remoteName, remote.options.get('gpgkeypath'));
  const signVerify = remote.options.get('sign-verify');
  const edVerify = signVerify !== undefined && signVerify !== 'false' && signVerify !== '0';
  const edVerifySummary = isTrue(remote.options.get('sign-verify-summary'), false);
  const edKeys = () => {
    const keys: string[] = [];
    const inline = remote.options.get('verification-ed25519-key');
    if (inline) keys.push(inline);
    const file = remote.options.get('verification-ed25519-file');
    if (file) keys.push(...readEd25519KeyFile(file));
    for (const f of ['/etc/ostree/trusted.ed25519', '/usr/share/ostree/trusted.ed25519']) if (existsSync(f)) keys.push(...readEd25519KeyFile(f));
    return keys;
  };
  const progress: PullProgress = { deltaParts: 0, fetchedMetadata: 0, fetchedContent: 0, bytesTransferred: 0, requested: 0 };
  const tick = () => opts.onProgress?.(progress);

  // summary and its signature
  const sig = await fetchBuffer(joinUrl(baseUrl, 'summary.sig'), { allowMissing: true, maxBytes: MAX_METADATA_SIZE });
  const sumResp = await fetchBuffer(joinUrl(baseUrl, 'summary'), { allowMissing: true, maxBytes: MAX_METADATA_SIZE });
  let summary: Summary | null = null;
  if (sumResp) {
    progress.bytesTransferred += sumResp.body.length + (sig?.body.length ?? 0);
    if (gpgVerifySummary) {
      if (!sig) throw new InvalidInputError(`GPG verification enabled, but no summary signatures found for remote ${remoteName}`);
      verifyGpgSignatures(sumResp.body, parseCommitMeta(new Uint8Array(sig.body), 'summary.sig'), keyrings(), `summary of remote ${remoteName}`);
    }
    if (edVerifySummary) {
      if (!sig) throw new InvalidInputError(`Signature verification enabled, but no summary signatures found for remote ${remoteName}`);
      verifyEd25519(sumResp.body, parseCommitMeta(new Uint8Array(sig.body), 'summary.sig'), edKeys(), `summary of remote ${remoteName}`);
    }
    summary = parseSummary(new Uint8Array(sumResp.body), `summary of remote ${remoteName}`);
    if (dictGet(summary.metadata, 'ostree.summary.mode')) {
      const cfg = await fetchBuffer(joinUrl(baseUrl, 'config'), { maxBytes: MAX_METADATA_SIZE });
      const mode = /^\s*mode\s*=\s*(\S+)/m.exec(cfg.body.toString('utf8'))?.[1];
      if (mode !== 'archive-z2' && mode !== 'archive') throw new InvalidInputError(`Can't pull from archives with mode "${mode ?? 'unknown'}"`);
    }
  } else if (gpgVerifySummary) {
    throw new InvalidInputError(`GPG verification enabled, but no summary found for remote ${remoteName}`);
  }

  let wanted = [...refs];
  if (wanted.length === 0) {
    const branches = remote.options.get('branches');
    wanted = branches ? branches.split(';').filter((b) => b !== '') : [];
    if (wanted.length === 0) throw new InvalidInputError(`No refs specified and no branches configured for remote ${remoteName}`);
  }
  const resolved = new Map<string, Checksum>();
  const maxCommitSize = new Map<Checksum, number>();
  for (const spec of wanted) {
    const at = spec.indexOf('@');
    const ref = at >= 0 ? spec.slice(0, at) : spec;
    if (at >= 0) {
      resolved.set(ref, assertChecksum(spec.slice(at + 1), `commit for ${ref}`));
      continue;
    }
    if (/^[0-9a-f]{64}$/.test(ref)) {
      resolved.set(ref, ref);
      continue;
    }
    if (summary) {
      const e = summary.refs.find((r) => r.name === ref);
      if (!e) throw new NotFoundError(`No such branch '${ref}' in repository summary`);
      resolved.set(ref, e.checksum);
      maxCommitSize.set(e.checksum, e.commitSize);
    } else {
      const r = await fetchBuffer(joinUrl(baseUrl, `refs/heads/${ref}`), { allowMissing: true, maxBytes: 1024 });
      if (!r) throw new NotFoundError(`Server returned HTTP 404 for ref '${ref}'`);
      resolved.set(ref, assertChecksum(r.body.toString('utf8').trim(), `ref ${ref}`));
    }
  }

  const tx = await Transaction.begin(repo);
  const partialMarkers: string[] = [];
  // archive → archive: content objects are fetched, verified and staged by worker threads (ostree
  // spreads the same work over its threads); started on the first content object a pull needs
  const workers: { pool: FetchPool | null | undefined } = { pool: repo.isArchive ? undefined : null };
  try {
    const objectUrl = (type: ObjectType, csum: Checksum) => joinUrl(type === ObjectType.CommitMeta ? baseUrl : contentUrl, `objects/${csum.slice(0, 2)}/${csum.slice(2)}.${objectExtension(type, true)}`);
    const queue: Array<() => Promise<void>> = [];
    const seen = new Set<string>();
    // with fetch workers, each keeps several requests in flight
    const limit = opts.concurrency ?? (repo.isArchive ? 16 : 8);
    let running = 0;
    let failure: unknown = null;
    let wake: (() => void) | null = null;
    const schedule = (job: () => Promise<void>) => {
      queue.push(job);
      pump();
    };
    const pump = () => {
      while (running < limit && queue.length > 0 && !failure) {
        const job = queue.shift()!;
        running++;
        job()
          .catch((e: unknown) => {
            failure ??= e;
          })
          .finally(() => {
            running--;
            pump();
            if (running === 0 && (queue.length === 0 || failure)) wake?.();
          });
      }
    };

    const fetchMeta = async (type: ObjectType, csum: Checksum, max = MAX_METADATA_SIZE): Promise<Uint8Array> => {
      const r = await fetchBuffer(objectUrl(type, csum), { maxBytes: max });
      progress.bytesTransferred += r.body.length;
      const bytes = new Uint8Array(r.body);
      const actual = sha256Hex(bytes);
      if (actual !== csum) throw new CorruptionError(`Corrupted ${objectExtension(type, true)} object ${csum} from remote ${remoteName}: actual checksum ${actual}`);
      progress.fetchedMetadata++;
      return bytes;
    };

    const wantTree = (tree: Checksum, meta: Checksum) => {
      const mk = `${meta}.m`;
      if (!seen.has(mk)) {
        seen.add(mk);
        schedule(async () => {
          if (await tx.hasObject(ObjectType.DirMeta, meta)) return;
          const b = await fetchMeta(ObjectType.DirMeta, meta);
          DirMeta.parse(b, `dirmeta ${meta}`);
          await tx.writeMetadata(ObjectType.DirMeta, b, meta);
          tick();
        });
      }
      const tk = `${tree}.t`;
      if (seen.has(tk)) return;
      seen.add(tk);
      schedule(async () => {
        let dt: DirTree;
        if (await tx.hasObject(ObjectType.DirTree, tree)) {
          // present locally: its content may still be missing (an earlier partial pull)
          dt = await repo.loadDirTree(tree).catch(async () => DirTree.parse(await fetchMeta(ObjectType.DirTree, tree), `dirtree ${tree}`));
        } else {
          const b = await fetchMeta(ObjectType.DirTree, tree);
          dt = DirTree.parse(b, `dirtree ${tree}`);
          await tx.writeMetadata(ObjectType.DirTree, b, tree);
        }
        tick();
        for (const f of dt.files) wantContent(f.checksum);
        for (const d of dt.dirs) wantTree(d.treeChecksum, d.metaChecksum);
      });
    };

    const wantContent = (csum: Checksum) => {
      const k = `${csum}.f`;
      if (seen.has(k)) return;
      seen.add(k);
      progress.requested++;
      schedule(async () => {
        if (await tx.hasObject(ObjectType.File, csum)) return;
        const what = `content object ${csum} from remote ${remoteName}`;
        const url = objectUrl(ObjectType.File, csum);
        if (repo.isArchive) {
          // archive → archive: the `.filez` is stored as served, once verified; on a fetch worker when there are any
          if (workers.pool === undefined) workers.pool = FetchPool.start();
          const path = await tx.stagingPath(ObjectType.File, csum);
          progress.bytesTransferred += workers.pool ? await workers.pool.fetch({ url, checksum: csum, path, what, remote: remoteName }) : await fetchArchiveObject(url, csum, path, what, remoteName);
          tx.markStaged(ObjectType.File, csum);
        } else {
          // bare modes: verified and inflated in memory, then written in the repository's form
          await fetchStream(url, {}, async (body) => {
            const chunks: Buffer[] = [];
            for await (const c of body) chunks.push(c);
            const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
            progress.bytesTransferred += raw.length;
            const { header, data } = verifyArchiveBytes(raw, csum, what, remoteName);
            await tx.writeContent(header, header.isSymlink ? { kind: 'symlink' } : { kind: 'bytes', data }, csum);
          });
        }
        progress.fetchedContent++;
        tick();
      });
    };

    /** Commits delivered inline by a static delta superblock, with their detached metadata. */
    const fromDeltas = new Map<Checksum, { bytes: Uint8Array; meta: VarDict | null }>();

    const tryDelta = async (ref: string, to: Checksum): Promise<void> => {
      if (opts.disableStaticDeltas || opts.commitMetadataOnly || !summary) return;
      if (await repo.hasObject(ObjectType.Commit, to)) return;
      let from: Checksum | null = await repo.resolveRev(opts.mirror ? ref : `${remoteName}:${ref}`, true).catch(() => null);
      if (from && !(await repo.hasObject(ObjectType.Commit, from))) from = null;
      let digests = dictGet(summary.metadata, 'ostree.static-deltas')?.value as VarDict | undefined;
      if (!digests && dictGet(summary.metadata, 'ostree.summary.indexed-deltas')?.value === true) {
        const idx = await fetchBuffer(joinUrl(contentUrl, deltaIndexPath(to)), { allowMissing: true, maxBytes: MAX_METADATA_SIZE });
        if (idx) digests = dictGet(parseCommitMeta(new Uint8Array(idx.body), 'delta index'), 'ostree.static-deltas')?.value as VarDict | undefined;
      }
      if (!digests) return;
      const pick = [from ? `${from}-${to}` : null, to].find((n) => n && dictGet(digests!, n));
      if (!pick) return;
      const digest = Buffer.from(dictGet(digests, pick)!.value as Uint8Array).toString('hex');
      const fromC = pick.includes('-') ? from : null;
      const dir = deltaDir(fromC, to);
      const sbResp = await fetchBuffer(joinUrl(contentUrl, `${dir}/superblock`), { allowMissing: true, maxBytes: MAX_METADATA_SIZE });
      if (!sbResp) return;
      progress.bytesTransferred += sbResp.body.length;
      if (sha256Hex(sbResp.body) !== digest) throw new CorruptionError(`Invalid checksum for static delta ${pick} from remote ${remoteName}`);
      const sb = parseSuperblock(new Uint8Array(sbResp.body), `static delta ${pick}`);
      if (sb.to !== to || sha256Hex(sb.commit) !== to) throw new CorruptionError(`static delta ${pick} from remote ${remoteName} does not produce commit ${to}`);
      const embedded = dictGet(sb.metadata, `${dir}/commitmeta`)?.value as VarDict | undefined;
      fromDeltas.set(to, { bytes: sb.commit, meta: embedded ?? null });
      try {
        for (let i = 0; i < sb.parts.length; i++) {
          const part = sb.parts[i]!;
          let needed = false;
          for (const o of part.objects) if (!(await tx.hasObject(o.type, o.checksum))) needed = true;
          if (!needed) continue;
          const pr = await fetchBuffer(joinUrl(contentUrl, `${dir}/${i}`), { maxBytes: part.compressedSize + 1 });
          progress.bytesTransferred += pr.body.length;
          await applyDeltaPart(tx, repo, new Uint8Array(pr.body), part, `static delta ${pick} part ${i}`);
          progress.deltaParts++;
          tick();
        }
      } catch (e) {
        // a delta we cannot execute is an optimisation lost, not a failure: objects are fetched instead
        if (!(e instanceof UnsupportedDeltaError)) throw e;
      }
    };

    const wantCommit = async (csum: Checksum, depth: number): Promise<void> => {
      const have = (await repo.hasObject(ObjectType.Commit, csum)) && !(await repo.isCommitPartial(csum));
      let commit: Commit;
      let meta: VarDict | null = null;
      const viaDelta = fromDeltas.get(csum);
      const metaResp = viaDelta?.meta ? null : await fetchBuffer(objectUrl(ObjectType.CommitMeta, csum), { allowMissing: true, maxBytes: MAX_METADATA_SIZE });
      if (viaDelta?.meta) meta = viaDelta.meta;
      if (metaResp) {
        meta = parseCommitMeta(new Uint8Array(metaResp.body), `commitmeta ${csum}`);
        progress.bytesTransferred += metaResp.body.length;
      }
      let bytes: Uint8Array;
      if (have) bytes = await repo.readMetadata(ObjectType.Commit, csum);
      else if (viaDelta) bytes = viaDelta.bytes;
      else bytes = await fetchMeta(ObjectType.Commit, csum, maxCommitSize.get(csum) ?? MAX_METADATA_SIZE);
      if (gpgVerify) verifyGpgSignatures(bytes, meta, keyrings(), `commit ${csum}`);
      if (edVerify) verifyEd25519(bytes, meta, edKeys(), `commit ${csum}`);
      commit = Commit.parse(bytes, `commit ${csum}`);
      if (!have) {
        await tx.writeMetadata(ObjectType.Commit, bytes, csum);
        if (opts.commitMetadataOnly) {
          await fsp.writeFile(join(repo.path, 'state', `${csum}.commitpartial`), '');
        } else {
          partialMarkers.push(csum);
        }
      }
      if (meta && (metaResp || viaDelta?.meta)) await tx.writeCommitMeta(csum, meta);
      if (!opts.commitMetadataOnly && !have) wantTree(commit.rootTree, commit.rootMeta);
      if (depth !== 0 && commit.parent) {
        const next = commit.parent;
        try {
          await wantCommit(next, depth > 0 ? depth - 1 : -1);
        } catch (e) {
          // history the server no longer has ends the walk, as in ostree
          if (!(e instanceof NotFoundError)) throw e;
        }
      }
    };

    for (const [ref, csum] of resolved) if (!/^[0-9a-f]{64}$/.test(ref)) await tryDelta(ref, csum);
    for (const csum of new Set(resolved.values())) await wantCommit(csum, opts.depth ?? 0);
    if (running > 0 || queue.length > 0) await new Promise<void>((r) => (wake = r));
    if (failure) throw failure;
    await workers.pool?.close();
    for (const [ref, csum] of resolved) {
      if (/^[0-9a-f]{64}$/.test(ref)) continue;
      if (opts.mirror) tx.setRef(ref, csum);
      else tx.setRef(ref, csum, remoteName);
    }
    await tx.commit();
    for (const c of partialMarkers) await fsp.rm(join(repo.path, 'state', `${c}.commitpartial`), { force: true });
    return { ...progress, refs: resolved };
  } catch (e) {
    await workers.pool?.close();
    await tx.abort();
    throw e;
  }
}
