/**
 * Package scriptlets of a compose, run the way `rpm -i` runs them for a fresh install of the whole package set:
 *
 * - order: rpm's transaction order (scriptlets-order.ts, a port of lib/order.c);
 * - %pretrans of every package (arg 1); then per package: %triggerprein, %pre, [files], high-priority
 *   %filetriggerin, %post, %triggerin, low-priority %filetriggerin (lib/psm.c rpmPackageInstall); then %posttrans of
 *   every package; then %transfiletriggerin (lib/transaction.c). Arguments and trigger bookkeeping as lib/psm.c and
 *   lib/rpmtriggers.c compute them against an rpmdb that starts empty and gains each package after its files.
 *
 * Unlike rpm, the files of every package are already laid down before the first scriptlet (as rpm-ostree does),
 * and every scriptlet runs in the bubblewrap sandbox with the target's own interpreter. A failure of any scriptlet
 * is fatal (rpm only warns for %post); the tree is then left as it was.
 *
 * Lua (`<lua>`) scriptlets cannot run outside rpm: they are an error unless rpm-ostree ignores or replaces them
 * (same lists, see IGNORED_SCRIPTS / LUA_REPLACEMENTS) or they carry rpm-ostree's `-- rpm-ostree-skip` marker.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ComposePackage, ComposeProgress } from './types.js';
import type { Trigger } from '../rpm/file/index.js';
import { Sense, Tag } from '../rpm/file/index.js';
import { CoreforgeError, UnsupportedError } from '../errors.js';
import { parseEVR, parseFlags, rangesOverlap } from '../rpm/version.js';
import { rpmOrder, type OrderOptions } from './scriptlets-order.js';
import { withRootOverlay, type SandboxSession } from './sandbox.js';

export type PlannedKind = 'pretrans' | 'pre' | 'post' | 'posttrans' | 'triggerprein' | 'triggerin' | 'filetriggerin' | 'transfiletriggerin';

export interface PlannedScriptlet {
  /** Package owning the script. */
  pkg: ComposePackage;
  kind: PlannedKind;
  /** "name.post", "name.triggerin(source)", "name.filetriggerin#1" */
  label: string;
  /** Interpreter argv (without the script path and arguments). */
  prog: string[];
  /** Script body; null for `-p /prog` without a body. */
  body: string | null;
  /** $1 [$2] as rpm passes them. */
  args: number[];
  /** File triggers: matched paths, fed on stdin one per line. */
  files?: string[];
  /** Set when the script is not run (rpm-ostree's ignore list or skip marker), with why. */
  skipped?: string;
}

/** A scriptlet exited non-zero or was killed. */
export class ScriptletError extends CoreforgeError {
  readonly pkg: string;
  readonly scriptlet: string;
  readonly output: string;
  constructor(pkg: string, scriptlet: string, what: string, output: string) {
    const tail = outputTail(output);
    super('SCRIPTLET_FAILED', `${pkg}: %${scriptlet} scriptlet failed (${what})${tail ? `; output:\n${tail}` : ''}`);
    this.pkg = pkg;
    this.scriptlet = scriptlet;
    this.output = output;
  }
}

function outputTail(s: string, lines = 30, bytes = 4000): string {
  let t = s.trimEnd();
  if (t.length > bytes) t = `…${t.slice(-bytes)}`;
  const l = t.split('\n');
  return l.length > lines ? ['…', ...l.slice(-lines)].join('\n') : t;
}

/**
 * rpm-ostree's `IGNORED_PKG_SCRIPTS` (rust/src/scripts.rs): scripts that make no sense when assembling a fresh tree
 * offline (daemon reloads, legacy upgrade workarounds, the filesystem package's hacks, Lua one-offs). Same names,
 * "<package>.<script>" with rpm-ostree's script names (prein, post, posttrans, transfiletriggerin).
 */
export const IGNORED_SCRIPTS: ReadonlySet<string> = new Set([
  'glibc.prein', 'glibc-headers.prein', 'coreutils.prein', 'ca-certificates.prein', 'libgcc.post', 'filesystem.posttrans',
  'setup.post', 'pinentry.prein', 'fedora-release.posttrans', 'vagrant.prein', 'vagrant-libvirt.prein', 'bash.post',
  'gdb.prein', 'systemd.transfiletriggerin', 'man-db.transfiletriggerin', 'filesystem.transfiletriggerin', 'nfs-utils.post',
  'microcode_ctl.post', 'microcode_ctl.posttrans',
]);

/**
 * Kernel %posttrans (depmod, dracut, kernel-install): step 6 builds the initramfs itself, as rpm-ostree does
 * when not using kernel-install (`IGNORED_KERNEL_SCRIPTS`).
 */
const KERNEL_POSTTRANS = /^kernel(-(redhat|debug|redhat-debug|automotive|automotive-debug|rt|rt-debug|16k|16k-debug|64k|64k-debug|uek|lt|ml))?(-(core|modules))?$/;

function libdir(arch: string): string {
  return /^(x86_64|aarch64|ppc64le|ppc64|s390x|riscv64|loongarch64|sparc64)$/.test(arch) ? '/usr/lib64' : '/usr/lib';
}

const LANGPACKS = 'set -euo pipefail\ntmpl=/usr/lib/locale/locale-archive.tmpl\nif test -s "${tmpl}"; then\n  cp -a "${tmpl}"{,.new} && mv "${tmpl}"{.new,}\n  exec /usr/sbin/build-locale-archive --install-langs "all"\nfi\n';
const gconv = (arch: string) => `libdir=${libdir(arch)}\nexec iconvconfig -o \${libdir}/gconv/gconv-modules.cache --nostdlib \${libdir}/gconv`;

/**
 * rpm-ostree's `lua_replacements` (src/libpriv/rpmostree-scripts.cxx) for the Lua scriptlets of current Fedora
 * packages: shell doing what matters for a freshly assembled tree.
 */
const LUA_REPLACEMENTS: Record<string, (arch: string) => { interp: string; body: string }> = {
  'glibc-all-langpacks.posttrans': () => ({ interp: '/usr/bin/bash', body: LANGPACKS }),
  'glibc-common.post': () => ({ interp: '/usr/bin/bash', body: LANGPACKS }),
  'glibc-common.transfiletriggerin': () => ({ interp: '/usr/bin/sh', body: '/sbin/ldconfig' }),
  'glibc.post': (a) => ({ interp: '/usr/bin/bash', body: gconv(a) }),
  'glibc.posttrans': () => ({ interp: '/usr/bin/true', body: '' }),
  'glibc-gconv-extra.post': (a) => ({ interp: '/usr/bin/bash', body: gconv(a) }),
  'crypto-policies.post': () => ({
    interp: '/usr/bin/bash',
    body: 'cp /usr/share/crypto-policies/default-config /etc/crypto-policies/config\necho DEFAULT > /etc/crypto-policies/state/current\nfor f in /usr/share/crypto-policies/DEFAULT/*; do\n  ln -sf $f /etc/crypto-policies/back-ends/$(basename $f .txt).config\ndone',
  }),
  'authselect-libs.prein': () => ({ interp: '/usr/bin/bash', body: 'mkdir -p /var/lib/rpm-state && touch /var/lib/rpm-state/authselect.force' }),
  'fedora-release.post': () => ({ interp: '/usr/bin/sh', body: 'set -eu\nif ! test -L /usr/lib/os-release; then ln -s os.release.d/os-release-fedora /usr/lib/os-release; fi\n' }),
};

/** rpm-ostree's script names: %pre is "prein". */
function ostreeScriptName(kind: PlannedKind): string {
  return kind === 'pre' ? 'prein' : kind;
}

const SENSE: Record<'prein' | 'in', number> = { prein: Sense.TRIGGERPREIN, in: Sense.TRIGGERIN };
const TRIGGER_PRIORITY_BOUND = 10000;
const DEFAULT_PRIORITY = 1000000;

interface Cond {
  name: string;
  flags: number;
  version: string;
  tix: number;
}

function flatConditions(triggers: Trigger[]): Cond[] {
  const out: Cond[] = [];
  triggers.forEach((t, tix) => t.conditions.forEach((c) => out.push({ name: c.name, flags: c.flags, version: c.version, tix })));
  return out;
}

function senseOp(flags: number): string {
  const lt = flags & Sense.LESS;
  const gt = flags & Sense.GREATER;
  const eq = flags & Sense.EQUAL;
  return lt ? (eq ? '<=' : '<') : gt ? (eq ? '>=' : '>') : eq ? '=' : '';
}

/** rpmdsAnyMatchesDep: does any provide of `src` (plus its own N = EVR) satisfy the trigger condition? */
function providesMatch(src: ComposePackage, c: Cond): boolean {
  const want = { f: parseFlags(senseOp(c.flags)), evr: c.version ? parseEVR(c.version) : undefined };
  const provs = src.header.provides.filter((p) => p.name === c.name).map((p) => ({ f: parseFlags(p.op), evr: p.version ? parseEVR(p.version) : undefined }));
  if (src.name === c.name) provs.push({ f: parseFlags('='), evr: parseEVR(src.header.evr) });
  return provs.some((p) => rangesOverlap(p.f, p.evr, want.f, want.evr));
}

export interface PlanOptions extends OrderOptions {
  /** Is this file of this package present in the tree (not %ghost, not an excluded %doc)? Default: not a ghost. */
  installed?: (pkg: ComposePackage, path: string) => boolean;
  /** boot-location "kernel-install": keep the kernel's %posttrans (rpm-ostree's use_kernel_install). */
  useKernelInstall?: boolean;
}

/**
 * The scriptlets rpm would run installing `pkgs` into an empty root, in order, with arguments (no I/O beyond the
 * `installed` callback). Throws UnsupportedError for a Lua scriptlet that is neither ignored nor replaced.
 */
export function planScriptlets(pkgs: ComposePackage[], opts: PlanOptions = {}): PlannedScriptlet[] {
  const order = rpmOrder(pkgs, opts);
  const installed = opts.installed ?? ((p: ComposePackage, f: string) => {
    const info = fileInfo(p).get(f);
    return info === undefined || !info.ghost;
  });
  const plan: PlannedScriptlet[] = [];
  const db: ComposePackage[] = [];
  const count = (name: string) => db.reduce((n, p) => n + (p.name === name ? 1 : 0), 0);
  const filesWithPrefix = (p: ComposePackage, pfx: string): string[] => p.header.fileNames.filter((f) => f.startsWith(pfx) && installed(p, f));

  const add = (pkg: ComposePackage, kind: PlannedKind, label: string, s: { prog: string[]; body: string | null; flags: number }, args: number[], files?: string[]) => {
    plan.push(resolveInterpreter({ pkg, kind, label, prog: s.prog, body: s.body, args, ...(files ? { files } : {}) }, s.flags, opts));
  };
  const script = (p: ComposePackage, kind: 'pretrans' | 'pre' | 'post' | 'posttrans', args: number[]) => {
    const s = p.header.scriptlet(kind);
    if (!s) return;
    add(p, kind, `${p.name}.${kind}`, { prog: s.prog, body: s.body === '' ? null : s.body, flags: s.flags }, args);
  };

  const handleOneTrigger = (sense: 'prein' | 'in', src: ComposePackage, trig: ComposePackage, countCorrection: number, arg2: number, ran: boolean[] | null) => {
    const triggers = trig.header.triggers;
    for (const c of flatConditions(triggers)) {
      if (!(c.flags & SENSE[sense])) continue;
      if (c.name !== src.name) continue;
      if (!providesMatch(src, c)) continue;
      if (ran === null || !ran[c.tix]) {
        const t = triggers[c.tix]!;
        add(trig, sense === 'prein' ? 'triggerprein' : 'triggerin', `${trig.name}.trigger${sense}(${src.name})`, { prog: t.prog, body: t.body, flags: t.flags }, [count(trig.name) + countCorrection, arg2]);
        if (ran) ran[c.tix] = true;
      }
      break; // one script per (source, triggered) pair
    }
  };
  /** Installed packages' triggers set off by p (runTriggers). */
  const runTriggers = (p: ComposePackage, sense: 'prein' | 'in') => {
    const numPackage = count(p.name);
    for (const t of db) if (t.header.triggers.some((tr) => tr.conditions.some((c) => c.name === p.name))) handleOneTrigger(sense, p, t, 0, numPackage, null);
  };
  /** p's triggers set off by installed packages (runImmedTriggers). */
  const runImmedTriggers = (p: ComposePackage, sense: 'prein' | 'in') => {
    const triggers = p.header.triggers;
    const ran = new Array<boolean>(triggers.length).fill(false);
    for (const c of flatConditions(triggers)) {
      if (ran[c.tix]) continue;
      const sources = db.filter((s) => s.name === c.name);
      for (const s of sources) handleOneTrigger(sense, s, p, 0, sources.length, ran);
    }
  };

  const prio = (t: Trigger) => t.priority ?? DEFAULT_PRIORITY;
  const inClass = (t: Trigger, cls: 0 | 1 | 2) => cls === 0 || (cls === 1 ? prio(t) >= TRIGGER_PRIORITY_BOUND : prio(t) < TRIGGER_PRIORITY_BOUND);
  const firesOnInstall = (t: Trigger) => t.conditions.length > 0 && (t.conditions[0]!.flags & Sense.TRIGGERIN) !== 0;
  const dbFiles = (prefixes: string[]): { files: string[]; first?: ComposePackage } => {
    const files: string[] = [];
    let first: ComposePackage | undefined;
    for (const pfx of prefixes) for (const q of db) {
      const m = filesWithPrefix(q, pfx);
      if (m.length && !first) first = q;
      files.push(...m);
    }
    return { files, ...(first ? { first } : {}) };
  };

  /** Installed packages' %filetriggerin fired by p's files (runFileTriggers, search mode 0). */
  const runFileTriggers = (p: ComposePackage, arg2: number, cls: 1 | 2) => {
    const set: { t: ComposePackage; hdr: number; tix: number; prio: number }[] = [];
    db.forEach((t, hdr) => t.header.fileTriggers.forEach((tr, tix) => {
      if (tr.conditions.some((c) => filesWithPrefix(p, c.name).length > 0)) set.push({ t, hdr, tix, prio: prio(tr) });
    }));
    set.sort((a, b) => b.prio - a.prio || a.hdr - b.hdr || a.tix - b.tix);
    for (const e of set) {
      const tr = e.t.header.fileTriggers[e.tix]!;
      if (!inClass(tr, cls) || !firesOnInstall(tr)) continue;
      const files = tr.conditions.flatMap((c) => filesWithPrefix(p, c.name));
      if (files.length === 0) continue;
      add(e.t, 'filetriggerin', `${e.t.name}.filetriggerin(${p.name})`, { prog: tr.prog, body: tr.body, flags: tr.flags }, [count(e.t.name), arg2], files);
    }
  };
  /** p's own %filetriggerin / %transfiletriggerin against everything installed (runImmedFileTriggers, mode 2). */
  const runImmedFileTriggers = (p: ComposePackage, arg1: number, kind: 'filetriggerin' | 'transfiletriggerin', cls: 0 | 1 | 2) => {
    const list = kind === 'filetriggerin' ? p.header.fileTriggers : p.header.transFileTriggers;
    const idx = list.map((t, tix) => ({ t, tix })).sort((a, b) => prio(b.t) - prio(a.t) || a.tix - b.tix);
    for (const { t, tix } of idx) {
      if (!inClass(t, cls) || !firesOnInstall(t)) continue;
      const m = dbFiles(t.conditions.map((c) => c.name));
      if (m.files.length === 0) continue;
      // rpm computes $2 only for %filetriggerin (packages named like the first matching one).
      const args = kind === 'filetriggerin' ? [arg1, count(m.first!.name)] : [arg1];
      add(p, kind, `${p.name}.${kind}${list.length > 1 ? `#${tix}` : ''}`, { prog: t.prog, body: t.body, flags: t.flags }, args, m.files);
    }
  };

  for (const p of order) script(p, 'pretrans', [count(p.name) + 1]);
  for (const p of order) {
    const scriptArg = count(p.name) + 1;
    runTriggers(p, 'prein');
    runImmedTriggers(p, 'prein');
    script(p, 'pre', [scriptArg]);
    db.push(p);
    runFileTriggers(p, scriptArg, 1);
    runImmedFileTriggers(p, scriptArg, 'filetriggerin', 1);
    script(p, 'post', [scriptArg]);
    runTriggers(p, 'in');
    runImmedTriggers(p, 'in');
    runFileTriggers(p, scriptArg, 2);
    runImmedFileTriggers(p, scriptArg, 'filetriggerin', 2);
  }
  for (const p of order) script(p, 'posttrans', [count(p.name)]);
  for (const p of order) runImmedFileTriggers(p, count(p.name), 'transfiletriggerin', 0);
  return plan;
}

const fileInfoCache = new WeakMap<ComposePackage, Map<string, { ghost: boolean }>>();
function fileInfo(p: ComposePackage): Map<string, { ghost: boolean }> {
  let m = fileInfoCache.get(p);
  if (!m) {
    m = new Map(p.header.files.map((f) => [f.path, { ghost: f.attrs.ghost }]));
    fileInfoCache.set(p, m);
  }
  return m;
}

const SCRIPT_FLAG_EXPAND = 1;
const SCRIPT_FLAG_QFORMAT = 2;

/** Apply rpm-ostree's ignore list, Lua replacements and refusals to one planned script. */
function resolveInterpreter(s: PlannedScriptlet, flags: number, opts: PlanOptions): PlannedScriptlet {
  const id = `${s.pkg.name}.${ostreeScriptName(s.kind)}`;
  if (IGNORED_SCRIPTS.has(id)) return { ...s, skipped: `${id} is on rpm-ostree's ignore list` };
  if (s.kind === 'posttrans' && !opts.useKernelInstall && KERNEL_POSTTRANS.test(s.pkg.name)) return { ...s, skipped: `${id}: the kernel's initramfs is built by the compose` };
  if (s.prog[0] === '<lua>') {
    const body = s.body ?? '';
    if (body.split('\n').slice(0, 10).some((l) => l.startsWith('-- rpm-ostree-skip'))) return { ...s, skipped: `${id} carries "-- rpm-ostree-skip"` };
    const r = LUA_REPLACEMENTS[id];
    if (!r) throw new UnsupportedError(`package ${s.pkg.nevra}: %${scriptName(s)} is a <lua> scriptlet, which cannot run outside rpm (no replacement known for ${id})`);
    const { interp, body: rb } = r(s.pkg.arch);
    return { ...s, prog: [interp], body: rb === '' ? null : rb };
  }
  if (flags & SCRIPT_FLAG_QFORMAT) throw new UnsupportedError(`package ${s.pkg.nevra}: %${scriptName(s)} uses header queryformat expansion (-q), which is not supported`);
  if (flags & SCRIPT_FLAG_EXPAND && s.body?.includes('%')) throw new UnsupportedError(`package ${s.pkg.nevra}: %${scriptName(s)} needs rpm macro expansion at install time (-e), which is not supported`);
  return s;
}

function scriptName(s: PlannedScriptlet): string {
  return s.label.slice(s.pkg.name.length + 1);
}

export interface RunScriptletsOptions extends PlanOptions {
  scratchDir: string;
  onProgress?: (p: ComposeProgress) => void;
  onOutput?: (label: string, text: string) => void;
}

/** Environment rpm adds for relocatable packages (RPM_INSTALL_PREFIXn from the header's prefixes). */
function prefixEnv(p: ComposePackage): Record<string, string> {
  const pf = p.header.blob.strings(Tag.PREFIXES) ?? [];
  const env: Record<string, string> = {};
  pf.forEach((v, i) => {
    env[`RPM_INSTALL_PREFIX${i}`] = v;
    if (i === 0) env.RPM_INSTALL_PREFIX = v;
  });
  return env;
}

async function runOne(session: SandboxSession, s: PlannedScriptlet, seq: number, opts: RunScriptletsOptions): Promise<void> {
  const scriptPath = `/run/coreforge/rpm-tmp.${seq}`;
  const argv = [...(s.prog.length ? s.prog : ['/bin/sh']), ...(s.body !== null ? [scriptPath] : []), ...s.args.map(String)];
  const r = await session.run({
    label: s.label,
    argv,
    env: prefixEnv(s.pkg),
    ...(s.body !== null ? { files: [{ path: scriptPath, content: s.body }] } : {}),
    ...(s.files ? { stdin: s.files.map((f) => `${f}\n`).join('') } : {}),
    ...(opts.onOutput ? { onOutput: (t: string) => opts.onOutput!(s.label, t) } : {}),
  });
  if (r.code !== 0 || r.signal) throw new ScriptletError(s.pkg.nevra, scriptName(s), r.signal ? `killed by ${r.signal}` : `exit status ${r.code}`, r.output);
}

/**
 * Run the scriptlets of `pkgs` (already laid down in `rootfs`) in rpm's order inside the sandbox, then merge what
 * they changed into `rootfs`. Any failure leaves `rootfs` unchanged.
 */
export async function runScriptlets(rootfs: string, pkgs: ComposePackage[], opts: RunScriptletsOptions): Promise<PlannedScriptlet[]> {
  const installed = opts.installed ?? ((p: ComposePackage, f: string) => {
    if (fileInfo(p).get(f)?.ghost) return false;
    return fs.lstatSync(path.join(rootfs, f), { throwIfNoEntry: false }) !== undefined;
  });
  const plan = planScriptlets(pkgs, { ...opts, installed });
  const todo = plan.filter((s) => !s.skipped);
  if (todo.length === 0) return plan;
  await withRootOverlay(rootfs, opts.scratchDir, async (session) => {
    let done = 0;
    for (const s of todo) {
      opts.onProgress?.({ phase: 'scriptlets', done, total: todo.length, item: s.label });
      await runOne(session, s, done, opts);
      done++;
    }
    opts.onProgress?.({ phase: 'scriptlets', done, total: todo.length });
  });
  return plan;
}
