import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, truncateSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readSafetensors, openSafetensors, writeSafetensors, encodeSafetensors, toFloat32, fromFloat32,
  SafetensorsError, MAX_HEADER_BYTES, type SafeTensor, type SafetensorsErrorKind,
} from './safetensors.ts';
import { GptkitError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';

const GOLDEN = new URL('../../tests/golden/interop/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'gptkit-st-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

let fileCounter = 0;
function tmpFile(bytes: Uint8Array): string {
  const p = join(tmp, `f${fileCounter++}.safetensors`);
  writeFileSync(p, bytes);
  return p;
}

/** A file from a header (object or raw string), a data buffer of `dataLen` bytes, and an optional forced N. */
function craft(header: unknown, dataLen: number, forcedN?: bigint): string {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataLen);
  new DataView(out.buffer).setBigUint64(0, forcedN ?? BigInt(json.length), true);
  out.set(json, 8);
  return tmpFile(out);
}

function expectKind(kind: SafetensorsErrorKind, fn: () => unknown, messagePart?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SafetensorsError, `expected SafetensorsError, got ${e}`);
    assert.ok(e instanceof GptkitError);
    assert.equal(e.kind, kind, `wrong kind for message: ${e.message}`);
    if (messagePart) assert.match(e.message, messagePart);
    return true;
  });
}

const f32 = (xs: number[]) => new Float32Array(xs);

// Byte vectors from the reference implementation's own test suite (safetensors/src/tensor.rs:
// test_serialization, test_empty, test_serialization_forced_alignement).
test('encoding matches the reference implementation byte for byte', () => {
  const data = f32([0, 1, 2, 3, 4, 5]);
  const le = [0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64];
  const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
  assert.deepEqual([...encodeSafetensors({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data } })],
    [64, 0, 0, 0, 0, 0, 0, 0, ...ascii('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'), ...le]);
  assert.deepEqual([...encodeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data } })],
    [72, 0, 0, 0, 0, 0, 0, 0, ...ascii('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       '), ...le]);
  assert.deepEqual([...encodeSafetensors({})], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  assert.deepEqual(encodeSafetensors({}, {}), encodeSafetensors({}), 'empty metadata is left out, as the reference does');
  assert.deepEqual([...encodeSafetensors(new Map(), { framework: 'pt' })],
    [40, 0, 0, 0, 0, 0, 0, 0, ...ascii('{"__metadata__":{"framework":"pt"}}     ')]);
});

test('the torch-made golden reads with every dtype and re-encodes to the same bytes', () => {
  const path = join(GOLDEN, 'mixed.safetensors');
  const { tensors, metadata } = readSafetensors(path);
  assert.deepEqual(metadata, { format: 'pt', source: 'gptkit golden' });
  assert.deepEqual([...tensors.keys()].slice(0, 3), ['ids.i64', 'x.f64', '0']); // offset order
  const get = (n: string) => tensors.get(n)!;
  assert.deepEqual(get('ids.i64').shape, [3, 4]);
  assert.deepEqual([...get('ids.i64').data], Array.from({ length: 12 }, (_, i) => BigInt(i - 3) * 1000000007n));
  assert.deepEqual([...get('ids.i32').data], Array.from({ length: 12 }, (_, i) => (i - 6) * 7));
  assert.deepEqual([...get('mask.bool').data], [1, 0, 0, 1, 1]);
  assert.deepEqual([...get('bytes.u8').data], [250, 251, 252, 253, 254, 255]);
  assert.deepEqual([...get('bytes.i8').data], [-128, -1, 0, 1, 127]);
  assert.deepEqual([...get('short.i16').data], [-32768, -2, 0, 3, 32767]);
  assert.deepEqual(get('empty').shape, [0, 3]);
  assert.equal(get('empty').data.length, 0);
  assert.deepEqual(get('scalar').shape, []);
  assert.deepEqual([...get('scalar').data], [2.5]);
  assert.deepEqual([...get('0').data], [7, 8]);
  // Re-encoding what was read reproduces the file exactly (order, header, padding, data).
  assert.deepEqual(encodeSafetensors(tensors, metadata), new Uint8Array(readFileSync(path)));
});

test('F16 and BF16 convert to float32 exactly, and back with torch rounding', () => {
  const { tensors } = readSafetensors(join(GOLDEN, 'mixed.safetensors'));
  const x = toFloat32(tensors.get('x.f32')!);
  assert.equal(x, tensors.get('x.f32')!.data, 'F32 is returned as is');
  for (const [dt, name] of [['F16', 'x.f16'], ['BF16', 'x.bf16']] as const) {
    const asF32 = tensors.get(`${name}_as_f32`)!.data as Float32Array;
    const converted = toFloat32(tensors.get(name)!);
    // Object.is: -0 and NaN must survive too.
    for (let i = 0; i < asF32.length; i++) assert.ok(Object.is(converted[i], asF32[i]), `${name}[${i}]: ${converted[i]} vs ${asF32[i]}`);
    // torch's vectorised bfloat16 path writes NaN as 0xffff, its scalar path (and ours) as 0x7fc0: both NaN.
    const ours = fromFloat32(x, dt);
    const theirs = tensors.get(name)!.data as Uint16Array;
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(x[i])) assert.ok(Number.isNaN(toFloat32({ dtype: dt, shape: [1], data: ours.subarray(i, i + 1) })[0]));
      else assert.equal(ours[i], theirs[i], `${dt} rounding of ${x[i]}`);
    }
  }
  const f64 = tensors.get('x.f64')!;
  assert.deepEqual(toFloat32(f64), Float32Array.from(f64.data as Float64Array));
  expectKind('bad-dtype', () => toFloat32(tensors.get('ids.i32')!), /I32/);
});

test('F16 conversion is exact over all 65536 bit patterns (round trip)', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = fromFloat32(toFloat32({ dtype: 'F16', shape: [65536], data: all }), 'F16');
  for (let i = 0; i < 65536; i++) {
    const isNaN16 = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
    assert.equal(back[i], isNaN16 ? (i & 0x8000) | 0x7e00 : i, `pattern ${i.toString(16)}`);
  }
  const bf = new Uint16Array(65536).map((_, i) => i);
  const bfBack = fromFloat32(toFloat32({ dtype: 'BF16', shape: [65536], data: bf }), 'BF16');
  for (let i = 0; i < 65536; i++) {
    const isNaN16 = (i & 0x7f80) === 0x7f80 && (i & 0x7f) !== 0;
    assert.equal(bfBack[i], isNaN16 ? 0x7fc0 : i);
  }
});

test('write then read round-trips every dtype, sorted like the reference', () => {
  const rng = new Rng(7);
  const tensors = new Map<string, SafeTensor>([
    ['b.weight', { dtype: 'F32', shape: [3, 5], data: Float32Array.from({ length: 15 }, () => rng.normal()) }],
    ['a.weight', { dtype: 'F32', shape: [2], data: f32([1.5, -2]) }],
    ['half', { dtype: 'F16', shape: [4], data: fromFloat32(f32([1, 2, 3, 65504]), 'F16') }],
    ['brain', { dtype: 'BF16', shape: [2, 1], data: fromFloat32(f32([0.1, -7]), 'BF16') }],
    ['ids', { dtype: 'I64', shape: [2], data: new BigInt64Array([-1n, 1n << 40n]) }],
    ['u64', { dtype: 'U64', shape: [1], data: new BigUint64Array([(1n << 64n) - 1n]) }],
    ['u32', { dtype: 'U32', shape: [1], data: new Uint32Array([4e9]) }],
    ['u16', { dtype: 'U16', shape: [1], data: new Uint16Array([65535]) }],
    ['12', { dtype: 'F32', shape: [1], data: f32([12]) }],
  ]);
  const path = join(tmp, 'roundtrip.safetensors');
  writeSafetensors(path, tensors, { format: 'pt', z: 'last', a: 'first' });
  const back = readSafetensors(path);
  assert.deepEqual(back.metadata, { a: 'first', format: 'pt', z: 'last' });
  assert.deepEqual([...back.tensors.keys()], ['u64', 'ids', '12', 'a.weight', 'b.weight', 'u32', 'brain', 'half', 'u16']);
  for (const [name, t] of tensors) assert.deepEqual(back.tensors.get(name), t, name);
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal(n % 8, 0, 'header padded to 8 bytes');
  assert.match(bytes.subarray(8, 8 + n).toString(), /^\{"__metadata__":\{"a":"first","format":"pt","z":"last"\},"u64":/);
  // Subarray views are written from their own offset, not from the start of the buffer.
  const big = f32([9, 8, 7, 6]);
  writeSafetensors(path, { v: { dtype: 'F32', shape: [2], data: big.subarray(2) } });
  assert.deepEqual([...readSafetensors(path).tensors.get('v')!.data], [7, 6]);
});

test('openSafetensors reads tensors lazily and reports unknown names and use after close', () => {
  const f = openSafetensors(join(GOLDEN, 'mixed.safetensors'));
  assert.equal(f.entries.length, 15);
  assert.deepEqual([...f.read('ids.i32').data].slice(0, 2), [-42, -35]);
  expectKind('not-found', () => f.read('nope'), /"nope"/);
  f.close();
  f.close(); // closing twice is harmless
  expectKind('io', () => f.read('ids.i32'), /closed/);
});

test('a file that shrinks after its header was read gives a truncation error, not garbage', () => {
  const path = join(tmp, 'shrinks.safetensors');
  writeFileSync(path, readFileSync(join(GOLDEN, 'mixed.safetensors')));
  const f = openSafetensors(path);
  try {
    truncateSync(path, 200);
    expectKind('truncated', () => f.read('x.f32'), /ended after/);
  } finally {
    f.close();
  }
});

test('every malformed header gets its own error kind, naming the file and tensor', () => {
  const ok = (extra: object = {}) => ({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, ...extra });
  expectKind('io', () => readSafetensors(join(tmp, 'missing.safetensors')), /missing\.safetensors: cannot read/);
  expectKind('truncated', () => readSafetensors(tmpFile(new Uint8Array(5))), /5 bytes/);
  expectKind('truncated', () => readSafetensors(craft('{}', 0, 100n)), /header length 100 runs past/);
  expectKind('header-too-large', () => readSafetensors(craft('{}', 0, BigInt(MAX_HEADER_BYTES) + 1n)));
  expectKind('header-too-large', () => readSafetensors(craft('{}', 0, 1n << 63n)), /limit/);
  const badUtf8 = new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe]);
  expectKind('bad-json', () => readSafetensors(tmpFile(badUtf8)), /UTF-8/);
  expectKind('bad-json', () => readSafetensors(craft('{"t":', 0)), /not valid JSON/);
  expectKind('bad-json', () => readSafetensors(craft('[1,2]', 0)), /an array/);
  expectKind('bad-json', () => readSafetensors(craft('null', 0)), /JSON object/);
  expectKind('bad-entry', () => readSafetensors(craft({ t: 3 }, 0)), /tensor "t"/);
  expectKind('bad-entry', () => readSafetensors(craft({ t: { dtype: 'F32', shape: [1] } }, 4)), /missing field "data_offsets"/);
  expectKind('bad-metadata', () => readSafetensors(craft(ok({ __metadata__: [] }), 8)));
  expectKind('bad-metadata', () => readSafetensors(craft(ok({ __metadata__: { step: 3 } }), 8)), /"step" must be a string/);
  expectKind('bad-dtype', () => readSafetensors(craft({ t: { dtype: 'F99', shape: [2], data_offsets: [0, 8] } }, 8)), /unknown dtype/);
  expectKind('bad-dtype', () => readSafetensors(craft({ t: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, 2)), /does not read/);
  expectKind('bad-shape', () => readSafetensors(craft({ t: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, 8)));
  expectKind('bad-shape', () => readSafetensors(craft({ t: { dtype: 'F32', shape: [1.5], data_offsets: [0, 8] } }, 8)));
  expectKind('bad-offsets', () => readSafetensors(craft({ t: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, 8)));
  expectKind('bad-offsets', () => readSafetensors(craft({ t: { dtype: 'F32', shape: [2], data_offsets: [0] } }, 8)));
  expectKind('shape-mismatch', () => readSafetensors(craft({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8)), /needs 12 bytes.*span 8/);
  // 2^52 × 2^52 × 4 wraps to 0 in 64-bit arithmetic; BigInt keeps it honest.
  expectKind('shape-mismatch', () => readSafetensors(craft({ t: { dtype: 'F32', shape: [2 ** 52, 2 ** 52, 2 ** 8], data_offsets: [0, 0] } }, 0)));
  expectKind('offset-out-of-bounds', () => readSafetensors(craft({
    a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    b: { dtype: 'F32', shape: [1], data_offsets: [100, 104] },
  }, 8)), /tensor "b".*8-byte data buffer/);
  expectKind('truncated', () => readSafetensors(craft({
    a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
  }, 6)), /describes 12 bytes of tensor data but only 6/);
  expectKind('overlap', () => readSafetensors(craft({
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
  }, 12)), /tensor "b".*overlap tensor "a"/);
  expectKind('not-contiguous', () => readSafetensors(craft({
    a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
  }, 12)), /leave bytes 4\.\.8/);
  expectKind('not-contiguous', () => readSafetensors(craft(ok(), 16)), /bytes 8\.\.16 .* not covered/);
});

test('writing rejects tensors that do not describe themselves', () => {
  const w = (t: Record<string, SafeTensor>) => () => encodeSafetensors(t);
  expectKind('bad-tensor', w({ __metadata__: { dtype: 'F32', shape: [1], data: f32([1]) } }), /reserved/);
  expectKind('bad-tensor', w({ t: { dtype: 'F16', shape: [1], data: f32([1]) } }), /must be given as a Uint16Array, found a Float32Array/);
  expectKind('bad-dtype', w({ t: { dtype: 'Q4' as 'F32', shape: [1], data: f32([1]) } }));
  expectKind('bad-shape', w({ t: { dtype: 'F32', shape: [-1], data: f32([1]) } }));
  expectKind('shape-mismatch', w({ t: { dtype: 'F32', shape: [2, 2], data: f32([1]) } }), /4 elements but the data has 1/);
});

test('fuzz: byte flips and truncations of a valid file give SafetensorsError or valid tensors, never a crash', () => {
  const good = new Uint8Array(readFileSync(join(GOLDEN, 'mixed.safetensors')));
  const headerEnd = 8 + Number(new DataView(good.buffer).getBigUint64(0, true));
  const rng = new Rng(2024);
  const kinds = new Set<string>();
  for (let iter = 0; iter < 400; iter++) {
    let bytes: Uint8Array;
    if (iter % 4 === 0) {
      bytes = good.slice(0, rng.int(good.length)); // truncation
    } else {
      bytes = good.slice();
      const flips = 1 + rng.int(4);
      for (let k = 0; k < flips; k++) {
        // Mostly in the header, where the interesting failures live; sometimes the length field.
        const pos = rng.next() < 0.15 ? rng.int(8) : rng.int(headerEnd);
        bytes[pos] = rng.next() < 0.5 ? rng.int(256) : bytes[pos] ^ (1 << rng.int(8));
      }
    }
    const path = tmpFile(bytes);
    try {
      const { tensors } = readSafetensors(path);
      for (const t of tensors.values()) assert.equal(t.data.byteLength, t.data.length * t.data.BYTES_PER_ELEMENT);
      kinds.add('ok');
    } catch (e) {
      if (!(e instanceof SafetensorsError)) throw new Error(`iteration ${iter}: ${e}`);
      kinds.add(e.kind);
    }
    rmSync(path);
  }
  // The fuzzer reached several distinct failure modes, not just one.
  assert.ok(kinds.size >= 4, `only saw ${[...kinds].join(', ')}`);
});
