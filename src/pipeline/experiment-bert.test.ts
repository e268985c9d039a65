// gptkit experiment bert --quick end to end (CI): every stage runs, claims.json holds the four claims
// with a verdict and figures, report.html charts them. The toy figures mean little; the verdicts are
// whatever they are (never asserted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBertExperiment } from './experiment-bert.ts';

test('experiment bert --quick: four claims with verdicts and figures, a report', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'gptkit-exp-bert-')), 'run');
  const stages: string[] = [];
  const { claims } = await runBertExperiment({ out, quick: true }, (e) => { if (e.type === 'stage') stages.push(e.stage); });
  assert.deepEqual(claims.map((c) => c.id), [1, 2, 3, 4]);
  for (const c of claims) {
    assert.ok(['reproduced', 'not reproduced'].includes(c.verdict));
    assert.ok(Object.keys(c.figures).length >= 2);
  }
  for (const s of ['world', 'tokenizers', 'pretrain', 'finetune', 'seq2seq']) assert.ok(stages.includes(s), s);
  const saved = JSON.parse(readFileSync(join(out, 'claims.json'), 'utf8'));
  assert.equal(saved.experiment, 'bert');
  assert.equal(saved.quick, true);
  assert.ok(typeof (claims[2].figures as { bleu_encoder_decoder: number }).bleu_encoder_decoder === 'number');
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /<svg/);
});
