// bpe_encode: MB/s encoding a few MB of mixed text (prose, code, JSON, many scripts) with GPT-2's
// vocabulary, single-threaded, against gpt-tokenizer (and js-tiktoken, reported beside it).
// bpe_train: seconds to train a 4,096-token vocabulary on 10 MB; and, since the `tokenizers` npm
// package (Hugging Face) can only train with its default trainer (vocabulary 30,000), a second
// figure where both train 30,000 tokens on the same file.
// The text is every .md/.ts/.js/.json file under node_modules in sorted order, with the
// multilingual test corpus spliced in between files: real prose and code, no download.
import { readdirSync, readFileSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { emit, log, timeIt, median } from './harness.ts';
import { gpt2Tokenizer, Tokenizer, trainBpe } from '../src/tokenizer/index.ts';
import { VARIED_TEXTS } from '../src/tokenizer/test-corpus.ts';

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const s = statSync(p);
    if (s.isDirectory()) walk(p, out);
    else if (/\.(md|ts|js|json)$/.test(name) && s.size < 1 << 20) out.push(p);
  }
  return out;
}

/** About `chars` characters of mixed text. */
function mixedText(chars: number): string {
  const parts: string[] = [];
  let n = 0;
  const multilingual = VARIED_TEXTS.join('\n');
  for (const [k, file] of walk('node_modules', []).entries()) {
    const t = readFileSync(file, 'utf8');
    parts.push(t);
    n += t.length;
    if (k % 10 === 0) { parts.push(multilingual); n += multilingual.length; }
    if (n >= chars) break;
  }
  return parts.join('\n').slice(0, chars);
}

function seconds(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

async function benchEncode(): Promise<void> {
  const { encode: gptTokenizerEncode } = await import('gpt-tokenizer/encoding/r50k_base');
  const { getEncoding } = await import('js-tiktoken');
  const text = mixedText(4 << 20);
  const mb = Buffer.byteLength(text) / 1e6;
  const ours = gpt2Tokenizer();
  const tiktoken = getEncoding('gpt2');
  const ids = ours.encode(text);
  if (ids.join() !== gptTokenizerEncode(text, { disallowedSpecial: new Set() }).join()) throw new Error('bpe_encode: gptkit and gpt-tokenizer disagree on the bench text');
  const cold = seconds(() => new Tokenizer(ours.toSpec()).encode(text));
  // Interleave the two, each warm, and take medians.
  const tOurs: number[] = [];
  const tRef: number[] = [];
  for (let r = 0; r < 5; r++) {
    tOurs.push(seconds(() => ours.encode(text)));
    tRef.push(seconds(() => gptTokenizerEncode(text, { disallowedSpecial: new Set() })));
  }
  const tTiktoken = timeIt(() => tiktoken.encode(text, [], []), 1, 0);
  emit({
    name: 'bpe_encode', value: Number((mb / median(tOurs)).toFixed(2)), unit: 'MB/s', ref: 'gpt-tokenizer', ref_value: Number((mb / median(tRef)).toFixed(2)),
    mb: Number(mb.toFixed(2)), tokens: ids.length, threads: 1, cold_value: Number((mb / cold).toFixed(2)),
    js_tiktoken_value: Number((mb / tTiktoken).toFixed(2)),
  });
}

async function hfTrainSeconds(file: string): Promise<{ seconds: number; vocab: number } | null> {
  let hf: any;
  try {
    hf = createRequire(import.meta.url)('tokenizers');
  } catch (e) {
    log(`bpe_train reference skipped: the tokenizers package does not load (${(e as Error).message.split('\n')[0]}); install: npm install --save-dev tokenizers`);
    return null;
  }
  const tok = new hf.Tokenizer(hf.BPE.empty());
  tok.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
  const s = seconds(() => tok.train([file]));
  return { seconds: s, vocab: tok.getVocabSize() };
}

async function benchTrain(): Promise<void> {
  const text = mixedText(10 << 20);
  const mb = Buffer.byteLength(text) / 1e6;
  const docs = text.split(/\n(?=#|\/\/|\{)/); // many documents, as a corpus would come
  const times: number[] = [];
  let vocab = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    vocab = (await trainBpe(docs, { vocabSize: 4096, specialTokens: ['<|endoftext|>'] })).vocabSize;
    times.push((performance.now() - t0) / 1000);
  }
  log('bpe_train: the tokenizers npm package trains only with its default trainer (vocabulary 30000, no options), so the 4096 figure has no reference; see the vocab_size 30000 line');
  emit({ name: 'bpe_train', value: Number(median(times).toFixed(3)), unit: 's', ref: null, ref_value: null, vocab_size: vocab, mb: Number(mb.toFixed(2)), threads: 1 });

  const dir = mkdtempSync(join(tmpdir(), 'gptkit-bench-bpe-'));
  try {
    const file = join(dir, 'corpus.txt');
    writeFileSync(file, text);
    const hf = await hfTrainSeconds(file);
    const t0 = performance.now();
    const big = await trainBpe(docs, { vocabSize: 30000, minFrequency: 1 });
    const ours = (performance.now() - t0) / 1000;
    emit({
      name: 'bpe_train', value: Number(ours.toFixed(3)), unit: 's', ref: hf ? 'tokenizers' : null, ref_value: hf ? Number(hf.seconds.toFixed(3)) : null,
      vocab_size: big.vocabSize, ref_vocab_size: hf?.vocab ?? null, mb: Number(mb.toFixed(2)), threads: 1, ref_threads: availableParallelism(),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  await benchEncode();
  await benchTrain();
}
