// Task files: every shape read, the world's layout, and bad input named by file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTask, readTaskFile, labelSet } from './tasks.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'gptkit-tasks-'));
function jsonl(path: string, rows: unknown[]): string {
  writeFileSync(path, rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  return path;
}

test('each record shape is read as its kind', () => {
  const d = tmp();
  const cases: [unknown, string][] = [
    [{ context: 'Q?', choices: ['a', 'b'], gold: 1 }, 'multiple_choice'],
    [{ question: 'Q?', choices: ['a', 'b', 'c'], label: 2 }, 'multiple_choice'],
    [{ prompt: 'P', answer: 'A' }, 'generative'],
    [{ source: 'S', target: 'T' }, 'generative'],
    [{ text: 'nice', label: 'positive' }, 'classification'],
    [{ premise: 'p', hypothesis: 'h', label: 'entailed' }, 'entailment'],
    [{ text_a: 'a', text_b: 'b', label: 1 }, 'similarity'],
  ];
  cases.forEach(([rec, kind], i) => {
    const r = readTaskFile(jsonl(join(d, `t${i}.jsonl`), [rec]));
    assert.equal(r.kind, kind);
    assert.equal(r.records[0].line, 1);
  });
  const mc = readTaskFile(join(d, 't1.jsonl')).records[0];
  assert.ok(mc.kind === 'multiple_choice' && mc.context === 'Q?' && mc.gold === 2);
});

test('bad records are errors naming the file and line', () => {
  const d = tmp();
  const bad: [unknown[], RegExp][] = [
    [[{ context: 'c', choices: ['a', 'b'], gold: 0 }, '', '{"context": "c", "choices": ["a"'], /bad\.jsonl:3: not valid JSON/],
    [[{ context: 'c', choices: ['a', 'b'], gold: 0 }, { context: 'c', choices: ['a', 'b'], gold: 2 }], /bad\.jsonl:2: field "gold" must be the index of the right choice, an integer in \[0, 1\], found 2/],
    [[{ context: 'c', choices: ['a', 'b'], gold: 0 }, { context: 'c', choices: ['a', 'b'] }], /bad\.jsonl:2: field "gold" .* found nothing/],
    [[{ context: 'c', choices: ['a'], gold: 0 }], /bad\.jsonl:1: field "choices" must be an array of at least two strings/],
    [[{ prompt: 'p', answer: 'a' }, { prompt: 'p' }], /bad\.jsonl:2: field "answer" must be a string, found nothing/],
    [[{ text: 'x', label: 'pos' }, { text: 'y', label: null }], /bad\.jsonl:2: field "label" must be a string or a number/],
    [[{ premise: 'x', label: 'e' }], /bad\.jsonl:1: field "hypothesis" must be a string/],
    [[{ foo: 1 }], /bad\.jsonl:1: cannot tell the task kind/],
    [[[1, 2]], /bad\.jsonl:1: cannot tell the task kind/],
  ];
  for (const [rows, re] of bad) assert.throws(() => readTaskFile(jsonl(join(d, 'bad.jsonl'), rows)), re);
  writeFileSync(join(d, 'empty.jsonl'), '\n');
  assert.throws(() => readTaskFile(join(d, 'empty.jsonl')), /empty\.jsonl: no records/);
});

test('world:NAME reads WORLD/tasks/NAME/<split>.jsonl with the world\'s labels; unknown tasks are errors', () => {
  const w = tmp();
  mkdirSync(join(w, 'tasks', 'entailment'), { recursive: true });
  for (const s of ['train', 'validation', 'test']) jsonl(join(w, 'tasks', 'entailment', `${s}.jsonl`), [{ premise: `p ${s}`, hypothesis: 'h', label: 'unknown' }]);
  const t = loadTask('world:entailment', { world: w });
  assert.equal(t.kind, 'entailment');
  assert.equal(t.source, 'world');
  assert.deepEqual(t.labels, ['entailed', 'contradicted', 'unknown']);
  assert.equal(t.splits.test![0].file, join(w, 'tasks', 'entailment', 'test.jsonl'));
  assert.throws(() => loadTask('world:sentimant', { world: w }), /unknown world task 'sentimant'/);
  assert.throws(() => loadTask('world:sentiment', { world: w }), /no such task directory/);
  assert.throws(() => loadTask(join(w, 'nope.jsonl'), { world: w }), /unknown task .*nope\.jsonl/);
});

test('a user task: one file (evaluated whole) or a directory of splits; labels sorted', () => {
  const d = tmp();
  const f = jsonl(join(d, 'reviews.jsonl'), [{ text: 'a', label: 'pos' }, { text: 'b', label: 'neg' }, { text: 'c', label: 'pos' }]);
  const t = loadTask(f, { world: d });
  assert.equal(t.name, 'reviews');
  assert.equal(t.singleFile, true);
  assert.deepEqual(t.labels, ['neg', 'pos']);
  assert.equal(t.splits.test!.length, 3);
  mkdirSync(join(d, 'sim'));
  jsonl(join(d, 'sim', 'train.jsonl'), [{ text_a: 'a', text_b: 'b', label: 10 }, { text_a: 'a', text_b: 'c', label: 2 }]);
  jsonl(join(d, 'sim', 'test.jsonl'), [{ text_a: 'x', text_b: 'y', label: 2 }]);
  const s = loadTask(join(d, 'sim'), { world: d });
  assert.equal(s.singleFile, false);
  assert.deepEqual(s.labels, ['2', '10'], 'numeric labels sort as numbers');
  assert.deepEqual(Object.keys(s.splits).sort(), ['test', 'train']);
  jsonl(join(d, 'one.jsonl'), [{ text: 'a', label: 'x' }]);
  assert.throws(() => loadTask(join(d, 'one.jsonl'), { world: d }), /at least two labels/);
  assert.deepEqual(labelSet([]), []);
});
