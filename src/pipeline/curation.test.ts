// GPT-3's curation measured on the embedded world: against the planted answers, fuzzy dedup finds
// ≥ 95% of the near-duplicates at ≥ 95% precision, and the quality classifier separates junk with
// ROC AUC ≥ 0.95 — the three numbers `gptkit data curate --answers` puts at the top of report.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWorld, writeWorld } from '../world/index.ts';
import { curate, loadCurateConfig } from '../data/index.ts';

test('curating the small world meets the dedup and classifier targets against its planted answers', async () => {
  // The world as `gptkit world generate --size small` writes it; curation reads only its files.
  const dir = join(mkdtempSync(join(tmpdir(), 'gptkit-curation-')), 'world');
  writeWorld(generateWorld({ seed: 0, size: 'small' }), dir);
  const answers = readFileSync(join(dir, 'answers', 'crawl.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(answers.some((a) => a.dup_kind === 'near') && answers.some((a) => a.junk));

  // Fuzzy dedup before the classifier, so every planted near-duplicate is measured (the Pareto
  // rule drops some good documents at random, which would hide their pairs).
  writeFileSync(join(dir, 'curate.json'), JSON.stringify({
    seed: 1,
    inputs: { crawl: { paths: ['crawl/crawl.jsonl'] }, reference: { paths: ['corpus/reference.jsonl'] } },
    curate: 'crawl',
    stages: [
      { stage: 'exact_dedup' },
      // Planted near-duplicates keep ≥ 0.7 Jaccard; with 128 permutations the estimate's standard
      // deviation is ~0.04, so pairs are confirmed from 0.65.
      { stage: 'fuzzy_dedup', threshold: 0.65 },
      { stage: 'classifier', train: { positive: ['reference'], negative: ['crawl'] }, alpha: 9 },
    ],
    output: 'out',
  }));
  const report: any = await curate({ config: loadCurateConfig(join(dir, 'curate.json')), answers: join(dir, 'answers', 'crawl.jsonl') });
  const onDisk = JSON.parse(readFileSync(join(dir, 'out', 'report.json'), 'utf8'));
  for (const key of ['dedup_precision', 'dedup_recall', 'classifier_auc']) {
    assert.equal(typeof onDisk[key], 'number', key);
    assert.ok(onDisk[key] >= 0.95, `${key} = ${onDisk[key]}`);
  }
  assert.equal(report.answers.dedup.unmatched, 0);
  assert.ok(report.answers.dedup.planted_near >= 0.9 * answers.filter((a) => a.dup_kind === 'near').length);
  assert.equal(report.answers.classifier.junk, answers.filter((a) => a.junk).length);
  // Exact copies go at the first stage.
  const exact = report.stages.find((s: any) => s.stage === 'exact_dedup');
  assert.equal(exact.docs_in - exact.docs_out, answers.filter((a) => a.dup_kind === 'exact').length);
});
