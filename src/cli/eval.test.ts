// `gptkit eval` and `gptkit finetune` from the command line: on a generated world's real task
// files (every task, 0- and 1-shot), the results table and JSON file, a finetuned model answered
// by its head, and user mistakes as one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main.ts';
import { GPT, gptConfig } from '../models/gpt.ts';
import { trainBpe } from '../tokenizer/index.ts';
import { tokenizerJsonText } from '../tokenizer/formats.ts';
import { saveCheckpoint } from '../interop/checkpoint.ts';
import { TASK_NAMES } from '../world/index.ts';

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  console.error = (...a: unknown[]) => err.push(a.join(' '));
  try {
    return { code: await fn(), out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'gptkit-cli-eval-'));
const world = join(dir, 'world');
const model = join(dir, 'model');
const tokText = 'Review: the food was lovely. Sentiment: positive\nQuestion: Where does Kaba live?\nAnswer: Dorvale\n'.repeat(20);
const tokenizer = await trainBpe([tokText], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
saveCheckpoint(model, new GPT(gptConfig('nano', { vocabSize: tokenizer.vocabSize, blockSize: 128, nLayer: 1, nHead: 2, nEmbd: 16 }), 3), { tokenizerJson: { text: tokenizerJsonText(tokenizer.toSpec()) } });

test('gptkit eval on every task of a generated world, 0- and 1-shot: table, JSON file, truncation noted', async () => {
  assert.equal((await capture(() => main(['world', 'generate', '--out', world, '--size', 'small']))).code, 0);
  const results = join(dir, 'results.json');
  const tasks = TASK_NAMES.map((t) => `world:${t}`).join(',');
  const r = await capture(() => main(['eval', '--model', model, '--tasks', tasks, '--world', world, '--shots', '0,1', '--limit', '3', '--max-gen-tokens', '4', '--out', results]));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^\|Tasks +\|n-shot\|Metric +\| Value\| \|Stderr\|$/m);
  assert.match(r.out, /^\|sentiment\|0-shot +\| +0\|acc +\|[01]\.\d{4}\|±\|\d\.\d{4}\|$/m);
  assert.match(r.out, /^\|translation\|1-shot +\| +1\|exact_match\|/m);
  const json = JSON.parse(readFileSync(results, 'utf8'));
  assert.equal(Object.keys(json.results).length, TASK_NAMES.length * 2);
  for (const t of TASK_NAMES) {
    const m = json.results[`${t}|1-shot`];
    assert.ok(t === 'translation' ? 'exact_match' in m && 'f1_stderr' in m : 'acc' in m && 'acc_norm_stderr' in m, t);
    assert.equal(json['n-shot'][`${t}|1-shot`], 1);
    assert.equal(json['n-samples'][`${t}|0-shot`].effective, 3);
  }
  // A 128-token window cannot hold a 1-shot sentiment prompt: cut from the left, warned with file:line.
  assert.ok(json.results['sentiment|1-shot'].truncated > 0);
  assert.match(r.err, /warning: .*tasks\/sentiment\/test\.jsonl:\d+: context longer than the model's window/);
});

test('gptkit finetune then gptkit eval with the trained head; errors are one line', async () => {
  const out = join(dir, 'ft');
  const ft = await capture(() => main(['finetune', '--model', model, '--task', 'world:similarity', '--world', world, '--out', out, '--limit', '32', '--val-limit', '16', '--epochs', '1', '--batch-size', '16', '--lr', '1e-3']));
  assert.equal(ft.code, 0, ft.err);
  assert.match(ft.out, /task world:similarity: similarity over 0 \/ 1; 32 train \/ 16 validation examples; 2 steps/);
  assert.match(ft.out, /epoch 1 \(step 2\): validation accuracy \d+\.\d% on 16 examples/);
  const ev = await capture(() => main(['eval', '--model', out, '--tasks', 'world:similarity', '--world', world, '--limit', '8', '--json']));
  assert.equal(ev.code, 0, ev.err);
  const json = JSON.parse(ev.out);
  assert.equal(json.results.similarity.method, 'head');
  assert.equal(json.results.similarity.samples, 8);
  const again = await capture(() => main(['finetune', '--model', model, '--task', 'world:similarity', '--world', world, '--out', out]));
  assert.equal(again.code, 1);
  assert.match(again.err, /^gptkit finetune: .*--resume.*--force/s);
  const gen = await capture(() => main(['finetune', '--model', model, '--task', 'world:translation', '--world', world, '--out', join(dir, 'ft2')]));
  assert.match(gen.err, /^gptkit finetune: a generative task cannot be finetuned/);
  const badShots = await capture(() => main(['eval', '--model', model, '--tasks', 'world:sentiment', '--shots', '1,x']));
  assert.match(badShots.err, /^gptkit eval: --shots: expected comma-separated non-negative integers, got '1,x'/);
  const lambda = await capture(() => main(['finetune', '--model', model, '--task', 'world:similarity', '--out', join(dir, 'ft3'), '--aux-lm', '-1']));
  assert.match(lambda.err, /--aux-lm must be a number ≥ 0, got -1/);
});
