// Prompt templates and k-shot demonstrations: the evaluated item never appears among its own
// demonstrations, draws are seeded and per item, and the templates read as documented.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evalDoc, drawDemos, fewShotPrefix, demoText, type EvalDoc, type FewShotPool } from './prompts.ts';
import type { Task, TaskRecord } from './tasks.ts';

function mcTask(n: number, file = 'test.jsonl'): TaskRecord[] {
  return Array.from({ length: n }, (_, i) => ({ file, line: i + 1, kind: 'multiple_choice' as const, context: `Question ${i}?`, choices: [`a${i}`, `b${i}`], gold: i % 2 }));
}
const task = (records: Partial<Task['splits']>, source: 'world' | 'user' = 'user'): Task => ({ name: 't', spec: 't', kind: 'multiple_choice', source, splits: records, labels: null, singleFile: false });

test('k-shot demonstrations never include the evaluated item (pool = the evaluated split)', () => {
  const recs = mcTask(6);
  const t = task({ test: recs });
  const docs = recs.map((r) => evalDoc(t, r));
  const pool: FewShotPool = { docs, sameSplit: true };
  for (let k = 0; k <= 5; k++) {
    docs.forEach((d, i) => {
      const demos = drawDemos(pool, d, i, k, 7, 't');
      assert.equal(demos.length, k);
      assert.equal(new Set(demos).size, k, 'without replacement');
      assert.ok(!demos.includes(i), `item ${i} among its own ${k} demonstrations`);
      const { context } = d as EvalDoc & { type: 'choice' };
      const prompt = fewShotPrefix(pool, demos) + context;
      assert.equal(prompt.split(context).length - 1, 1, 'the item\'s question appears once, at the end');
      assert.ok(prompt.endsWith(context));
    });
  }
  assert.throws(() => drawDemos(pool, docs[0], 0, 6, 7, 't'), /6-shot evaluation needs 6 demonstrations but only 5/);
});

test('a train document with the same content as the item is never drawn either', () => {
  const test_ = mcTask(3);
  const train = [...mcTask(3, 'train.jsonl'), ...mcTask(3, 'train.jsonl').map((r) => ({ ...r, context: `Other ${r.line}?` }))];
  const t = task({ train, test: test_ });
  const pool: FewShotPool = { docs: train.map((r) => evalDoc(t, r)), sameSplit: false };
  for (let seed = 0; seed < 20; seed++) {
    test_.forEach((r, i) => {
      const d = evalDoc(t, r);
      const demos = drawDemos(pool, d, i, 5, seed, 't');
      assert.ok(!demos.map((j) => demoText(pool.docs[j])).includes(demoText(d)));
    });
  }
});

test('draws are seeded per item: the same seed gives the same demonstrations, whatever else is evaluated', () => {
  const recs = mcTask(40);
  const t = task({ test: recs });
  const pool: FewShotPool = { docs: recs.map((r) => evalDoc(t, r)), sameSplit: true };
  const a = drawDemos(pool, pool.docs[17], 17, 4, 3, 't');
  assert.deepEqual(drawDemos(pool, pool.docs[17], 17, 4, 3, 't'), a);
  const others = [0, 1, 2, 3, 4].map((s) => drawDemos(pool, pool.docs[17], 17, 4, s, 't').join());
  assert.ok(new Set(others).size > 1, 'other seeds draw other demonstrations');
});

test('templates: world tasks use their label words, demonstrations end with the right answer', () => {
  const world = (kind: Task['kind'], name: string, labels: string[]): Task => ({ name, spec: `world:${name}`, kind, source: 'world', splits: {}, labels, singleFile: false });
  const w = { file: 'f', line: 1 };
  const s = evalDoc(world('classification', 'sentiment', ['positive', 'negative']), { ...w, kind: 'classification', text: 'Great.', label: 'negative' });
  assert.deepEqual(s, { ...w, type: 'choice', context: 'Review: Great.\nSentiment:', choices: ['positive', 'negative'], gold: 1 });
  const e = evalDoc(world('entailment', 'entailment', ['entailed', 'contradicted', 'unknown']), { ...w, kind: 'entailment', premise: 'P.', hypothesis: 'H.', label: 'unknown' }) as EvalDoc & { type: 'choice' };
  assert.equal(e.context, 'P.\nQuestion: H. True, False or Neither?\nAnswer:');
  assert.deepEqual(e.choices, ['True', 'False', 'Neither']);
  assert.equal(demoText(e), 'P.\nQuestion: H. True, False or Neither?\nAnswer: Neither');
  const sim = evalDoc(world('similarity', 'similarity', ['0', '1']), { ...w, kind: 'similarity', textA: 'A.', textB: 'B.', label: '1' }) as EvalDoc & { type: 'choice' };
  assert.deepEqual([sim.choices, sim.gold], [['no', 'yes'], 1]);
  const tr = evalDoc(world('generative', 'translation', []), { ...w, kind: 'generative', prompt: 'The cat.', answer: 'Ka mi.' });
  assert.equal(demoText(tr), 'English: The cat.\nTranslation: Ka mi.');
  const user = evalDoc(task({}), { ...w, kind: 'multiple_choice', context: 'The sky is', choices: ['blue', 'green'], gold: 0 });
  assert.equal(demoText(user), 'The sky is blue');
  const badLabel = () => evalDoc(world('classification', 'sentiment', ['positive', 'negative']), { file: 'x.jsonl', line: 4, kind: 'classification', text: 't', label: 'meh' });
  assert.throws(badLabel, /x\.jsonl:4: label "meh" is not one of the task's labels/);
});
