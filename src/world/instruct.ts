// Instruction data: prompts in the OpenAI `messages` format with written demonstrations, for
// every category the labeler knows (facts, arithmetic, lists, rewriting, summarizing, multi-turn
// follow-ups, unknown entities, unsafe requests). Each example has a key naming what it asks
// (e.g. "fact:p3:job"); a key belongs to exactly one split, so held-out prompts never ask what a
// training prompt asked.
import { hashLabel, type Rng } from '../util/rng.ts';
import * as L from './lexicon.ts';
import { pronouns, unknownPersonName, type Person, type World } from './model.ts';
import { listJoin, nameRef, personSentence, pronRef, type Ref } from './realize.ts';
import { story, type Plot } from './stories.ts';
import * as T from './prompts.ts';
import type { Split } from './tasks.ts';

export type Role = 'system' | 'user' | 'assistant';
export interface Message { role: Role; content: string }
export type Category = 'fact' | 'arithmetic' | 'list' | 'rewrite' | 'summarize' | 'multi_turn' | 'unknown_entity' | 'unsafe_secret' | 'unsafe_insult';
export const CATEGORIES: readonly Category[] = ['fact', 'arithmetic', 'list', 'rewrite', 'summarize', 'multi_turn', 'unknown_entity', 'unsafe_secret', 'unsafe_insult'];
const WEIGHTS: Record<Category, number> = { fact: 0.2, arithmetic: 0.12, list: 0.1, rewrite: 0.08, summarize: 0.08, multi_turn: 0.12, unknown_entity: 0.1, unsafe_secret: 0.1, unsafe_insult: 0.1 };

/** A conversation ending in the demonstration (the last assistant message). */
export interface Example { messages: Message[]; category: Category; key: string }

const SYSTEM_PROMPTS = ['You are a helpful assistant.', 'You are a helpful, honest and harmless assistant.', 'Answer the user\'s questions about the world briefly and truthfully.'];
export const SINGLE_RELS = ['home', 'job', 'age', 'colour', 'food'] as const;

const user = (content: string): Message => ({ role: 'user', content });
const assistant = (content: string): Message => ({ role: 'assistant', content });

function nameOf(rng: Rng, p: Person): string {
  return rng.next() < 0.6 ? p.name : p.first;
}

export function factAnswer(rng: Rng, w: World, p: Person, rel: T.FactRel, ref: Ref): string {
  return personSentence(rng, w, p, rel, ref).text;
}

function fact(rng: Rng, w: World): Example {
  const p = rng.pick(w.people);
  const rel = rng.pick(T.FACT_RELS);
  const n = nameOf(rng, p);
  return { messages: [user(T.fill(rng.pick(T.FACT_TEMPLATES[rel]), { N: n })), assistant(factAnswer(rng, w, p, rel, nameRef(n)))], category: 'fact', key: `fact:${p.id}:${rel}` };
}

const COUNTABLE = L.FOODS.filter((f) => f.endsWith('s'));

function arithmetic(rng: Rng, w: World): Example {
  const op = rng.pick(['+', '-', '*', '/']);
  let a = rng.int(op === '*' || op === '/' ? 13 : rng.next() < 0.7 ? 21 : 101), b = rng.int(op === '*' || op === '/' ? 13 : 21);
  if (op === '-' && b > a) [a, b] = [b, a];
  if (op === '/') { b = Math.max(1, b); a = a * b; }
  const o = T.OPS[op];
  const v = o.apply(a, b);
  if ((op === '+' || op === '-') && rng.next() < 0.3) {
    const p = rng.pick(w.people);
    const f = rng.pick(COUNTABLE);
    const q = T.fill(rng.pick(op === '+' ? T.WORD_PROBLEMS.add : T.WORD_PROBLEMS.sub), { N: p.first, A: String(a), B: String(b), F: f, S: pronouns(p).subj });
    const ans = op === '+' ? `${p.first} has ${v} ${f} now.` : `${v} ${f} are left.`;
    return { messages: [user(q), assistant(ans)], category: 'arithmetic', key: `arith:${a}${op}${b}:story` };
  }
  const q = T.fill(rng.pick(T.ARITH_TEMPLATES), { A: String(a), B: String(b), OP: o.word, SYM: o.sym });
  const ans = rng.pick([`${a} ${o.word} ${b} is ${v}.`, `${a} ${o.sym} ${b} = ${v}.`, `The answer is ${v}.`]);
  return { messages: [user(q), assistant(ans)], category: 'arithmetic', key: `arith:${a}${op}${b}` };
}

function list(rng: Rng, w: World): Example | null {
  const kind = rng.pick(['friends', 'residents', 'range', 'sort', 'wildlife'] as const);
  const ask = (slots: Record<string, string>) => user(T.fill(rng.pick(T.LIST_TEMPLATES[kind]), slots));
  switch (kind) {
    case 'friends': {
      const p = rng.pick(w.people);
      if (!p.friends.length) return null;
      const names = p.friends.map((i) => w.people[i].name);
      const n = nameOf(rng, p);
      const ans = names.length === 1 ? `${n} has one friend: ${names[0]}.` : `${n}'s friends are ${listJoin(names)}.`;
      return { messages: [ask({ N: n }), assistant(ans)], category: 'list', key: `list:friends:${p.id}` };
    }
    case 'residents': {
      const li = rng.int(w.places.length);
      const names = w.residentsOf[li].map((i) => w.people[i].name);
      const ans = names.length === 0 ? `Nobody I know of lives in ${w.places[li].name}.` : `${listJoin(names)} ${names.length === 1 ? 'lives' : 'live'} in ${w.places[li].name}.`;
      return { messages: [ask({ L: w.places[li].name }), assistant(ans)], category: 'list', key: `list:residents:${li}` };
    }
    case 'range': {
      const a = rng.int(50), b = a + 3 + rng.int(10);
      const xs = Array.from({ length: b - a + 1 }, (_, i) => a + i);
      return { messages: [ask({ A: String(a), B: String(b) }), assistant(`${xs.join(', ')}.`)], category: 'list', key: `list:range:${a}:${b}` };
    }
    case 'sort': {
      const set = new Set<number>();
      const n = 3 + rng.int(5);
      while (set.size < n) set.add(rng.int(100));
      const xs = [...set];
      const sorted = [...xs].sort((x, y) => x - y);
      return { messages: [ask({ XS: xs.join(', ') }), assistant(rng.pick([`${sorted.join(', ')}.`, `In order: ${sorted.join(', ')}.`]))], category: 'list', key: `list:sort:${xs.join(',')}` };
    }
    case 'wildlife': {
      const li = rng.int(w.places.length);
      const sp = w.species.filter((s) => s.place === li);
      if (!sp.length) return null;
      const ans = `Near ${w.places[li].name} you can find ${listJoin(sp.map((s) => `the ${s.name}`))}.`;
      return { messages: [ask({ L: w.places[li].name }), assistant(ans)], category: 'list', key: `list:wildlife:${li}` };
    }
  }
}

/** One sentence stating the given single-valued facts, for "turn these notes into a sentence". */
export function notesSentence(w: World, p: Person, rels: readonly string[]): string {
  const parts = rels.map((rel) => ({
    home: `lives in ${w.places[p.home].name}`, job: `works as ${L.article(p.job)}`, age: `is ${p.age} years old`,
    colour: `likes the colour ${p.colour} best`, food: `loves ${p.food}`,
  } as Record<string, string>)[rel]);
  return `${p.name} ${listJoin(parts)}.`;
}

function rewrite(rng: Rng, w: World): Example {
  const p = rng.pick(w.people);
  const rels = rng.shuffle([...SINGLE_RELS]).slice(0, 1 + rng.int(3));
  const key = `rewrite:${p.id}:${[...rels].sort().join(',')}`;
  if (rng.next() < 0.4) {
    const notes = [`name: ${p.name}`, ...rels.map((rel) => `${rel === 'colour' ? 'favourite colour' : rel === 'food' ? 'favourite food' : rel}: ${({ home: w.places[p.home].name, job: p.job, age: String(p.age), colour: p.colour, food: p.food } as Record<string, string>)[rel]}`)].join('; ');
    return { messages: [user(T.fill(rng.pick(T.NOTES_TEMPLATES), { T: notes })), assistant(notesSentence(w, p, rels))], category: 'rewrite', key };
  }
  const source = rels.length === 1 ? personSentence(rng, w, p, rels[0], nameRef(p.name)).text : notesSentence(w, p, rels);
  let demo: string;
  do demo = rels.map((rel, i) => personSentence(rng, w, p, rel, i === 0 ? nameRef(p.name) : pronRef(p)).text).join(' ');
  while (demo === source);
  return { messages: [user(T.fill(rng.pick(T.REWRITE_TEMPLATES), { T: source })), assistant(demo)], category: 'rewrite', key };
}

export const SUMMARY_PLOTS: readonly Plot[] = ['lost_pet', 'gift', 'journey', 'workday', 'fair'];

function summarize(rng: Rng, w: World): Example {
  const s = story(rng, w, rng.pick(SUMMARY_PLOTS));
  return { messages: [user(T.fill(rng.pick(T.SUMMARIZE_TEMPLATES), { T: s.doc.text })), assistant(s.gist)], category: 'summarize', key: `summarize:${s.hero.id}:${s.plot}` };
}

function multiTurn(rng: Rng, w: World): Example {
  const p = rng.pick(w.people);
  const rels = rng.shuffle([...T.FACT_RELS]).slice(0, 2 + (rng.next() < 0.3 ? 1 : 0));
  const n = nameOf(rng, p);
  const pr = pronouns(p);
  const messages: Message[] = [user(T.fill(rng.pick(T.FACT_TEMPLATES[rels[0]]), { N: n })), assistant(factAnswer(rng, w, p, rels[0], nameRef(n)))];
  for (const rel of rels.slice(1)) {
    messages.push(user(T.fill(rng.pick(T.FOLLOW_UPS[rel]), { S: pr.subj, P: pr.poss })));
    messages.push(assistant(factAnswer(rng, w, p, rel, rng.next() < 0.5 ? pronRef(p) : nameRef(p.first))));
  }
  return { messages, category: 'multi_turn', key: `multi_turn:${p.id}:${rels.join(',')}` };
}

export function unknownAnswer(rng: Rng, name: string): string {
  return rng.pick([
    `I don't know of anyone called ${name}.`,
    `I'm sorry, but I don't know anyone named ${name}, so I can't answer that.`,
    `I have no information about anyone called ${name}.`,
    `I'm not aware of anyone named ${name}. Could you tell me more about who that is?`,
  ]);
}

function unknownEntity(rng: Rng, w: World): Example {
  const name = unknownPersonName(w, rng);
  const n = rng.next() < 0.6 ? name : name.split(' ')[0];
  const rel = rng.pick(T.FACT_RELS);
  return { messages: [user(T.fill(rng.pick(T.FACT_TEMPLATES[rel]), { N: n })), assistant(unknownAnswer(rng, n))], category: 'unknown_entity', key: `unknown:${n}` };
}

export function secretDecline(rng: Rng, n: string, p: Person): string {
  const pr = pronouns(p);
  return rng.pick([
    `I'm sorry, but I can't share ${n}'s secrets. If there is something ${pr.subj} wants others to know, ${pr.subj} can tell them.`,
    `I'd rather not reveal anything ${n} wants to keep private. Is there something else I can help you with?`,
    `That is ${n}'s private business, so I won't share it. I'm happy to help with other questions.`,
  ]);
}

export function insultDecline(rng: Rng, n: string): string {
  return rng.pick([
    `I'd rather not write anything hurtful about ${n}. If something is bothering you, I can help you say it kindly.`,
    `I won't insult ${n}. If you are upset with them, I'm happy to help you write a calm and polite message instead.`,
    `Sorry, I can't help with putting ${n} down. Would you like help with something else?`,
  ]);
}

function unsafeSecret(rng: Rng, w: World): Example {
  const keepers = w.people.filter((p) => p.secret);
  const p = keepers.length ? rng.pick(keepers) : rng.pick(w.people);
  const n = nameOf(rng, p);
  return { messages: [user(T.fill(rng.pick(T.SECRET_TEMPLATES), { N: n })), assistant(secretDecline(rng, n, p))], category: 'unsafe_secret', key: `secret:${p.id}` };
}

function unsafeInsult(rng: Rng, w: World): Example {
  const p = rng.pick(w.people);
  const n = nameOf(rng, p);
  return { messages: [user(T.fill(rng.pick(T.INSULT_TEMPLATES), { N: n, S: pronouns(p).subj })), assistant(insultDecline(rng, n))], category: 'unsafe_insult', key: `insult:${p.id}` };
}

const MAKERS: Record<Category, (rng: Rng, w: World) => Example | null> = {
  fact, arithmetic, list, rewrite, summarize, multi_turn: multiTurn, unknown_entity: unknownEntity, unsafe_secret: unsafeSecret, unsafe_insult: unsafeInsult,
};

/** The split a key belongs to: 80% train, 10% validation, 10% test, fixed by world seed and key. */
export function splitOf(w: World, key: string): Split {
  const h = hashLabel(`${w.seed}:${key}`) % 100;
  return h < 80 ? 'train' : h < 90 ? 'validation' : 'test';
}

function pickCategory(rng: Rng): Category {
  let x = rng.next();
  for (const c of CATEGORIES) { x -= WEIGHTS[c]; if (x < 0) return c; }
  return 'fact';
}

/** One example of the given split (and category, if given); a system prompt a quarter of the time. */
export function instructExample(rng: Rng, w: World, split: Split, category?: Category): Example {
  for (;;) {
    const cat = category ?? pickCategory(rng);
    // A category whose keys all fall in other splits (possible in tiny worlds) is given up on.
    for (let tries = 0; tries < 50; tries++) {
      const ex = MAKERS[cat](rng, w);
      if (!ex || splitOf(w, ex.key) !== split) continue;
      if (rng.next() < 0.25) ex.messages.unshift({ role: 'system', content: rng.pick(SYSTEM_PROMPTS) });
      return ex;
    }
    if (category) throw new RangeError(`no ${category} prompt of split ${split} in this world`);
  }
}

/** `count` examples of one split from a named stream. */
export function* instructExamples(w: World, stream: string, split: Split, count: number): Generator<Example> {
  const rng = w.rng.fork(`instruct:${stream}`);
  for (let i = 0; i < count; i++) yield instructExample(rng, w, split);
}
