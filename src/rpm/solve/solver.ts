/**
 * Dependency resolution for an install-only transaction (empty root), the way
 * dnf 4 / libsolv does it: package rules are encoded as clauses for a CDCL
 * core (sat.ts); decisions follow libsolv's solver_run_sat order (jobs, then
 * unresolved requires in rule order with postponing of ambiguous ones, then
 * weak deps) and libsolv's policy_filter_unwanted for choosing among
 * candidates (repo priority, arch, best version per name, obsoletes,
 * recommended/supplemented, old versions last, common-dep ordering).
 */
import type { Dep, Package } from '../repo/package.js';
import { Pool } from './pool.js';
import { Sat } from './sat.js';
import { parseRich, isRich, type RichDep } from './rich.js';
import { compareEVR, compareEVRMatch, flagsToOp, formatEVR, parseEVR, parseFlags, REL_EQ, REL_LT, type EVR } from '../version.js';

export type RuleInfo =
  | { type: 'job'; spec: string }
  | { type: 'requires'; pkg: Package; dep: string }
  | { type: 'nothing'; pkg: Package; dep: string }
  | { type: 'conflicts'; pkg: Package; dep: string; other: Package }
  | { type: 'obsoletes'; pkg: Package; dep: string; other: Package }
  | { type: 'samename'; pkg: Package; other: Package }
  | { type: 'lock'; spec: string };

type Lits = number[];

export function depToString(d: Dep): string {
  if (!d.flags || !d.evr) return d.name;
  return `${d.name} ${flagsToOp(d.flags)} ${formatEVR(d.evr)}`;
}

export interface SolveJob {
  spec: string;
  candidates: Package[];
}

export interface SolveOptions {
  recommends: boolean;
}

const DEBUG = !!process.env.CF_SOLVER_DEBUG;
const CHOOSE = 0;
const CHOOSE_NOREORDER = 3;
const RECOMMEND = 1;

export class Solver {
  readonly sat: Sat;
  readonly infos: RuleInfo[] = [];
  /** Requires/pkg rules in libsolv order: [clause index] */
  private depRules: number[] = [];
  private depRulePkg: number[] = [];
  private readonly jobClauses: number[] = [];
  private readonly added = new Uint8Array(0);
  private readonly richCache = new Map<string, RichDep>();
  private unsat = false;
  /** libsolv "branches": alternatives left at each multi-candidate decision, for minimization. */
  private branches: { level: number; items: { v: number; tried: boolean }[] }[] = [];

  constructor(
    readonly pool: Pool,
    readonly jobs: SolveJob[],
    readonly opts: SolveOptions,
  ) {
    this.sat = new Sat(pool.packages.length);
    this.added = new Uint8Array(pool.packages.length);
  }

  private rich(name: string): RichDep {
    let r = this.richCache.get(name);
    if (!r) this.richCache.set(name, (r = parseRich(name)));
    return r;
  }

  private addClause(lits: Lits, info: RuleInfo): number {
    const idx = this.infos.length;
    this.infos.push(info);
    const ci = this.sat.clauses.length;
    if (!this.sat.addClause(lits, idx)) this.unsat = true;
    return ci;
  }

  /** Providers of a leaf dep as SAT variables. */
  private prov(d: { name: string; flags: number; evr?: EVR }): number[] {
    return this.pool.whatProvides(d as Dep).map((p) => p.id);
  }

  private leafSet(d: RichDep): number[] | undefined {
    if (d.kind === 'leaf') return this.prov(d);
    if (d.op === 'with' || d.op === 'without') {
      const [a, ...rest] = d.args.map((x) => this.leafSet(x) ?? []);
      let s = new Set(a);
      for (const r of rest) {
        const rs = new Set(r);
        s = new Set([...s].filter((x) => (d.op === 'with' ? rs.has(x) : !rs.has(x))));
      }
      return [...s].sort((x, y) => x - y);
    }
    return undefined;
  }

  /** CNF of a rich dep (or its negation) over package literals. */
  private cnf(d: RichDep, neg: boolean): Lits[] {
    const leaf = this.leafSet(d);
    if (leaf) return neg ? leaf.map((v) => [-v]) : [leaf];
    if (d.kind !== 'op') return [];
    const [a, b] = d.args as [RichDep, RichDep];
    const and = (xs: Lits[][]) => xs.flat();
    const or = (xs: Lits[][]) => xs.reduce((acc, cur) => acc.flatMap((c1) => cur.map((c2) => [...c1, ...c2])), [[]] as Lits[]);
    switch (d.op) {
      case 'and':
        return neg ? or(d.args.map((x) => this.cnf(x, true))) : and(d.args.map((x) => this.cnf(x, false)));
      case 'or':
        return neg ? and(d.args.map((x) => this.cnf(x, true))) : or(d.args.map((x) => this.cnf(x, false)));
      case 'if':
      case 'unless': {
        // libsolv cplxdeps.c: A unless B == A ∧ ¬B (it is meant for conflicts-like deps), not B ∨ A
        if (d.op === 'unless' && !d.otherwise) return neg ? or([this.cnf(a, true), this.cnf(b, false)]) : and([this.cnf(a, false), this.cnf(b, true)]);
        // A if B  == (¬B ∨ A) [∧ (B ∨ C)];  A unless B else C == (B ∨ A) ∧ (¬B ∨ C)
        const cond = d.op === 'if';
        const p1: Lits[] = or([this.cnf(b, cond), this.cnf(a, false)]);
        const p2: Lits[] | undefined = d.otherwise ? or([this.cnf(b, !cond), this.cnf(d.otherwise, false)]) : undefined;
        if (!neg) return p2 ? [...p1, ...p2] : p1;
        // ¬(X ∧ Y) = ¬X ∨ ¬Y, where ¬(¬B ∨ A) = B ∧ ¬A
        const n1 = and([this.cnf(b, !cond), this.cnf(a, true)]);
        if (!d.otherwise) return n1;
        const n2 = and([this.cnf(b, cond), this.cnf(d.otherwise, true)]);
        return or([n1, n2]);
      }
      default:
        return [];
    }
  }

  /** Evaluate a dep against the current assignment (true packages). */
  private satisfied(name: string, d: Dep | RichDep): boolean {
    if (isRich(name)) return this.evalRich(this.rich(name));
    return this.prov(d as Dep).some((v) => this.sat.value[v] === 1);
  }

  private evalRich(d: RichDep): boolean {
    const leaf = this.leafSet(d);
    if (leaf) return leaf.some((v) => this.sat.value[v] === 1);
    if (d.kind !== 'op') return false;
    const [a, b] = d.args as [RichDep, RichDep];
    switch (d.op) {
      case 'and':
        return d.args.every((x) => this.evalRich(x));
      case 'or':
        return d.args.some((x) => this.evalRich(x));
      case 'if':
        return this.evalRich(b) ? this.evalRich(a) : d.otherwise ? this.evalRich(d.otherwise) : true;
      case 'unless':
        return !this.evalRich(b) ? this.evalRich(a) : d.otherwise ? this.evalRich(d.otherwise) : false;
      default:
        return false;
    }
  }

  /** Add the package rules of every package reachable from the jobs (libsolv's addpkgrulesforsolvable). */
  private addRules(): void {
    const queue: Package[] = [];
    const push = (p: Package) => {
      if (!this.added[p.id]) {
        this.added[p.id] = 1;
        queue.push(p);
      }
    };
    for (const j of this.jobs) j.candidates.forEach(push);
    const reqRules: { pkg: number; ci: number; order: number }[] = [];
    let order = 0;
    const supplementers = this.opts.recommends ? this.pool.packages.filter((p): p is Package => !!p && p.supplements.length > 0) : [];
    for (;;) {
      while (queue.length) {
        const p = queue.shift()!;
        const P = p.id;
        for (const d of p.requires) {
          if (d.name.startsWith('rpmlib(')) continue;
          let clauses: Lits[];
          if (isRich(d.name)) clauses = this.cnf(this.rich(d.name), false);
          else clauses = [this.prov(d)];
          for (const c of clauses) {
            if (c.includes(P)) continue; // self-provided
            for (const v of c) if (v > 0) push(this.pool.packages[v]!);
            const info: RuleInfo = c.length === 0 ? { type: 'nothing', pkg: p, dep: depToString(d) } : { type: 'requires', pkg: p, dep: depToString(d) };
            const ci = this.addClause([-P, ...c], info);
            if (c.length > 0) reqRules.push({ pkg: P, ci, order: order++ });
          }
        }
        for (const d of p.conflicts) {
          const clauses = isRich(d.name) ? this.cnf(this.rich(d.name), true) : this.prov(d).map((v) => [-v]);
          for (const c of clauses) {
            if (c.length === 1 && c[0] === -P) continue; // a package never conflicts with itself
            const other = this.pool.packages[Math.abs(c[0] ?? 0)];
            this.addClause([-P, ...c], { type: 'conflicts', pkg: p, dep: depToString(d), other: other ?? p });
          }
        }
        for (const d of p.obsoletes) {
          for (const q of this.pool.byName.get(d.name) ?? []) {
            if (q.id === P || q.name === p.name || !this.pool.matchNevr(q, d)) continue;
            this.addClause([-P, -q.id], { type: 'obsoletes', pkg: p, dep: depToString(d), other: q });
          }
        }
        for (const q of this.pool.byName.get(p.name) ?? []) {
          if (q.id === P || !this.pool.colorMatch(p, q)) continue;
          if (this.added[q.id] && q.id < P) continue; // added from q's side already
          this.addClause([-P, -q.id], { type: 'samename', pkg: p, other: q });
        }
        if (this.opts.recommends) for (const d of p.recommends) for (const v of isRich(d.name) ? this.cnf(this.rich(d.name), false).flat() : this.prov(d)) if (v > 0) push(this.pool.packages[v]!);
      }
      // Supplementing packages whose supplements mention something reachable can join later.
      let grew = false;
      for (const s of supplementers) {
        if (this.added[s.id]) continue;
        const hits = s.supplements.some((d) => (isRich(d.name) ? this.cnf(this.rich(d.name), false).flat() : this.prov(d)).some((v) => v > 0 && this.added[v]));
        if (hits) {
          push(s);
          grew = true;
        }
      }
      if (!grew) break;
    }
    // libsolv sorts rules by their first literal (-pkg): higher package ids first.
    reqRules.sort((a, b) => b.pkg - a.pkg || a.order - b.order);
    this.depRules = reqRules.map((r) => r.ci);
    this.depRulePkg = reqRules.map((r) => r.pkg);
  }

  private undecidedPositives(ci: number): number[] | undefined {
    // Returns undefined when the clause is satisfied or not active.
    const lits = this.sat.clauses[ci]!.lits;
    const out: number[] = [];
    for (const l of lits) {
      const v = this.sat.litValue(l);
      if (v === 1) return undefined;
      if (l < 0) {
        if (v === 0) return undefined; // the requiring package is not (yet) installed
      } else if (v === 0) out.push(l);
    }
    return out;
  }

  solve(): { ok: true; install: Package[] } | { ok: false; problems: string[] } {
    this.addRules();
    for (const j of this.jobs) {
      const ci = this.addClause(
        j.candidates.map((p) => p.id),
        { type: 'job', spec: j.spec },
      );
      this.jobClauses.push(ci);
    }
    if (this.unsat || !this.sat.settle()) return { ok: false, problems: this.problems() };
    outer: for (;;) {
      // 1. jobs
      for (const ci of this.jobClauses) {
        const c = this.sat.clauses[ci]!.lits;
        if (c.some((l) => this.sat.litValue(l) === 1)) continue;
        const dq = c.filter((l) => this.sat.litValue(l) === 0);
        if (!this.select(dq, CHOOSE)) return { ok: false, problems: this.problems() };
        continue outer;
      }
      // 2. requires, libsolv resolve_dependencies with postponing
      const r = this.resolveDependencies();
      if (r === 'unsat') return { ok: false, problems: this.problems() };
      if (r === 'restart') continue outer;
      // 3. weak deps
      if (this.opts.recommends && this.resolveWeak()) continue outer;
      if (this.minimize()) {
        if (this.unsat) return { ok: false, problems: this.problems() };
        continue outer;
      }
      break;
    }
    const install: Package[] = [];
    for (let v = 1; v < this.pool.packages.length; v++) if (this.sat.value[v] === 1) install.push(this.pool.packages[v]!);
    return { ok: true, install };
  }

  /**
   * Port of libsolv's resolve_dependencies loop: walk the requires rules
   * cyclically, decide rules with a single policy-preferred candidate first,
   * postpone ambiguous ones until a full cycle makes no progress, then decide
   * everything in order from the first postponed rule.
   */
  private resolveDependencies(): 'done' | 'restart' | 'unsat' {
    const rules = this.depRules;
    const R = rules.length;
    if (R === 0) return 'done';
    let postponed = 0; // 0 none yet, k+1 first postponed rule, -1 postponing disabled
    let i = 0;
    let n = 1;
    for (;;) {
      if (n > R) {
        if (postponed <= 0) return 'done';
        i = postponed - 1;
        postponed = -1;
        n = 1;
      }
      if (i >= R) i = 0;
      // Most rules belong to packages that are not installed: skip them cheaply.
      const dq = this.sat.value[this.depRulePkg[i]!] === 1 ? this.undecidedPositives(rules[i]!) : undefined;
      if (dq && dq.length > 0) {
        let skip = false;
        if (dq.length > 1 && postponed >= 0) {
          const f = this.filter(dq, CHOOSE_NOREORDER);
          if (f.length > 1) {
            if (postponed === 0) postponed = i + 1;
            skip = true;
          }
        }
        if (!skip) {
          const lvl = this.sat.decisionLevel;
          if (!this.select(dq, CHOOSE)) return 'unsat';
          if (this.sat.decisionLevel <= lvl) return 'restart';
          n = 0;
        }
      }
      i++;
      n++;
    }
  }

  /** Returns true if it made a decision (caller re-runs the loop). */
  private resolveWeak(): boolean {
    const dq: number[] = [];
    const dqs: number[] = [];
    const inDq = new Set<number>();
    for (let v = 1; v < this.pool.packages.length; v++) {
      const val = this.sat.value[v];
      if (val === -1) continue;
      const p = this.pool.packages[v]!;
      if (val === 1) {
        for (const d of p.recommends) {
          const cands = this.recCandidates(d);
          if (!cands) continue;
          for (const c of cands) if (!inDq.has(c)) (inDq.add(c), dq.push(c));
        }
      } else if (this.added[v] && p.supplements.length && this.isSupplementing(p)) {
        // skip supplementers whose name is already installed in another arch
        if ((this.pool.byName.get(p.name) ?? []).some((q) => this.sat.value[q.id] === 1 && q.arch !== p.arch)) continue;
        dqs.push(v);
      }
    }
    for (const s of dqs) if (!inDq.has(s)) (inDq.add(s), dq.push(s));
    if (dq.length === 0) return false;
    if (dq.length === 1) {
      this.sat.decide(dq[0]!);
      this.pruneBranches();
      return true;
    }
    const best = new Set(this.filter(dq, RECOMMEND));
    const supp = dqs.filter((v) => best.has(v));
    const before = this.sat.trail.length;
    for (const v of supp) {
      if (this.sat.value[v] !== 0) continue;
      const lvl = this.sat.decisionLevel;
      this.sat.decide(v);
      this.pruneBranches();
      if (this.sat.decisionLevel <= lvl) return true;
    }
    if (supp.length) return true;
    const decided = this.sat.trail.slice(0, before).filter((l) => l > 0);
    for (const v of decided) {
      const p = this.pool.packages[v]!;
      for (const d of p.recommends) {
        const cands = (this.recCandidates(d) ?? []).filter((c) => best.has(c) && this.sat.value[c] === 0);
        if (cands.length === 0) continue;
        this.select(cands, CHOOSE);
        return true;
      }
    }
    return false;
  }

  private recCandidates(d: Dep): number[] | undefined {
    if (isRich(d.name)) {
      const out: number[] = [];
      for (const c of this.cnf(this.rich(d.name), false)) {
        if (c.some((l) => this.sat.litValue(l) === 1)) continue;
        for (const l of c) if (l > 0 && this.sat.value[l] === 0) out.push(l);
      }
      return out.length ? out : undefined;
    }
    const prov = this.prov(d);
    if (prov.some((v) => this.sat.value[v] === 1)) return undefined;
    return prov.filter((v) => this.sat.value[v] === 0 && this.added[v]);
  }

  private isSupplementing(p: Package): boolean {
    return p.supplements.some((d) => this.satisfied(d.name, d));
  }

  private select(dq: number[], mode: number): boolean {
    const f = dq.length > 1 ? this.filter(dq, mode) : dq;
    if (DEBUG) console.error(`decide ${this.pool.packages[f[0]!]!.nevra} from [${dq.map((v) => this.pool.packages[v]!.nevra).join(' ')}] -> [${f.map((v) => this.pool.packages[v]!.nevra).join(' ')}] level ${this.sat.decisionLevel}`);
    const level = this.sat.decisionLevel;
    if (f.length > 1) this.branches.push({ level, items: f.map((v, i) => ({ v, tried: i === 0 })) });
    const ok = this.sat.decide(f[0]!);
    if (!ok) this.unsat = true;
    this.pruneBranches();
    return ok;
  }

  /** Drop branches whose decision was undone by a backjump. */
  private pruneBranches(): void {
    const lvl = this.sat.decisionLevel;
    while (this.branches.length && this.branches[this.branches.length - 1]!.level >= lvl) this.branches.pop();
  }

  /**
   * libsolv's auto-minimization: if an alternative of an earlier choice got
   * installed later anyway (or is recommended while the choice is not), go
   * back and take that alternative instead.
   */
  private minimize(): boolean {
    let pick: { b: number; v: number } | undefined;
    const rec = this.recommendsMap();
    const wanted = (v: number) => rec.has(v) || this.isSupplementing(this.pool.packages[v]!);
    for (let bi = this.branches.length - 1; bi >= 0; bi--) {
      const b = this.branches[bi]!;
      let lastsi: number | undefined;
      let found = false;
      for (const it of b.items) {
        if (it.tried) continue;
        if (this.sat.value[it.v] === 1 && this.sat.level[it.v]! > b.level) {
          pick = { b: bi, v: it.v };
          lastsi = undefined;
          found = true;
          break;
        }
        if (lastsi === undefined && wanted(it.v)) lastsi = it.v;
      }
      if (!found && lastsi !== undefined) {
        for (const it of b.items) {
          if (!it.tried || this.sat.value[it.v] !== 1 || this.sat.level[it.v] !== b.level + 1) continue;
          if (!wanted(it.v)) {
            pick = { b: bi, v: lastsi };
            break;
          }
        }
      }
    }
    if (!pick) return false;
    const b = this.branches[pick.b]!;
    b.items.find((it) => it.v === pick!.v)!.tried = true;
    this.branches.length = pick.b + 1;
    this.sat.backjump(b.level);
    if (DEBUG) console.error(`minimizing: take ${this.pool.packages[pick.v]!.nevra} at level ${b.level}`);
    const ok = this.sat.decide(pick.v);
    if (!ok) this.unsat = true;
    this.pruneBranches();
    return true;
  }

  // ---- policy (libsolv policy.c) ----

  filter(list: number[], mode: number): number[] {
    let l = [...list];
    const P = (v: number) => this.pool.packages[v]!;
    if (l.length > 1) {
      // prune_to_highest_prio (dnf priority: lower number wins)
      const best = Math.min(...l.map((v) => P(v).repo.priority));
      l = l.filter((v) => P(v).repo.priority === best);
    }
    if (l.length > 1) {
      // prune_to_best_arch
      let bestscore = 0;
      for (const v of l) {
        const a = this.pool.archScore(P(v).arch);
        if (a && a !== 1 && (!bestscore || a < bestscore)) bestscore = a;
      }
      if (bestscore) {
        const k = l.filter((v) => {
          const a = this.pool.archScore(P(v).arch);
          return a && (a === 1 || ((a ^ bestscore) & 0xffff0000) === 0);
        });
        if (k.length) l = k;
      }
    }
    if (l.length > 1) l = this.pruneToBestVersion(l);
    if (l.length > 1 && (mode === CHOOSE || mode === CHOOSE_NOREORDER)) {
      l = this.pruneToRecommended(l);
      if (l.length > 1 && mode === CHOOSE) {
        l = this.dislikeOldVersions(l);
        l = this.sortByCommonDep(l);
        l = this.preferSuggested(l);
      }
    }
    return l;
  }

  private pruneToBestVersion(l: number[]): number[] {
    const P = (v: number) => this.pool.packages[v]!;
    const sorted = [...l].sort((a, b) => {
      const pa = P(a);
      const pb = P(b);
      if (pa.name !== pb.name) return pa.name < pb.name ? -1 : 1;
      // repo sub-priority: lower cost first
      if (pa.repo.cost !== pb.repo.cost) return pa.repo.cost - pb.repo.cost;
      return a - b;
    });
    const out: number[] = [];
    let best: Package | undefined;
    for (const v of sorted) {
      const s = P(v);
      if (!best) best = s;
      else if (best.name !== s.name) {
        out.push(best.id);
        best = s;
      } else if (compareEVR(best.evr, s.evr) < 0) best = s;
    }
    if (best) out.push(best.id);
    if (out.length < 2) return out;
    // prune_obsoleted: drop candidates obsoleted by another candidate
    const obsoleted = new Set<number>();
    for (const v of out) {
      const s = P(v);
      for (const d of s.obsoletes)
        for (const w of out) {
          const o = P(w);
          if (w !== v && o.name !== s.name && this.pool.matchNevr(o, d)) obsoleted.add(w);
        }
    }
    if (out.length === 2 && obsoleted.size === 2) return out;
    const k = out.filter((v) => !obsoleted.has(v));
    return k.length ? k : out;
  }

  private recommendsMap(): Set<number> {
    const m = new Set<number>();
    for (const l of this.sat.trail) {
      if (l <= 0) continue;
      for (const d of this.pool.packages[l]!.recommends) {
        if (isRich(d.name)) this.cnf(this.rich(d.name), false).flat().forEach((v) => v > 0 && m.add(v));
        else this.prov(d).forEach((v) => m.add(v));
      }
    }
    return m;
  }

  private pruneToRecommended(l: number[]): number[] {
    const rec = this.recommendsMap();
    const k = l.filter((v) => rec.has(v) || this.isSupplementing(this.pool.packages[v]!));
    return k.length ? k : l;
  }

  private dislikeOldVersions(l: number[]): number[] {
    const good: number[] = [];
    const bad: number[] = [];
    for (const v of l) {
      const s = this.pool.packages[v]!;
      const newer = (this.pool.byName.get(s.name) ?? []).some(
        (q) => q !== s && q.arch === s.arch && (q.repo.priority < s.repo.priority || (q.repo.priority === s.repo.priority && compareEVR(q.evr, s.evr) > 0)),
      );
      (newer ? bad : good).push(v);
    }
    return [...good, ...bad];
  }

  private sortByCommonDep(l: number[]): number[] {
    const ents: { i: number; name: string; evr: EVR; lt: boolean }[] = [];
    l.forEach((v, i) => {
      for (const d of this.pool.packages[v]!.provides) {
        if (!d.evr || !(d.flags === REL_EQ || d.flags === (REL_EQ | REL_LT) || d.flags === REL_LT)) continue;
        if (d.flags === REL_EQ) {
          const s = formatEVR(d.evr);
          if (s.length >= 4 && /^[0-9a-f]+$/.test(s)) continue;
        }
        ents.push({ i, name: d.name, evr: d.evr, lt: d.flags === REL_LT });
      }
    });
    if (ents.length < 2) return l;
    const cmp = (a: (typeof ents)[0], b: (typeof ents)[0]) => {
      if (a.name !== b.name) return a.name < b.name ? -1 : 1;
      let r = compareEVRMatch(b.evr, a.evr);
      if (r === 0 && (a.lt || b.lt)) {
        if (!b.lt) return 1;
        if (!a.lt) return -1;
      }
      return r;
    };
    ents.sort(cmp);
    const badness = new Array<number>(l.length).fill(0);
    let bad = 0;
    let any = false;
    for (let k = 0; k < ents.length; k++) {
      const e = ents[k]!;
      if (k > 0 && ents[k - 1]!.name === e.name) {
        if (ents[k - 1]!.i !== e.i && cmp(ents[k - 1]!, e) === -1) {
          bad++;
          any = true;
        }
      } else bad = 0;
      badness[e.i] += bad;
    }
    if (!any) return l;
    return l.map((v, i) => ({ v, b: badness[i]!, i })).sort((a, b) => a.b - b.b || a.i - b.i).map((x) => x.v);
  }

  private preferSuggested(l: number[]): number[] {
    const sug = new Set<number>();
    for (const t of this.sat.trail) {
      if (t <= 0) continue;
      for (const d of this.pool.packages[t]!.suggests) if (!isRich(d.name)) this.prov(d).forEach((v) => sug.add(v));
    }
    const enh = (v: number) => this.pool.packages[v]!.enhances.some((d) => this.satisfied(d.name, d));
    const front = l.filter((v) => sug.has(v) || enh(v));
    if (front.length === 0 || front.length === l.length) return l;
    return [...front, ...l.filter((v) => !front.includes(v))];
  }

  // ---- problems ----

  problems(): string[] {
    const core = this.sat.unsatCore();
    const infos = core.map((ci) => this.infos[this.sat.clauses[ci]!.info]!);
    const lines: string[] = [];
    const seen = new Set<string>();
    const add = (s: string) => {
      if (!seen.has(s)) (seen.add(s), lines.push(s));
    };
    for (const i of infos) {
      switch (i.type) {
        case 'job':
          add('conflicting requests');
          break;
        case 'nothing':
          add(`nothing provides ${i.dep} needed by ${i.pkg.nevra}`);
          break;
        case 'requires':
          add(`package ${i.pkg.nevra} requires ${i.dep}, but none of the providers can be installed`);
          break;
        case 'conflicts':
          add(`package ${i.pkg.nevra} conflicts with ${i.dep} provided by ${i.other.nevra}`);
          break;
        case 'obsoletes':
          add(`package ${i.pkg.nevra} obsoletes ${i.dep} provided by ${i.other.nevra}`);
          break;
        case 'samename':
          add(`cannot install both ${i.pkg.nevra} and ${i.other.nevra}`);
          break;
        case 'lock':
          add(i.spec);
          break;
      }
    }
    // dnf puts the most specific reason first: "nothing provides" before "conflicting requests".
    const order = (s: string) => (s.startsWith('nothing provides') ? 0 : s.startsWith('package') ? 1 : s.startsWith('cannot') ? 2 : 3);
    return lines.sort((a, b) => order(a) - order(b));
  }
}

/** Parse a request spec like `foo >= 1.2` into a dep, or undefined if it has no operator. */
export function parseSpecDep(spec: string): Dep | undefined {
  const m = /^(\S+)\s*(<=|>=|==|=|<|>)\s*(\S+)$/.exec(spec.trim());
  if (!m) return undefined;
  return { name: m[1]!, flags: parseFlags(m[2]!), evr: parseEVR(m[3]!) };
}
