import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, appendFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curate } from './curate.ts';
import { parseCurateConfig, loadCurateConfig } from './config.ts';
import { SyntheticCrawl } from './synthetic.ts';
import { TokenShards, type ShardTokenizer } from './shards.ts';
import { ConfigError } from '../util/errors.ts';

const bytesTok: ShardTokenizer = { name: 'bytes', vocabSize: 257, eotToken: 256, encode: (t) => Array.from(Buffer.from(t, 'utf8')) };

// One synthetic world for every test in this file: reference text, a crawl and its answers.
const dir = mkdtempSync(join(tmpdir(), 'gptkit-curate-'));
const gen = new SyntheticCrawl(7);
const crawl = gen.crawl(1500);
writeFileSync(join(dir, 'crawl.jsonl'), crawl.map((r) => JSON.stringify({ id: r.id, text: r.text })).join('\n') + '\n');
writeFileSync(join(dir, 'answers.jsonl'), crawl.map((r) => JSON.stringify(r.answer)).join('\n') + '\n');
writeFileSync(join(dir, 'reference.jsonl'), Array.from({ length: 400 }, (_, i) => JSON.stringify({ id: `ref-${i}`, text: gen.good() })).join('\n') + '\n');

function config(out: string, stages: unknown[], extra: Record<string, unknown> = {}) {
  return parseCurateConfig({
    seed: 3, threads: 2, output: out,
    inputs: { crawl: { paths: ['crawl.jsonl'] }, reference: { paths: ['reference.jsonl'] } },
    stages, ...extra,
  }, join(dir, 'config.json'));
}

const filters = [
  { stage: 'exact_dedup' },
  { stage: 'classifier', train: { positive: ['reference'], negative: ['crawl'], bits: 18 }, alpha: 9 },
  { stage: 'fuzzy_dedup', threshold: 0.5 },
];

function lines(path: string): any[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

test('the whole pipeline: dedup and classifier measured against the answers, mix, shards, report', async () => {
  const phases = new Set<string>();
  const report: any = await curate({
    config: config('full', [...filters, { stage: 'mix', sources: { crawl: 0.7, reference: 0.3 }, budgetChars: 1_000_000 }, { stage: 'shards', tokenizer: 'bytes', shardTokens: 300_000 }]),
    answers: join(dir, 'answers.jsonl'), tokenizer: bytesTok, onProgress: (p) => phases.add(p.phase),
  });
  assert.ok(report.dedup_recall >= 0.95, `recall ${report.dedup_recall}`);
  assert.ok(report.dedup_precision >= 0.95, `precision ${report.dedup_precision}`);
  assert.ok(report.classifier_auc >= 0.95, `auc ${report.classifier_auc}`);
  assert.deepEqual([...phases].sort(), ['cluster', 'dedup', 'done', 'mix', 'read', 'shards', 'train']);
  const stages = report.stages as any[];
  assert.deepEqual(stages.map((s) => s.stage), ['read', 'exact_dedup', 'classifier', 'fuzzy_dedup', 'mix', 'shards']);
  // Each filter stage takes what the previous one let through.
  for (let i = 1; i < 4; i++) {
    assert.equal(stages[i].docs_in, stages[i - 1].docs_out);
    assert.equal(stages[i].bytes_in, stages[i - 1].bytes_out);
  }
  assert.equal(stages[0].docs_in, 1500);
  const exactCopies = crawl.filter((r) => r.answer.dup_kind === 'exact').length;
  assert.ok(stages[1].docs_in - stages[1].docs_out >= exactCopies * 0.9);
  const out = join(dir, 'full');
  const curated = lines(join(out, 'curated.jsonl'));
  assert.equal(curated.length, stages[3].docs_out);
  assert.equal(new Set(curated.map((d) => d.id)).size, curated.length);
  const junk = new Set(crawl.filter((r) => r.answer.junk).map((r) => r.id));
  assert.ok(curated.filter((d) => junk.has(d.id)).length <= 0.02 * curated.length, 'junk mostly removed');
  assert.ok(stages[3].clusters > 0 && stages[3].largest_clusters.length > 0);
  assert.equal(stages[2].score_histogram.all.reduce((a: number, b: number) => a + b, 0), stages[2].docs_in);
  // Mix: weights, not sizes, decide the share; the report says how many epochs each source got.
  const mix = stages[4].sources as any[];
  assert.ok(Math.abs(mix[0].emitted_units / 1e6 - 0.7) < 0.05 && Math.abs(mix[1].emitted_units / 1e6 - 0.3) < 0.05);
  assert.ok(mix[1].epochs > 0.5, `reference epochs ${mix[1].epochs}`);
  assert.equal(lines(join(out, 'mix.jsonl')).length, stages[4].docs_out);
  // Shards hold the mix, byte for byte, each document followed by end-of-text.
  const shards = TokenShards.open(join(out, 'shards'));
  assert.equal(shards.totalTokens, stages[5].tokens);
  assert.equal(shards.index.documents, stages[4].docs_out);
  const firstDoc = lines(join(out, 'mix.jsonl'))[0].text as string;
  const firstLen = Buffer.byteLength(firstDoc);
  assert.equal(Buffer.from(Array.from(shards.read(0, 0, firstLen))).toString('utf8'), firstDoc);
  assert.equal(shards.read(0, firstLen, 1)[0], 256);
  shards.close();
  // Reports on disk: JSON carries the three numbers at top level; the page has charts.
  const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  assert.equal(json.dedup_recall, report.dedup_recall);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.ok((html.match(/<svg/g) ?? []).length >= 5);
  assert.match(html, /dedup_precision/);
  assert.ok(existsSync(join(out, 'classifier.bin')));
});

test('same output on worker threads and inline; a saved classifier is reusable; fuzzy before the classifier', async () => {
  const a: any = await curate({ config: config('t2', filters) });
  const b: any = await curate({ config: config('t0', filters, { threads: 0 }) });
  assert.equal(readFileSync(join(dir, 't2', 'curated.jsonl'), 'utf8'), readFileSync(join(dir, 't0', 'curated.jsonl'), 'utf8'));
  assert.deepEqual(a.stages, b.stages.map((s: any) => (s.stage === 'classifier' ? { ...s, classifier: a.stages[2].classifier } : s)));
  // Load the classifier trained above, and run fuzzy dedup before it (the classifier then runs after the barrier).
  const c: any = await curate({
    config: config('reorder', [{ stage: 'fuzzy_dedup', threshold: 0.5 }, { stage: 'classifier', load: 't2/classifier.bin' }, { stage: 'exact_dedup' }]),
    answers: join(dir, 'answers.jsonl'),
  });
  assert.deepEqual(c.stages.map((s: any) => s.stage), ['read', 'fuzzy_dedup', 'classifier', 'exact_dedup']);
  assert.equal(c.stages[2].docs_in, c.stages[1].docs_out);
  assert.ok(c.classifier_auc >= 0.95 && c.dedup_recall >= 0.95);
  // Exact copies were already merged by fuzzy dedup, so exact dedup after it finds (almost) nothing.
  assert.ok(c.stages[3].docs_in - c.stages[3].docs_out <= 2);
});

test('malformed crawl lines are skipped and reported, or fatal', async () => {
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, readFileSync(join(dir, 'crawl.jsonl')));
  appendFileSync(bad, '{"id": "x", "text": \n{"id": "y"}\n');
  const cfg = (onError: string) => parseCurateConfig({ threads: 0, output: 'bad', onError, inputs: { crawl: { paths: ['bad.jsonl'] } }, stages: [{ stage: 'exact_dedup' }] }, join(dir, 'c.json'));
  const r: any = await curate({ config: cfg('skip') });
  assert.equal(r.malformed.count, 2);
  assert.deepEqual(r.malformed.examples.map((m: any) => m.line), [1501, 1502]);
  const before = readdirSync(join(dir, 'bad')).sort();
  await assert.rejects(curate({ config: cfg('fail') }), /bad.jsonl:1501: invalid JSON/);
  // The failed run left no temporary files, and the last good outputs stand.
  assert.deepEqual(readdirSync(join(dir, 'bad')).sort(), before);
  const fuzzyFail = parseCurateConfig({ threads: 1, output: 'bad', onError: 'fail', inputs: { crawl: { paths: ['bad.jsonl'] } }, stages: [{ stage: 'fuzzy_dedup' }] }, join(dir, 'c.json'));
  await assert.rejects(curate({ config: fuzzyFail }), /bad.jsonl:1501/);
  assert.deepEqual(readdirSync(join(dir, 'bad')).sort(), before);
});

test('a token budget and shards need a tokenizer', async () => {
  const stages = [{ stage: 'exact_dedup' }, { stage: 'mix', sources: { crawl: 1, reference: 1 }, budgetTokens: 200_000 }];
  await assert.rejects(curate({ config: config('tok', stages) }), (e: unknown) => e instanceof ConfigError && /budgetTokens needs a tokenizer/.test(e.message));
  await assert.rejects(curate({ config: config('tok', [{ stage: 'shards', tokenizer: 'gpt2' }]) }), /stage 'shards' \(tokenizer 'gpt2'\) needs a tokenizer/);
  const r: any = await curate({ config: config('tok', stages), tokenizer: bytesTok });
  const mix = r.stages.find((s: any) => s.stage === 'mix');
  assert.equal(mix.unit, 'tokens');
  assert.ok(Math.abs(mix.sources[0].emitted_units - 100_000) < 10_000);
});

test('config errors name the file and the key', () => {
  const file = join(dir, 'config.json');
  const bad = (raw: unknown, pattern: RegExp): void => assert.throws(() => parseCurateConfig(raw, file), (e: unknown) => e instanceof ConfigError && e.message.startsWith(file) && pattern.test(e.message));
  const inputs = { crawl: { paths: ['crawl.jsonl'] } };
  bad({ inputs, stages: [{ stage: 'exact_dedup' }], colour: 1 }, /colour: unknown key/);
  bad({ inputs: { crawl: { paths: ['a'], textfield: 'x' } }, stages: [{ stage: 'exact_dedup' }] }, /inputs\.crawl\.textfield: unknown key/);
  bad({ inputs, stages: [{ stage: 'fuzzy_dedup', threshold: '0.8' }] }, /stages\[0\]\.threshold: expected a number in \(0, 1\], found "0.8"/);
  bad({ inputs, stages: [{ stage: 'fuzzy_dedup', bands: 20, rows: 10 }] }, /bands × rows = 200 exceeds numPerm 128/);
  bad({ inputs, stages: [{ stage: 'dedup' }] }, /stages\[0\]\.stage: expected 'exact_dedup' or/);
  bad({ inputs, stages: [{ stage: 'exact_dedup' }, { stage: 'exact_dedup' }] }, /appears twice/);
  bad({ inputs, stages: [{ stage: 'shards', tokenizer: 'gpt2' }, { stage: 'exact_dedup' }] }, /'exact_dedup' cannot come after 'shards'/);
  bad({ inputs, stages: [{ stage: 'classifier' }] }, /exactly one of 'load'/);
  bad({ inputs, stages: [{ stage: 'classifier', train: { positive: ['books'], negative: ['crawl'] } }] }, /train\.positive\[0\]: expected 'crawl'/);
  bad({ inputs, stages: [{ stage: 'mix', sources: { crawl: 1 } }] }, /exactly one of 'budgetChars' or 'budgetTokens'/);
  bad({ inputs: {}, stages: [{ stage: 'exact_dedup' }] }, /inputs: expected at least one input/);
  bad({ inputs, stages: [] }, /stages: expected a non-empty array/);
  bad({ inputs, stages: [{ stage: 'exact_dedup' }], threads: 1.5 }, /threads: expected an integer/);
  const ok = parseCurateConfig({ inputs, stages: [{ stage: 'fuzzy_dedup' }] }, file);
  assert.deepEqual(ok.stages[0], { stage: 'fuzzy_dedup', threshold: 0.7, numPerm: 128, ngram: 5, fnWeight: 0.9, bands: null, rows: null });
  assert.equal(ok.inputs.crawl.paths[0], join(dir, 'crawl.jsonl'));
  assert.equal(ok.output, join(dir, 'curated'));
  writeFileSync(join(dir, 'broken.json'), '{"inputs": ');
  assert.throws(() => loadCurateConfig(join(dir, 'broken.json')), /broken.json: not valid JSON/);
  assert.throws(() => loadCurateConfig(join(dir, 'missing.json')), /missing.json: cannot read config/);
});
