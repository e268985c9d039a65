// `gptkit tokenizer train …` (learn a byte-level BPE vocabulary from files) and `gptkit tokenize …`
// (stdin → token ids, or ids → text with --decode). The work is in src/tokenizer/; this prints.
import type { Command } from './main.ts';
import { parseFlags, helpText, type FlagSpecs } from './flags.ts';
import { fmtCount, fmtDuration } from './progress.ts';
import { ConfigError } from '../util/errors.ts';
import { loadTokenizer, trainBpe, encodeParallel, openTokenizerDir, type TrainProgress } from '../tokenizer/index.ts';
import { readDocuments } from '../data/readers.ts';
import { trainWordPiece, loadWordPiece, isWordPiecePath, BERT_SPECIAL_TOKENS, type WordPieceTokenizer } from '../tokenizer/wordpiece.ts';

export const trainFlags: FlagSpecs = {
  data: { type: 'strings', value: 'FILE', help: 'training text: .txt, .jsonl, .parquet (each optionally .gz) or folders of them — the same reader as pretrain and data shards' },
  'text-field': { type: 'string', default: 'text', help: 'JSONL/Parquet field holding the text' },
  'on-error': { type: 'string', value: 'fail|skip', default: 'fail', choices: ['fail', 'skip'], help: 'a malformed record: stop, or skip it with a warning naming file and line' },
  'vocab-size': { type: 'number', range: { min: 256, max: 2 ** 31, int: true }, help: 'total ids: 256 bytes + merges + special tokens' },
  out: { type: 'string', value: 'DIR', help: 'folder to write tokenizer.json into: new, empty, or a tokenizer gptkit wrote (replaced with --force)' },
  force: { type: 'boolean', help: 'replace a tokenizer gptkit wrote in --out (other files there are kept)' },
  'special-tokens': { type: 'strings', value: 'TOKEN', default: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'], help: 'special tokens, given the last ids in this order' },
  'min-frequency': { type: 'number', default: 2, range: { min: 1, int: true }, help: 'never merge a pair seen fewer times (training may stop below --vocab-size)' },
  json: { type: 'boolean', help: 'print progress and the result as JSON lines' },
  model: { type: 'string', value: 'bpe|wordpiece', default: 'bpe', choices: ['bpe', 'wordpiece'], help: "'bpe': byte-level BPE (GPT-2); 'wordpiece': BERT's (writes tokenizer.json + vocab.txt; special tokens default to [PAD] [UNK] [CLS] [SEP] [MASK])" },
};

export const tokenizeFlags: FlagSpecs = {
  tokenizer: { type: 'string', value: 'DIR', default: 'gpt2', help: "tokenizer directory (tokenizer.json, or vocab.json + merges.txt), or 'gpt2' (built in)" },
  json: { type: 'boolean', help: 'print one JSON array instead of space-separated ids' },
  'allow-special': { type: 'boolean', help: 'let special-token text in the input (e.g. <|endoftext|>) become special tokens' },
  decode: { type: 'boolean', help: 'the other way: read ids (space/comma separated or a JSON array) and print the text (with --json: as a JSON string)' },
  threads: { type: 'number', default: 1, range: { min: 1, max: 64, int: true }, help: 'worker threads for large inputs (ids are the same for any count)' },
};

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

function progressLine(p: TrainProgress, startMs: number): string {
  const t = fmtDuration((performance.now() - startMs) / 1000);
  return p.phase === 'count'
    ? `counting: ${fmtCount(p.chars)} chars, ${fmtCount(p.distinct)} distinct pre-tokens (${t})`
    : `merging: ${p.merges}/${p.total} merges, last pair seen ${fmtCount(p.count)} times (${t})`;
}

async function train(argv: string[]): Promise<number> {
  const p = parseFlags(argv, trainFlags);
  if (p.help) {
    console.log(helpText('gptkit tokenizer train --data FILE… --vocab-size N --out DIR [options]', 'Train a byte-level BPE tokenizer (GPT-2 pre-tokenization) and write DIR/tokenizer.json.', trainFlags));
    return 0;
  }
  const v = p.values as { data?: string[]; vocabSize?: number; out?: string; specialTokens: string[]; minFrequency: number; json?: boolean; textField: string; onError: 'fail' | 'skip'; force?: boolean; model: 'bpe' | 'wordpiece' };
  if (!v.data) throw new ConfigError('--data is required');
  if (v.vocabSize === undefined) throw new ConfigError('--vocab-size is required');
  if (!v.out) throw new ConfigError('--out is required');
  const data = v.data, vocabSize = v.vocabSize;
  const out = openTokenizerDir(v.out, { label: `--out ${v.out}`, force: Boolean(v.force), inputs: data.map((path) => ({ flag: '--data', path })) });
  if (v.model === 'wordpiece') return out.use(() => trainWordPieceCli(v as typeof v & { out: string; data: string[]; vocabSize: number }, p.given.has('specialTokens'), out));
  return out.use(async () => {
  const start = performance.now();
  const say = (record: object, line: string): void => console.log(v.json ? JSON.stringify(record) : line);
  say({ event: 'start', data, vocabSize, out: v.out, specialTokens: v.specialTokens, minFrequency: v.minFrequency },
    `training a ${v.vocabSize}-token BPE vocabulary on ${data.length} path(s); special tokens: ${v.specialTokens.join(' ')}; min frequency ${v.minFrequency}`);
  const texts = (async function* () {
    const onMalformed = (m: { file: string; line: number; message: string }) => console.error(`warning: skipped ${m.file}:${m.line}: ${m.message}`);
    for await (const doc of readDocuments(data, { textField: v.textField, onError: v.onError, onMalformed, txtMode: 'paragraph' })) yield doc.text;
  })();
  const tokenizer = await trainBpe(texts, {
    vocabSize,
    specialTokens: v.specialTokens,
    minFrequency: v.minFrequency,
    onProgress: (e) => say({ event: 'progress', ...e }, progressLine(e, start)),
  });
  out.commitSync((staging) => tokenizer.save(staging), { replaceAll: true });
  const seconds = (performance.now() - start) / 1000;
  say({ event: 'done', vocabSize: tokenizer.vocabSize, merges: tokenizer.merges.length, seconds, out: v.out },
    `wrote ${v.out}/tokenizer.json: ${tokenizer.vocabSize} ids (256 bytes + ${tokenizer.merges.length} merges + ${tokenizer.specialTokens.size} special) in ${fmtDuration(seconds)}`);
  return 0;
  });
}

/** --model wordpiece: BERT's vocabulary, written as tokenizer.json + vocab.txt. */
async function trainWordPieceCli(v: { data: string[]; vocabSize: number; out: string; specialTokens: string[]; minFrequency: number; json?: boolean; textField: string; onError: 'fail' | 'skip' }, specialsGiven: boolean, out: ReturnType<typeof openTokenizerDir>): Promise<number> {
  const start = performance.now();
  const say = (record: object, line: string): void => console.log(v.json ? JSON.stringify(record) : line);
  const specialTokens = specialsGiven ? v.specialTokens : [...BERT_SPECIAL_TOKENS];
  say({ event: 'start', model: 'wordpiece', data: v.data, vocabSize: v.vocabSize, out: v.out, specialTokens, minFrequency: v.minFrequency },
    `training a ${v.vocabSize}-token WordPiece vocabulary on ${v.data.length} path(s); special tokens: ${specialTokens.join(' ')}; min frequency ${v.minFrequency}`);
  const texts = (async function* () {
    const onMalformed = (m: { file: string; line: number; message: string }) => console.error(`warning: skipped ${m.file}:${m.line}: ${m.message}`);
    for await (const doc of readDocuments(v.data, { textField: v.textField, onError: v.onError, onMalformed, txtMode: 'paragraph' })) yield doc.text;
  })();
  const tokenizer = await trainWordPiece(texts, {
    vocabSize: v.vocabSize, specialTokens, minFrequency: v.minFrequency,
    onProgress: (e) => say({ event: 'progress', ...e }, `${e.phase === 'count' ? 'counted' : 'merging'}: ${fmtCount(e.words)} distinct words, ${e.vocab} tokens (${fmtDuration((performance.now() - start) / 1000)})`),
  });
  out.commitSync((staging) => tokenizer.save(staging), { replaceAll: true });
  const seconds = (performance.now() - start) / 1000;
  say({ event: 'done', model: 'wordpiece', vocabSize: tokenizer.vocabSize, seconds, out: v.out },
    `wrote ${v.out}/tokenizer.json and vocab.txt: ${tokenizer.vocabSize} WordPiece tokens in ${fmtDuration(seconds)}`);
  return 0;
}

export const tokenizerCommand: Command = {
  summary: 'tokenizer train: learn a byte-level BPE vocabulary from text files',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'train') return train(rest);
    if (sub === undefined || sub === '--help' || sub === '-h') {
      console.log('usage: gptkit tokenizer train --data FILE… --vocab-size N --out DIR [options]\n\nsubcommands:\n  train   learn a byte-level BPE vocabulary (see gptkit tokenizer train --help)');
      return sub === undefined ? 1 : 0;
    }
    throw new ConfigError(`unknown subcommand '${sub}'`, 'subcommands: train');
  },
};

function parseIds(text: string): number[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const parts = trimmed.startsWith('[') ? trimmed.replace(/^\[|\]$/g, '').split(',') : trimmed.split(/[\s,]+/);
  return parts.map((s, k) => {
    const n = Number(s.trim());
    if (s.trim() === '' || !Number.isInteger(n)) throw new ConfigError(`--decode: input item ${k + 1} is ${JSON.stringify(s.trim())}, expected an integer token id`);
    return n;
  });
}

/** A WordPiece tokenizer (BERT): ids without [CLS]/[SEP], or the text of ids. */
function tokenizeWordPiece(tok: WordPieceTokenizer, input: string, v: { json?: boolean; allowSpecial?: boolean; decode?: boolean }): number {
  if (v.decode) {
    const text = tok.decode(parseIds(input));
    if (v.json) console.log(JSON.stringify(text));
    else process.stdout.write(text);
    return 0;
  }
  const ids = tok.encode(input, v.allowSpecial ? { allowedSpecial: 'all' } : {});
  console.log(v.json ? JSON.stringify(ids) : ids.join(' '));
  return 0;
}

export const tokenizeCommand: Command = {
  summary: 'text on stdin → token ids (or ids → text with --decode)',
  async run(argv) {
    const p = parseFlags(argv, tokenizeFlags);
    if (p.help) {
      console.log(helpText('gptkit tokenize [--tokenizer DIR|gpt2] [--json] < text', 'Print the token ids of standard input (or, with --decode, the text of the ids on standard input).', tokenizeFlags));
      return 0;
    }
    const v = p.values as { tokenizer: string; json?: boolean; allowSpecial?: boolean; decode?: boolean; threads: number };
    if (isWordPiecePath(v.tokenizer)) return tokenizeWordPiece(loadWordPiece(v.tokenizer), await readStdin(), v);
    const tokenizer = loadTokenizer(v.tokenizer);
    const input = await readStdin();
    if (v.decode) {
      const text = tokenizer.decode(parseIds(input));
      if (v.json) console.log(JSON.stringify(text));
      else process.stdout.write(text);
      return 0;
    }
    const ids = await encodeParallel(tokenizer, input, { threads: v.threads, ...(v.allowSpecial ? { allowedSpecial: 'all' as const } : {}) });
    console.log(v.json ? JSON.stringify(ids) : ids.join(' '));
    return 0;
  },
};
