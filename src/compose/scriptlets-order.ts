/**
 * rpm's transaction ordering (lib/order.c, rpmtsOrder) for an install-only transaction: relations from Requires
 * (and the weak/ordering tags), strongly connected components (Tarjan), a queue ordered by the number of packages
 * that require a package, and loops broken where it hurts pre-requirements least (multi-source BFS from the
 * pre-required packages). Followed closely, including the singly-linked queue and the "push_front" relation lists,
 * because the tie-breaks fall out of those details.
 */
import type { ComposePackage } from './types.js';
import { Sense, decodeDependency, type Dependency } from '../rpm/file/index.js';
import { parseEVR, parseFlags, rangesOverlap } from '../rpm/version.js';
import { isRich, parseRich, type RichDep } from '../rpm/solve/rich.js';

/** RPMTAG_ORDERNAME/FLAGS/VERSION (OrderWithRequires). */
const ORDER_TAGS = [5035, 5036, 5037] as const;

const notpre = (x: number) => x & ~Sense.PREREQ;
const INSTALL_ONLY_MASK = notpre(Sense.SCRIPT_PRE | Sense.SCRIPT_POST | Sense.RPMLIB | Sense.KEYRING | Sense.PRETRANS | Sense.POSTTRANS);
const UNORDERED_ONLY_MASK = notpre(Sense.RPMLIB | Sense.CONFIG | Sense.PRETRANS | Sense.POSTTRANS | Sense.PREUNTRANS | Sense.POSTUNTRANS | Sense.SCRIPT_VERIFY | Sense.META);
const FORCE_ORDER_ONLY_MASK = notpre(Sense.SCRIPT_PRE | Sense.SCRIPT_POST | Sense.SCRIPT_PREUN | Sense.SCRIPT_POSTUN);
const ALL_REQUIRES_MASK =
  Sense.INTERP | Sense.SCRIPT_PRE | Sense.SCRIPT_POST | Sense.SCRIPT_PREUN | Sense.SCRIPT_POSTUN | Sense.SCRIPT_VERIFY | Sense.FIND_REQUIRES |
  Sense.RPMLIB | Sense.KEYRING | Sense.PRETRANS | Sense.POSTTRANS | Sense.PREUNTRANS | Sense.POSTUNTRANS | Sense.PREREQ | Sense.META | Sense.MISSINGOK;
const isLegacyPreReq = (x: number) => (x & ALL_REQUIRES_MASK) === Sense.PREREQ;
const isInstallPreReq = (x: number) => x & INSTALL_ONLY_MASK;
const isUnorderedReq = (x: number) => (x & UNORDERED_ONLY_MASK) !== 0 && (x & FORCE_ORDER_ONLY_MASK) === 0;

interface Relation {
  suc: Node;
  flags: number;
}

interface Node {
  index: number;
  pkg: ComposePackage;
  color: number;
  /** #pkgs this pkg requires */
  count: number;
  /** #pkgs requiring this package */
  qcnt: number;
  reqx: number;
  /** packages requiring this one (front = most recent, like rpm's forward_list::push_front) */
  relations: Relation[];
  /** packages this one requires */
  forward: Relation[];
  suc: Node | null;
  sccIdx: number;
  sccLowlink: number;
}

interface Scc {
  count: number;
  members: Node[];
}

type DepTag = 'requires' | 'recommends' | 'suggests' | 'supplements' | 'enhances' | 'order';

/** Provider lookup over the transaction's packages (rpmal): files first for paths, then provides. */
class AddedList {
  private provides = new Map<string, { node: Node; dep: Dependency }[]>();
  private files: Map<string, Node[]> | undefined;
  constructor(private readonly nodes: Node[]) {
    for (const n of nodes) {
      const h = n.pkg.header;
      const deps = h.provides;
      // rpm adds the package's own "N = EVR" provide when a header lacks it.
      if (!deps.some((d) => d.name === h.name && d.op === '=')) deps.push(decodeDependency(h.name, Sense.EQUAL, h.evr));
      for (const d of deps) {
        const l = this.provides.get(d.name);
        if (l) l.push({ node: n, dep: d });
        else this.provides.set(d.name, [{ node: n, dep: d }]);
      }
    }
  }

  private fileIndex(): Map<string, Node[]> {
    if (this.files) return this.files;
    const m = new Map<string, Node[]>();
    for (const n of this.nodes) {
      for (const f of n.pkg.header.fileNames) {
        const l = m.get(f);
        if (!l) m.set(f, [n]);
        else if (l[l.length - 1] !== n) l.push(n);
      }
    }
    return (this.files = m);
  }

  allSatisfying(name: string, flags: number, version: string): Node[] {
    if (name.startsWith('/')) {
      const f = this.fileIndex().get(name);
      if (f?.length) return f;
    }
    const want = { f: parseFlags(opOf(flags)), evr: version ? parseEVR(version) : undefined };
    const out: Node[] = [];
    for (const { node, dep } of this.provides.get(name) ?? []) {
      const have = { f: parseFlags(dep.op), evr: dep.version ? parseEVR(dep.version) : undefined };
      if (rangesOverlap(have.f, have.evr, want.f, want.evr)) out.push(node);
    }
    return out;
  }
}

function opOf(flags: number): string {
  const lt = flags & Sense.LESS;
  const gt = flags & Sense.GREATER;
  const eq = flags & Sense.EQUAL;
  return lt ? (eq ? '<=' : '<') : gt ? (eq ? '>=' : '>') : eq ? '=' : '';
}

function colorOf(pkg: ComposePackage): number {
  let c = 0;
  for (const f of pkg.header.files) c |= f.color;
  return c & 0x0f;
}

export interface OrderOptions {
  /** rpm's %_transaction_color (3 on 64-bit multilib arches). */
  tsColor?: number;
  /** rpm's %_prefer_color (2 = ELF64 on x86_64/aarch64). */
  preferColor?: number;
}

/** Order packages as `rpm -i` (rpmtsOrder) would, given them in the order they were added to the transaction. */
export function rpmOrder(pkgs: ComposePackage[], opts: OrderOptions = {}): ComposePackage[] {
  const prefcolor = opts.preferColor ?? 2;
  const tscolor = opts.tsColor ?? 3;
  const nodes: Node[] = pkgs.map((pkg, index) => ({
    index, pkg, color: colorOf(pkg), count: 0, qcnt: 0, reqx: 0, relations: [], forward: [], suc: null, sccIdx: 0, sccLowlink: 0,
  }));
  const al = new AddedList(nodes);

  const satisfies = (p: Node, name: string, flags: number, version: string): Node | null => {
    const providers = al.allSatisfying(name, flags, version);
    if (providers.length === 0) return null;
    let best: Node | null = null;
    let bestscore = 0;
    for (const c of providers) {
      let score = 0;
      if (tscolor && prefcolor && prefcolor === c.color) score += 2;
      if (c === p) score += 1;
      if (score > bestscore) {
        bestscore = score;
        best = c;
      }
    }
    return best ?? providers[0]!;
  };

  const addSingleRelation = (p0: Node, q0: Node, tag: DepTag, dsflags: number): void => {
    let p = p0;
    let q = q0;
    if (q === p) return;
    const reversed = tag === 'supplements' || tag === 'enhances';
    let flags = isInstallPreReq(dsflags);
    if (isLegacyPreReq(dsflags)) flags |= Sense.SCRIPT_PRE;
    const weak = tag === 'requires' ? (dsflags & Sense.MISSINGOK) !== 0 : true;
    if (weak && tag !== 'order') {
      if (flags) flags = 0;
      else return;
    }
    if (reversed) [p, q] = [q, p];
    if (!reversed && q.relations.length && q.relations[0]!.suc === p) {
      q.relations[0]!.flags |= flags;
      const r = p.forward.find((x) => x.suc === q);
      if (r) r.flags |= flags;
      return;
    }
    if (reversed && q.forward.length && q.forward[0]!.suc === p) {
      q.forward[0]!.flags |= flags;
      const r = p.relations.find((x) => x.suc === q);
      if (r) r.flags |= flags;
      return;
    }
    p.count++;
    q.relations.unshift({ suc: p, flags });
    q.qcnt++;
    p.forward.unshift({ suc: q, flags });
  };

  const addRich = (p: Node, r: RichDep, tag: DepTag, flags: number): void => {
    if (r.kind === 'leaf') {
      const q = satisfies(p, r.name, r.flags === 0 ? flags & ~(Sense.LESS | Sense.GREATER | Sense.EQUAL) : libsolvToSense(r.flags) | (flags & ~(Sense.LESS | Sense.GREATER | Sense.EQUAL)), r.evr ? evrString(r.evr) : '');
      if (q && q !== p) addSingleRelation(p, q, tag, flags);
      return;
    }
    // rpm: everything but the else-branch of the first operand; both operands of and/or; the else of if/unless.
    if (r.op === 'and' || r.op === 'or') for (const a of r.args) addRich(p, a, tag, flags);
    else {
      if (r.args[0]) addRich(p, r.args[0], tag, flags);
      if ((r.op === 'if' || r.op === 'unless') && r.otherwise) addRich(p, r.otherwise, tag, flags);
    }
  };

  const addRelation = (p: Node, d: { name: string; flags: number; version: string }, tag: DepTag): void => {
    if (isUnorderedReq(d.flags)) return;
    if (isRich(d.name)) {
      let r: RichDep;
      try {
        r = parseRich(d.name);
      } catch {
        return; // rpm ignores what it cannot parse here; the solver already judged it
      }
      addRich(p, r, tag, d.flags);
      return;
    }
    const q = satisfies(p, d.name, d.flags, d.version);
    if (q === null || q === p) return;
    addSingleRelation(p, q, tag, d.flags);
  };

  for (const p of nodes) {
    const h = p.pkg.header;
    for (const tag of ['requires', 'recommends', 'suggests', 'supplements', 'enhances'] as const) for (const d of h.dependencies(tag)) addRelation(p, d, tag);
    const on = h.blob.strings(ORDER_TAGS[0]) ?? [];
    const of = h.blob.numbers(ORDER_TAGS[1]) ?? [];
    const ov = h.blob.strings(ORDER_TAGS[2]) ?? [];
    on.forEach((name, i) => addRelation(p, { name, flags: of[i] ?? 0, version: ov[i] ?? '' }, 'order'));
  }

  // Tarjan's SCCs over "required-by" edges; indexes 0/1 are reserved as in rpm (0: collected, 1: trivial SCC).
  const SCCs: Scc[] = Array.from({ length: nodes.length + 3 }, () => ({ count: 0, members: [] }));
  const sd = { index: 0, stack: [] as Node[], sccCnt: 2 };
  const tarjan = (tsi: Node): void => {
    sd.index--;
    tsi.sccIdx = sd.index;
    tsi.sccLowlink = sd.index;
    sd.stack.push(tsi);
    for (const rel of tsi.relations) {
      const q = rel.suc;
      if (q.sccIdx > 0) continue;
      if (q.sccIdx === 0) {
        tarjan(q);
        tsi.sccLowlink = tsi.sccLowlink > q.sccLowlink ? tsi.sccLowlink : q.sccLowlink;
      } else {
        tsi.sccLowlink = tsi.sccLowlink > q.sccIdx ? tsi.sccLowlink : q.sccIdx;
      }
    }
    if (tsi.sccLowlink === tsi.sccIdx) {
      if (sd.stack[sd.stack.length - 1] === tsi) {
        sd.stack.pop()!.sccIdx = 1;
      } else {
        let i = sd.stack.length;
        let q: Node;
        do {
          q = sd.stack[--i]!;
          q.sccIdx = sd.sccCnt;
        } while (q !== tsi);
        i = sd.stack.length;
        do {
          q = sd.stack[--i]!;
          SCCs[sd.sccCnt]!.count += q.count;
          for (const rel of q.relations) if (rel.suc !== q && rel.suc.sccIdx === sd.sccCnt) SCCs[sd.sccCnt]!.count--;
        } while (q !== tsi);
        while (sd.stack.length > i) SCCs[sd.sccCnt]!.members.push(sd.stack.pop()!);
        sd.sccCnt++;
      }
    }
  };
  for (const n of nodes) if (n.sccIdx === 0) tarjan(n);

  // All packages here are installs; colour rules for TR_ADDED.
  const addQ = (p: Node, head: { q: Node | null }, tail: { q: Node | null }): void => {
    p.reqx = 1;
    if (tail.q === null) {
      tail.q = head.q = p;
      return;
    }
    const tailcond = p.color !== 0 && p.color !== prefcolor;
    let qprev: Node | null = null;
    let q = head.q;
    for (; q !== null; qprev = q, q = q.suc) {
      if (tailcond && p.color !== q.color) continue;
      if (q.qcnt <= p.qcnt) break;
    }
    if (qprev === null) {
      p.suc = q;
      head.q = p;
    } else if (q === null) {
      qprev.suc = p;
      tail.q = p;
    } else {
      p.suc = q;
      qprev.suc = p;
    }
  };

  const newOrder: Node[] = [];

  // Queue heads are passed by reference; a node's `suc` can itself act as a head ("&q->tsi_suc" in rpm).
  const sucRef = (n: Node): { q: Node | null } => ({
    get q() { return n.suc; },
    set q(v: Node | null) { n.suc = v; },
  });

  const collectTE = (q: Node, queueEnd: { q: Node | null }, outerQueue: { q: Node | null } | null, outerQueueEnd: { q: Node | null } | null): void => {
    newOrder.push(q);
    for (const rel of q.relations) {
      const p = rel.suc;
      if (p.sccIdx === 0) continue;
      if (p === q) continue;
      if (--p.count === 0) {
        if (q.sccIdx > 1 && q.sccIdx !== p.sccIdx) addQ(p, outerQueue!, outerQueueEnd!);
        else addQ(p, sucRef(q), queueEnd);
      }
      if (p.sccIdx > 1 && p.sccIdx !== q.sccIdx) {
        if (--SCCs[p.sccIdx]!.count === 0) {
          if (outerQueue !== null) addQ(p, outerQueue, outerQueueEnd!);
          else addQ(p, sucRef(q), queueEnd);
        }
      }
    }
    q.sccIdx = 0;
  };

  const dijkstra = (scc: Scc, sccNr: number): void => {
    const queue: Node[] = [];
    for (const tsi of scc.members) {
      tsi.sccLowlink = Number.MAX_SAFE_INTEGER;
      for (const rel of tsi.forward) {
        if (rel.flags && rel.suc.sccIdx === sccNr) {
          if (rel.suc !== tsi) {
            tsi.sccLowlink = 0;
            queue.push(tsi);
          } else {
            tsi.sccLowlink = Math.floor(Number.MAX_SAFE_INTEGER / 2);
          }
          break;
        }
      }
    }
    if (queue.length === 0) for (const tsi of scc.members) if (tsi.sccLowlink !== Number.MAX_SAFE_INTEGER) queue.push(tsi);
    for (let i = 0; i < queue.length; i++) {
      const tsi = queue[i]!;
      for (const rel of tsi.forward) {
        const next = rel.suc;
        if (next.sccIdx !== sccNr) continue;
        if (next.sccLowlink > tsi.sccLowlink + 1) {
          next.sccLowlink = tsi.sccLowlink + 1;
          queue.push(next);
        }
      }
    }
  };

  const collectSCC = (p: Node, queueEnd: { q: Node | null }): void => {
    const sccNr = p.sccIdx;
    const scc = SCCs[sccNr]!;
    const outer = { q: p.suc as Node | null };
    p.suc = null;
    dijkstra(scc, sccNr);
    for (;;) {
      let best: Node | null = null;
      let bestScore = 0;
      for (const tsi of scc.members) {
        if (tsi.sccIdx === 0) continue;
        if (tsi.sccLowlink >= bestScore) {
          best = tsi;
          bestScore = tsi.sccLowlink;
        }
      }
      if (best === null) break;
      const innerStart = { q: null as Node | null };
      const innerEnd = { q: null as Node | null };
      addQ(best, innerStart, innerEnd);
      for (; innerStart.q !== null; innerStart.q = innerStart.q.suc) {
        innerStart.q.reqx = 0;
        collectTE(innerStart.q, innerEnd, outer, queueEnd);
      }
    }
    p.suc = outer.q;
  };

  const head = { q: null as Node | null };
  const tail = { q: null as Node | null };
  for (const p of nodes) {
    if (p.count !== 0) continue;
    p.suc = null;
    addQ(p, head, tail);
  }
  for (let i = 2; SCCs[i]!.members.length > 0; i++) {
    const member = SCCs[i]!.members[0]!;
    if (SCCs[i]!.count === 0) addQ(member, head, tail);
  }
  let q = head.q;
  while (q !== null) {
    q.reqx = 0;
    if (q.sccIdx > 1) collectSCC(q, tail);
    else collectTE(q, tail, null, null);
    q = q.suc;
  }
  if (newOrder.length !== nodes.length) {
    // Cannot happen with rpm's algorithm; keep every package rather than silently dropping one.
    for (const n of nodes) if (!newOrder.includes(n)) newOrder.push(n);
  }
  return newOrder.map((n) => n.pkg);
}

function libsolvToSense(f: number): number {
  // libsolv REL_GT=1, REL_EQ=2, REL_LT=4 → rpm sense bits
  return (f & 1 ? Sense.GREATER : 0) | (f & 2 ? Sense.EQUAL : 0) | (f & 4 ? Sense.LESS : 0);
}

function evrString(e: { epoch?: number; version: string; release?: string }): string {
  return `${e.epoch !== undefined ? `${e.epoch}:` : ''}${e.version}${e.release ? `-${e.release}` : ''}`;
}

