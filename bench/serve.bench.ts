// serve: what continuous batching buys. Aggregate tokens/s of 16 concurrent greedy streams through
// `gptkit serve` (HTTP on loopback, SSE, the engine in its worker thread) against one stream alone
// on the same server, for the `small` config with random weights; and time to first token
// (p50/p99) under that load. Prompts are token ids, so every stream has the same length of work.
// Two lines: the server's default KV cache (f16), then f32.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emit, log, median } from './harness.ts';
import { GPT, gptConfig } from '../src/models/gpt.ts';
import { trainBpe, type Tokenizer } from '../src/tokenizer/index.ts';
import { Rng } from '../src/util/rng.ts';
import { tokenizerJsonText } from '../src/tokenizer/formats.ts';
import { saveCheckpoint } from '../src/interop/checkpoint.ts';
import { startServer } from '../src/serve/server.ts';
import { DEFAULT_KV_CACHE, type KvDtype } from '../src/serve/slot-cache.ts';

const SMALL = { nLayer: 6, nHead: 6, nEmbd: 384, blockSize: 256, vocabSize: 4096 };
const STREAMS = 16;
const PROMPT = 16;
const NEW = 128;
const REPS = 5;

/**
 * 4,094 ordinary tokens and no special ones: the server adds <|im_start|>/<|im_end|> as ids 4094 and
 * 4095, so the vocabulary is exactly `small`'s 4,096, and with no <|endoftext|> nothing ends a
 * stream before max_tokens. Trained on random words (a few seconds).
 */
export async function benchTokenizer(): Promise<Tokenizer> {
  const rng = new Rng(7);
  const words: string[] = [];
  for (let chars = 0; chars < 1 << 18;) {
    const len = 2 + Math.floor(rng.next() * 8);
    let w = '';
    for (let i = 0; i < len; i++) w += String.fromCharCode(97 + Math.floor(rng.next() * 26));
    words.push(w);
    chars += len + 1;
  }
  const tok = await trainBpe([words.join(' ')], { vocabSize: SMALL.vocabSize - 2, specialTokens: [] });
  if (tok.vocabSize !== SMALL.vocabSize - 2) throw new Error(`serve bench: the tokenizer has ${tok.vocabSize} tokens, expected ${SMALL.vocabSize - 2}`);
  return tok;
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** One greedy stream: seconds to its first token and to its end. */
export async function stream(url: string, salt: number): Promise<{ ttft: number; total: number; tokens: number }> {
  const prompt = Array.from({ length: PROMPT }, (_, i) => (salt * 389 + i * 97 + 11) % SMALL.vocabSize);
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, max_tokens: NEW, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  if (r.status !== 200) throw new Error(`serve bench: HTTP ${r.status}: ${await r.text()}`);
  const reader = r.body!.getReader();
  const decoder = new TextDecoder();
  let ttft = -1, raw = '';
  for (let c = await reader.read(); !c.done; c = await reader.read()) {
    raw += decoder.decode(c.value, { stream: true });
    if (ttft < 0 && raw.includes('"text":"')) ttft = performance.now() - t0;
  }
  const total = performance.now() - t0;
  const usage = raw.split('\n\n').map((e) => e.replace(/^data: /, '')).filter((e) => e.startsWith('{')).map((e) => JSON.parse(e)).find((e) => e.usage)?.usage;
  if (usage?.completion_tokens !== NEW) throw new Error(`serve bench: a stream produced ${usage?.completion_tokens} tokens, expected ${NEW}`);
  return { ttft: ttft / 1000, total: total / 1000, tokens: NEW };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
}

/**
 * One server with the KV cache in `kvCache`: REPS rounds of one stream alone then STREAMS together,
 * interleaved so a noisy neighbour on a shared machine hits both sides alike; one `serve` line.
 */
async function measure(dir: string, kvCache: KvDtype): Promise<void> {
  const server = await startServer({ modelDir: dir, host: '127.0.0.1', port: 0, apiKey: null, limits: { maxBatch: STREAMS }, kvCache });
  try {
    // Warm-up, alone and together: the first batch of each shape is slow (buffers, kernels' first use).
    await stream(server.url, 0);
    await Promise.all(Array.from({ length: STREAMS }, (_, i) => stream(server.url, 500 + i)));
    const alone: number[] = [], together: number[] = [], ttft: number[] = [], ttftAlone: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      const one = await stream(server.url, 1000 + rep);
      alone.push(one.tokens / one.total);
      ttftAlone.push(one.ttft);
      const t0 = performance.now();
      const all = await Promise.all(Array.from({ length: STREAMS }, (_, i) => stream(server.url, rep * STREAMS + i + 1)));
      const sec = (performance.now() - t0) / 1000;
      together.push((STREAMS * NEW) / sec);
      ttft.push(...all.map((s) => s.ttft));
      log(`KV cache ${kvCache}, rep ${rep}: alone ${alone.at(-1)!.toFixed(1)} tok/s, ${STREAMS} streams ${together.at(-1)!.toFixed(1)} tok/s`);
    }
    const info = server.context.engine.info;
    emit({
      name: 'serve', config: 'small', streams: STREAMS, prompt_tokens: PROMPT, new_tokens: NEW, kv_cache: info.kvCache,
      value: Number(median(together).toFixed(1)), unit: 'tokens/s', ref: 'one stream alone', ref_value: Number(median(alone).toFixed(1)),
      ttft_p50_ms: Number((percentile(ttft, 0.5) * 1000).toFixed(1)), ttft_p99_ms: Number((percentile(ttft, 0.99) * 1000).toFixed(1)),
      ttft_alone_ms: Number((median(ttftAlone) * 1000).toFixed(1)), vocab: info.vocabSize, kernels: info.kernels, cpu: cpuModel(),
    });
  } finally {
    await server.drain();
  }
}

export async function run(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'gptkit-serve-bench-'));
  const dir = join(root, 'small');
  try {
    const model = new GPT(gptConfig('tiny', { ...SMALL, dropout: 0 })).eval();
    saveCheckpoint(dir, model, { tokenizerJson: { text: tokenizerJsonText((await benchTokenizer()).toSpec()) } });
    // The server's default (f16) first, then f32 (the bits of gptkit generate) for comparison.
    await measure(dir, DEFAULT_KV_CACHE);
    await measure(dir, DEFAULT_KV_CACHE === 'f16' ? 'f32' : 'f16');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
