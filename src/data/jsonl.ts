// Streaming JSONL output and the exact-dedup key set.
// JsonlWriter writes to a temporary name beside the destination and renames it into place on
// close(), so a crash mid-run never leaves a truncated file under the real name; abort() removes it.
import { createWriteStream, renameSync, rmSync, mkdirSync, openSync, fsyncSync, closeSync, type WriteStream } from 'node:fs';
import { dirname, basename, join } from 'node:path';

export class JsonlWriter {
  readonly path: string;
  private readonly tmp: string;
  private readonly stream: WriteStream;
  private chunks: string[] = [];
  private pendingChars = 0;
  records = 0;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    this.tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
    this.stream = createWriteStream(this.tmp);
  }

  /** Append one record; resolves at once unless the OS buffer is full (backpressure). */
  async write(record: unknown): Promise<void> {
    const line = JSON.stringify(record) + '\n';
    this.chunks.push(line);
    this.pendingChars += line.length;
    this.records++;
    if (this.pendingChars >= 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.chunks.length) return;
    const ok = this.stream.write(this.chunks.join(''));
    this.chunks = [];
    this.pendingChars = 0;
    if (!ok) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
  }

  async close(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => this.stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
    const fd = openSync(this.tmp, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
    renameSync(this.tmp, this.path);
  }

  abort(): void {
    this.stream.destroy();
    rmSync(this.tmp, { force: true });
  }
}

/** A set of 64-bit keys (two uint32 halves), open addressing in typed arrays: ~16 bytes a key. */
export class KeySet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private used: Uint8Array;
  size = 0;

  constructor(capacity = 1 << 16) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.used = new Uint8Array(capacity);
  }

  /** Add (hi, lo); returns false when it was already present. */
  add(hi: number, lo: number): boolean {
    if ((this.size + 1) * 2 > this.used.length) this.rehash();
    const mask = this.used.length - 1;
    hi >>>= 0;
    lo >>>= 0;
    for (let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask; ; i = (i + 1) & mask) {
      if (!this.used[i]) {
        this.used[i] = 1;
        this.hi[i] = hi;
        this.lo[i] = lo;
        this.size++;
        return true;
      }
      if (this.hi[i] === hi && this.lo[i] === lo) return false;
    }
  }

  private rehash(): void {
    const { hi, lo, used } = this;
    this.hi = new Uint32Array(used.length * 2);
    this.lo = new Uint32Array(used.length * 2);
    this.used = new Uint8Array(used.length * 2);
    this.size = 0;
    for (let i = 0; i < used.length; i++) if (used[i]) this.add(hi[i], lo[i]);
  }
}
