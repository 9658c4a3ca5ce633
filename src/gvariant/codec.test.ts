import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { deserialize, serialize, Variant, GVariantError, NotNormalFormError, formatValue, parseType, type GValue } from './index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

test('spec example: array of strings', () => {
  const b = serialize('as', ['i', 'can', 'has', 'strings?']);
  assert.equal(hex(b), '690063616e0068617300737472696e67733f0002060a13');
  assert.deepEqual(deserialize('as', b), ['i', 'can', 'has', 'strings?']);
});

test('spec examples: basic and containers', () => {
  assert.equal(hex(serialize('s', 'hello world')), '68656c6c6f20776f726c6400');
  assert.equal(hex(serialize('ms', ['hello world'])), '68656c6c6f20776f726c640000');
  assert.equal(hex(serialize('ab', [true, false, true, true])), '01000101');
  assert.equal(hex(serialize('(si)', ['foo', -1])), '666f6f00ffffffff04');
  assert.equal(hex(serialize('a{si}', [['hi', -2], ['bye', -1]])), '68690000feffffff0300000062796500ffffffff040915');
  assert.equal(hex(serialize('(yy)', [0x70, 0x80])), '7080');
  assert.equal(hex(serialize('(iy)', [96, 0x70])), '6000000070000000');
  assert.equal(hex(serialize('()', [])), '00');
  assert.equal(hex(serialize('a()', [[], []])), '0000');
  assert.equal(hex(serialize('v', new Variant('s', '1.0'))), '312e30000073');
  assert.equal(hex(serialize('aay', [])), '');
  assert.equal(hex(serialize('ay', new Uint8Array([1, 2]))), '0102');
});

test('ostree commit vector (142 bytes) round-trips with the right checksum', () => {
  const bytes = unhex(
    '76657273696f6e00312e3000007308006f73747265652e7265662d62696e64696e670000000000006d61696e0005006173130f32' +
      '666972737400620000000000000000005e0be100' +
      '66c914c36d8b6efe53a87187076515ddce191206514e1de670c05bee49f1bbac' +
      '446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488' +
      '683c3a343434',
  );
  assert.equal(bytes.length, 142);
  assert.equal(createHash('sha256').update(bytes).digest('hex'), '849300ae83ba3c4b0817277ef3e44c366fbfb044fd51cc531bbafa1e1f5f7fe7');
  const v = deserialize('(a{sv}aya(say)sstayay)', bytes) as GValue[];
  const meta = v[0] as [string, Variant][];
  assert.equal(meta[0]![0], 'version');
  assert.equal(meta[0]![1].value, '1.0');
  assert.deepEqual(meta[1]![1].value, ['main']);
  assert.equal(v[3], 'first');
  assert.equal(v[4], 'b');
  assert.equal(hex(serialize('(a{sv}aya(say)sstayay)', v)), hex(bytes));
});

test('large containers use wider framing offsets', () => {
  const arr = Array.from({ length: 300 }, (_, i) => `name-${i}`);
  const b = serialize('as', arr);
  assert.deepEqual(deserialize('as', b), arr);
  const big = Array.from({ length: 20000 }, (_, i) => [`file${i}`, new Uint8Array(32).fill(i & 0xff)] as GValue);
  const bb = serialize('a(say)', big);
  assert.deepEqual((deserialize('a(say)', bb) as GValue[]).length, 20000);
});

test('integers, doubles, maybes, nested variants', () => {
  const t = '(bynqiuxtdmsmiv)';
  const val: GValue = [true, 255, -2, 65535, -7, 4294967295, -(2n ** 63n), 2n ** 64n - 1n, 1.5, [], [42], new Variant('v', new Variant('as', ['a']))];
  const b = serialize(t, val);
  assert.deepEqual(deserialize(t, b), val);
});

test('non-normal input is rejected with a typed error', () => {
  // padding byte not zero
  assert.throws(() => deserialize('(iy)', unhex('6000000070000001')), NotNormalFormError);
  // boolean 2
  assert.throws(() => deserialize('b', unhex('02')), GVariantError);
  // non-minimal offset size: 'as' ['a'] with 2-byte offsets
  assert.throws(() => deserialize('as', unhex('61000200')), GVariantError);
  // string without NUL
  assert.throws(() => deserialize('s', unhex('6161')), GVariantError);
  // framing offset past the end
  assert.throws(() => deserialize('as', unhex('6100ff')), GVariantError);
  // wrong size for a fixed type
  assert.throws(() => deserialize('u', unhex('010203')), GVariantError);
  // invalid UTF-8
  assert.throws(() => deserialize('s', unhex('ff00')), GVariantError);
});

test('type strings are validated', () => {
  for (const bad of ['', 'z', 'a', '(s', '{ss', '{vs}', '{sss}', 'ss)', 'a'.repeat(300) + 's']) {
    assert.throws(() => parseType(bad), GVariantError, bad);
  }
});

test('text format matches g_variant_print', () => {
  const f = (t: string, v: GValue) => formatValue(parseType(t), v);
  assert.equal(f('s', "it's"), `"it's"`);
  assert.equal(f('u', 5), 'uint32 5');
  assert.equal(f('as', []), '@as []');
  assert.equal(f('as', ['a', 'b']), "['a', 'b']");
  assert.equal(f('a{sv}', [['version', new Variant('s', '1.0')]]), "{'version': <'1.0'>}");
  assert.equal(f('(si)', ['x', 3]), "('x', 3)");
  assert.equal(f('ay', new Uint8Array([0x61, 0])), "b'a'");
  assert.equal(f('v', new Variant('t', 7n)), '<uint64 7>');
});
