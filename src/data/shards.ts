// Token shards: what training reads. A shard directory holds little-endian uint16 (when every id
// fits, vocab ≤ 65536) or uint32 token arrays `shard_NNNNN.bin`, and `index.json`:
//   {"dtype":"uint16"|"uint32","vocab_size":V,"eot_token":E,"tokenizer":NAME,"documents":D,
//    "shards":[{"file":"shard_00000.bin","tokens":N},…]}
// The shards concatenated are one token stream in which every document is followed by the
// end-of-text id E. Each shard file and then the index are written atomically; readers go
// through the index, so they never see a half-written set.
//
// Reading uses positioned reads (the page cache plays the part of a memory map): random windows
// of block+1 tokens for training (seeded), and sequential windows with a position {shard, offset,
// epoch} that can be saved and resumed exactly.
import { openSync, readSync, closeSync, fstatSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.ts';
import { FileFormatError, GptkitError, ConfigError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';

export type TokenDtype = 'uint16' | 'uint32';

export interface ShardIndex {
  dtype: TokenDtype;
  vocab_size: number;
  eot_token: number;
  tokenizer: string;
  /** SHA-256 of the tokenizer's tokenizer.json (absent in shards made before it was recorded). */
  tokenizer_sha256?: string;
  documents: number;
  shards: { file: string; tokens: number }[];
}

/** What the shard writer needs from a tokenizer: data/ stays independent of tokenizer/. */
export interface ShardTokenizer {
  name: string;
  vocabSize: number;
  eotToken: number;
  /** The tokenizer's identity (its tokenizer.json's SHA-256), recorded in the index. */
  fingerprint?: string;
  encode: (text: string) => ArrayLike<number>;
}

export function dtypeFor(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 'uint16' : 'uint32';
}

export class ShardWriter {
  readonly dir: string;
  private readonly tok: ShardTokenizer;
  private readonly dtype: TokenDtype;
  private readonly buf: Uint16Array | Uint32Array;
  private fill = 0;
  private readonly shards: { file: string; tokens: number }[] = [];
  private documents = 0;

  constructor(dir: string, tokenizer: ShardTokenizer, shardTokens = 1 << 26) {
    if (!Number.isInteger(tokenizer.vocabSize) || tokenizer.vocabSize < 1 || tokenizer.vocabSize > 2 ** 32) throw new ConfigError(`shards: vocab size must be an integer in [1, 2^32], got ${tokenizer.vocabSize}`);
    if (!Number.isInteger(tokenizer.eotToken) || tokenizer.eotToken < 0 || tokenizer.eotToken >= tokenizer.vocabSize) throw new ConfigError(`shards: end-of-text id ${tokenizer.eotToken} is outside the vocabulary [0, ${tokenizer.vocabSize})`);
    if (!Number.isInteger(shardTokens) || shardTokens < 1) throw new ConfigError(`shards: shardTokens must be a positive integer, got ${shardTokens}`);
    this.dir = dir;
    this.tok = tokenizer;
    this.dtype = dtypeFor(tokenizer.vocabSize);
    this.buf = this.dtype === 'uint16' ? new Uint16Array(shardTokens) : new Uint32Array(shardTokens);
  }

  /** Encode one document and append it followed by the end-of-text id. Returns its token count. */
  add(text: string): number {
    const ids = this.tok.encode(text);
    const v = this.tok.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i];
      if (!(t >= 0 && t < v && Number.isInteger(t))) throw new GptkitError('shards', `tokenizer '${this.tok.name}' produced id ${t} outside [0, ${v}) for document ${this.documents}`);
      this.push(t);
    }
    this.push(this.tok.eotToken);
    this.documents++;
    return ids.length + 1;
  }

  private push(t: number): void {
    this.buf[this.fill++] = t;
    if (this.fill === this.buf.length) this.flush();
  }

  private flush(): void {
    if (this.fill === 0) return;
    const file = `shard_${String(this.shards.length).padStart(5, '0')}.bin`;
    const data = this.buf.subarray(0, this.fill);
    writeFileAtomic(join(this.dir, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.shards.push({ file, tokens: this.fill });
    this.fill = 0;
  }

  /** Write the last shard and the index; returns the index. */
  finish(): ShardIndex {
    this.flush();
    const index: ShardIndex = {
      dtype: this.dtype, vocab_size: this.tok.vocabSize, eot_token: this.tok.eotToken, tokenizer: this.tok.name,
      ...(this.tok.fingerprint ? { tokenizer_sha256: this.tok.fingerprint } : {}), documents: this.documents, shards: this.shards,
    };
    writeFileAtomic(join(this.dir, 'index.json'), JSON.stringify(index, null, 1) + '\n');
    return index;
  }
}

/** A position in the token stream, saved with training state for exact resume. */
export interface ShardPosition {
  shard: number;
  offset: number;
  epoch: number;
}

export class TokenShards {
  readonly dir: string;
  readonly index: ShardIndex;
  readonly totalTokens: number;
  private readonly bytesPer: number;
  private readonly fds: (number | null)[];

  private constructor(dir: string, index: ShardIndex) {
    this.dir = dir;
    this.index = index;
    this.bytesPer = index.dtype === 'uint16' ? 2 : 4;
    this.totalTokens = index.shards.reduce((s, x) => s + x.tokens, 0);
    this.fds = index.shards.map(() => null);
  }

  /** Open a shard directory, validating the index and every shard's size before reading anything. */
  static open(dir: string): TokenShards {
    const path = join(dir, 'index.json');
    if (!existsSync(path)) throw new FileFormatError(path, 'no shard index here', 'make shards with `gptkit data shards`');
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new FileFormatError(path, `not valid JSON (${(e as Error).message})`);
    }
    const bad = (field: string, expected: string, found: unknown): never => {
      throw new FileFormatError(path, `${field}: expected ${expected}, found ${JSON.stringify(found)}`);
    };
    if (raw === null || typeof raw !== 'object') bad('index', 'an object', raw);
    if (raw.dtype !== 'uint16' && raw.dtype !== 'uint32') bad('dtype', "'uint16' or 'uint32'", raw.dtype);
    const vocab = raw.vocab_size;
    if (typeof vocab !== 'number' || !Number.isInteger(vocab) || vocab < 1) bad('vocab_size', 'a positive integer', vocab);
    if (raw.dtype === 'uint16' && (vocab as number) > 65536) bad('vocab_size', 'at most 65536 for uint16', vocab);
    const eot = raw.eot_token;
    if (typeof eot !== 'number' || !Number.isInteger(eot) || eot < 0 || eot >= (vocab as number)) bad('eot_token', `an integer in [0, ${vocab})`, eot);
    if (!Array.isArray(raw.shards)) bad('shards', 'an array', raw.shards);
    const bytesPer = raw.dtype === 'uint16' ? 2 : 4;
    (raw.shards as unknown[]).forEach((s, i) => {
      const sh = s as Record<string, unknown>;
      if (sh === null || typeof sh !== 'object' || typeof sh.file !== 'string' || /[\\/]/.test(sh.file)) bad(`shards[${i}].file`, 'a file name in this directory', sh?.file);
      if (typeof sh.tokens !== 'number' || !Number.isInteger(sh.tokens) || sh.tokens < 0) bad(`shards[${i}].tokens`, 'a non-negative integer', sh.tokens);
      const file = join(dir, sh.file as string);
      if (!existsSync(file)) throw new FileFormatError(file, `listed in ${path} but missing`);
      const fd = openSync(file, 'r');
      const size = fstatSync(fd).size;
      closeSync(fd);
      if (size !== (sh.tokens as number) * bytesPer) throw new FileFormatError(file, `expected ${(sh.tokens as number) * bytesPer} bytes (${sh.tokens} ${raw.dtype} tokens), found ${size}`);
    });
    return new TokenShards(dir, {
      dtype: raw.dtype as TokenDtype, vocab_size: vocab as number, eot_token: eot as number,
      tokenizer: typeof raw.tokenizer === 'string' ? raw.tokenizer : '', documents: typeof raw.documents === 'number' ? raw.documents : 0,
      ...(typeof raw.tokenizer_sha256 === 'string' ? { tokenizer_sha256: raw.tokenizer_sha256 } : {}),
      shards: (raw.shards as { file: string; tokens: number }[]).map((s) => ({ file: s.file, tokens: s.tokens })),
    });
  }

  /** Tokens [offset, offset + count) of one shard, as int32 ids. */
  read(shard: number, offset: number, count: number): Int32Array {
    const s = this.index.shards[shard];
    if (!s || offset < 0 || offset + count > s.tokens) throw new RangeError(`TokenShards.read: shard ${shard} [${offset}, ${offset + count}) is outside the data`);
    let fd = this.fds[shard];
    if (fd === null) fd = this.fds[shard] = openSync(join(this.dir, s.file), 'r');
    const bytes = Buffer.allocUnsafe(count * this.bytesPer);
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(fd, bytes, got, bytes.length - got, offset * this.bytesPer + got);
      if (n === 0) throw new FileFormatError(join(this.dir, s.file), `unexpected end of file at byte ${offset * this.bytesPer + got}`);
      got += n;
    }
    const out = new Int32Array(count);
    if (this.bytesPer === 2) for (let i = 0; i < count; i++) out[i] = bytes.readUInt16LE(2 * i);
    else for (let i = 0; i < count; i++) out[i] = bytes.readUInt32LE(4 * i);
    return out;
  }

  /**
   * A random window of block+1 tokens (inputs and shifted targets), uniform over the start
   * positions that fit inside a shard.
   */
  randomWindow(rng: Rng, block: number): Int32Array {
    const starts = this.index.shards.map((s) => Math.max(0, s.tokens - block));
    const total = starts.reduce((a, b) => a + b, 0);
    if (total === 0) throw new GptkitError('shards', `no shard in ${this.dir} holds ${block + 1} tokens (block ${block})`);
    let r = rng.int(total);
    let shard = 0;
    while (r >= starts[shard]) r -= starts[shard++];
    return this.read(shard, r, block + 1);
  }

  /** Sequential windows of n+1 tokens advancing n at a time, from `position` (resume) or the start. */
  sequential(n: number, position?: ShardPosition): SequentialReader {
    return new SequentialReader(this, n, position ?? { shard: 0, offset: 0, epoch: 0 });
  }

  close(): void {
    for (let i = 0; i < this.fds.length; i++) {
      const fd = this.fds[i];
      if (fd !== null) closeSync(fd);
      this.fds[i] = null;
    }
  }
}

export class SequentialReader {
  private readonly shards: TokenShards;
  private readonly n: number;
  private pos: ShardPosition;

  constructor(shards: TokenShards, n: number, position: ShardPosition) {
    if (!shards.index.shards.some((s) => s.tokens >= n + 1)) throw new GptkitError('shards', `no shard in ${shards.dir} holds ${n + 1} tokens`);
    this.shards = shards;
    this.n = n;
    this.pos = { ...position };
  }

  /** The position of the next window (save it to resume there). */
  position(): ShardPosition {
    return { ...this.pos };
  }

  /** The next window; a shard's tail shorter than n+1 is skipped, and after the last shard the stream wraps (epoch + 1). */
  next(): Int32Array {
    const shards = this.shards.index.shards;
    for (;;) {
      if (this.pos.offset + this.n + 1 <= shards[this.pos.shard].tokens) {
        const out = this.shards.read(this.pos.shard, this.pos.offset, this.n + 1);
        this.pos.offset += this.n;
        return out;
      }
      this.pos.offset = 0;
      this.pos.shard++;
      if (this.pos.shard === shards.length) {
        this.pos.shard = 0;
        this.pos.epoch++;
      }
    }
  }
}
