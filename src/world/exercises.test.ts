import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildWorld } from './model.ts';
import { referenceDocuments } from './corpus.ts';
import { crawlDocuments } from './crawl.ts';
import { exercisePage } from './exercises.ts';
import { TASK_NAMES, taskSplits, type TaskName } from './tasks.ts';
import { Rng } from '../util/rng.ts';

const w = buildWorld(7, 'small');
const ref = [...referenceDocuments(w)];

const norm = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').trim();

/** The text fields that make up an item's input (what a model is shown, without the template). */
function inputFields(task: TaskName, ex: Record<string, unknown>): string[] {
  switch (task) {
    case 'sentiment': return [ex.text as string];
    case 'entailment': return [ex.premise as string, ex.hypothesis as string];
    case 'similarity': return [ex.text_a as string, ex.text_b as string];
    case 'multiple_choice': return [ex.question as string];
    case 'translation': return [ex.source as string];
  }
}

/** Items of validation and test whose every input field occurs in one paragraph of the texts. */
function leaks(texts: Iterable<string>): string[] {
  // Paragraphs (blank-line separated) of every text, normalised, joined by a separator no text holds.
  const parts: string[] = [];
  for (const t of texts) for (const p of t.split(/\n\s*\n/)) parts.push(norm(p));
  const all = '\u0001' + parts.join('\u0001') + '\u0001';
  const found: string[] = [];
  for (const task of TASK_NAMES) {
    const splits = taskSplits(w, task);
    for (const ex of [...splits.validation, ...splits.test]) {
      const [first, ...rest] = inputFields(task, ex).map(norm);
      for (let at = all.indexOf(first); at >= 0; at = all.indexOf(first, at + 1)) {
        // The other fields elsewhere in the paragraph (a field may contain another: "These days X
        // lives in Y." holds "X lives in Y.", which is not a second sentence).
        const para = all.slice(all.lastIndexOf('\u0001', at) + 1, at) + '\u0002' + all.slice(at + first.length, all.indexOf('\u0001', at));
        if (rest.every((f) => para.includes(f))) { found.push(`${task}: ${JSON.stringify(ex)} in: ${para.slice(0, 300)}`); break; }
      }
    }
  }
  return found;
}

test('no validation or test item of any task appears in the reference corpus or the crawl', () => {
  assert.deepEqual(leaks(ref.map((d) => d.text)), []);
  const crawl: string[] = [];
  for (const d of crawlDocuments(w)) crawl.push(d.text);
  assert.deepEqual(leaks(crawl), []);
});

test('the leak check finds an evaluated item planted in a page', () => {
  const item = taskSplits(w, 'entailment').test[3];
  const planted = `Premise: ${item.premise}\nHypothesis: ${item.hypothesis}\nLabel: neutral`;
  assert.equal(leaks([`Worksheet\n\n${planted}\n\nMore`]).length, 1);
});

test('task-like pages of every kind, a share of the corpus, each kind in several formats', () => {
  const pages = ref.filter((d) => ['reviews', 'quiz', 'worksheet', 'phrasebook'].includes(d.source));
  const chars = ref.reduce((a, d) => a + d.text.length, 0), pageChars = pages.reduce((a, d) => a + d.text.length, 0);
  assert.ok(pageChars / chars > 0.1 && pageChars / chars < 0.25, `task-like pages are ${(pageChars / chars).toFixed(3)} of the corpus`);
  const formats = (kind: string, markers: RegExp[]) => markers.filter((m) => pages.some((d) => d.source === kind && m.test(d.text))).length;
  assert.equal(formats('reviews', [/\nSentiment: (positive|negative)$/m, /\nVerdict: /, /^Rating: /m, /wrote: "/, /\nLabel: (good|bad)$/m]), 5);
  assert.equal(formats('quiz', [/^Question: .*\nAnswer: /m, /^\(a\) /m, /^Q: /m, /\nChoices: /]), 4);
  assert.equal(formats('worksheet', [/True, False or Neither\?\nAnswer: /, /\nDoes it follow\? /, /\nLabel: (entailment|contradiction|neutral)$/m, /Is it true that /, /Do both sentences mean the same thing\?\nAnswer: (yes|no)$/m, /\nParaphrase: /, /say (the same|different) things?\./, /\nSame meaning\? /]), 8);
  assert.equal(formats('phrasebook', [/^English: .*\nTranslation: /m, / = /, /^In the Old Tongue, /m, /^EN: /m]), 4);
});

test('every answer on a page is right: review verdicts follow the review, quiz answers are true facts', () => {
  const rng = new Rng(11);
  let reviews = 0, questions = 0;
  for (let i = 0; i < 600; i++) {
    const { source, text } = exercisePage(rng, w);
    if (source === 'reviews') {
      for (const m of text.matchAll(/^Review: (.*)\nSentiment: (\w+)$/gm)) {
        reviews++;
        assert.match(m[1], m[2] === 'positive' ? /(go back|recommended|Five stars|return|go again)\.$/ : /(not return|Avoid it|One star|Never again|evening)\.$/);
      }
    }
    if (source === 'quiz') {
      for (const m of text.matchAll(/How old is (\w+) (\w+)\?\n(?:.*\n)?(?:Answer|A|Correct answer): (?:\([a-d]\) )?(\d+)/g)) {
        questions++;
        assert.equal(w.byFirst.get(m[1].toLowerCase())!.age, Number(m[3]), m[0]);
      }
    }
  }
  assert.ok(reviews > 20 && questions > 5, `${reviews} reviews, ${questions} age questions checked`);
});
