import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Print the hottest functions (self time) of the `node --cpu-prof` profile
 * written into `profDir`; returns the profile's path, or null if none.
 */
export function printCpuProfile(profDir: string, title: (totalS: number, file: string) => string, top: number, log: (s: string) => void): string | null {
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return null;
  const prof = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  prof.samples.forEach((id, i) => {
    const n = byId.get(id)!;
    const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(dist|node:)/, '$1')}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  log(title(total / 1e6, join(profDir, file)));
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) log(`  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(2)} s  ${k}`);
  return join(profDir, file);
}
