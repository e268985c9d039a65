// `gptkit experiment gpt --quick` end to end (the CI path): every stage runs at toy size and writes
// claims.json with the five claims, each with a verdict and its figures, and the report's charts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli/main.ts';

test('experiment gpt --quick: five claims with verdicts and figures, report with a chart per claim, in CI time', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'gptkit-experiment-')), 'run');
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  const t0 = performance.now();
  try {
    assert.equal(await main(['experiment', 'gpt', '--quick', '--out', out]), 0);
  } finally {
    console.log = log;
  }
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(seconds < 180, `--quick took ${seconds.toFixed(0)} s`);
  const r = JSON.parse(readFileSync(join(out, 'claims.json'), 'utf8'));
  assert.equal(r.quick, true);
  assert.deepEqual(r.claims.map((c: { id: number }) => c.id), [1, 2, 3, 4, 5]);
  for (const c of r.claims) assert.ok(['reproduced', 'not reproduced'].includes(c.verdict), `claim ${c.id}`);
  const [c1, c2, c3, c4, c5] = r.claims;
  for (const t of ['sentiment', 'entailment', 'similarity', 'multiple_choice']) {
    for (const x of [c1.figures.test_acc_pretrained[t], c1.figures.test_acc_random_init[t], c2.figures.test_acc_lambda_0[t]]) assert.ok(x >= 0 && x <= 1, t);
  }
  assert.deepEqual(Object.keys(c3.figures.zero_shot_mean_acc), ['S', 'M', 'L']);
  assert.ok(c3.figures.params.S < c3.figures.params.M && c3.figures.params.M < c3.figures.params.L, 'three sizes, growing');
  assert.deepEqual(Object.keys(c4.figures.mean_acc_by_shots.L), ['0', '1', '2']);
  assert.ok(Number.isFinite(c5.figures.heldout_loss_raw_crawl) && Number.isFinite(c5.figures.heldout_loss_curated));
  assert.ok(c5.figures.dedup_recall > 0.5 && c5.figures.classifier_auc > 0.5, 'curation ran against the planted truth');
  assert.equal(c5.verdict, c5.figures.heldout_loss_curated < c5.figures.heldout_loss_raw_crawl ? 'reproduced' : 'not reproduced');
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.equal(html.match(/<svg/g)?.length, 5);
  assert.match(lines.join('\n'), /^claim 5 \(GPT-3 \(data\)\): (reproduced|not reproduced)/m);
});
