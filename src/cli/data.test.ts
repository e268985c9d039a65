import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyntheticCrawl } from '../data/synthetic.ts';
import { TokenShards } from '../data/shards.ts';
import { loadTokenizer, trainBpe } from '../tokenizer/index.ts';
import { shardTokenizer } from './data.ts';

function gptkit(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/gptkit.mjs', ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'gptkit-cli-data-'));
const gen = new SyntheticCrawl(3);
const crawl = gen.crawl(600);
writeFileSync(join(dir, 'crawl.jsonl'), crawl.map((r) => JSON.stringify({ id: r.id, text: r.text })).join('\n') + '\n');
writeFileSync(join(dir, 'answers.jsonl'), crawl.map((r) => JSON.stringify(r.answer)).join('\n') + '\n');
writeFileSync(join(dir, 'reference.jsonl'), Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: `r${i}`, text: gen.good() })).join('\n') + '\n');

test('data curate: report with the measured numbers, as JSON or a summary; shards with the real tokenizer', () => {
  writeFileSync(join(dir, 'curate.json'), JSON.stringify({
    inputs: { crawl: { paths: ['crawl.jsonl'] }, reference: { paths: ['reference.jsonl'] } },
    stages: [
      { stage: 'exact_dedup' },
      { stage: 'fuzzy_dedup', threshold: 0.5 },
      { stage: 'classifier', train: { positive: ['reference'], negative: ['crawl'], bits: 16 } },
      { stage: 'shards', tokenizer: 'gpt2', shardTokens: 100000 },
    ],
    output: 'out',
  }));
  const r = gptkit(['data', 'curate', '--config', join(dir, 'curate.json'), '--answers', join(dir, 'answers.jsonl'), '--json', '--threads', '1']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.ok(report.dedup_recall >= 0.95 && report.dedup_precision >= 0.95 && report.classifier_auc >= 0.95, r.stdout.slice(0, 300));
  assert.equal(report.threads, 1);
  assert.match(r.stderr, /data curate: 2 input\(s\) → .*out; stages exact_dedup → fuzzy_dedup → classifier → shards; 1 threads/);
  // The shards decode, with GPT-2's tokenizer, to the curated text.
  const shards = TokenShards.open(join(dir, 'out', 'shards'));
  assert.equal(shards.index.eot_token, 50256);
  assert.equal(shards.index.dtype, 'uint16');
  const first = JSON.parse(readFileSync(join(dir, 'out', 'curated.jsonl'), 'utf8').split('\n')[0]).text;
  const ids = Array.from(shards.read(0, 0, Math.min(shards.index.shards[0].tokens, 2000)));
  assert.equal(loadTokenizer('gpt2').decode(ids.slice(0, ids.indexOf(50256))), first);
  shards.close();

  const human = gptkit(['data', 'curate', '--config', join(dir, 'curate.json'), '--answers', join(dir, 'answers.jsonl'), '--out', join(dir, 'out2')]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /curated .*out2 in \d+s/);
  assert.match(human.stdout, /fuzzy_dedup +\d+ → \d+/);
  assert.match(human.stdout, /dedup_precision \d\.\d{4} {2}dedup_recall \d\.\d{4} {2}classifier_auc \d\.\d{4}/);
});

test('data shards: text files to shards; malformed records skipped and named, or fatal', async () => {
  const data = join(dir, 'docs.jsonl');
  writeFileSync(data, '{"body":"first document"}\n{"body":\n{"body":"second one"}\n');
  const out = join(dir, 'shards');
  const r = gptkit(['data', 'shards', '--data', data, '--out', out, '--text-field', 'body', '--on-error', 'skip']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /skipped .*docs.jsonl:2: invalid JSON/);
  assert.match(r.stdout, /wrote .*index.json: \d+ uint16 tokens from 2 documents in 1 shard\(s\), 1 malformed records skipped/);
  const s = TokenShards.open(out);
  const tok = loadTokenizer('gpt2');
  assert.equal(tok.decode(s.read(0, 0, s.totalTokens)), 'first document<|endoftext|>second one<|endoftext|>');
  s.close();
  const fatal = gptkit(['data', 'shards', '--data', data, '--out', join(dir, 'shards-fatal'), '--text-field', 'body']);
  assert.equal(fatal.code, 1);
  assert.match(fatal.stderr, /gptkit data: .*docs.jsonl:2: invalid JSON/);
  assert.ok(!existsSync(join(dir, 'shards-fatal')), 'a failed run leaves no output folder behind');
  // A tokenizer without <|endoftext|> cannot separate documents.
  const plain = await trainBpe(['some text to learn from'], { vocabSize: 260, specialTokens: [] });
  plain.save(join(dir, 'plain'));
  assert.throws(() => shardTokenizer(join(dir, 'plain')), /has no <\|endoftext\|> token/);
});

test('data: usage, missing flags and bad configs are one-line errors', () => {
  assert.equal(gptkit(['data']).code, 1);
  assert.match(gptkit(['data', '--help']).stdout, /subcommands:\n {2}curate/);
  assert.match(gptkit(['data', 'curate', '--help']).stdout, /--answers FILE/);
  assert.match(gptkit(['data', 'shards', '--help']).stdout, /--shard-tokens N/);
  const bad = gptkit(['data', 'fold']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown subcommand 'fold'/);
  assert.match(gptkit(['data', 'curate']).stderr, /--config is required/);
  assert.match(gptkit(['data', 'shards', '--out', dir]).stderr, /--data is required/);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ inputs: { crawl: { paths: ['crawl.jsonl'] } }, stages: [{ stage: 'exact_dedup', sort: true }] }));
  const cfg = gptkit(['data', 'curate', '--config', join(dir, 'bad.json')]);
  assert.equal(cfg.code, 1);
  assert.match(cfg.stderr, /bad.json: stages\[0\]\.sort: unknown key/);
  assert.doesNotMatch(cfg.stderr, /at .*\.ts:\d+/); // no stack trace
  writeFileSync(join(dir, 'tokens.json'), JSON.stringify({ inputs: { crawl: { paths: ['crawl.jsonl'] } }, stages: [{ stage: 'mix', sources: { crawl: 1 }, budgetTokens: 1000 }] }));
  assert.match(gptkit(['data', 'curate', '--config', join(dir, 'tokens.json')]).stderr, /budgetTokens needs a tokenizer: add a shards stage or pass --tokenizer/);
  assert.match(gptkit(['data', 'curate', '--config', join(dir, 'tokens.json'), '--threads', '1.5']).stderr, /--threads must be an integer in \[0, 64\], got 1\.5/);
});
