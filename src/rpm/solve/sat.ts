/**
 * CDCL core in the style of libsolv's solver: two-watched-literal unit
 * propagation, first-UIP conflict analysis with clause learning and
 * non-chronological backjumping. Decisions come from the caller (the
 * libsolv-like policy in solver.ts), so this module only knows literals.
 *
 * Literals are non-zero integers: +v means package v is installed, -v that it
 * is not. Clauses carry an opaque `info` index so unsatisfiable cores can be
 * explained in terms of the rules that produced them.
 */

export interface Clause {
  lits: number[];
  /** Index into the caller's rule-info table; -1 for learned clauses. */
  info: number;
  /** For learned clauses: the clauses it was derived from (for explanations). */
  from?: number[];
}

export class Sat {
  readonly clauses: Clause[] = [];
  /** 0 undecided, 1 true, -1 false, indexed by variable. */
  value: Int8Array;
  level: Int32Array;
  reason: Int32Array;
  readonly trail: number[] = [];
  private readonly trailLim: number[] = [];
  private qhead = 0;
  private watches: number[][];
  /** Set when a conflict happened at decision level 0. */
  conflictClause = -1;
  /** Clause indices that made level-0 assignments or were the final conflict. */

  constructor(readonly nvars: number) {
    this.value = new Int8Array(nvars + 1);
    this.level = new Int32Array(nvars + 1);
    this.reason = new Int32Array(nvars + 1).fill(-1);
    this.watches = Array.from({ length: 2 * nvars + 2 }, () => []);
  }

  get decisionLevel(): number {
    return this.trailLim.length;
  }

  private widx(lit: number): number {
    return lit > 0 ? 2 * lit : -2 * lit + 1;
  }

  litValue(lit: number): number {
    const v = this.value[lit > 0 ? lit : -lit]!;
    return lit > 0 ? v : -v;
  }

  /** Add a clause before or between decisions (only at level 0). Returns false if unsat at level 0. */
  addClause(lits: number[], info: number): boolean {
    // Deduplicate; drop tautologies.
    const set = new Set<number>();
    for (const l of lits) {
      if (set.has(-l)) return true;
      set.add(l);
    }
    const ls = [...set];
    const ci = this.clauses.length;
    this.clauses.push({ lits: ls, info });
    if (ls.length === 0) {
      this.conflictClause = ci;
      return false;
    }
    if (ls.length === 1) {
      const v = this.litValue(ls[0]!);
      if (v === -1) {
        this.conflictClause = ci;
        return false;
      }
      if (v === 0) this.assign(ls[0]!, ci);
      return true;
    }
    this.watches[this.widx(ls[0]!)]!.push(ci);
    this.watches[this.widx(ls[1]!)]!.push(ci);
    return true;
  }

  private assign(lit: number, reason: number): void {
    const v = lit > 0 ? lit : -lit;
    this.value[v] = lit > 0 ? 1 : -1;
    this.level[v] = this.trailLim.length;
    this.reason[v] = reason;
    this.trail.push(lit);
  }

  /** Unit propagation; returns the conflicting clause index or -1. */
  propagate(): number {
    while (this.qhead < this.trail.length) {
      const lit = this.trail[this.qhead++]!;
      const falseLit = -lit;
      const wl = this.watches[this.widx(falseLit)]!;
      let i = 0;
      let j = 0;
      let conflict = -1;
      for (; i < wl.length; i++) {
        const ci = wl[i]!;
        if (conflict >= 0) {
          wl[j++] = ci;
          continue;
        }
        const c = this.clauses[ci]!.lits;
        // Make sure the false literal is c[1].
        if (c[0] === falseLit) {
          c[0] = c[1]!;
          c[1] = falseLit;
        }
        const first = c[0]!;
        if (this.litValue(first) === 1) {
          wl[j++] = ci;
          continue;
        }
        let found = false;
        for (let k = 2; k < c.length; k++) {
          const l = c[k]!;
          if (this.litValue(l) !== -1) {
            c[1] = l;
            c[k] = falseLit;
            this.watches[this.widx(l)]!.push(ci);
            found = true;
            break;
          }
        }
        if (found) continue;
        wl[j++] = ci;
        const fv = this.litValue(first);
        if (fv === -1) conflict = ci;
        else if (fv === 0) this.assign(first, ci);
      }
      wl.length = j;
      if (conflict >= 0) return conflict;
    }
    return -1;
  }

  /**
   * Decide `lit` at a new level and propagate; on conflict learn and backjump
   * until propagation succeeds. Returns false when the problem became
   * unsatisfiable (conflict at level 0; `conflictClause` is set).
   */
  decide(lit: number): boolean {
    this.trailLim.push(this.trail.length);
    this.assign(lit, -1);
    return this.settle();
  }

  /** Propagate and resolve conflicts by learning. */
  settle(): boolean {
    for (;;) {
      const confl = this.propagate();
      if (confl < 0) return true;
      if (this.decisionLevel === 0) {
        this.conflictClause = confl;
        return false;
      }
      const { learnt, backLevel, from } = this.analyze(confl);
      this.backjump(backLevel);
      const ci = this.clauses.length;
      this.clauses.push({ lits: learnt, info: -1, from });
      if (learnt.length > 1) {
        this.watches[this.widx(learnt[0]!)]!.push(ci);
        this.watches[this.widx(learnt[1]!)]!.push(ci);
      }
      this.assign(learnt[0]!, ci);
    }
  }

  private analyze(confl: number): { learnt: number[]; backLevel: number; from: number[] } {
    const seen = new Uint8Array(this.nvars + 1);
    const learnt: number[] = [0];
    const from: number[] = [];
    let pathC = 0;
    let p = 0;
    let idx = this.trail.length - 1;
    let ci = confl;
    const cur = this.decisionLevel;
    for (;;) {
      from.push(ci);
      const c = this.clauses[ci]!.lits;
      for (const q of c) {
        if (q === p) continue;
        const v = q > 0 ? q : -q;
        if (seen[v] || this.level[v] === 0) {
          if (!seen[v] && this.level[v] === 0) {
            seen[v] = 1;
            // Level-0 facts are part of the derivation.
            if (this.reason[v]! >= 0) from.push(this.reason[v]!);
          }
          continue;
        }
        seen[v] = 1;
        if (this.level[v] === cur) pathC++;
        else learnt.push(q);
      }
      // Next literal on the trail that is part of the conflict.
      for (;;) {
        const t = this.trail[idx--]!;
        const v = t > 0 ? t : -t;
        if (seen[v] && this.level[v] === cur) {
          p = t;
          break;
        }
      }
      pathC--;
      if (pathC <= 0) break;
      ci = this.reason[p > 0 ? p : -p]!;
    }
    learnt[0] = -p;
    let backLevel = 0;
    let maxI = 1;
    for (let i = 1; i < learnt.length; i++) {
      const lv = this.level[Math.abs(learnt[i]!)]!;
      if (lv > backLevel) {
        backLevel = lv;
        maxI = i;
      }
    }
    if (learnt.length > 1) {
      const t = learnt[1]!;
      learnt[1] = learnt[maxI]!;
      learnt[maxI] = t;
    }
    return { learnt, backLevel, from };
  }

  backjump(level: number): void {
    if (this.decisionLevel <= level) return;
    const lim = this.trailLim[level]!;
    for (let i = this.trail.length - 1; i >= lim; i--) {
      const v = Math.abs(this.trail[i]!);
      this.value[v] = 0;
      this.reason[v] = -1;
    }
    this.trail.length = lim;
    this.trailLim.length = level;
    this.qhead = lim;
  }

  /** Original (non-learned) clause indices behind the level-0 conflict. */
  unsatCore(): number[] {
    const out = new Set<number>();
    const seenClause = new Set<number>();
    const stack = [this.conflictClause];
    while (stack.length) {
      const ci = stack.pop()!;
      if (ci < 0 || seenClause.has(ci)) continue;
      seenClause.add(ci);
      const c = this.clauses[ci]!;
      if (c.info >= 0) out.add(ci);
      for (const f of c.from ?? []) stack.push(f);
      for (const l of c.lits) {
        const v = Math.abs(l);
        if (this.value[v] !== 0 && this.level[v] === 0 && this.reason[v]! >= 0) stack.push(this.reason[v]!);
      }
    }
    return [...out].sort((a, b) => a - b);
  }
}
