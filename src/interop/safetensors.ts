// safetensors: the checkpoint tensor format of the Hugging Face ecosystem, read and written.
//
// Layout: 8 bytes little-endian u64 N, N bytes of UTF-8 JSON header, then the data buffer.
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the start of the data buffer) and may hold "__metadata__": {string: string}.
// Tensors are little-endian, C order, and must cover the buffer exactly: no holes, no overlaps.
//
// Contract:
// - Reading validates the whole header against the file size BEFORE allocating anything sized by
//   the file: header length limit, JSON shape, dtypes, shapes, shape × dtype size = byte length
//   (BigInt arithmetic, so no overflow), offsets in bounds, full coverage. Every failure is a
//   SafetensorsError with one `kind` per failure and a message naming the file and the tensor.
// - Each tensor is read into its own ArrayBuffer (never one buffer for the whole file), so typed
//   views are always aligned and files larger than Node's maximum Buffer size still load.
// - Writing follows the reference implementation byte for byte: tensors ordered by descending
//   dtype alignment then by name, compact JSON with "__metadata__" first, header padded with
//   spaces to a multiple of 8 bytes, written atomically.
import { toFloat32From16 } from '../util/float16.ts';
import { openSync, readSync, fstatSync, closeSync } from 'node:fs';
import { GptkitError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';

/** The reference implementation refuses headers above 100 MB; so do we. */
export const MAX_HEADER_BYTES = 100_000_000;

export type SafetensorsErrorKind =
  | 'io'
  | 'truncated'
  | 'header-too-large'
  | 'bad-json'
  | 'bad-entry'
  | 'bad-metadata'
  | 'bad-dtype'
  | 'bad-shape'
  | 'bad-offsets'
  | 'shape-mismatch'
  | 'offset-out-of-bounds'
  | 'overlap'
  | 'not-contiguous'
  | 'not-found'
  | 'bad-tensor';

export class SafetensorsError extends GptkitError {
  override readonly kind: SafetensorsErrorKind;
  readonly file: string;
  constructor(kind: SafetensorsErrorKind, file: string, message: string, hint?: string) {
    super(kind, `${file}: ${message}`, hint);
    this.kind = kind;
    this.file = file;
  }
}

/**
 * Element types, listed in the reference's order (increasing alignment); writing sorts by this
 * order descending. F16 and BF16 are carried as raw 16-bit patterns in a Uint16Array.
 */
const DTYPE_ORDER = ['BOOL', 'U8', 'I8', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64'] as const;
export type Dtype = (typeof DTYPE_ORDER)[number];

export const DTYPE_SIZE: Readonly<Record<Dtype, number>> = Object.freeze({
  BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
});

/** Valid safetensors dtypes that gptkit knows of but does not read (named in the error). */
const UNSUPPORTED_DTYPES = new Set(['F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64']);

export type TensorData =
  | Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

export interface SafeTensor {
  dtype: Dtype;
  shape: number[];
  data: TensorData;
}

/** One header entry after validation; offsets are relative to the data buffer. */
export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsContents {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && (DTYPE_ORDER as readonly string[]).includes(s);
}

/** A typed-array view of `bytes` (which must be aligned for the dtype) interpreted as `dtype`. */
function viewAs(dtype: Dtype, buf: ArrayBuffer, byteOffset: number, byteLength: number): TensorData {
  const n = byteLength / DTYPE_SIZE[dtype];
  switch (dtype) {
    case 'BOOL': case 'U8': return new Uint8Array(buf, byteOffset, n);
    case 'I8': return new Int8Array(buf, byteOffset, n);
    case 'I16': return new Int16Array(buf, byteOffset, n);
    case 'U16': case 'F16': case 'BF16': return new Uint16Array(buf, byteOffset, n);
    case 'I32': return new Int32Array(buf, byteOffset, n);
    case 'U32': return new Uint32Array(buf, byteOffset, n);
    case 'F32': return new Float32Array(buf, byteOffset, n);
    case 'F64': return new Float64Array(buf, byteOffset, n);
    case 'I64': return new BigInt64Array(buf, byteOffset, n);
    case 'U64': return new BigUint64Array(buf, byteOffset, n);
  }
}

/** The typed-array class each dtype is carried in (checked when writing). */
function expectedArrayName(dtype: Dtype): string {
  return viewAs(dtype, new ArrayBuffer(0), 0, 0).constructor.name;
}

// ---------------------------------------------------------------------------------------------
// Header validation

function entryError(file: string, kind: SafetensorsErrorKind, name: string, message: string): SafetensorsError {
  return new SafetensorsError(kind, file, `tensor "${name}": ${message}`);
}

function isNonNegativeSafeInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function parseEntry(file: string, name: string, raw: unknown): TensorInfo {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw entryError(file, 'bad-entry', name, `expected an object {"dtype","shape","data_offsets"}, found ${JSON.stringify(raw)}`);
  }
  const e = raw as Record<string, unknown>;
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!(key in e)) throw entryError(file, 'bad-entry', name, `missing field "${key}"`);
  }
  if (!isDtype(e.dtype)) {
    const what = UNSUPPORTED_DTYPES.has(e.dtype as string) ? 'a safetensors dtype gptkit does not read' : 'an unknown dtype';
    throw entryError(file, 'bad-dtype', name, `dtype ${JSON.stringify(e.dtype)} is ${what} (expected one of ${DTYPE_ORDER.join(', ')})`);
  }
  const shape = e.shape;
  if (!Array.isArray(shape) || !shape.every(isNonNegativeSafeInt)) {
    throw entryError(file, 'bad-shape', name, `shape must be an array of non-negative integers, found ${JSON.stringify(shape)}`);
  }
  const offs = e.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isNonNegativeSafeInt) || offs[0] > offs[1]) {
    throw entryError(file, 'bad-offsets', name, `data_offsets must be [begin, end] with 0 <= begin <= end, found ${JSON.stringify(offs)}`);
  }
  // BigInt: a hostile shape like [2**52, 2**52] must not wrap around to a plausible size.
  const elements = shape.reduce((acc: bigint, d: number) => acc * BigInt(d), 1n);
  const expected = elements * BigInt(DTYPE_SIZE[e.dtype]);
  const found = BigInt(offs[1] - offs[0]);
  if (expected !== found) {
    throw entryError(file, 'shape-mismatch', name,
      `shape ${JSON.stringify(shape)} × ${e.dtype} (${DTYPE_SIZE[e.dtype]} bytes) needs ${expected} bytes but data_offsets [${offs[0]}, ${offs[1]}] span ${found}`);
  }
  return { name, dtype: e.dtype, shape: shape.slice(), begin: offs[0], end: offs[1] };
}

function parseMetadata(file: string, raw: unknown): Record<string, string> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SafetensorsError('bad-metadata', file, `"__metadata__" must be an object of strings, found ${JSON.stringify(raw)}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') {
      throw new SafetensorsError('bad-metadata', file, `"__metadata__"."${k}" must be a string, found ${JSON.stringify(v)}`);
    }
    out[k] = v;
  }
  return out;
}

/**
 * Validate a header (the N JSON bytes) against the size of the data buffer that follows it.
 * Returns the entries ordered by offset. Allocates nothing sized by the data.
 */
export function validateHeader(file: string, headerBytes: Uint8Array, dataLength: number): { entries: TensorInfo[]; metadata: Record<string, string> } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError('bad-json', file, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError('bad-json', file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new SafetensorsError('bad-json', file, `header must be a JSON object, found ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
  }
  let metadata: Record<string, string> = {};
  const entries: TensorInfo[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') metadata = parseMetadata(file, raw);
    else entries.push(parseEntry(file, name, raw));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkBounds(file, entries, dataLength);
  checkCoverage(file, entries, dataLength);
  return { entries, metadata };
}

function checkBounds(file: string, entries: TensorInfo[], dataLength: number): void {
  const beyond = entries.find((t) => t.end > dataLength);
  if (!beyond) return;
  // A consistent layout that simply runs past the end of the file means the file was cut short.
  const total = entries.reduce((s, t) => s + (t.end - t.begin), 0);
  const lastEnd = entries[entries.length - 1].end;
  if (total === lastEnd && entries[0].begin === 0) {
    throw new SafetensorsError('truncated', file,
      `the header describes ${lastEnd} bytes of tensor data but only ${dataLength} follow it (tensor "${beyond.name}" ends at ${beyond.end})`,
      'the file is truncated: download or write it again');
  }
  throw entryError(file, 'offset-out-of-bounds', beyond.name,
    `data_offsets [${beyond.begin}, ${beyond.end}] run past the end of the ${dataLength}-byte data buffer`);
}

function checkCoverage(file: string, entries: TensorInfo[], dataLength: number): void {
  let cursor = 0;
  let prev: TensorInfo | null = null;
  for (const t of entries) {
    if (t.begin < cursor) {
      throw entryError(file, 'overlap', t.name, `data_offsets [${t.begin}, ${t.end}] overlap tensor "${prev!.name}" [${prev!.begin}, ${prev!.end}]`);
    }
    if (t.begin > cursor) {
      throw entryError(file, 'not-contiguous', t.name, `data_offsets [${t.begin}, ${t.end}] leave bytes ${cursor}..${t.begin} of the data buffer uncovered`);
    }
    // Zero-size tensors share their begin with the next tensor; they do not move the cursor.
    if (t.end > t.begin) prev = t;
    cursor = t.end;
  }
  if (cursor !== dataLength) {
    throw new SafetensorsError('not-contiguous', file, `bytes ${cursor}..${dataLength} of the data buffer are not covered by any tensor`);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

/** An open safetensors file: header validated, tensors read on demand. */
export interface SafetensorsFile {
  readonly path: string;
  /** Entries ordered by offset. */
  readonly entries: readonly TensorInfo[];
  readonly metadata: Record<string, string>;
  /** Read one tensor into its own buffer. */
  read(name: string): SafeTensor;
  close(): void;
}

function readExactly(fd: number, path: string, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) {
      throw new SafetensorsError('truncated', path, `expected ${buf.length} bytes at offset ${position}, the file ended after ${done}`,
        'was the file modified while it was being read?');
    }
    done += n;
  }
}

function ioError(path: string, e: unknown): SafetensorsError {
  return new SafetensorsError('io', path, `cannot read: ${(e as Error).message}`);
}

/** Open a safetensors file and validate its header; tensor data is not read yet. */
export function openSafetensors(path: string): SafetensorsFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw ioError(path, e);
  }
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new SafetensorsError('truncated', path, `file is ${size} bytes, shorter than the 8-byte header length`);
    const lenBytes = new Uint8Array(8);
    readExactly(fd, path, lenBytes, 0);
    const n = new DataView(lenBytes.buffer).getBigUint64(0, true);
    if (n > BigInt(MAX_HEADER_BYTES)) {
      throw new SafetensorsError('header-too-large', path, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    }
    const headerLen = Number(n);
    if (headerLen > size - 8) {
      throw new SafetensorsError('truncated', path, `header length ${headerLen} runs past the end of the ${size}-byte file`);
    }
    const header = new Uint8Array(headerLen);
    readExactly(fd, path, header, 8);
    const dataStart = 8 + headerLen;
    const { entries, metadata } = validateHeader(path, header, size - dataStart);
    return makeFile(path, fd, dataStart, entries, metadata);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function makeFile(path: string, fd: number, dataStart: number, entries: TensorInfo[], metadata: Record<string, string>): SafetensorsFile {
  const byName = new Map(entries.map((t) => [t.name, t]));
  let open = true;
  return {
    path, entries, metadata,
    read(name: string): SafeTensor {
      const t = byName.get(name);
      if (!t) throw new SafetensorsError('not-found', path, `no tensor named "${name}"`);
      if (!open) throw new SafetensorsError('io', path, `cannot read tensor "${name}": the file was closed`);
      const bytes = new Uint8Array(t.end - t.begin);
      readExactly(fd, path, bytes, dataStart + t.begin);
      return { dtype: t.dtype, shape: t.shape.slice(), data: viewAs(t.dtype, bytes.buffer, 0, bytes.length) };
    },
    close(): void {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Read a whole safetensors file: every tensor, in offset order, plus the metadata. */
export function readSafetensors(path: string): SafetensorsContents {
  const f = openSafetensors(path);
  try {
    const tensors = new Map<string, SafeTensor>();
    for (const t of f.entries) tensors.set(t.name, f.read(t.name));
    return { tensors, metadata: { ...f.metadata } };
  } finally {
    f.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

type TensorInput = Map<string, SafeTensor> | Record<string, SafeTensor>;

function checkTensorForWrite(name: string, t: SafeTensor): void {
  const where = 'writeSafetensors';
  if (name === '__metadata__' || name.length === 0) {
    throw new SafetensorsError('bad-tensor', where, `tensor name ${JSON.stringify(name)} is reserved or empty`);
  }
  if (!isDtype(t.dtype)) {
    throw new SafetensorsError('bad-dtype', where, `tensor "${name}": dtype ${JSON.stringify(t.dtype)} is not one of ${DTYPE_ORDER.join(', ')}`);
  }
  const arrayName = expectedArrayName(t.dtype);
  if (t.data.constructor.name !== arrayName) {
    throw new SafetensorsError('bad-tensor', where, `tensor "${name}": dtype ${t.dtype} must be given as a ${arrayName}, found a ${t.data.constructor.name}`);
  }
  if (!t.shape.every(isNonNegativeSafeInt)) {
    throw new SafetensorsError('bad-shape', where, `tensor "${name}": shape must be non-negative integers, found ${JSON.stringify(t.shape)}`);
  }
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n !== t.data.length) {
    throw new SafetensorsError('shape-mismatch', where, `tensor "${name}": shape ${JSON.stringify(t.shape)} has ${n} elements but the data has ${t.data.length}`);
  }
}

/**
 * Serialize tensors to safetensors bytes exactly as the reference implementation does.
 * Typed arrays are written in the machine's byte order; every platform Node runs on is little-endian.
 */
export function encodeSafetensors(tensors: TensorInput, metadata?: Record<string, string>): Uint8Array {
  const list = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))];
  for (const [name, t] of list) checkTensorForWrite(name, t);
  const rank = (d: Dtype) => DTYPE_ORDER.indexOf(d);
  list.sort(([an, a], [bn, b]) => rank(b.dtype) - rank(a.dtype) || (an < bn ? -1 : an > bn ? 1 : 0));

  // Built by hand rather than with one JSON.stringify of an object: JS objects list integer-like
  // keys ("0", "12") first, which would break the reference order.
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    const keys = Object.keys(metadata).sort();
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const [name, t] of list) {
    const bytes = t.data.byteLength;
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] })}`);
    offset += bytes;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded); // spaces keep the data 8-byte aligned
  let pos = 8 + padded;
  for (const [, t] of list) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** Write tensors (and optional string metadata) to `path` atomically. */
export function writeSafetensors(path: string, tensors: TensorInput, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

// ---------------------------------------------------------------------------------------------
// Float conversions

/** A float tensor's values as float32: F16 and BF16 exactly, F64 rounded to nearest. */
export function toFloat32(t: SafeTensor): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return t.data as Float32Array;
    case 'F64':
      return Float32Array.from(t.data as Float64Array);
    case 'F16': case 'BF16':
      return toFloat32From16(t.data as Uint16Array, t.dtype);
    default:
      throw new SafetensorsError('bad-dtype', 'toFloat32', `cannot convert a ${t.dtype} tensor to float32 (expected F16, BF16, F32 or F64)`);
  }
}

export { toFloat32From16, fromFloat32 } from '../util/float16.ts';
