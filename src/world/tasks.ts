// Labelled tasks for finetuning (GPT-1, BERT) and prompting (GPT-2/3): sentiment, entailment,
// similarity, multiple choice and a translation into the world's second language. Each example
// is unique (by its text) across all three splits, so the splits are disjoint by construction.
import type { Rng } from '../util/rng.ts';
import * as L from './lexicon.ts';
import { NameBank } from './names.ts';
import type { Person, Rel, World } from './model.ts';
import { cap, nameRef, personSentence, pronRef } from './realize.ts';

export type TaskName = 'sentiment' | 'entailment' | 'similarity' | 'multiple_choice' | 'translation';
export const TASK_NAMES: readonly TaskName[] = ['sentiment', 'entailment', 'similarity', 'multiple_choice', 'translation'];
export type Split = 'train' | 'validation' | 'test';
export const SPLITS: readonly Split[] = ['train', 'validation', 'test'];
export type Example = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Sentiment: reviews of places, food and belongings. Mostly one polarity, sometimes a contrast
// clause or a negated word of the other polarity, so a bag of words alone is not quite enough.

/** Aspect, plural?, words that praise it, words that pan it. */
const ASPECTS: [string, boolean, string[], string[]][] = [
  ['the food', false, ['delicious', 'fresh', 'excellent', 'superb'], ['bland', 'stale', 'awful', 'cold']],
  ['the service', false, ['friendly', 'quick', 'excellent', 'helpful'], ['rude', 'slow', 'dreadful', 'careless']],
  ['the room', false, ['cosy', 'clean', 'lovely', 'quiet'], ['dirty', 'noisy', 'cold', 'cramped']],
  ['the staff', true, ['friendly', 'helpful', 'charming', 'kind'], ['rude', 'slow', 'unhelpful', 'grumpy']],
  ['the view', false, ['wonderful', 'lovely', 'breathtaking', 'pleasant'], ['disappointing', 'dull', 'ugly', 'grim']],
  ['the prices', true, ['fair', 'reasonable', 'low', 'honest'], ['high', 'outrageous', 'silly', 'unfair']],
  ['the bread', false, ['fresh', 'delicious', 'warm', 'wonderful'], ['stale', 'bland', 'hard', 'burnt']],
  ['the music', false, ['lovely', 'pleasant', 'cheerful', 'charming'], ['noisy', 'terrible', 'tuneless', 'shrill']],
  ['the beds', true, ['comfortable', 'soft', 'clean', 'excellent'], ['lumpy', 'dirty', 'hard', 'awful']],
];

export function review(rng: Rng, w: World, positive: boolean): string {
  const place = rng.pick(w.places).name;
  const very = () => rng.pick(['', '', 'really ', 'truly ', 'so ', 'rather ']);
  const out: string[] = [rng.pick([
    `I visited the inn at ${place} last week.`, `We stopped in ${place} on our way home.`, `I bought ${article2(rng)} from a shop in ${place}.`,
    `My family ate at the old tavern in ${place}.`, `I spent two nights at a guest house in ${place}.`, `A friend took me to the market in ${place}.`,
  ])];
  for (const [aspect, pl, praise, pan] of rng.shuffle([...ASPECTS]).slice(0, 2 + rng.int(3))) {
    const be = pl ? 'were' : 'was';
    const [mine, theirs] = positive ? [praise, pan] : [pan, praise];
    const x = rng.next();
    if (x < 0.15) out.push(`${cap(aspect)} ${be} not ${rng.pick(theirs)} at all.`);
    else if (x < 0.25) out.push(`${cap(aspect)} ${be} a little ${rng.pick(theirs)}, but ${rng.pick(['everything else', 'the rest'])} was ${very()}${rng.pick(positive ? ['wonderful', 'excellent', 'lovely', 'superb'] : ['awful', 'dreadful', 'terrible', 'disappointing'])}.`);
    else out.push(`${cap(aspect)} ${be} ${very()}${rng.pick(mine)}.`);
  }
  out.push(positive
    ? rng.pick(['I would go back.', 'Highly recommended.', 'Five stars.', 'We will certainly return.', 'I cannot wait to go again.'])
    : rng.pick(['I will not return.', 'Avoid it.', 'One star.', 'Never again.', 'What a waste of an evening.']));
  return out.join(' ');
}

function article2(rng: Rng): string {
  return L.article(`${rng.pick(L.COLOURS)} ${rng.pick(L.ITEM_KINDS)}`);
}

// ---------------------------------------------------------------------------------------------
// Entailment: the premise states facts about one person; the hypothesis restates one of them
// (entailed), gives another value for one of them (contradicted), or talks about a relation the
// premise does not mention (unknown). Labels depend on the premise only, not on the world.

const SINGLE: Rel[] = ['home', 'job', 'age', 'colour', 'food'];

function withValue(p: Person, w: World, rel: Rel, rng: Rng): Person {
  const q: Person = { ...p };
  switch (rel) {
    case 'home': q.home = (p.home + 1 + rng.int(w.places.length - 1)) % w.places.length; break;
    case 'job': q.job = other(rng, L.JOBS, p.job); break;
    case 'age': q.age = p.age + (rng.next() < 0.5 ? -1 : 1) * (1 + rng.int(15)); break;
    case 'colour': q.colour = other(rng, L.COLOURS, p.colour); break;
    case 'food': q.food = other(rng, L.FOODS, p.food); break;
  }
  return q;
}

function other<T>(rng: Rng, xs: readonly T[], not: T): T {
  for (;;) { const x = rng.pick(xs); if (x !== not) return x; }
}

export function entailment(rng: Rng, w: World, label: 'entailed' | 'contradicted' | 'unknown'): Example {
  const p = rng.pick(w.people);
  const rels = rng.shuffle([...SINGLE]);
  const stated = rels.slice(0, 2 + rng.int(2));
  const premise = stated.map((rel, i) => personSentence(rng, w, p, rel, i === 0 ? nameRef(p.name) : pronRef(p)).text).join(' ');
  const ref = nameRef(rng.next() < 0.5 ? p.name : p.first);
  let hypothesis: string;
  if (label === 'entailed') hypothesis = personSentence(rng, w, p, rng.pick(stated), ref).text;
  else if (label === 'contradicted') { const rel = rng.pick(stated); hypothesis = personSentence(rng, w, withValue(p, w, rel, rng), rel, ref).text; }
  else { const rel = rels[rels.length - 1]; hypothesis = personSentence(rng, w, rng.next() < 0.5 ? p : withValue(p, w, rel, rng), rel, ref).text; }
  return { premise, hypothesis, label };
}

// ---------------------------------------------------------------------------------------------
// Similarity: paraphrases of one fact (1) against hard negatives (0): the same relation of
// another person, or another relation of the same person.

export function similarity(rng: Rng, w: World, same: boolean): Example {
  const p = rng.pick(w.people);
  const rel = rng.pick(SINGLE);
  const text_a = personSentence(rng, w, p, rel, nameRef(p.name)).text;
  let text_b: string;
  if (same) {
    do text_b = personSentence(rng, w, p, rel, nameRef(rng.next() < 0.5 ? p.name : p.first)).text; while (text_b === text_a);
  } else if (rng.next() < 0.5) {
    text_b = personSentence(rng, w, withValue(p, w, rel, rng), rel, nameRef(p.name)).text;
  } else {
    text_b = personSentence(rng, w, p, other(rng, SINGLE, rel), nameRef(p.name)).text;
  }
  return { text_a, text_b, label: same ? 1 : 0 };
}

// ---------------------------------------------------------------------------------------------
// Multiple choice about world facts: four choices of the right kind, one of them true.

interface Question { key: string; question: string; answer: string; pool: readonly string[] }

function personQuestion(rng: Rng, w: World): Question {
  const p = rng.pick(w.people);
  const rel = rng.pick(['home', 'job', 'age', 'colour', 'food', 'pet', 'friend'] as const);
  const n = p.name;
  const people = w.people.map((q) => q.name);
  switch (rel) {
    case 'home': return { key: `${p.id}:home`, question: rng.pick([`Where does ${n} live?`, `In which place does ${n} live?`]), answer: w.places[p.home].name, pool: w.places.map((l) => l.name) };
    case 'job': return { key: `${p.id}:job`, question: rng.pick([`What is ${n}'s job?`, `What does ${n} do for a living?`]), answer: p.job, pool: L.JOBS };
    case 'age': return { key: `${p.id}:age`, question: `How old is ${n}?`, answer: String(p.age), pool: Array.from({ length: 68 }, (_, i) => String(18 + i)) };
    case 'colour': return { key: `${p.id}:colour`, question: `What is ${n}'s favourite colour?`, answer: p.colour, pool: L.COLOURS };
    case 'food': return { key: `${p.id}:food`, question: rng.pick([`Which food does ${n} like best?`, `What is ${n}'s favourite food?`]), answer: p.food, pool: L.FOODS };
    case 'pet': {
      if (p.pets.length !== 1) return personQuestion(rng, w);
      return { key: `${p.id}:pet`, question: `What kind of animal is ${n}'s pet ${p.pets[0].name}?`, answer: p.pets[0].kind, pool: L.PET_KINDS };
    }
    case 'friend': {
      if (!p.friends.length) return personQuestion(rng, w);
      const not = new Set([p.name, ...p.friends.map((i) => w.people[i].name)]);
      return { key: `${p.id}:friend`, question: `Which of these people is a friend of ${n}?`, answer: w.people[p.friends[0]].name, pool: people.filter((x) => !not.has(x)).concat(w.people[p.friends[0]].name) };
    }
  }
}

export function multipleChoice(rng: Rng, w: World): Example & { key: string } {
  const x = rng.next();
  let q: Question;
  if (x < 0.7) q = personQuestion(rng, w);
  else if (x < 0.9) {
    const s = rng.pick(w.species);
    const rel = rng.pick(['diet', 'habitat', 'class', 'place'] as const);
    q = rel === 'diet' ? { key: `${s.id}:diet`, question: `What does the ${s.name} eat?`, answer: s.diet, pool: L.DIETS }
      : rel === 'habitat' ? { key: `${s.id}:habitat`, question: `Where does the ${s.name} make its home?`, answer: s.habitat, pool: L.TERRAINS }
      : rel === 'class' ? { key: `${s.id}:class`, question: `What kind of animal is the ${s.name}?`, answer: s.cls, pool: Object.keys(L.SPECIES_CLASSES) }
      : { key: `${s.id}:place`, question: `Near which place can the ${s.name} be found?`, answer: w.places[s.place].name, pool: w.places.map((l) => l.name) };
  } else {
    const l = rng.pick(w.places);
    q = rng.next() < 0.5
      ? { key: `${l.id}:famous`, question: `What is ${l.name} famous for?`, answer: l.famousFor, pool: L.FOODS }
      : { key: `${l.id}:kind`, question: `Is ${l.name} a village, a town, a city or a port?`, answer: l.kind, pool: L.PLACE_KINDS };
  }
  const wrong = rng.shuffle(q.pool.filter((v) => v !== q.answer)).slice(0, 3);
  const choices = q.key.endsWith(':kind') ? [...L.PLACE_KINDS] : rng.shuffle([q.answer, ...wrong]);
  return { key: q.key, question: q.question, choices, label: choices.indexOf(q.answer) };
}

// ---------------------------------------------------------------------------------------------
// Translation into the world's second language: its own words, subject–object–verb order,
// adjectives after nouns, the article as a particle after the noun phrase, past tense a suffix.

const T_NOUNS = [...L.PET_KINDS, ...L.ITEM_KINDS, 'house', 'tree', 'river', 'bird', 'child', 'song', 'letter', 'garden'];
const T_ADJ = [...L.COLOURS, 'big', 'small', 'old', 'new', 'happy', 'quiet'];
const T_VERBS: [string, string][] = [['sees', 'saw'], ['likes', 'liked'], ['finds', 'found'], ['carries', 'carried'], ['wants', 'wanted'], ['paints', 'painted'], ['follows', 'followed'], ['remembers', 'remembered']];

export interface Language { words: Map<string, string>; the: string; a: string; past: string }

export function secondLanguage(w: World): Language {
  const bank = new NameBank(w.rng.fork('language'), [...w.names]);
  const words = new Map<string, string>();
  for (const e of [...T_NOUNS, ...T_ADJ, ...T_VERBS.map((v) => v[0])]) words.set(e, bank.next('word').toLowerCase());
  return { words, the: 'ka', a: 'ne', past: 'ta' };
}

export function translation(rng: Rng, w: World, lang: Language): Example {
  const np = (): [string, string] => {
    if (rng.next() < 0.25) { const n = rng.pick(w.people).first; return [n, n]; }
    const def = rng.next() < 0.5;
    const noun = rng.pick(T_NOUNS);
    const adj = rng.next() < 0.6 ? rng.pick(T_ADJ) : null;
    const en = `${def ? 'the' : L.article(adj ?? noun).split(' ')[0]} ${adj ? adj + ' ' : ''}${noun}`;
    const tg = `${lang.words.get(noun)}${adj ? ' ' + lang.words.get(adj) : ''} ${def ? lang.the : lang.a}`;
    return [en, tg];
  };
  const [s, o] = [np(), np()];
  const [present, pastForm] = rng.pick(T_VERBS);
  const past = rng.next() < 0.4;
  const verb = lang.words.get(present)! + (past ? lang.past : '');
  return { source: `${cap(s[0])} ${past ? pastForm : present} ${o[0]}.`, target: `${cap(s[1])} ${o[1]} ${verb}.` };
}

// ---------------------------------------------------------------------------------------------

export function keyOf(task: TaskName, ex: Example): string {
  switch (task) {
    case 'sentiment': return ex.text as string;
    case 'entailment': return `${ex.premise}\u0000${ex.hypothesis}`;
    case 'similarity': return `${ex.text_a}\u0000${ex.text_b}`;
    case 'multiple_choice': return ex.key as string;
    case 'translation': return ex.source as string;
  }
}

/**
 * The examples of one task, split train/validation/test. Labels cycle so each split is balanced.
 * Multiple-choice questions are unique by the fact they ask about (no fact is asked in two
 * splits), and a small world holds only so many facts: generation stops when new examples keep
 * repeating old ones, and the splits shrink in proportion (multiple_choice in small worlds).
 */
export function taskSplits(w: World, task: TaskName): Record<Split, Example[]> {
  const { pool, nVal, nTest } = taskPool(w, task);
  // The multiple-choice key names the fact asked about; it is bookkeeping, not data.
  const data = task === 'multiple_choice' ? pool.map(({ key: _key, ...ex }) => ex) : pool;
  return { train: data.slice(0, data.length - nVal - nTest), validation: data.slice(data.length - nVal - nTest, data.length - nTest), test: data.slice(data.length - nTest) };
}

/**
 * The keys (see `keyOf`; for multiple choice, the fact asked about) of a task's validation and
 * test examples: what the corpus's task-like documents must never contain (corpus.ts).
 */
export function evaluatedKeys(w: World, task: TaskName): Set<string> {
  const { pool, nVal, nTest } = taskPool(w, task);
  return new Set(pool.slice(pool.length - nVal - nTest).map((ex) => keyOf(task, ex)));
}

function taskPool(w: World, task: TaskName): { pool: Example[]; nVal: number; nTest: number } {
  const rng = w.rng.fork(`task:${task}`);
  const lang = task === 'translation' ? secondLanguage(w) : null;
  const seen = new Set<string>();
  const want: Record<Split, number> = { train: w.preset.taskTrain, validation: w.preset.taskEval, test: w.preset.taskEval };
  const total = want.train + want.validation + want.test;
  const pool: Example[] = [];
  for (let misses = 0; pool.length < total && misses < 2000;) {
    // Labels cycle with the pool position, so every split is balanced whatever gets rejected.
    const i = pool.length;
    const ex = task === 'sentiment' ? { text: review(rng, w, i % 2 === 0), label: i % 2 === 0 ? 'positive' : 'negative' }
      : task === 'entailment' ? entailment(rng, w, (['entailed', 'contradicted', 'unknown'] as const)[i % 3])
      : task === 'similarity' ? similarity(rng, w, i % 2 === 0)
      : task === 'multiple_choice' ? multipleChoice(rng, w)
      : translation(rng, w, lang!);
    const key = keyOf(task, ex);
    if (seen.has(key)) { misses++; continue; }
    seen.add(key);
    misses = 0;
    pool.push(ex);
  }
  // When the world holds fewer distinct examples than asked for, every split shrinks in proportion.
  const scale = pool.length / total;
  return { pool, nVal: Math.floor(want.validation * scale), nTest: Math.floor(want.test * scale) };
}
