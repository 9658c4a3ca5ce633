/** Random repository generator for differential tests against dnf. */
import type { SpecGroup, SpecPackage } from '../repo/testing.js';

function rng(seed: number) {
  let s = seed * 2654435761 + 1;
  return (n: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return Math.floor((s / 2147483648) * n);
  };
}

export interface Gen {
  groups: SpecGroup[];
  requests: string[][];
}

/** Random repository: names p0..pN, 1-3 versions each, virtual provides, file deps, rich deps, conflicts, obsoletes, weak deps. */
export function generate(seed: number): Gen {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[r(xs.length)]!;
  const N = 8 + r(10);
  const V = 2 + r(3);
  const versions = ['1.0', '1.1', '2.0'];
  const byKey = new Map<string, SpecGroup>();
  const names = Array.from({ length: N }, (_, i) => `p${i}`);
  const dep = (self: number): string => {
    const k = r(20);
    const other = names[(self + 1 + r(N - 1)) % N]!;
    const o2 = names[r(N)]!;
    if (k < 6) return other;
    if (k < 8) return `${other} ${pick(['>=', '<', '='])} ${pick(versions)}`;
    if (k < 11) return `v${r(V)}`;
    if (k === 11) return `v${r(V)} >= 2`;
    if (k === 12) return `/usr/bin/f${r(4)}`;
    if (k === 13) return `/usr/share/d${r(3)}/data`;
    if (k === 14) return `(${other} or ${o2})`;
    if (k === 15) return `(${other} and v${r(V)})`;
    if (k === 16) return `(${other} if ${o2})`;
    if (k === 17) return `(${other} if ${o2} else v${r(V)})`;
    if (k === 18) return `(${other} with ${other} >= 1.1)`;
    return `(${other} >= 1.1 or v${r(V)})`;
  };
  for (let i = 0; i < N; i++) {
    const nv = 1 + r(3);
    const vs = [...versions].sort(() => r(3) - 1).slice(0, nv);
    const arch = r(4) === 0 ? 'x86_64' : 'noarch';
    for (const v of vs) {
      const epoch = v === '1.0' && r(8) === 0 ? 1 : 0;
      const key = `${epoch}:${v}:${arch}`;
      let g = byKey.get(key);
      if (!g) byKey.set(key, (g = { epoch: epoch || undefined, version: v, release: '1', arch, packages: [] }));
      const p: SpecPackage = { name: names[i]!, requires: [], provides: [], files: [], conflicts: [], obsoletes: [], recommends: [], supplements: [] };
      const nreq = r(4);
      for (let k = 0; k < nreq; k++) p.requires!.push(dep(i));
      if (r(3) === 0) p.provides!.push(r(2) ? `v${r(V)}` : `v${r(V)} = ${1 + r(3)}`);
      if (r(5) === 0) p.files!.push(`/usr/bin/f${r(4)}`);
      if (r(6) === 0) p.files!.push(`/usr/share/d${r(3)}/data`);
      if (r(12) === 0) p.conflicts!.push(`${names[r(N)]!} < ${pick(versions)}`);
      if (r(14) === 0) {
        const victim = names[r(N)]!;
        if (victim !== p.name) p.obsoletes!.push(`${victim} < ${pick(versions)}`);
      }
      if (r(6) === 0) p.recommends!.push(pick([names[r(N)]!, `v${r(V)}`]));
      if (r(10) === 0) p.supplements!.push(names[r(N)]!);
      p.files = [...new Set(p.files)];
      g.packages.push(p);
    }
  }
  // rpmbuild needs distinct files per package within a group
  for (const g of byKey.values()) {
    const seen = new Set<string>();
    for (const p of g.packages) p.files = p.files!.filter((f) => (seen.has(f) ? false : (seen.add(f), true)));
  }
  const requests = Array.from({ length: 3 }, () => {
    const n = 1 + r(3);
    return [...new Set(Array.from({ length: n }, () => (r(8) === 0 ? `v${r(V)}` : names[r(N)]!)))];
  });
  return { groups: [...byKey.values()], requests };
}

