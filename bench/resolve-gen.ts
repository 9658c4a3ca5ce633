/**
 * Synthetic Fedora-sized rpm-md metadata for the resolve benchmark: ~70k
 * packages with sonames, versioned requires, file deps, multilib i686
 * variants and several versions, written as primary/filelists .xml.gz with a
 * repomd.xml carrying valid checksums (no RPMs needed).
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';

export interface Synthetic {
  request: string[];
  packages: number;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const isNoarch = (i: number) => ((i * 2654435761) >>> 0) % 5 === 0;

export function generateRepo(dir: string, opts: { names?: number; request?: number; seed?: number } = {}): Synthetic {
  const N = opts.names ?? 60000;
  let s = opts.seed ?? 42;
  const r = (n: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return Math.floor((s / 2147483648) * n);
  };
  fs.mkdirSync(path.join(dir, 'repodata'), { recursive: true });
  const primary: string[] = [];
  const filelists: string[] = [];
  let count = 0;
  const CORE = 3000;
  const entry = (name: string, flags?: string, ver?: string, pre = false) =>
    `<rpm:entry name="${esc(name)}"${flags ? ` flags="${flags}" epoch="0" ver="${ver}"` : ''}${pre ? ' pre="1"' : ''}/>`;
  const lib = (j: number, arch: string) => (arch === 'i686' ? `libp${j}.so.1` : `libp${j}.so.1()(64bit)`);
  for (let i = 0; i < N; i++) {
    const name = `p${i}`;
    // Core packages depend on earlier core packages (a layered DAG like a distro base);
    // the long tail depends on core and on its own neighbourhood.
    const noarch = isNoarch(i);
    const multilib = !noarch && i < CORE && r(10) === 0;
    const nver = r(5) === 0 ? 2 : 1;
    const archs = noarch ? ['noarch'] : multilib ? ['x86_64', 'i686'] : ['x86_64'];
    const reqs: [string, string?, string?, boolean?][] = [];
    const nreq = i === 0 ? 0 : 2 + r(5);
    for (let k = 0; k < nreq; k++) {
      const j = i < CORE ? r(i) : r(3) === 0 ? r(CORE) : i - 1 - r(Math.min(i, 500));
      const kind = r(10);
      if (kind < 5) reqs.push(isNoarch(j) ? [`p${j}`] : [`LIB${j}`]);
      else if (kind < 7) reqs.push([`p${j}`]);
      else if (kind < 8) reqs.push([`p${j}`, 'GE', '1.0']);
      else if (kind < 9) reqs.push([`/usr/bin/p${j}`]);
      else reqs.push([`config(p${j})`, undefined, undefined, true]);
    }
    for (let v = 0; v < nver; v++) {
      const ver = v === 0 ? '1.0' : '1.1';
      for (const arch of archs) {
        count++;
        const pkgid = createHash('sha256').update(`${name}-${ver}-${arch}`).digest('hex');
        const files = [`/usr/bin/p${i}`, `/etc/p${i}.conf`];
        const prov = [
          entry(name, 'EQ', ver),
          arch === 'noarch' ? '' : entry(`${name}(${arch === 'i686' ? 'x86-32' : 'x86-64'})`, 'EQ', ver),
          entry(`config(p${i})`, 'EQ', ver),
          arch === 'noarch' ? '' : entry(lib(i, arch)),
          arch === 'noarch' ? '' : entry(`libp${i}.so.1(P_${ver})${arch === 'i686' ? '' : '(64bit)'}`),
        ].join('');
        const req = reqs
          .map(([n, f, vv, pre]) => {
            const nn = n.startsWith('LIB') ? lib(Number(n.slice(3)), arch === 'noarch' ? 'x86_64' : arch) : n;
            return entry(nn, f, vv, pre);
          })
          .join('');
        primary.push(
          `<package type="rpm"><name>${name}</name><arch>${arch}</arch><version epoch="0" ver="${ver}" rel="1.fc40"/>` +
            `<checksum type="sha256" pkgid="YES">${pkgid}</checksum><summary>Synthetic package ${name}</summary>` +
            `<description>Synthetic package ${name} used to benchmark dependency resolution on a Fedora-sized repository.</description>` +
            `<packager>Fedora Project</packager><url>https://example.com/${name}</url><time file="1700000000" build="1700000000"/>` +
            `<size package="${10000 + r(90000)}" installed="${50000 + r(500000)}" archive="${60000}"/>` +
            `<location href="Packages/${name[1]}/${name}-${ver}-1.fc40.${arch}.rpm"/>` +
            `<format><rpm:license>MIT</rpm:license><rpm:vendor>Fedora Project</rpm:vendor><rpm:group>Unspecified</rpm:group>` +
            `<rpm:buildhost>buildhost</rpm:buildhost><rpm:sourcerpm>${name}-${ver}-1.fc40.src.rpm</rpm:sourcerpm>` +
            `<rpm:header-range start="4504" end="10000"/>` +
            `<rpm:provides>${prov}</rpm:provides>` +
            (req ? `<rpm:requires>${req}<rpm:entry name="rpmlib(CompressedFileNames)" flags="LE" epoch="0" ver="3.0.4" rel="1"/></rpm:requires>` : '') +
            files.map((f) => `<file>${f}</file>`).join('') +
            `</format></package>\n`,
        );
        filelists.push(
          `<package pkgid="${pkgid}" name="${name}" arch="${arch}"><version epoch="0" ver="${ver}" rel="1.fc40"/>` +
            [...files, `/usr/share/doc/${name}/README`, `/usr/lib64/libp${i}.so.1`].map((f) => `<file>${f}</file>`).join('') +
            `</package>\n`,
        );
      }
    }
  }
  const write = (type: string, head: string, body: string[], tail: string) => {
    const xml = Buffer.from(head + body.join('') + tail);
    const gz = zlib.gzipSync(xml, { level: 6 });
    const sum = createHash('sha256').update(gz).digest('hex');
    const file = `repodata/${sum}-${type}.xml.gz`;
    fs.writeFileSync(path.join(dir, file), gz);
    return `<data type="${type}"><checksum type="sha256">${sum}</checksum><open-checksum type="sha256">${createHash('sha256').update(xml).digest('hex')}</open-checksum><location href="${file}"/><timestamp>1700000000</timestamp><size>${gz.length}</size><open-size>${xml.length}</open-size></data>`;
  };
  const p = write(
    'primary',
    `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${count}">\n`,
    primary,
    '</metadata>\n',
  );
  const f = write('filelists', `<?xml version="1.0" encoding="UTF-8"?>\n<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="${count}">\n`, filelists, '</filelists>\n');
  fs.writeFileSync(
    path.join(dir, 'repodata', 'repomd.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm"><revision>1700000000</revision>${p}${f}</repomd>\n`,
  );
  const request: string[] = [];
  const want = opts.request ?? 400;
  for (let i = CORE - 1; request.length < want; i -= 7) request.push(`p${i}`);
  return { request, packages: count };
}
