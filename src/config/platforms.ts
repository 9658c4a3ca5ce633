import { SourceDoc, typeName } from './source.js';

export interface PlatformConsole {
  grub_commands?: string[];
  kernel_arguments?: string[];
}

/** platforms.yaml: arch → platform → console settings. */
export type Platforms = Record<string, Record<string, PlatformConsole>>;

export function loadPlatforms(file: string): Platforms {
  const doc: SourceDoc = SourceDoc.read(file, 'platforms file');
  const v = doc.value;
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) doc.fail([], `expected a mapping of architecture to platforms, found ${typeName(v)}`);
  const out: Platforms = {};
  for (const [arch, plats] of Object.entries(v as Record<string, unknown>)) {
    if (plats === null || typeof plats !== 'object' || Array.isArray(plats)) doc.fail([arch], `expected a mapping of platform to settings, found ${typeName(plats)}`);
    out[arch] = {};
    for (const [plat, s] of Object.entries(plats as Record<string, unknown>)) {
      if (s === null || typeof s !== 'object' || Array.isArray(s)) doc.fail([arch, plat], `expected {grub_commands, kernel_arguments}, found ${typeName(s)}`);
      const pc: PlatformConsole = {};
      for (const [k, x] of Object.entries(s as Record<string, unknown>)) {
        if (k !== 'grub_commands' && k !== 'kernel_arguments') doc.fail([arch, plat, k], `unknown key '${k}' (expected grub_commands, kernel_arguments)`, 'key');
        if (!Array.isArray(x) || !x.every((e) => typeof e === 'string')) doc.fail([arch, plat, k], `expected a list of strings, found ${typeName(x)}`);
        pc[k] = x as string[];
      }
      out[arch]![plat] = pc;
    }
  }
  return out;
}
