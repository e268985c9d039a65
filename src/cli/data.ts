// `gptkit data curate --config FILE [--answers FILE]` (GPT-3's curation pipeline, src/data/curate.ts)
// and `gptkit data shards --tokenizer DIR --data FILE… --out DIR` (token shards from text).
// Progress goes to stderr; the summary (or, with --json, the report) to stdout.
import type { Command } from './main.ts';
import { parseFlags, helpText, type FlagSpecs } from './flags.ts';
import { fmtCount, fmtDuration, throttle } from './progress.ts';
import { ConfigError } from '../util/errors.ts';
import { loadCurateConfig } from '../data/config.ts';
import { curate, type CurateProgress } from '../data/curate.ts';
import { readDocuments, type Malformed } from '../data/readers.ts';
import { ShardWriter, type ShardTokenizer } from '../data/shards.ts';
import { loadTokenizer, TokenizerError } from '../tokenizer/index.ts';
import { tokenizerFingerprint } from '../tokenizer/formats.ts';
import { OutputDir, legacyByNames } from '../util/output.ts';

export const curateFlags: FlagSpecs = {
  config: { type: 'string', value: 'FILE', help: 'JSON config naming inputs, stages and output (see README: gptkit data)' },
  answers: { type: 'string', value: 'FILE', help: "planted answers JSONL (the world's answers/crawl.jsonl): adds dedup_precision, dedup_recall, classifier_auc to the report" },
  out: { type: 'string', value: 'DIR', help: "output folder (overrides the config's output): new, empty, or one gptkit curated into (replaced with --force)" },
  threads: { type: 'number', range: { min: 0, max: 64, int: true }, help: "worker threads for hashing and scoring (overrides the config's threads; 0 = none)" },
  force: { type: 'boolean', help: 'replace an earlier curation in the output folder (other files there are kept)' },
  tokenizer: { type: 'string', value: 'DIR', help: "tokenizer for a token budget or shards (overrides the shards stage's tokenizer)" },
  json: { type: 'boolean', help: 'print the report as JSON on stdout instead of a summary' },
};

export const shardsFlags: FlagSpecs = {
  tokenizer: { type: 'string', value: 'DIR', default: 'gpt2', help: "tokenizer directory, or 'gpt2' (built in); it must have <|endoftext|>" },
  data: { type: 'strings', value: 'FILE', help: 'text to tokenize: .txt, .jsonl, .parquet (each optionally .gz) or directories of them' },
  out: { type: 'string', value: 'DIR', help: 'folder for shard_NNNNN.bin files and index.json: new, empty, or shards gptkit wrote (replaced with --force; their old shard files go)' },
  'text-field': { type: 'string', default: 'text', help: 'JSONL/Parquet field holding the text' },
  'shard-tokens': { type: 'number', default: 1 << 26, range: { min: 1, max: 2 ** 30, int: true }, help: 'tokens per shard file' },
  'on-error': { type: 'string', value: 'skip|fail', default: 'fail', choices: ['skip', 'fail'], help: 'a malformed record: report and skip it, or stop' },
  force: { type: 'boolean', help: 'replace shards gptkit wrote in --out (other files there are kept)' },
};

/** The real tokenizer seen through the small interface data/ needs. */
export function shardTokenizer(nameOrDir: string): ShardTokenizer {
  const tok = loadTokenizer(nameOrDir);
  let eot: number;
  try {
    eot = tok.tokenId('<|endoftext|>');
  } catch (e) {
    if (e instanceof TokenizerError) throw new ConfigError(`tokenizer '${nameOrDir}' has no <|endoftext|> token to separate documents`, e.hint);
    throw e;
  }
  return { name: nameOrDir, vocabSize: tok.vocabSize, eotToken: eot, fingerprint: tokenizerFingerprint(tok), encode: (text) => tok.encode(text) };
}

/** What each phase is doing when it starts (before it has counted anything). */
const PHASE_START: Record<string, string> = {
  train: 'training the quality classifier', cluster: 'clustering near-duplicate signatures', dedup: 'writing the documents fuzzy dedup kept',
  mix: 'mixing the sources', shards: 'tokenizing into shards', read: 'reading', done: 'done',
};

export function progressLine(p: CurateProgress, start: number): string {
  const t = fmtDuration((performance.now() - start) / 1000);
  if (p.docs === 0 && p.phase !== 'read') return `${p.phase}: ${PHASE_START[p.phase] ?? 'starting'} [${t}]`;
  const rate = p.phase === 'read' ? ` (${(p.bytes / 1e6 / Math.max(1e-9, (performance.now() - start) / 1000)).toFixed(1)} MB/s)` : '';
  const what = p.phase === 'cluster' ? 'signatures' : 'docs';
  return `${p.phase}: ${fmtCount(p.docs)} ${what}${p.bytes ? `, ${fmtCount(p.bytes)} bytes` : ''}${rate} [${t}]`;
}

async function runCurate(argv: string[]): Promise<number> {
  const p = parseFlags(argv, curateFlags);
  if (p.help) {
    console.log(helpText('gptkit data curate --config FILE [--answers FILE] [options]', "Run GPT-3's curation stages (exact + fuzzy dedup, quality classifier, mix, shards) and write the curated data with report.json and report.html.", curateFlags));
    return 0;
  }
  const v = p.values as { config?: string; answers?: string; out?: string; threads?: number; tokenizer?: string; json?: boolean; force?: boolean };
  if (!v.config) throw new ConfigError('--config is required', 'see gptkit data curate --help');
  const config = loadCurateConfig(v.config);
  if (v.out) config.output = v.out;
  if (v.threads !== undefined) config.threads = v.threads;
  const inputs = Object.entries(config.inputs).flatMap(([name, inp]) => inp.paths.map((path) => ({ flag: `input '${name}'`, path })));
  const out = openCurateDir(config.output, { label: v.out ? `--out ${v.out}` : `output ${config.output}`, force: Boolean(v.force), inputs: [...inputs, ...(v.answers ? [{ flag: '--answers', path: v.answers }] : [])] });
  const shards = config.stages.find((s) => s.stage === 'shards');
  const needsTokens = config.stages.some((s) => s.stage === 'mix' && s.budgetTokens !== null);
  const tokName = v.tokenizer ?? (shards?.stage === 'shards' ? shards.tokenizer : undefined);
  if (needsTokens && !tokName) throw new ConfigError('mix budgetTokens needs a tokenizer: add a shards stage or pass --tokenizer');
  const tokenizer = tokName && (shards || needsTokens) ? shardTokenizer(tokName) : null;
  console.error(`data curate: ${Object.keys(config.inputs).length} input(s) → ${config.output}; stages ${config.stages.map((st) => st.stage).join(' → ')}; ${config.threads} threads`);
  const start = performance.now();
  const tick = throttle(2);
  let report: any;
  await out.use(() => out.commit(async (staging) => {
    report = await curate({
      config, answers: v.answers ?? null, tokenizer, writeDir: staging,
      onProgress: (e) => {
        if (tick(e.phase !== 'read')) console.error(progressLine(e, start));
      },
    });
  }, { replaceAll: true }));
  if (v.json) {
    console.log(JSON.stringify(report));
    return 0;
  }
  const rows = (report.stages as any[]).map((s) => `  ${s.stage.padEnd(12)} ${fmtCount(s.docs_in).padStart(8)} → ${fmtCount(s.docs_out).padEnd(8)} docs   ${fmtCount(s.bytes_in).padStart(8)} → ${fmtCount(s.bytes_out)} bytes`);
  console.log([`curated ${config.output} in ${fmtDuration(report.seconds)} (${report.mb_per_s.toFixed(1)} MB/s, ${config.threads} threads)`, ...rows].join('\n'));
  if (report.malformed.count) console.log(`skipped ${report.malformed.count} malformed records (listed in report.json)`);
  if (v.answers) {
    const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));
    console.log(`dedup_precision ${f(report.dedup_precision)}  dedup_recall ${f(report.dedup_recall)}  classifier_auc ${f(report.classifier_auc)}`);
  }
  console.log(`report: ${config.output}/report.json, ${config.output}/report.html`);
  return 0;
}

async function runShards(argv: string[]): Promise<number> {
  const p = parseFlags(argv, shardsFlags);
  if (p.help) {
    console.log(helpText('gptkit data shards --data FILE… --out DIR [--tokenizer DIR]', 'Tokenize documents into uint16/uint32 token shards (each document followed by <|endoftext|>) with a JSON index.', shardsFlags));
    return 0;
  }
  const v = p.values as { tokenizer: string; data?: string[]; out?: string; textField: string; shardTokens: number; onError: 'skip' | 'fail'; force?: boolean };
  if (!v.data) throw new ConfigError('--data is required');
  if (!v.out) throw new ConfigError('--out is required');
  const data = v.data;
  const out = openShardsDir(v.out, { label: `--out ${v.out}`, force: Boolean(v.force), inputs: [...data.map((path) => ({ flag: '--data', path })), { flag: '--tokenizer', path: v.tokenizer === 'gpt2' ? '' : v.tokenizer }] });
  const tok = shardTokenizer(v.tokenizer);
  return out.use(() => out.commit((staging) => writeShards(staging, data, tok, v), { replaceAll: true })).then(() => 0);
}

/** Open a folder as a curation's output. */
export function openCurateDir(dir: string, opts: { label?: string; force?: boolean; inputs?: { flag: string; path: string }[] }): OutputDir {
  const names = new Set(['curated.jsonl', 'mix.jsonl', 'shards', 'classifier.bin', 'report.json', 'report.html']);
  return OutputDir.open(dir, { ...opts, kind: 'curated', legacy: legacyByNames(['report.json', 'curated.jsonl'], (n) => names.has(n)) });
}

/** Open a folder as token shards' output. */
export function openShardsDir(dir: string, opts: { label?: string; force?: boolean; inputs?: { flag: string; path: string }[] }): OutputDir {
  return OutputDir.open(dir, { ...opts, kind: 'shards', legacy: legacyByNames(['index.json'], (n) => n === 'index.json' || /^shard_\d+\.bin$/.test(n)) });
}

async function writeShards(dir: string, data: string[], tok: ShardTokenizer, v: { out?: string; textField: string; shardTokens: number; onError: 'skip' | 'fail' }): Promise<void> {
  const writer = new ShardWriter(dir, tok, v.shardTokens);
  const start = performance.now();
  const tick = throttle(2);
  let docs = 0;
  let tokens = 0;
  const bad: Malformed[] = [];
  for await (const doc of readDocuments(data, { textField: v.textField, onError: v.onError, onMalformed: (m) => { bad.push(m); console.error(`skipped ${m.file}:${m.line}: ${m.message}`); } })) {
    tokens += writer.add(doc.text);
    docs++;
    if (tick()) console.error(`shards: ${fmtCount(docs)} docs, ${fmtCount(tokens)} tokens [${fmtDuration((performance.now() - start) / 1000)}]`);
  }
  const index = writer.finish();
  if (docs === 0) throw new ConfigError(`--data: no documents in ${data.join(' ')}${bad.length ? ` (${bad.length} malformed records skipped)` : ''}`, 'nothing was written');
  console.log(`wrote ${v.out}/index.json: ${fmtCount(tokens)} ${index.dtype} tokens from ${fmtCount(docs)} documents in ${index.shards.length} shard(s)${bad.length ? `, ${bad.length} malformed records skipped` : ''}`);
}

export const dataCommand: Command = {
  summary: "data curate / data shards: GPT-3's curation pipeline, and token shards from text",
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'curate') return runCurate(rest);
    if (sub === 'shards') return runShards(rest);
    if (sub === undefined || sub === '--help' || sub === '-h') {
      console.log('usage: gptkit data <curate|shards> [options]\n\nsubcommands:\n  curate   exact + fuzzy dedup, quality classifier, mixing, shards; writes a report (gptkit data curate --help)\n  shards   tokenize text into uint16/uint32 token shards (gptkit data shards --help)');
      return sub === undefined ? 1 : 0;
    }
    throw new ConfigError(`unknown subcommand '${sub}'`, 'subcommands: curate, shards');
  },
};
