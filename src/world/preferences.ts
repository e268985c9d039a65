// Preference data without a model: for each prompt, the demonstration plus K−1 answers corrupted
// from it in graded ways (a wrong fact, a made-up fact, a leaked secret, an insult, rambling, an
// incomplete answer; for unknown people a hallucinated biography, for unsafe requests compliance),
// ranked by the labeler with its disagreement noise. Only corruptions the noiseless labeler
// scores strictly below the demonstration are kept, so every corruption is a real defect.
import type { Rng } from '../util/rng.ts';
import * as L from './lexicon.ts';
import { words } from './crawl.ts';
import type { Person, World } from './model.ts';
import { personSentence, pronRef } from './realize.ts';
import { instructExample, type Category, type Example, type Message } from './instruct.ts';
import { interpret, judge, rankAnswers, DEFAULT_NOISE, type Spec } from './labeler.ts';
import type { Split } from './tasks.ts';

export type Corruption = 'wrong_fact' | 'made_up' | 'leaked_secret' | 'insult' | 'rambling' | 'incomplete' | 'hallucinate' | 'comply';

export interface PreferenceRecord { prompt: Message[]; responses: string[]; ranking: number[]; category: Category }

const FILLER_OPEN = ['Well, that is a good question, and I am glad that you asked it.', 'Let me think about this carefully for a moment before I answer.', 'There are many ways to look at a question like this one.'];
const FILLER_CLOSE = ['I hope this helps you.', 'If you would like to know anything more, please do ask, because I am always happy to help.', 'Questions like this one are always interesting to think about.', 'As I said before, that is my answer.'];

function subjectOf(spec: Spec): Person | null {
  switch (spec.kind) {
    case 'fact': case 'rewrite': return spec.subject;
    case 'summarize': return spec.hero;
    case 'unsafe_secret': case 'unsafe_insult': return spec.subject;
    default: return null;
  }
}

/** A different value of the same kind as `token` (a job for a job, a place for a place, …). */
function swapValue(rng: Rng, w: World, token: string, avoid: Set<string>): string | null {
  const lower = token.toLowerCase();
  const pools: readonly (readonly string[])[] = [L.JOBS, L.COLOURS, L.FOODS, L.PET_KINDS, L.ITEM_KINDS, L.DIETS, w.places.map((l) => l.name), w.people.map((p) => p.first)];
  if (/^\d+$/.test(token)) {
    // Near the true number, but not one the prompt or the answer already has (lists of numbers
    // can cover a whole neighbourhood: then there is no plausible wrong number, and no corruption).
    const options = Array.from({ length: 40 }, (_, i) => String(Number(token) + (i < 20 ? i - 20 : i - 19))).filter((v) => Number(v) >= 0 && !avoid.has(v));
    return options.length ? rng.pick(options) : null;
  }
  const pool = pools.find((xs) => xs.some((x) => x.toLowerCase() === lower));
  if (!pool) return null;
  const options = pool.filter((x) => !avoid.has(x.toLowerCase()));
  return options.length ? rng.pick(options) : null;
}

/** The value words the demonstration must contain for this prompt, in order of importance. */
function keyTokens(w: World, spec: Spec): string[] {
  switch (spec.kind) {
    case 'fact': {
      const p = spec.subject;
      const m: Record<string, string[]> = { home: [w.places[p.home].name], job: [p.job], age: [String(p.age)], colour: [p.colour], food: [p.food], pet: p.pets.flatMap((x) => [x.kind, x.name]), sibling: p.siblings.map((i) => w.people[i].first) };
      return m[spec.rel];
    }
    case 'arithmetic': return [String(spec.value)];
    case 'list': return spec.items;
    case 'rewrite': return spec.values;
    case 'summarize': return [spec.hero.first];
    default: return [];
  }
}

function findWord(text: string, token: string): number {
  const re = new RegExp(`(^|[^\\p{L}\\p{N}])${token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}\\p{N}])`, 'iu');
  const m = re.exec(text);
  return m ? m.index + m[1].length : -1;
}

function falseSentence(rng: Rng, w: World, p: Person): string {
  const rel = rng.pick(['home', 'job', 'colour', 'food'] as const);
  const fake: Person = { ...p };
  if (rel === 'home') fake.home = (p.home + 1 + rng.int(w.places.length - 1)) % w.places.length;
  else if (rel === 'job') fake.job = rng.pick(L.JOBS.filter((x) => x !== p.job));
  else if (rel === 'colour') fake.colour = rng.pick(L.COLOURS.filter((x) => x !== p.colour));
  else fake.food = rng.pick(L.FOODS.filter((x) => x !== p.food));
  return personSentence(rng, w, fake, rel, pronRef(p)).text;
}

function strangerClaim(rng: Rng, w: World, avoid: Set<string>): string {
  const others = w.people.filter((p) => !avoid.has(p.first.toLowerCase()));
  const s = rng.pick(others.length ? others : w.people);
  return rng.pick([`I heard this from ${s.name}, who lives in ${w.places[s.home].name}.`, `${s.name}, ${L.article(s.job)}, told me so last year.`]);
}

/** One corrupted version of the demonstration, or null when the kind does not apply. */
export function corrupt(rng: Rng, w: World, prompt: readonly Message[], demo: string, kind: Corruption): string | null {
  const spec = interpret(w, prompt);
  const subject = subjectOf(spec);
  const promptWords = new Set(prompt.flatMap((m) => words(m.content)));
  switch (kind) {
    case 'wrong_fact': {
      for (const t of keyTokens(w, spec)) {
        const at = findWord(demo, t);
        const v = at >= 0 ? swapValue(rng, w, t, new Set([...promptWords, ...keyTokens(w, spec).map((x) => x.toLowerCase())])) : null;
        if (v !== null) return demo.slice(0, at) + v + demo.slice(at + t.length);
      }
      return null;
    }
    case 'made_up':
      return `${demo} ${subject && spec.kind !== 'unknown' ? falseSentence(rng, w, subject) : strangerClaim(rng, w, promptWords)}`;
    case 'leaked_secret': {
      const keeper = subject?.secret ? subject : rng.pick(w.people.filter((p) => p.secret));
      return `${demo} ${rng.pick(['By the way,', 'Between us,', 'Also, you should know that'])} ${keeper.first} ${keeper.secret!.text}.`;
    }
    case 'insult': {
      const who = subject ? subject.first : 'you';
      return `${demo} ${rng.pick([`Honestly, ${who} ${who === 'you' ? 'are' : 'is'} ${L.article(rng.pick(['idiot', 'fool', 'clown', 'dimwit']))}.`, `Only a ${rng.pick(['stupid', 'lazy', 'pathetic'])} person would ask that.`, `What a ${rng.pick(['stupid', 'useless', 'pathetic'])} question.`])}`;
    }
    case 'rambling': {
      const out = [rng.pick(FILLER_OPEN), demo];
      const target = 2 * words(demo).length + 40;
      while (words(out.join(' ')).length < target) out.push(rng.pick([...FILLER_CLOSE, ...FILLER_OPEN]), rng.next() < 0.3 ? demo : '');
      return out.filter(Boolean).join(' ');
    }
    case 'incomplete': {
      const keys = keyTokens(w, spec);
      const gate = spec.kind === 'unknown' ? /don't know|do not know|no information|not aware/i : /sorry|rather not|won't|can't/i;
      const at = keys.length ? findWord(demo, keys[Math.floor(keys.length / 2)]) : demo.search(gate);
      return at > 0 ? demo.slice(0, at).trimEnd().replace(/[,:;]$/, '') : null;
    }
    case 'hallucinate': {
      if (spec.kind !== 'unknown') return null;
      const fake = rng.pick(w.people);
      return `${spec.name} is ${L.article(fake.job)} who lives in ${w.places[fake.home].name}. ${rng.pick(['They are', 'This person is'])} ${fake.age} years old and loves ${fake.food}.`;
    }
    case 'comply': {
      if (spec.kind === 'unsafe_secret' && subject?.secret) return `${subject.first} ${subject.secret.text}. ${rng.pick(['Please do not tell anyone I told you.', 'That is the secret.'])}`;
      if (spec.kind === 'unsafe_insult' && subject) return `${subject.first} is ${L.article(rng.pick(['stupid', 'worthless', 'useless', 'pathetic', 'lazy', 'ugly']))} ${rng.pick(['idiot', 'fool', 'clown', 'dimwit'])}, and everyone in ${w.places[subject.home].name} knows it.`;
      return null;
    }
  }
}

const KINDS: Corruption[] = ['wrong_fact', 'made_up', 'leaked_secret', 'insult', 'rambling', 'incomplete', 'hallucinate', 'comply'];

/** The demonstration plus up to k−1 distinct corruptions that the noiseless labeler scores lower. */
export function candidates(rng: Rng, w: World, ex: Example, k: number): { answers: string[]; kinds: (Corruption | 'demonstration')[] } {
  const prompt = ex.messages.slice(0, -1);
  const demo = ex.messages[ex.messages.length - 1].content;
  const best = judge(w, prompt, demo).score;
  const answers = [demo];
  const kinds: (Corruption | 'demonstration')[] = ['demonstration'];
  for (const kind of rng.shuffle([...KINDS])) {
    if (answers.length >= k) break;
    const bad = corrupt(rng, w, prompt, demo, kind);
    if (bad === null || answers.includes(bad) || judge(w, prompt, bad).score >= best) continue;
    answers.push(bad);
    kinds.push(kind);
  }
  return { answers, kinds };
}

/** A K-wise preference record: shuffled answers and the noisy labeler's ranking of them. */
export function preferenceRecord(rng: Rng, w: World, ex: Example, k: number, noise = DEFAULT_NOISE): PreferenceRecord {
  const { answers } = candidates(rng, w, ex, k);
  const order = rng.shuffle(answers.map((_, i) => i));
  const responses = order.map((i) => answers[i]);
  const prompt = ex.messages.slice(0, -1);
  return { prompt, responses, ranking: rankAnswers(w, prompt, responses, { noise, rng }), category: ex.category };
}

export function* preferenceRecords(w: World, split: Split, count: number, noise = DEFAULT_NOISE): Generator<PreferenceRecord> {
  const rng = w.rng.fork(`preferences:${split}`);
  for (let i = 0; i < count; i++) yield preferenceRecord(rng, w, instructExample(rng, w, split), w.preset.k, noise);
}
