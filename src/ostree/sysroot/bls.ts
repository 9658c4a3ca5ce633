/** A Boot Loader Specification entry (boot/loader/entries/*.conf): ordered "key value" lines. */
export class BootEntry {
  constructor(readonly fields: Array<[string, string]> = []) {}

  static parse(text: string): BootEntry {
    const fields: Array<[string, string]> = [];
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const sp = line.search(/\s/);
      if (sp < 0) fields.push([line, '']);
      else fields.push([line.slice(0, sp), line.slice(sp).trim()]);
    }
    return new BootEntry(fields);
  }

  get(key: string): string | undefined {
    return this.fields.find(([k]) => k === key)?.[1];
  }

  set(key: string, value: string): void {
    const i = this.fields.findIndex(([k]) => k === key);
    if (i >= 0) this.fields[i] = [key, value];
    else this.fields.push([key, value]);
  }

  toString(): string {
    return this.fields.map(([k, v]) => `${k} ${v}`).join('\n') + '\n';
  }
}

/** The `ostree=` kernel argument: /ostree/boot.B/OS/BOOTCSUM/BOOTSERIAL */
export function parseOstreeKarg(options: string): { bootversion: number; osname: string; bootcsum: string; bootserial: number } | null {
  for (const a of options.split(/\s+/)) {
    const m = /^ostree=\/ostree\/boot\.([01])\/([^/]+)\/([^/]+)\/([0-9]+)$/.exec(a);
    if (m) return { bootversion: Number(m[1]), osname: m[2]!, bootcsum: m[3]!, bootserial: Number(m[4]) };
  }
  return null;
}
