/**
 * Fuzzing of the GVariant codec and the OSTree object parsers.
 *
 * Inputs are real objects (written by the real `ostree` and by coreforge:
 * commits, dirtrees, dirmetas, commitmeta, summaries, .filez headers), mutated
 * in the ways that break framing (bit flips, byte writes, inserts, deletes,
 * truncation, extension, splices, random framing offsets), plus pure random
 * bytes. Every parser must either succeed or throw a CoreforgeError subclass
 * (never TypeError/RangeError), and return within a time bound.
 *
 * A round-trip property checks random well-typed values of random types:
 * deserialize(serialize(v)) deep-equals v, and the bytes are normal form.
 *
 * Seeded: the seed is printed on failure; COREFORGE_FUZZ_SEED replays a run,
 * COREFORGE_FUZZ_INPUTS changes the (bounded) number of inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreforgeError } from '../../src/errors.js';
import { deserialize, serialize, parseType, Variant, type GValue, type GVType } from '../../src/gvariant/index.js';
import { Commit, parseCommitMeta } from '../../src/ostree/objects/commit.js';
import { DirTree } from '../../src/ostree/objects/dirtree.js';
import { DirMeta } from '../../src/ostree/objects/dirmeta.js';
import { FileHeader, parseBareUserMeta, parseLenPrefix } from '../../src/ostree/objects/content.js';
import { parseSummary } from '../../src/ostree/summary.js';
import { Prng, seedFromEnv } from './util/prng.js';
import { generateTree } from './util/tree.js';
import { coreforge, hasProgram, runOk, tempDir } from './util/run.js';

const SEED = seedFromEnv('COREFORGE_FUZZ_SEED');
const INPUTS = Number(process.env.COREFORGE_FUZZ_INPUTS ?? 20000);
/** Generous: a parse of a few hundred bytes takes microseconds; this only catches hangs and blowups. */
const CALL_LIMIT_MS = 500;

/** Every GVariant type ostree reads or writes (objects, summary, deltas, metadata values). */
const OSTREE_TYPES = [
  '(a{sv}aya(say)sstayay)', // commit
  '(a(say)a(sayay))', // dirtree
  '(uuua(ayay))', // dirmeta, bare-user user.ostreemeta
  '(uuuusa(ayay))', // content header
  '(tuuuusa(ayay))', // archive content header
  'a{sv}', // commitmeta, tombstone, delta index
  '(a(s(taya{sv}))a{sv})', // summary
  'a{sa(s(taya{sv}))}', // summary collection map
  '(taya{sv})', // signed delta superblock
  '(a{sv}tayay(a{sv}aya(say)sstayay)aya(uayttay)a(yaytt))', // delta superblock
  '(a(uuu)aa(ayay)ayay)', // delta part payload
  '(yay)', // delta part
  'a(ayay)', // xattrs
  'a(sssss)', // rpmostree.rpmdb.pkglist
  'aa{sv}', // rpmostree.rpmmd-repos
  'aay', // ostree.sizes, gpgsigs
  'as', // ref-binding
  'v',
  's',
  'ay',
  't',
  'u',
  'b',
  'y',
];

interface Parser {
  name: string;
  fn: (b: Uint8Array) => unknown;
}

const PARSERS: Parser[] = [
  { name: 'Commit.parse', fn: (b) => Commit.parse(b) },
  { name: 'DirTree.parse', fn: (b) => DirTree.parse(b) },
  { name: 'DirMeta.parse', fn: (b) => DirMeta.parse(b) },
  { name: 'FileHeader.parse', fn: (b) => FileHeader.parse(b) },
  { name: 'FileHeader.parseArchive', fn: (b) => FileHeader.parseArchive(b) },
  { name: 'parseSummary', fn: (b) => parseSummary(b) },
  { name: 'parseCommitMeta', fn: (b) => parseCommitMeta(b) },
  { name: 'parseBareUserMeta', fn: (b) => parseBareUserMeta(b, 'user.ostreemeta') },
  {
    // a whole .filez: length prefix, then the archive header it announces
    name: 'filez prefix+header',
    fn: (b) => {
      const hlen = parseLenPrefix(b.subarray(0, 8), b.length, '.filez');
      return FileHeader.parseArchive(b.subarray(8, 8 + hlen));
    },
  },
];

interface Corpus {
  name: string;
  type: string;
  bytes: Uint8Array;
}

/** Real objects from a repository: metadata objects whole, .filez as file and as header. */
function collect(repo: string, who: string, out: Corpus[]): void {
  const od = join(repo, 'objects');
  const typeOf: Record<string, string> = { commit: OSTREE_TYPES[0]!, dirtree: OSTREE_TYPES[1]!, dirmeta: OSTREE_TYPES[2]!, commitmeta: 'a{sv}' };
  for (const d of readdirSync(od)) {
    for (const f of readdirSync(join(od, d))) {
      const ext = f.slice(f.indexOf('.') + 1);
      const bytes = new Uint8Array(readFileSync(join(od, d, f)));
      if (ext in typeOf) out.push({ name: `${who} ${ext}`, type: typeOf[ext]!, bytes });
      else if (ext === 'filez') {
        const hlen = Buffer.from(bytes).readUInt32BE(0);
        out.push({ name: `${who} filez header`, type: OSTREE_TYPES[4]!, bytes: bytes.slice(8, 8 + hlen) });
        out.push({ name: `${who} filez`, type: 'filez', bytes: bytes.slice(0, Math.min(bytes.length, 8 + hlen + 64)) });
      }
    }
  }
  out.push({ name: `${who} summary`, type: OSTREE_TYPES[6]!, bytes: new Uint8Array(readFileSync(join(repo, 'summary'))) });
}

function buildCorpus(dir: string): Corpus[] {
  const tree = join(dir, 'tree');
  generateTree(tree, { seed: 7, files: 40, maxFileSize: 64 * 1024, owners: true });
  const out: Corpus[] = [];
  const commitArgs = ['commit', '-b', 'fuzz/main', '--timestamp=2021-06-01T00:00:00Z', '-s', 'fuzz corpus', '-m', 'body', '--add-metadata-string=version=1.2.3', '--add-detached-metadata-string=note=detached'];
  if (hasProgram('ostree')) {
    const r = join(dir, 'theirs');
    runOk('ostree', [`--repo=${r}`, 'init', '--mode=archive']);
    runOk('ostree', [`--repo=${r}`, ...commitArgs, tree]);
    runOk('ostree', [`--repo=${r}`, 'commit', '-b', 'other', '--add-metadata=ostree.endoflife=<"eol">', tree]);
    runOk('ostree', [`--repo=${r}`, 'summary', '-u']);
    collect(r, 'ostree', out);
  }
  const ours = join(dir, 'ours');
  for (const args of [['init', '--mode=archive'], [...commitArgs, tree], ['summary', '-u']]) {
    const res = coreforge(['ostree', `--repo=${ours}`, ...args]);
    assert.equal(res.status, 0, `coreforge ostree ${args.join(' ')}: ${res.stderr}`);
  }
  collect(ours, 'coreforge', out);
  return out;
}

function mutate(rng: Prng, src: Uint8Array, other: Uint8Array): Uint8Array {
  let b = Buffer.from(src);
  const rounds = rng.int(1, 4);
  for (let i = 0; i < rounds; i++) {
    const n = b.length;
    switch (rng.int(0, 10)) {
      case 0: // bit flip
        if (n) b[rng.int(0, n - 1)] ^= 1 << rng.int(0, 7);
        break;
      case 1: // random byte
        if (n) b[rng.int(0, n - 1)] = rng.int(0, 255);
        break;
      case 2: // interesting byte
        if (n) b[rng.int(0, n - 1)] = rng.pick([0, 1, 0x7f, 0x80, 0xff, 0x28, 0x61, 0x76, 0x73]);
        break;
      case 3: // insert
        b = Buffer.concat([b.subarray(0, (i = rng.int(0, n))), rng.bytes(rng.int(1, 8)), b.subarray(i)]);
        i = rounds;
        break;
      case 4: {
        // delete a run
        const at = rng.int(0, n);
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(n, at + rng.int(1, 16)))]);
        break;
      }
      case 5: // truncate
        b = b.subarray(0, rng.int(0, n));
        break;
      case 6: // extend
        b = Buffer.concat([b, rng.bytes(rng.int(1, 32))]);
        break;
      case 7: {
        // framing offsets live at the end: scribble there
        const k = Math.min(n, rng.int(1, 6));
        for (let j = 0; j < k; j++) b[n - 1 - j] = rng.int(0, 255);
        break;
      }
      case 8: {
        // splice with another corpus entry
        const cut = rng.int(0, n);
        const from = rng.int(0, other.length);
        b = Buffer.concat([b.subarray(0, cut), Buffer.from(other.subarray(from))]);
        break;
      }
      case 9: {
        // duplicate a chunk
        const at = rng.int(0, n);
        const len = rng.int(1, 32);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
        break;
      }
      default: {
        // set a 32-bit little-endian value (sizes, offsets, counts)
        if (n >= 4) b.writeUInt32LE(rng.pick([0, 1, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0xffffffff, rng.u32()]), rng.int(0, n - 4));
      }
    }
  }
  return new Uint8Array(b);
}

function mustBeTyped(e: unknown, ctx: string): void {
  if (e instanceof CoreforgeError) return;
  const err = e as Error;
  assert.fail(`${ctx}: threw ${err?.constructor?.name ?? typeof e}: ${err?.message}\n${err?.stack ?? ''}`);
}

function timed(fn: () => unknown, ctx: string): void {
  const t0 = performance.now();
  try {
    fn();
  } catch (e) {
    mustBeTyped(e, ctx);
  }
  const ms = performance.now() - t0;
  if (ms > CALL_LIMIT_MS) assert.fail(`${ctx}: took ${ms.toFixed(0)} ms`);
}

/** Keep a failing input for replay (the only file this test leaves behind, and only on failure). */
function saveFailure(bytes: Uint8Array): string {
  const p = join(mkdtempSync(join(tmpdir(), 'coreforge-fuzz-failure-')), 'input.bin');
  writeFileSync(p, bytes);
  return p;
}

test('fuzz: mutated real objects and random bytes give typed errors only, quickly', { timeout: 170_000 }, (t) => {
  const { dir, cleanup } = tempDir('fuzz');
  try {
    const corpus = buildCorpus(dir);
    assert.ok(corpus.length >= 10, 'corpus too small');
    // sanity: the unmutated corpus parses
    for (const c of corpus) if (c.type !== 'filez') deserialize(c.type, c.bytes, { what: c.name });
    const rng = new Prng(SEED);
    let typedErrors = 0;
    let accepted = 0;
    for (let i = 0; i < INPUTS; i++) {
      let input: Uint8Array;
      let label: string;
      if (rng.bool(0.15)) {
        input = new Uint8Array(rng.bytes(rng.logInt(1, 600) - 1));
        label = 'random';
      } else {
        const c = rng.pick(corpus);
        input = mutate(rng, c.bytes, rng.pick(corpus).bytes);
        label = `mutated ${c.name}`;
      }
      const ctxBase = `seed=${SEED} input #${i} (${label}, ${input.length} bytes)`;
      try {
        for (const p of PARSERS) {
          const t0 = performance.now();
          try {
            p.fn(input);
            accepted++;
          } catch (e) {
            mustBeTyped(e, `${ctxBase} ${p.name}`);
            typedErrors++;
          }
          const ms = performance.now() - t0;
          if (ms > CALL_LIMIT_MS) assert.fail(`${ctxBase} ${p.name}: took ${ms.toFixed(0)} ms`);
        }
        // every type string, normal-form checking on and off
        for (let k = 0; k < 4; k++) {
          const type = rng.pick(OSTREE_TYPES);
          timed(() => deserialize(type, input), `${ctxBase} deserialize('${type}')`);
          timed(() => deserialize(type, input, { normal: false }), `${ctxBase} deserialize('${type}', non-normal)`);
        }
      } catch (e) {
        throw new Error(`${(e as Error).message}\n(input saved to ${saveFailure(input)}; replay with COREFORGE_FUZZ_SEED=${SEED})`);
      }
    }
    // all types against the raw corpus too, so every type string sees every real object
    for (const c of corpus) for (const type of OSTREE_TYPES) timed(() => deserialize(type, c.bytes), `deserialize('${type}') of ${c.name}`);
    t.diagnostic(`seed ${SEED}: ${INPUTS} inputs from ${corpus.length} corpus objects; ${typedErrors} typed errors, ${accepted} accepted`);
  } catch (e) {
    t.diagnostic(`fuzz seed was ${SEED}`);
    throw e;
  } finally {
    cleanup();
  }
});

// ---------------------------------------------------------------------------
// Round-trip property
// ---------------------------------------------------------------------------

const BASIC = ['b', 'y', 'n', 'q', 'i', 'u', 'x', 't', 'h', 'd', 's', 'o', 'g'];

function randomType(rng: Prng, depth: number): string {
  const r = rng.float();
  if (depth >= 4 || r < 0.4) return rng.pick(BASIC);
  if (r < 0.5) return 'v';
  if (r < 0.65) return `a${randomType(rng, depth + 1)}`;
  if (r < 0.72) return `m${randomType(rng, depth + 1)}`;
  if (r < 0.8) return `a{${rng.pick(BASIC)}${randomType(rng, depth + 1)}}`;
  const n = rng.int(0, 4);
  let s = '(';
  for (let i = 0; i < n; i++) s += randomType(rng, depth + 1);
  return s + ')';
}

const SCALARS = ['a', 'é', 'ß', '日本', '🙂', ' ', 'ostree', '/', '\u00a0', 'z', '\u{10ffff}', '\u007f'];

function randomString(rng: Prng): string {
  let s = '';
  const n = rng.bool(0.1) ? rng.int(100, 400) : rng.int(0, 8);
  for (let i = 0; i < n; i++) s += rng.pick(SCALARS);
  return s;
}

function randomValue(rng: Prng, t: GVType, depth: number): GValue {
  switch (t.kind) {
    case 'basic':
      switch (t.code) {
        case 'b':
          return rng.bool();
        case 'y':
          return rng.int(0, 255);
        case 'n':
          return rng.int(-0x8000, 0x7fff);
        case 'q':
          return rng.int(0, 0xffff);
        case 'i':
        case 'h':
          return rng.u32() | 0;
        case 'u':
          return rng.u32();
        case 'x':
          return BigInt.asIntN(64, (BigInt(rng.u32()) << 32n) | BigInt(rng.u32()));
        case 't':
          return (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
        case 'd':
          return rng.pick([0, -0, 1.5, -1e300, Number.MIN_VALUE, Infinity, -Infinity, rng.float() * 1e6 - 5e5]);
        case 's':
          return randomString(rng);
        case 'o':
          return rng.bool(0.2) ? '/' : Array.from({ length: rng.int(1, 3) }, () => `/${rng.pick(['org', 'a_1', 'Z', 'ostree'])}`).join('');
        case 'g':
          return Array.from({ length: rng.int(0, 3) }, () => randomType(rng, 2)).join('');
      }
      throw new Error(`unhandled basic ${t.code}`);
    case 'variant': {
      const inner = parseType(randomType(rng, depth + 1));
      return new Variant(inner, randomValue(rng, inner, depth + 1));
    }
    case 'array': {
      if (t.elem.kind === 'basic' && t.elem.code === 'y') return new Uint8Array(rng.bytes(rng.bool(0.05) ? rng.int(256, 70000) : rng.int(0, 40)));
      // occasionally large enough to need 2- or 4-byte framing offsets
      const n = depth === 0 && rng.bool(0.05) ? rng.int(300, 2000) : rng.int(0, depth > 2 ? 2 : 5);
      return Array.from({ length: n }, () => randomValue(rng, t.elem, depth + 1));
    }
    case 'maybe':
      return rng.bool() ? [] : [randomValue(rng, t.elem, depth + 1)];
    case 'tuple':
      return t.items.map((it) => randomValue(rng, it, depth + 1));
    case 'dict':
      return [randomValue(rng, t.key, depth + 1), randomValue(rng, t.value, depth + 1)];
  }
}

test('round trip: deserialize(serialize(v)) equals v for random well-typed values', { timeout: 60_000 }, (t) => {
  const rng = new Prng(SEED ^ 0x5eed);
  let bytes = 0;
  const N = 3000;
  for (let i = 0; i < N; i++) {
    const typeStr = randomType(rng, 0);
    const type = parseType(typeStr);
    const value = randomValue(rng, type, 0);
    const ctx = `seed=${SEED} case #${i} type '${typeStr}'`;
    let ser: Uint8Array;
    try {
      ser = serialize(type, value);
    } catch (e) {
      assert.fail(`${ctx}: serialize threw ${(e as Error).message}`);
    }
    bytes += ser.length;
    if (type.fixedSize !== null) assert.equal(ser.length, type.fixedSize, `${ctx}: fixed-size type serialized to ${ser.length} bytes`);
    let back: GValue;
    try {
      back = deserialize(type, ser); // normal form is checked by default
    } catch (e) {
      assert.fail(`${ctx}: deserialize of our own output threw ${(e as Error).message}`);
    }
    assert.deepStrictEqual(normalize(back), normalize(value), ctx);
    // and inside a variant, which re-bases alignment at 8
    const wrapped = serialize('v', new Variant(type, value));
    assert.deepStrictEqual(normalize((deserialize('v', wrapped) as Variant).value), normalize(value), `${ctx} (in a variant)`);
  }
  t.diagnostic(`seed ${SEED}: ${N} random values, ${bytes} bytes serialized`);
});

/** Variants compare by type string and value; Uint8Array/Buffer by content. */
function normalize(v: GValue): unknown {
  if (v instanceof Variant) return { type: v.type.str, value: normalize(v.value) };
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map((x) => normalize(x as GValue));
  return v;
}

// ---------------------------------------------------------------------------
// Pathological inputs: large or deep, the shapes that make parsers slow
// ---------------------------------------------------------------------------

test('pathological inputs: large and deeply nested data parse or fail in bounded time', () => {
  const LIMIT_MS = 2000;
  const cases: Array<[string, string, Uint8Array]> = [];
  const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
  // a 1 MB invalid signature (was O(n²): one type string can be at most 255 characters)
  cases.push(['long invalid signature', 'g', bytes('('.repeat(1 << 20) + '\0')]);
  cases.push(['long valid signature', 'g', serialize('g', 'a{sv}'.repeat(100000))]);
  // object paths: the validating regex must not backtrack
  cases.push(['long object path with a bad tail', 'o', bytes('/a'.repeat(200000) + '/!\0')]);
  cases.push(['long object path', 'o', bytes('/ab_1'.repeat(100000) + '\0')]);
  // variants nested far deeper than the 128 levels GLib allows
  let v = bytes('x\0s');
  for (let i = 0; i < 2000; i++) v = new Uint8Array([...v, 0, 0x76]);
  cases.push(['variant nested 2000 deep', 'v', v]);
  // 200k empty byte strings: 4-byte framing offsets, all zero
  cases.push(['aay of 200k empty elements', 'aay', new Uint8Array(200000 * 4)]);
  // a huge a{sv} of valid entries, as a big summary would be
  const dict: Array<[string, Variant]> = Array.from({ length: 50000 }, (_, i) => [`key${i}`, new Variant('s', `value${i}`)]);
  const big = serialize('a{sv}', dict);
  cases.push(['a{sv} with 50k entries', 'a{sv}', big]);
  // the same with its last framing offset broken
  const broken = big.slice();
  broken[broken.length - 1] ^= 0xff;
  cases.push(['a{sv} with 50k entries, broken offset', 'a{sv}', broken]);
  // offsets that all point at the end: every element claims the whole body
  cases.push(['array of overlapping elements', 'as', new Uint8Array([...bytes('abc\0'), ...new Array(4096).fill(4)])]);
  for (const [name, type, input] of cases) {
    for (const normal of [true, false]) timedWith(() => deserialize(type, input, { normal }), `${name} (${input.length} bytes, normal=${normal})`, LIMIT_MS);
  }
});

function timedWith(fn: () => unknown, ctx: string, limitMs: number): void {
  const t0 = performance.now();
  try {
    fn();
  } catch (e) {
    mustBeTyped(e, ctx);
  }
  const ms = performance.now() - t0;
  assert.ok(ms <= limitMs, `${ctx}: took ${ms.toFixed(0)} ms`);
}
