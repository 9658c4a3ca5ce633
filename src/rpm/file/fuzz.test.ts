import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RpmBuilder } from '../testing/rpmbuild.js';
import { isCoreforgeError } from '../../errors.js';
import { openPayload, readRpmHeaders, verifyRpm } from './index.js';

/** Deterministic PRNG (mulberry32) so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Reads everything a consumer could read; returns normally or throws. */
async function exercise(buf: Buffer): Promise<void> {
  const hs = await readRpmHeaders(buf);
  const h = hs.header;
  // touch every typed accessor
  void [h.nevra, h.files, h.requires, h.provides, h.conflicts, h.obsoletes, h.recommends, h.suggests, h.supplements, h.enhances,
    h.scriptlets, h.triggers, h.fileTriggers, h.transFileTriggers, h.hardlinkSets, h.payloadDigest, h.sourcerpm];
  // The payload parser alone (no payload digest), so corrupt cpio/compressed data reaches it.
  let payloadError: unknown;
  try {
    for await (const e of openPayload(buf, { headers: hs, verifyPayloadDigest: false })) for await (const _ of e.content()) void _;
  } catch (e) {
    payloadError = e;
  }
  if (payloadError !== undefined && !isCoreforgeError(payloadError)) throw payloadError;
  await verifyRpm(buf, { headers: hs });
  for await (const e of openPayload(buf, { headers: hs })) for await (const _ of e.content()) void _;
  if (payloadError !== undefined) throw payloadError;
}

const PER_CASE_TIMEOUT_MS = 15_000;

async function expectTypedOrOk(buf: Buffer, what: string): Promise<'ok' | 'error'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`${what}: hung for ${PER_CASE_TIMEOUT_MS} ms`)), PER_CASE_TIMEOUT_MS); });
  try {
    await Promise.race([exercise(buf), timeout]);
    return 'ok';
  } catch (e) {
    if (!isCoreforgeError(e)) assert.fail(`${what}: untyped error escaped: ${(e as Error)?.stack ?? String(e)}`);
    return 'error';
  } finally {
    clearTimeout(timer);
  }
}

describe('rpm reader fuzz (truncations and byte flips of real RPMs)', () => {
  let b: RpmBuilder;
  const rpms: [string, Buffer][] = [];
  before(() => {
    b = new RpmBuilder();
    const files = ['/opt/f/a', '/opt/f/b', '/opt/f/l', '/opt/f/h1', '/opt/f/h2'];
    const install = 'mkdir -p %{buildroot}/opt/f && seq 1 3000 > %{buildroot}/opt/f/a && echo b > %{buildroot}/opt/f/b && ln -s a %{buildroot}/opt/f/l && echo h > %{buildroot}/opt/f/h1 && ln %{buildroot}/opt/f/h1 %{buildroot}/opt/f/h2';
    for (const payload of ['w9.gzdio', 'w6.xzdio', 'w19.zstdio', 'w9.bzdio', 'w0.ufdio']) {
      const p = b.build({ name: `fuzz-${payload.split('.')[1]}`, payload, install, files, preamble: ['Requires: bash', 'Provides: fuzzy = 1'], scripts: '%post\necho hi\n%triggerin -- bash\necho t' });
      rpms.push([payload, readFileSync(p)]);
    }
  });
  after(() => b.dispose());

  it('unmodified packages pass', async () => {
    for (const [name, buf] of rpms) assert.equal(await expectTypedOrOk(buf, name), 'ok');
  });

  it('random truncations give typed errors only', async () => {
    const r = rng(1234);
    let errors = 0;
    for (const [name, buf] of rpms) {
      for (let i = 0; i < 40; i++) {
        const cut = Math.floor(r() * buf.length);
        if ((await expectTypedOrOk(buf.subarray(0, cut), `${name} cut at ${cut}`)) === 'error') errors++;
      }
    }
    assert.equal(errors, rpms.length * 40, 'every truncation is detected');
  });

  it('random byte flips give typed errors or verified-equal content, never a crash or hang', async () => {
    const r = rng(99);
    const detected = { sig: 0, header: 0, payload: 0 };
    const totals = { sig: 0, header: 0, payload: 0 };
    for (const [name, buf] of rpms) {
      const { layout } = await readRpmHeaders(buf);
      const regions = {
        // lead + signature header: mostly RESERVEDSPACE zeros that rpm ignores too
        sig: [0, layout.headerStart],
        header: [layout.headerStart, layout.payloadStart],
        payload: [layout.payloadStart, buf.length],
      } as const;
      for (let i = 0; i < 60; i++) {
        const region = (['sig', 'header', 'payload'] as const)[i % 3]!;
        const [lo, hi] = regions[region];
        const m = Buffer.from(buf);
        const flips = 1 + Math.floor(r() * 3);
        for (let k = 0; k < flips; k++) {
          const at = lo + Math.floor(r() * (hi - lo));
          m[at] = m[at]! ^ (1 + Math.floor(r() * 255));
        }
        totals[region]++;
        if ((await expectTypedOrOk(m, `${name} ${region} flip #${i}`)) === 'error') detected[region]++;
      }
    }
    // Every change to the main header or payload is covered by a digest; the
    // signature header holds padding and reserved space where flips are harmless.
    assert.equal(detected.header, totals.header, 'header flips detected');
    assert.equal(detected.payload, totals.payload, 'payload flips detected');
  });
});
