/**
 * Payload streaming throughput vs the real tools, on packages built here.
 * Run: node --import tsx src/rpm/file/payload.bench.ts [MiB]
 * Prints, per compressor: our openPayload (decompress + cpio + per-file
 * digest check), verifyRpm (header/payload digests), `rpm2cpio | cpio -it`
 * and `rpmkeys -K`, with peak RSS of this process.
 */
import { execFileSync } from 'node:child_process';
import { RpmBuilder } from '../testing/rpmbuild.js';
import { openPayload, verifyRpm } from './index.js';

const mib = Number(process.argv[2] ?? 256);
const b = new RpmBuilder();
try {
  for (const [payload, name] of [['w6.xzdio', 'xz'], ['w3.zstdio', 'zstd'], ['w6.gzdio', 'gzip'], ['w0.ufdio', 'none']] as const) {
    // half random (incompressible), half text, in 16 files
    const install = `mkdir -p %{buildroot}/d && for i in $(seq 1 8); do head -c ${(mib * 1024 * 1024) / 16} /dev/urandom > %{buildroot}/d/r$i; seq 1 ${Math.round((mib * 1024 * 1024) / 16 / 7)} > %{buildroot}/d/t$i; done`;
    const rpm = b.build({ name: `bench-${name}`, payload, install, files: ['/d'] });
    // Best of 3: the build machine is shared, minima are the stable figure.
    const best = async (f: () => Promise<unknown> | unknown) => {
      let m = Infinity;
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        await f();
        m = Math.min(m, performance.now() - t);
      }
      return m;
    };
    let bytes = 0;
    const ours = await best(async () => {
      bytes = 0;
      for await (const e of openPayload(rpm)) for await (const c of e.content()) bytes += c.length;
    });
    const ver = await best(() => verifyRpm(rpm));
    const peer = await best(() => execFileSync('sh', ['-c', `rpm2cpio "$1" | cpio -it --quiet > /dev/null`, 'sh', rpm]));
    const peerK = await best(() => execFileSync('rpmkeys', ['-K', '--nosignature', rpm]));
    console.log(`${name.padEnd(5)} ${(bytes / 1048576).toFixed(0)} MiB (best of 3): openPayload ${ours.toFixed(0)} ms (${(bytes / 1048576 / (ours / 1000)).toFixed(0)} MiB/s) | rpm2cpio|cpio -it ${peer.toFixed(0)} ms | ratio ${(ours / peer).toFixed(2)} || verifyRpm ${ver.toFixed(0)} ms | rpmkeys -K ${peerK.toFixed(0)} ms`);
  }
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
} finally {
  b.dispose();
}
