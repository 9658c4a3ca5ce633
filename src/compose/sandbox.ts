/**
 * Run commands with a target root as `/` under bubblewrap, the root being an overlayfs whose lower layer is the
 * assembled tree (hardlinks into the pkgcache, never to be written) and whose upper layer is scratch space that is
 * merged back into the tree once the session succeeds (overlay-merge.ts).
 *
 * Debian 12's bwrap (0.8) has no --overlay, so the overlay is mounted by us: one long-lived "holder" process per
 * session is started with `unshare --mount` (plus `--user --map-root-user` when not root) and mounts the overlay in
 * its private mount namespace, then blocks reading its stdin. Each command joins that namespace with `nsenter -t PID`
 * and execs bwrap, so a session has exactly one namespace and one overlay, commands get their argv, env, stdin and
 * extra fds straight from node (no framing protocol, no shell quoting), and closing the holder's stdin (or node dying)
 * tears the namespace — and with it the mount — down.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { CoreforgeError, InvalidInputError } from '../errors.js';
import { native } from '../native/index.js';
import { removeTreeSync } from '../util/fs.js';
import { mergeOverlayUpper } from './overlay-merge.js';

export interface SandboxFile {
  /** Absolute path inside the sandbox, under /run or /tmp (both tmpfs, so nothing leaks into the tree). */
  path: string;
  content: string | Buffer;
  /** Permission bits; default 0644. */
  mode?: number;
}

export interface SandboxRun {
  argv: string[];
  stdin?: string | Buffer;
  env?: Record<string, string>;
  label: string;
  /** Extra read-only files for this run only (e.g. a scriptlet body). */
  files?: SandboxFile[];
  /** Streamed output (stdout+stderr interleaved) as it arrives. */
  onOutput?: (text: string) => void;
}

export interface SandboxResult {
  code: number;
  signal: string | null;
  /** stdout+stderr interleaved; only the last OUTPUT_LIMIT bytes are kept. */
  output: string;
}

export interface SandboxSession {
  run(r: SandboxRun): Promise<SandboxResult>;
}

/** Bytes of output kept per command (the tail). */
export const OUTPUT_LIMIT = 64 * 1024;

/** The sandbox cannot be set up (tool missing, namespaces disabled, overlay refused). */
export class SandboxError extends CoreforgeError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('ESANDBOX', message, opts);
  }
}

/** rpm's SCRIPT_PATH and a minimal, reproducible environment. */
export const SANDBOX_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  HOME: '/root',
  USER: 'root',
  LOGNAME: 'root',
  SHELL: '/bin/sh',
  // systemctl & co. act on files only (systemd's offline mode), as rpm-ostree sets it for scripts.
  SYSTEMD_OFFLINE: '1',
});

/** SIGKILL for 9, as Node names signals. */
function signalName(signo: number): string {
  return Object.entries(os.constants.signals).find(([, n]) => n === signo)?.[0] ?? `signal ${signo}`;
}

/** Mountpoints bwrap creates in the root; created only for the sandbox, they are not tree content. */
const MOUNTPOINTS = ['dev', 'proc', 'run', 'tmp'];

function findInPath(prog: string): string | undefined {
  for (const dir of (process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, prog);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

interface Tools {
  bwrap: string;
  unshare: string;
  nsenter: string;
  sh: string;
}

function tools(): Tools | string {
  const out: Partial<Tools> = {};
  for (const t of ['bwrap', 'unshare', 'nsenter'] as const) {
    const p = findInPath(t);
    if (!p) return `${t} not found in PATH (install ${t === 'bwrap' ? 'bubblewrap' : 'util-linux'})`;
    out[t] = p;
  }
  out.sh = fs.existsSync('/bin/sh') ? '/bin/sh' : findInPath('sh');
  if (!out.sh) return 'no /bin/sh on the host';
  return out as Tools;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Mount options: no metacopy/index/redirect so that the upper dir holds whole files and plain directories. */
function overlayOptions(root: boolean): string {
  // In a user namespace the kernel refuses redirect_dir=off explicitly but implies it with userxattr.
  return root ? 'lowerdir=lower,upperdir=upper,workdir=work,index=off,metacopy=off,redirect_dir=off' : 'lowerdir=lower,upperdir=upper,workdir=work,userxattr,index=off,metacopy=off';
}

function unshareArgs(t: Tools): string[] {
  return isRoot() ? [t.unshare, '--mount', '--propagation', 'private'] : [t.unshare, '--user', '--map-root-user', '--mount', '--propagation', 'private'];
}

function nsenterArgs(t: Tools, pid: number): string[] {
  return isRoot() ? [t.nsenter, '-t', String(pid), '--mount'] : [t.nsenter, '-t', String(pid), '--user', '--mount', '--preserve-credentials'];
}

/** Holder script: mount the overlay in `$1` (session dir) and wait for stdin to close. */
const HOLDER = 'cd "$1" && mount -t overlay overlay -o "$2" merged && echo ready && exec cat >/dev/null';

let availability: { ok: boolean; reason?: string } | undefined;

/**
 * Can sessions run here? Probes once (cached): tools present, then a real overlay mount and `bwrap true` in a
 * namespace, so the answer covers disabled user namespaces and kernels refusing overlay in a user namespace.
 */
export function sandboxAvailable(): { ok: boolean; reason?: string } {
  if (availability) return availability;
  const t = tools();
  if (typeof t === 'string') return (availability = { ok: false, reason: t });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coreforge-sandbox-probe-'));
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) fs.mkdirSync(path.join(dir, d));
    const probe = `cd "$1" && mount -t overlay overlay -o "$2" merged && "$3" --ro-bind / / --unshare-net --unshare-pid --die-with-parent true && echo probe-ok`;
    const r = spawnSync(unshareArgs(t)[0]!, [...unshareArgs(t).slice(1), t.sh, '-c', probe, 'sh', dir, overlayOptions(isRoot()), t.bwrap], { encoding: 'utf8', timeout: 20000 });
    if (r.stdout?.includes('probe-ok')) return (availability = { ok: true });
    const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-3).join('; ');
    return (availability = { ok: false, reason: `cannot mount an overlay and run bwrap in a ${isRoot() ? 'mount' : 'user+mount'} namespace: ${why}` });
  } finally {
    removeTreeSync(dir);
  }
}

class Session implements SandboxSession {
  private closed = false;
  private running = new Set<number>();
  constructor(
    private readonly t: Tools,
    private readonly holderPid: number,
    private readonly merged: string,
    private readonly filesDir: string,
    private readonly tmpLinked = false,
  ) {}

  close(): void {
    this.closed = true;
    for (const pid of this.running) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  async run(r: SandboxRun): Promise<SandboxResult> {
    if (this.closed) throw new SandboxError(`sandbox session is closed (running ${r.label})`);
    if (!Array.isArray(r.argv) || r.argv.length === 0) throw new InvalidInputError(`sandbox run ${r.label}: empty argv`);
    const env = { ...SANDBOX_ENV, ...(r.env ?? {}) };
    const bw: string[] = [
      '--bind', this.merged, '/',
      '--proc', '/proc',
      '--dev', '/dev',
      // an ostree-style root links /tmp to sysroot/tmp (tmp-is-dir: false): mount the tmpfs where the link points
      ...(this.tmpLinked ? ['--dir', '/sysroot/tmp', '--tmpfs', '/sysroot/tmp'] : ['--tmpfs', '/tmp']),
      '--tmpfs', '/run',
      '--unshare-net', '--unshare-pid', '--unshare-ipc', '--unshare-uts',
      '--die-with-parent',
      '--new-session',
      '--chdir', '/',
      '--clearenv',
    ];
    for (const [k, v] of Object.entries(env)) bw.push('--setenv', k, v);
    // Some scriptlets act differently on OSTree systems; rpm-ostree advertises it to them the same way.
    const fds: number[] = [];
    const tmpFiles: string[] = [];
    try {
      const addFd = (content: string | Buffer): number => {
        const p = path.join(this.filesDir, `${process.pid}-${Math.random().toString(36).slice(2)}`);
        fs.writeFileSync(p, content);
        tmpFiles.push(p);
        const fd = fs.openSync(p, 'r');
        fds.push(fd);
        return 2 + fds.length; // child fd numbers start at 3
      };
      bw.push('--ro-bind-data', String(addFd('')), '/run/ostree-booted');
      for (const f of r.files ?? []) {
        if (!/^\/(run|tmp)\/[^\0]+$/.test(f.path) || f.path.split('/').includes('..')) throw new InvalidInputError(`sandbox run ${r.label}: file ${f.path} must be under /run or /tmp`);
        bw.push('--perms', (f.mode ?? 0o644).toString(8).padStart(4, '0'), '--ro-bind-data', String(addFd(f.content)), f.path);
      }
      const stdinFd = r.stdin === undefined ? 'ignore' : (() => {
        const p = path.join(this.filesDir, `${process.pid}-stdin-${Math.random().toString(36).slice(2)}`);
        fs.writeFileSync(p, r.stdin);
        tmpFiles.push(p);
        const fd = fs.openSync(p, 'r');
        fds.push(fd);
        return fd;
      })();
      const extra = stdinFd === 'ignore' ? fds : fds.filter((f) => f !== stdinFd);
      bw.push('--', ...r.argv);
      // posix_spawn, not fork: forking this (large) process per scriptlet costs tens of ms on some hosts.
      // stdout and stderr share one pipe, so output is interleaved as written (bwrap's own errors included).
      const [rd, wr] = native().pipe();
      const nullFd = stdinFd === 'ignore' ? fs.openSync('/dev/null', 'r') : null;
      let pid: number;
      try {
        const fdMap = Int32Array.from([0, nullFd ?? (stdinFd as number), 1, wr, 2, wr, ...extra.flatMap((fd, i) => [3 + i, fd])]);
        const argv = [this.t.nsenter, ...nsenterArgs(this.t, this.holderPid).slice(1), this.t.bwrap, ...bw];
        pid = native().spawnProcess(this.t.nsenter, argv, [`PATH=${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`], fdMap);
      } catch (e) {
        fs.closeSync(rd);
        throw new SandboxError(`${r.label}: cannot start the sandbox: ${(e as Error).message}`, { cause: e });
      } finally {
        fs.closeSync(wr);
        if (nullFd !== null) fs.closeSync(nullFd);
      }
      this.running.add(pid);
      let tail = Buffer.alloc(0);
      const out = new net.Socket({ fd: rd, readable: true, writable: false });
      out.on('data', (b: Buffer) => {
        tail = tail.length + b.length > OUTPUT_LIMIT ? Buffer.concat([tail, b]).subarray(-OUTPUT_LIMIT) : Buffer.concat([tail, b]);
        if (r.onOutput) r.onOutput(b.toString('utf8'));
      });
      const drained = new Promise<void>((resolve) => {
        out.on('close', () => resolve());
        out.on('error', () => resolve());
      });
      try {
        const [code, signo] = await native().waitProcess(pid);
        await drained;
        return { code: code < 0 ? 128 : code, signal: signo ? signalName(signo) : null, output: tail.toString('utf8') };
      } finally {
        this.running.delete(pid);
        out.destroy();
      }
    } finally {
      for (const fd of fds) fs.closeSync(fd);
      for (const p of tmpFiles) fs.rmSync(p, { force: true });
    }
  }
}

async function startHolder(t: Tools, sessionDir: string): Promise<ChildProcess> {
  const u = unshareArgs(t);
  const holder = spawn(u[0]!, [...u.slice(1), t.sh, '-c', HOLDER, 'sh', sessionDir, overlayOptions(isRoot())], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  holder.stderr!.on('data', (b: Buffer) => {
    if (err.length < 4096) err += b.toString('utf8');
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString('utf8');
      if (out.includes('ready\n')) {
        holder.stdout!.off('data', onData);
        resolve();
      }
    };
    holder.stdout!.on('data', onData);
    holder.on('error', (e) => reject(new SandboxError(`cannot start ${u[0]}: ${e.message}`, { cause: e })));
    holder.on('exit', (code) => reject(new SandboxError(`cannot mount the overlay for the sandbox (exit ${code}): ${err.trim() || 'no output'}`)));
  });
  holder.removeAllListeners('exit');
  return holder;
}

async function stopHolder(holder: ChildProcess): Promise<void> {
  if (holder.exitCode !== null || holder.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    holder.once('exit', () => resolve());
    holder.stdin!.end();
    // cat exits on EOF; a stuck holder is killed so the mount namespace goes away before the merge.
    const t = setTimeout(() => holder.kill('SIGKILL'), 10000);
    holder.once('exit', () => clearTimeout(t));
  });
}

/**
 * Run `fn` with a sandbox whose `/` is an overlay of `rootfs`. When `fn` resolves, the overlay's upper dir is merged
 * into `rootfs` (deletions, opaque dirs, new and changed files replacing — never writing through — the hardlinked
 * originals); when it throws, `rootfs` is untouched. `scratchDir` holds the upper/work dirs (same filesystem as
 * `rootfs` makes the merge a series of renames).
 */
export async function withRootOverlay<T>(rootfs: string, scratchDir: string, fn: (s: SandboxSession) => Promise<T>): Promise<T> {
  const avail = sandboxAvailable();
  if (!avail.ok) throw new SandboxError(`the scriptlet sandbox is not available: ${avail.reason}`);
  const t = tools() as Tools;
  const root = path.resolve(rootfs);
  const st = fs.statSync(root, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw new InvalidInputError(`sandbox root ${rootfs} is not a directory`);
  fs.mkdirSync(scratchDir, { recursive: true });
  const sessionDir = fs.mkdtempSync(path.join(path.resolve(scratchDir), 'overlay-'));
  let holder: ChildProcess | undefined;
  let session: Session | undefined;
  try {
    for (const d of ['upper', 'work', 'merged', 'files']) fs.mkdirSync(path.join(sessionDir, d), { mode: 0o755 });
    fs.chmodSync(path.join(sessionDir, 'files'), 0o700);
    // Relative option paths: the tree's path may contain ',' or ':' which the overlay option parser would split on.
    fs.symlinkSync(root, path.join(sessionDir, 'lower'));
    const preexisting = new Set(MOUNTPOINTS.filter((m) => fs.existsSync(path.join(root, m))));
    const tmpLinked = fs.lstatSync(path.join(root, 'tmp'), { throwIfNoEntry: false })?.isSymbolicLink() === true && fs.readlinkSync(path.join(root, 'tmp')).replace(/^\/+/, '') === 'sysroot/tmp';
    holder = await startHolder(t, sessionDir);
    session = new Session(t, holder.pid!, path.join(sessionDir, 'merged'), path.join(sessionDir, 'files'), tmpLinked);
    const result = await fn(session);
    session.close();
    await stopHolder(holder);
    mergeOverlayUpper(path.join(sessionDir, 'upper'), root, { skipNewEmptyTopDirs: [...MOUNTPOINTS.filter((m) => !preexisting.has(m)), ...(tmpLinked && !fs.existsSync(path.join(root, 'sysroot/tmp')) ? ['sysroot/tmp'] : [])] });
    return result;
  } finally {
    session?.close();
    if (holder) await stopHolder(holder);
    removeTreeSync(sessionDir);
  }
}
