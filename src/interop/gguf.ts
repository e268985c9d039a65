// GGUF, the file format of llama.cpp (version 3; version 2 is read too): a header, typed metadata
// (key → value), tensor descriptions, then the tensors' bytes at aligned offsets. This module reads
// and writes the container with the safetensors reader's level of checking — every length, count,
// type, offset and size is checked against the file before anything is allocated or read, and a
// bad file is an error naming the field — and maps GPT-2 models to llama.cpp's `gpt2` architecture
// (interop/gguf-gpt2.ts). Tensor types: F32, F16, BF16 and Q8_0 (blocks of 32 int8 with an F16 scale).
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { FileFormatError } from '../util/errors.ts';
import { fromFloat32, toFloat32From16 } from '../util/float16.ts';
import { quantizeQ8_0, dequantizeQ8_0 } from '../backend/quant.ts';

export { quantizeQ8_0, dequantizeQ8_0 };

const MAGIC = 0x46554747; // "GGUF", little-endian
const DEFAULT_ALIGNMENT = 32;
/** Sanity limits: a count or length beyond these is a corrupt file, not a big model. */
const MAX_COUNT = 1 << 24;
const MAX_STRING = 1 << 28;

export enum GgufValueType { UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12 }
const SCALAR_SIZE: Partial<Record<GgufValueType, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** ggml tensor types gptkit reads and writes (llama.cpp's numbering). */
export const GgmlType = { F32: 0, F16: 1, Q8_0: 8, BF16: 30 } as const;
export type GgmlTypeName = keyof typeof GgmlType;
const TYPE_NAME = new Map<number, GgmlTypeName>(Object.entries(GgmlType).map(([k, v]) => [v, k as GgmlTypeName]));
/** Elements per block and bytes per block of each type. */
const BLOCK: Record<GgmlTypeName, { elems: number; bytes: number }> = { F32: { elems: 1, bytes: 4 }, F16: { elems: 1, bytes: 2 }, BF16: { elems: 1, bytes: 2 }, Q8_0: { elems: 32, bytes: 34 } };

export type GgufValue =
  | { type: Exclude<GgufValueType, GgufValueType.ARRAY | GgufValueType.STRING>; value: number | bigint | boolean }
  | { type: GgufValueType.STRING; value: string }
  | { type: GgufValueType.ARRAY; itemType: GgufValueType; value: (number | bigint | boolean | string)[] };

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] varies fastest (a row-major (rows, cols) matrix is [cols, rows]). */
  dims: number[];
  type: GgmlTypeName;
  /** Byte offset from the start of the data section. */
  offset: number;
  bytes: number;
}

export interface GgufFile {
  path: string;
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: Map<string, GgufTensorInfo>;
  alignment: number;
  /** Absolute byte offset of the data section. */
  dataStart: number;
  /** The tensor's values as float32 (dequantized). */
  read(name: string): Float32Array;
  /** Close the file (read() fails after). */
  close(): void;
}

/** Bytes a tensor of `n` elements takes (n must be a whole number of blocks). */
export function tensorBytes(type: GgmlTypeName, n: number): number {
  const b = BLOCK[type];
  return (n / b.elems) * b.bytes;
}

/** float32 values → the bytes of a tensor of this type. */
export function encodeTensor(type: GgmlTypeName, x: Float32Array): Uint8Array {
  switch (type) {
    case 'F32': return new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
    case 'F16': case 'BF16': { const h = fromFloat32(x, type); return new Uint8Array(h.buffer, h.byteOffset, h.byteLength); }
    case 'Q8_0': return quantizeQ8_0(x);
  }
}

/** The bytes of a tensor of this type → float32 values. */
export function decodeTensor(type: GgmlTypeName, bytes: Uint8Array, n: number): Float32Array {
  switch (type) {
    case 'F32': return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n * 4));
    case 'F16': case 'BF16': return toFloat32From16(new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n * 2)), type);
    case 'Q8_0': return dequantizeQ8_0(bytes, n);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

/** A bounds-checked cursor over the header bytes. */
class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer, readonly file: string) {}
  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new FileFormatError(this.file, `${what}: needs ${n} bytes at offset ${this.pos}, but the file ends at ${this.buf.length}`, 'the file is truncated or not GGUF');
  }
  u32(what: string): number { this.need(4, what); const v = this.buf.readUInt32LE(this.pos); this.pos += 4; return v; }
  u64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FileFormatError(this.file, `${what}: ${v} is too large`);
    return Number(v);
  }
  string(what: string): string {
    const n = this.u64(`${what} (length)`);
    if (n > MAX_STRING) throw new FileFormatError(this.file, `${what}: a string of ${n} bytes is beyond any real file's`);
    this.need(n, what);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  scalar(type: GgufValueType, what: string): number | bigint | boolean {
    const size = SCALAR_SIZE[type];
    if (size === undefined) throw new FileFormatError(this.file, `${what}: unknown value type ${type}`);
    this.need(size, what);
    const b = this.buf, p = this.pos;
    this.pos += size;
    switch (type) {
      case GgufValueType.UINT8: return b.readUInt8(p);
      case GgufValueType.INT8: return b.readInt8(p);
      case GgufValueType.UINT16: return b.readUInt16LE(p);
      case GgufValueType.INT16: return b.readInt16LE(p);
      case GgufValueType.UINT32: return b.readUInt32LE(p);
      case GgufValueType.INT32: return b.readInt32LE(p);
      case GgufValueType.FLOAT32: return b.readFloatLE(p);
      case GgufValueType.BOOL: {
        const v = b.readUInt8(p);
        if (v > 1) throw new FileFormatError(this.file, `${what}: a bool must be 0 or 1, found ${v}`);
        return v === 1;
      }
      case GgufValueType.UINT64: return b.readBigUInt64LE(p);
      case GgufValueType.INT64: return b.readBigInt64LE(p);
      default: return b.readDoubleLE(p);
    }
  }
  value(type: GgufValueType, what: string): GgufValue {
    if (type === GgufValueType.STRING) return { type, value: this.string(what) };
    if (type === GgufValueType.ARRAY) {
      const itemType = this.u32(`${what} (array item type)`) as GgufValueType;
      const n = this.u64(`${what} (array length)`);
      if (n > MAX_COUNT) throw new FileFormatError(this.file, `${what}: an array of ${n} items is beyond any real file's`);
      if (itemType === GgufValueType.ARRAY) throw new FileFormatError(this.file, `${what}: arrays of arrays are not supported`);
      const size = SCALAR_SIZE[itemType];
      if (itemType !== GgufValueType.STRING && size === undefined) throw new FileFormatError(this.file, `${what}: unknown array item type ${itemType}`);
      this.need(n * (size ?? 8), what); // before allocating n items (a string takes at least its 8-byte length)
      const value: (number | bigint | boolean | string)[] = new Array(n);
      for (let i = 0; i < n; i++) value[i] = itemType === GgufValueType.STRING ? this.string(`${what}[${i}]`) : this.scalar(itemType, `${what}[${i}]`);
      return { type, itemType, value };
    }
    return { type, value: this.scalar(type, what) } as GgufValue;
  }
}

/** Read the header and tensor table of a GGUF file, checked; tensors are read on demand (close() when done). */
export function openGguf(path: string): GgufFile {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    // The header is read in growing prefixes: it is small next to the tensors, but its end is only
    // known once it is parsed.
    let headerBytes = Math.min(size, 1 << 20);
    for (;;) {
      const buf = Buffer.alloc(headerBytes);
      readSync(fd, buf, 0, headerBytes, 0);
      try {
        return parse(buf, size, fd, path);
      } catch (e) {
        if (e instanceof NeedMore && headerBytes < size) { headerBytes = Math.min(size, headerBytes * 4); continue; }
        if (e instanceof NeedMore) throw new FileFormatError(path, e.message, 'the file is truncated or not GGUF');
        throw e;
      }
    }
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

class NeedMore extends Error {}

function parse(buf: Buffer, fileSize: number, fd: number, path: string): GgufFile {
  const c = new Cursor(buf, path);
  // Running out of the prefix read so far asks for a longer one (see openGguf), unless it is the whole file.
  const need = c.need.bind(c);
  c.need = (n: number, what: string) => {
    if (c.pos + n > buf.length && buf.length < fileSize) throw new NeedMore(`${what}: the header runs past ${buf.length} bytes`);
    need(n, what);
  };
  if (fileSize < 4 || c.u32('magic') !== MAGIC) throw new FileFormatError(path, 'not a GGUF file (its first four bytes are not "GGUF")');
  const version = c.u32('version');
  if (version !== 2 && version !== 3) throw new FileFormatError(path, `version: gptkit reads GGUF versions 2 and 3, found ${version}`);
  const nTensors = c.u64('tensor_count');
  const nKv = c.u64('metadata_kv_count');
  if (nTensors > MAX_COUNT || nKv > MAX_COUNT) throw new FileFormatError(path, `header: ${nTensors} tensors and ${nKv} metadata entries is beyond any real file's`);
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = c.string(`metadata[${i}].key`);
    const type = c.u32(`metadata "${key}" (type)`) as GgufValueType;
    if (metadata.has(key)) throw new FileFormatError(path, `metadata "${key}" appears twice`);
    metadata.set(key, c.value(type, `metadata "${key}"`));
  }
  const alignEntry = metadata.get('general.alignment');
  let alignment = DEFAULT_ALIGNMENT;
  if (alignEntry) {
    const a = Number(alignEntry.value);
    if (alignEntry.type !== GgufValueType.UINT32 || !(a > 0 && (a & (a - 1)) === 0)) throw new FileFormatError(path, `metadata "general.alignment": expected a power of two (uint32), found ${String(alignEntry.value)}`);
    alignment = a;
  }
  const tensors = new Map<string, GgufTensorInfo>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.string(`tensor[${i}].name`);
    const where = `tensor "${name}"`;
    if (tensors.has(name)) throw new FileFormatError(path, `${where} appears twice`);
    const nd = c.u32(`${where} (n_dims)`);
    if (nd < 1 || nd > 4) throw new FileFormatError(path, `${where}: n_dims must be 1 to 4, found ${nd}`);
    const dims: number[] = [];
    for (let d = 0; d < nd; d++) dims.push(c.u64(`${where} (dims[${d}])`));
    const rawType = c.u32(`${where} (type)`);
    const type = TYPE_NAME.get(rawType);
    if (!type) throw new FileFormatError(path, `${where}: ggml type ${rawType} is not supported`, 'gptkit reads F32, F16, BF16 and Q8_0 tensors; re-export with one of them');
    const offset = c.u64(`${where} (offset)`);
    const n = dims.reduce((a, b) => a * b, 1);
    if (dims.some((d) => d < 1) || !Number.isSafeInteger(n)) throw new FileFormatError(path, `${where}: bad dimensions [${dims}]`);
    if (dims[0] % BLOCK[type].elems !== 0) throw new FileFormatError(path, `${where}: ${type} needs the first dimension to be a multiple of ${BLOCK[type].elems}, found [${dims}]`);
    if (offset % alignment !== 0) throw new FileFormatError(path, `${where}: offset ${offset} is not a multiple of the alignment ${alignment}`);
    tensors.set(name, { name, dims, type, offset, bytes: tensorBytes(type, n) });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const dataBytes = fileSize - dataStart;
  const sorted = [...tensors.values()].sort((a, b) => a.offset - b.offset);
  sorted.forEach((t, i) => {
    if (t.offset + t.bytes > dataBytes) throw new FileFormatError(path, `tensor "${t.name}": its ${t.bytes} bytes at data offset ${t.offset} run past the end of the file (${dataBytes} bytes of data)`, 'the file is truncated');
    const next = sorted[i + 1];
    if (next && t.offset + t.bytes > next.offset) throw new FileFormatError(path, `tensor "${t.name}" overlaps tensor "${next.name}"`);
  });
  return {
    path, version, metadata, tensors, alignment, dataStart,
    read(name: string): Float32Array {
      const t = tensors.get(name);
      if (!t) throw new FileFormatError(path, `no tensor "${name}"`);
      const bytes = Buffer.alloc(t.bytes);
      readSync(fd, bytes, 0, t.bytes, dataStart + t.offset);
      return decodeTensor(t.type, bytes, t.dims.reduce((a, b) => a * b, 1));
    },
    close: () => closeSync(fd),
  };
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface GgufTensorOut {
  name: string;
  dims: number[];
  type: GgmlTypeName;
  values: Float32Array;
}

class Writer {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void { this.chunks.push(b); this.length += b.length; }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
  u64(v: number): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  string(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.push(b); }
  scalar(type: GgufValueType, v: number | bigint | boolean): void {
    const b = Buffer.alloc(SCALAR_SIZE[type]!);
    switch (type) {
      case GgufValueType.UINT8: b.writeUInt8(Number(v)); break;
      case GgufValueType.INT8: b.writeInt8(Number(v)); break;
      case GgufValueType.UINT16: b.writeUInt16LE(Number(v)); break;
      case GgufValueType.INT16: b.writeInt16LE(Number(v)); break;
      case GgufValueType.UINT32: b.writeUInt32LE(Number(v)); break;
      case GgufValueType.INT32: b.writeInt32LE(Number(v)); break;
      case GgufValueType.FLOAT32: b.writeFloatLE(Number(v)); break;
      case GgufValueType.BOOL: b.writeUInt8(v ? 1 : 0); break;
      case GgufValueType.UINT64: b.writeBigUInt64LE(BigInt(v)); break;
      case GgufValueType.INT64: b.writeBigInt64LE(BigInt(v)); break;
      case GgufValueType.FLOAT64: b.writeDoubleLE(Number(v)); break;
    }
    this.push(b);
  }
  value(v: GgufValue): void {
    if (v.type === GgufValueType.STRING) return this.string(v.value);
    if (v.type === GgufValueType.ARRAY) {
      this.u32(v.itemType);
      this.u64(v.value.length);
      for (const x of v.value) {
        if (v.itemType === GgufValueType.STRING) this.string(x as string);
        else this.scalar(v.itemType, x as number | bigint | boolean);
      }
      return;
    }
    this.scalar(v.type, v.value);
  }
  pad(alignment: number): void { const n = (alignment - (this.length % alignment)) % alignment; if (n) this.push(Buffer.alloc(n)); }
  bytes(): Buffer { return Buffer.concat(this.chunks); }
}

/**
 * Write a GGUF v3 file: written to a temporary name beside `path` and renamed into place, so a
 * crash never leaves half a model under the real name.
 */
export function writeGguf(path: string, metadata: [string, GgufValue][], tensors: GgufTensorOut[]): void {
  const head = new Writer();
  head.u32(MAGIC);
  head.u32(3);
  head.u64(tensors.length);
  head.u64(metadata.length);
  for (const [key, v] of metadata) {
    head.string(key);
    head.u32(v.type);
    head.value(v);
  }
  const encoded = tensors.map((t) => {
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (n !== t.values.length) throw new FileFormatError(path, `tensor "${t.name}": dims [${t.dims}] hold ${n} values, given ${t.values.length}`);
    return encodeTensor(t.type, t.values);
  });
  let offset = 0;
  tensors.forEach((t, i) => {
    head.string(t.name);
    head.u32(t.dims.length);
    for (const d of t.dims) head.u64(d);
    head.u32(GgmlType[t.type]);
    head.u64(offset);
    offset += Math.ceil(encoded[i].length / DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT;
  });
  head.pad(DEFAULT_ALIGNMENT);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    const h = head.bytes();
    writeSync(fd, h);
    for (const b of encoded) {
      writeSync(fd, b);
      const pad = (DEFAULT_ALIGNMENT - (b.length % DEFAULT_ALIGNMENT)) % DEFAULT_ALIGNMENT;
      if (pad) writeSync(fd, Buffer.alloc(pad));
    }
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try { closeSync(fd); } catch { /* already closed */ }
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Metadata helpers. */
export const gguf = {
  str: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
  strs: (value: string[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value }),
  i32s: (value: number[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value }),
};
