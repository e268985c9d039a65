// Task-like documents, as the web has them: review pages with each review's verdict, quiz pages,
// glossaries and phrasebooks of the world's second language, "does this follow?" worksheets and
// "same meaning?" exercise sheets. GPT-2 and GPT-3 could answer prompts zero- and few-shot because
// their pretraining text held such pages; without them a model has never seen a question followed
// by its answer, and in-context learning has nothing to emerge from.
//
// Contract:
// - Every page is made by the same example generators as the world's labelled tasks (tasks.ts),
//   from the page's own random stream, so its items are new draws — and any draw that equals a
//   validation or test example of a task (by the task's key; for multiple choice, by the fact it
//   asks about; an entailment or similarity item that holds both texts of an evaluated pair of
//   either task) is thrown away and drawn again.
//   corpus.test.ts checks the finished corpus against every evaluated item.
// - A page keeps one format throughout, as a real page does; each task has several formats (one of
//   them the evaluation's own template) with different label words, so that which answer words a
//   prompt wants is something the page's earlier items show.
// - Items are separated by blank lines: one item never shares a paragraph with another.
import type { Rng } from '../util/rng.ts';
import type { World } from './model.ts';
import { cap } from './realize.ts';
import { entailment, evaluatedKeys, multipleChoice, review, secondLanguage, similarity, translation, type Language } from './tasks.ts';

export type ExerciseSource = 'reviews' | 'quiz' | 'worksheet' | 'phrasebook';

/** What task-like pages must not contain: the keys of every validation and test example. */
interface Held {
  sentiment: Set<string>;
  /** Evaluated entailment and similarity items as their text fields, by each one-sentence field. */
  pairs: Map<string, string[][]>;
  facts: Set<string>;
  translation: Set<string>;
  lang: Language;
}

const heldCache = new WeakMap<World, Held>();

function held(w: World): Held {
  let h = heldCache.get(w);
  if (!h) {
    const pairs = new Map<string, string[][]>();
    for (const task of ['entailment', 'similarity'] as const) {
      for (const key of evaluatedKeys(w, task)) {
        const fields = key.split('\u0000');
        // Index by the fields that are one sentence (a hypothesis, either sentence of a pair).
        for (const f of fields) if (sentences(f).length === 1) pairs.set(f, [...(pairs.get(f) ?? []), fields]);
      }
    }
    h = { sentiment: evaluatedKeys(w, 'sentiment'), pairs, facts: evaluatedKeys(w, 'multiple_choice'), translation: evaluatedKeys(w, 'translation'), lang: secondLanguage(w) };
    heldCache.set(w, h);
  }
  return h;
}

/** Draws until `ok` accepts (the held-out examples are a small share of the space, so this ends fast). */
function fresh<T>(draw: () => T, ok: (x: T) => boolean): T {
  for (let i = 0; i < 1000; i++) { const x = draw(); if (ok(x)) return x; }
  throw new RangeError('exercises: could not draw an example that is not an evaluated one');
}

function sentences(text: string): string[] {
  return text.split(/(?<=[.!?])\s+/);
}

/**
 * True when a worksheet item holds every field of an evaluated entailment or similarity item —
 * also across the two tasks: a premise and hypothesis can be an evaluated pair of paraphrases.
 */
function holdsEvaluated(h: Held, fields: string[]): boolean {
  const text = fields.join(' ');
  for (const s of sentences(text)) {
    for (const item of h.pairs.get(s) ?? []) if (item.every((f) => text.includes(f))) return true;
  }
  return false;
}

const items = (rng: Rng) => 3 + rng.int(6);
const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

// ---------------------------------------------------------------------------------------------
// Reviews with their verdicts (sentiment).

const REVIEW_FORMATS: ((text: string, pos: boolean, rng: Rng) => string)[] = [
  (t, pos) => `Review: ${t}\nSentiment: ${pos ? 'positive' : 'negative'}`,
  (t, pos) => `${t}\nVerdict: ${pos ? 'recommended' : 'not recommended'}`,
  (t, pos) => `Rating: ${pos ? '5 out of 5' : '1 out of 5'}\n${t}`,
  (t, pos, rng) => `${rng.pick(['A guest', 'A visitor', 'A reader', 'A customer'])} wrote: "${t}"\nWas the visit a good one? ${pos ? 'Yes' : 'No'}`,
  (t, pos) => `Text: ${t}\nLabel: ${pos ? 'good' : 'bad'}`,
];

function reviewPage(rng: Rng, w: World, h: Held): string {
  const f = rng.int(REVIEW_FORMATS.length);
  const out = [rng.pick(['Reviews', 'What our visitors say', 'Guest reviews', 'Reader reviews, with verdicts', 'Customer feedback'])];
  for (let k = items(rng); k > 0; k--) {
    const pos = rng.next() < 0.5;
    const text = fresh(() => review(rng, w, pos), (t) => !h.sentiment.has(t));
    out.push(REVIEW_FORMATS[f](text, pos, rng));
  }
  return out.join('\n\n');
}

// ---------------------------------------------------------------------------------------------
// "Does it follow?" worksheets (entailment) and "same meaning?" sheets (similarity).

type EntLabel = 'entailed' | 'contradicted' | 'unknown';
const ENT_FORMATS: { title: string[]; item: (p: string, hyp: string, l: EntLabel) => string }[] = [
  { title: ['Reading exercises', 'True, false or neither?'], item: (p, hyp, l) => `${p}\nQuestion: ${hyp} True, False or Neither?\nAnswer: ${{ entailed: 'True', contradicted: 'False', unknown: 'Neither' }[l]}` },
  { title: ['Does the statement follow from the passage?', 'Worksheet: reading for meaning'], item: (p, hyp, l) => `Passage: ${p}\nStatement: ${hyp}\nDoes it follow? ${{ entailed: 'Yes', contradicted: 'No', unknown: 'Cannot tell' }[l]}` },
  { title: ['Inference practice', 'Premise and hypothesis pairs'], item: (p, hyp, l) => `Premise: ${p}\nHypothesis: ${hyp}\nLabel: ${{ entailed: 'entailment', contradicted: 'contradiction', unknown: 'neutral' }[l]}` },
  { title: ['Quick checks', 'Read, then decide'], item: (p, hyp, l) => `${p} Is it true that ${lower(hyp.replace(/\.$/, ''))}? ${{ entailed: 'Yes, it is.', contradicted: 'No, it is not.', unknown: 'The text does not say.' }[l]}` },
];

function entailmentPage(rng: Rng, w: World, h: Held): string {
  const f = ENT_FORMATS[rng.int(ENT_FORMATS.length)];
  const out = [rng.pick(f.title)];
  for (let k = items(rng); k > 0; k--) {
    const label = rng.pick(['entailed', 'contradicted', 'unknown'] as const);
    const ex = fresh(() => entailment(rng, w, label), (e) => !holdsEvaluated(h, [e.premise as string, e.hypothesis as string]));
    out.push(f.item(ex.premise as string, ex.hypothesis as string, label));
  }
  return out.join('\n\n');
}

const SIM_FORMATS: { title: string[]; item: (a: string, b: string, same: boolean) => string }[] = [
  { title: ['Paraphrase exercises', 'Same or different?'], item: (a, b, s) => `Sentence 1: ${a}\nSentence 2: ${b}\nQuestion: Do both sentences mean the same thing?\nAnswer: ${s ? 'yes' : 'no'}` },
  { title: ['Paraphrase pairs', 'Do these say the same thing?'], item: (a, b, s) => `A: ${a}\nB: ${b}\nParaphrase: ${s ? 'true' : 'false'}` },
  { title: ['Meaning match', 'Matching sentences'], item: (a, b, s) => `"${a}" and "${b}" ${s ? 'say the same thing' : 'say different things'}.` },
  { title: ['Exercise: same meaning?'], item: (a, b, s) => `First: ${a}\nSecond: ${b}\nSame meaning? ${s ? 'Same' : 'Different'}` },
];

function similarityPage(rng: Rng, w: World, h: Held): string {
  const f = SIM_FORMATS[rng.int(SIM_FORMATS.length)];
  const out = [rng.pick(f.title)];
  for (let k = items(rng); k > 0; k--) {
    const same = rng.next() < 0.5;
    const ex = fresh(() => similarity(rng, w, same), (e) => !holdsEvaluated(h, [e.text_a as string, e.text_b as string]));
    out.push(f.item(ex.text_a as string, ex.text_b as string, same));
  }
  return out.join('\n\n');
}

// ---------------------------------------------------------------------------------------------
// Quiz pages (multiple choice): questions about the world's facts, never a fact an evaluated
// multiple-choice question asks about.

const LETTERS = ['a', 'b', 'c', 'd'];
const QUIZ_FORMATS: { title: string[]; item: (q: string, choices: string[], gold: number, n: number) => string }[] = [
  { title: ['Questions and answers', 'Test your knowledge'], item: (q, c, g) => `Question: ${q}\nAnswer: ${c[g]}` },
  { title: ['Quiz', 'Pub quiz, round one', 'General knowledge quiz'], item: (q, c, g, n) => `${n}. ${q}\n${c.map((x, i) => `(${LETTERS[i]}) ${x}`).join(' ')}\nAnswer: (${LETTERS[g]}) ${c[g]}` },
  { title: ['Frequently asked questions', 'Q and A'], item: (q, c, g) => `Q: ${q}\nA: ${cap(c[g])}.` },
  { title: ['Multiple choice practice', 'Choose the right answer'], item: (q, c, g) => `${q}\nChoices: ${c.join(', ')}\nCorrect answer: ${c[g]}` },
];

function quizPage(rng: Rng, w: World, h: Held): string {
  const f = QUIZ_FORMATS[rng.int(QUIZ_FORMATS.length)];
  const out = [rng.pick(f.title)];
  const n = items(rng) + 2;
  for (let k = 1; k <= n; k++) {
    const ex = fresh(() => multipleChoice(rng, w), (e) => !h.facts.has(e.key));
    out.push(f.item(ex.question as string, ex.choices as string[], ex.label as number, k));
  }
  return out.join('\n\n');
}

// ---------------------------------------------------------------------------------------------
// Glossaries and phrasebooks of the world's second language (translation).

const LANGUAGE = 'the Old Tongue';
const PHRASE_FORMATS: ((en: string, tg: string) => string)[] = [
  (en, tg) => `English: ${en}\nTranslation: ${tg}`,
  (en, tg) => `${en} = ${tg}`,
  (en, tg) => `In ${LANGUAGE}, "${en}" is "${tg}"`,
  (en, tg) => `EN: ${en}\nOT: ${tg}`,
];

function phrasebookPage(rng: Rng, w: World, h: Held): string {
  if (rng.next() < 0.3) {
    const words = rng.shuffle([...h.lang.words]).slice(0, 6 + rng.int(10));
    const sep = rng.pick([': ', ' - ', ' = ']);
    return `${rng.pick(['A short glossary of', 'Words in', 'Useful words in'])} ${LANGUAGE}\n\n${words.map(([en, tg]) => `${en}${sep}${tg}`).join('\n')}`;
  }
  const f = PHRASE_FORMATS[rng.int(PHRASE_FORMATS.length)];
  const out = [rng.pick([`Phrasebook: English to ${LANGUAGE}`, `Everyday sentences in ${LANGUAGE}`, `Learn ${LANGUAGE}: lesson ${1 + rng.int(20)}`])];
  for (let k = items(rng) + 2; k > 0; k--) {
    const ex = fresh(() => translation(rng, w, h.lang), (e) => !h.translation.has(e.source as string));
    out.push(f(ex.source as string, ex.target as string));
  }
  return out.join('\n\n');
}

// ---------------------------------------------------------------------------------------------

/** One task-like page of a random kind. */
export function exercisePage(rng: Rng, w: World): { source: ExerciseSource; text: string } {
  const h = held(w);
  const x = rng.next();
  if (x < 0.25) return { source: 'reviews', text: reviewPage(rng, w, h) };
  if (x < 0.5) return { source: 'worksheet', text: rng.next() < 0.5 ? entailmentPage(rng, w, h) : similarityPage(rng, w, h) };
  if (x < 0.8) return { source: 'quiz', text: quizPage(rng, w, h) };
  return { source: 'phrasebook', text: phrasebookPage(rng, w, h) };
}
