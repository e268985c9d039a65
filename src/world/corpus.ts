// The reference corpus: encyclopedia entries, short stories, dialogues, fact lists, arithmetic and
// task-like pages (reviews with verdicts, quizzes, worksheets, phrasebooks: exercises.ts), all
// realized from the world's facts in varied wording. `referenceDocuments` streams documents
// until the size's character target is reached (memory stays bounded whatever the size); each
// document carries the claims it makes so tests can check every stated fact against the world.
import type { Rng } from '../util/rng.ts';
import { pronouns, type Claim, type Person, type World } from './model.ts';
import { holds, listJoin, nameRef, personIntro, personSentence, placeSentence, pronRef, refFor, speciesSentence, PERSON_RELS, PLACE_RELS, SPECIES_RELS, Writer, type Said } from './realize.ts';
import { storyDocument } from './stories.ts';
import { exercisePage, type ExerciseSource } from './exercises.ts';

export type Source = 'encyclopedia' | 'story' | 'dialogue' | 'facts' | 'arithmetic' | ExerciseSource;

export interface Doc { source: Source; text: string; claims: Claim[] }

export function personEntry(rng: Rng, w: World, p: Person): Doc {
  const out = new Writer().say(personIntro(rng, w, p));
  const stated = new Set(out.claims.map((c) => c.rel));
  const rels = rng.shuffle(PERSON_RELS.filter((r) => !stated.has(r) && rng.next() < 0.85));
  for (const rel of rels) out.say(personSentence(rng, w, p, rel, refFor(rng, p, true)));
  return { source: 'encyclopedia', text: `${p.name}\n\n${out.text()}`, claims: out.claims };
}

export function placeEntry(rng: Rng, w: World, i: number): Doc {
  const l = w.places[i];
  const out = new Writer().say(placeSentence(rng, w, l, 'kind'));
  for (const rel of rng.shuffle(PLACE_RELS.filter((r) => r !== 'kind' && rng.next() < 0.85))) {
    out.say(placeSentence(rng, w, l, rel, rng.next() < 0.5 ? l.name : 'The ' + l.kind));
  }
  const wildlife = w.species.filter((s) => s.place === i).slice(0, 4);
  if (wildlife.length > 0) {
    out.say({ text: `Animals found near ${l.name} include ${listJoin(wildlife.map((s) => `the ${s.name}`))}.`, claims: wildlife.map((s) => ({ subject: s.id, rel: 'place', value: l.name })) });
  }
  return { source: 'encyclopedia', text: `${l.name}\n\n${out.text()}`, claims: out.claims };
}

export function speciesEntry(rng: Rng, w: World, i: number): Doc {
  const s = w.species[i];
  const out = new Writer().say(speciesSentence(rng, w, s, 'class', true));
  for (const rel of rng.shuffle(SPECIES_RELS.filter((r) => r !== 'class' && rng.next() < 0.9))) out.say(speciesSentence(rng, w, s, rel, false));
  return { source: 'encyclopedia', text: `The ${s.name}\n\n${out.text()}`, claims: out.claims };
}

/** Several species found near one place, in one entry (single species when a place has one). */
function wildlifeEntry(rng: Rng, w: World): Doc {
  const s0 = rng.pick(w.species);
  const local = rng.shuffle(w.species.filter((s) => s.place === s0.place)).slice(0, 3);
  if (local.length < 2) return speciesEntry(rng, w, Number(s0.id.slice(1)));
  const l = w.places[s0.place];
  const out = new Writer().say(rng.pick([`Many animals live around ${l.name}.`, `The country near ${l.name} is rich in wildlife.`, `Walkers near ${l.name} may meet several animals.`]));
  out.claims.push(...local.map((s) => ({ subject: s.id, rel: 'place' as const, value: l.name })));
  for (const s of local) {
    out.say(speciesSentence(rng, w, s, 'class', true));
    for (const rel of rng.shuffle(SPECIES_RELS.filter((r) => r !== 'class' && r !== 'place' && rng.next() < 0.7))) out.say(speciesSentence(rng, w, s, rel, false));
  }
  return { source: 'encyclopedia', text: `${rng.pick(['Wildlife of', 'Animals near', 'The animals of'])} ${l.name}\n\n${out.text()}`, claims: out.claims };
}

function encyclopedia(rng: Rng, w: World): Doc {
  const x = rng.next();
  if (x < 0.6) return personEntry(rng, w, rng.pick(w.people));
  if (x < 0.8) return placeEntry(rng, w, rng.int(w.places.length));
  return wildlifeEntry(rng, w);
}

// Dialogues: two friends meeting, or a visitor asking a local about the people of a place.
function friendsDialogue(rng: Rng, w: World): Doc {
  const a = rng.pick(w.people);
  const b = w.people[a.friends.length ? rng.pick(a.friends) : (Number(a.id.slice(1)) + 1) % w.people.length];
  const out = new Writer();
  const line = (who: Person, s: Said | string) => out.say(typeof s === 'string' ? `${who.first}: ${s}` : { text: `${who.first}: ${s.text}`, claims: s.claims });
  const I = (p: Person, rel: Parameters<typeof personSentence>[3]) => {
    const said = personSentence(rng, w, p, rel, { S: 'I', s: 'I', P: 'My', p: 'my', O: 'me' });
    // First-person sentences: fix verb agreement of the third-person templates.
    return { text: said.text.replace(/\bI (is|has|lives|works|owns|loves|likes|earns|makes|keeps|does|could|turned)\b/g, (_m, v: string) => `I ${({ is: 'am', has: 'have', lives: 'live', works: 'work', owns: 'own', loves: 'love', likes: 'like', earns: 'earn', makes: 'make', keeps: 'keep', does: 'do' } as Record<string, string>)[v] ?? v}`).replace(' and lives there', ' and live there'), claims: said.claims };
  };
  line(a, rng.pick([`Good morning, ${b.first}!`, `Hello, ${b.first}, how are you?`, `${b.first}! I have not seen you for weeks.`]));
  line(b, rng.pick([`Hello, ${a.first}. I am well, thank you.`, `Good to see you, ${a.first}!`, `Oh, hello ${a.first}.`]));
  const topics = rng.shuffle(['job', 'pet', 'food', 'age', 'home'] as const).slice(0, 3);
  for (const t of topics) {
    const asker = rng.next() < 0.5 ? a : b;
    const other = asker === a ? b : a;
    const q: Record<typeof t, string> = {
      job: rng.pick(['What are you working on these days?', 'Are you still in the same line of work?', 'How is work?']),
      pet: rng.pick(['How are your animals?', 'Do you still have pets?']),
      food: rng.pick(['What would you like for lunch?', 'Shall we get something to eat?']),
      age: rng.pick(['Is it true you had a birthday?', 'How old are you now, if I may ask?']),
      home: rng.pick(['Where are you living now?', 'Did you ever move house?']),
    };
    line(asker, q[t]);
    line(other, I(other, t));
  }
  line(a, rng.pick([`I must go now. Goodbye, ${b.first}!`, 'See you soon!', 'Take care!']));
  line(b, rng.pick(['Goodbye!', `Bye, ${a.first}.`, 'See you at the market.']));
  return { source: 'dialogue', text: out.text('\n'), claims: out.claims };
}

function visitorDialogue(rng: Rng, w: World): Doc {
  const li = rng.int(w.places.length);
  const l = w.places[li];
  const locals = w.residentsOf[li].map((i) => w.people[i]);
  const out = new Writer();
  out.say(`Visitor: ${rng.pick(['Excuse me, is this', 'Hello! Am I right that this is', 'Good day. Is this place'])} ${l.name}?`);
  const fact = placeSentence(rng, w, l, rng.pick(['landmark', 'famous', 'population'] as const));
  out.say({ text: `Local: Yes, it is. ${fact.text}`, claims: fact.claims });
  for (const p of rng.shuffle(locals).slice(0, 3)) {
    out.say(`Visitor: ${rng.pick(['Who is that over there?', 'And who lives in the house by the road?', 'Whom should I ask for help here?'])}`);
    const intro = personIntro(rng, w, p);
    const more = personSentence(rng, w, p, rng.pick(['colour', 'pet', 'food', 'friend'] as const), pronRef(p));
    out.say({ text: `Local: That is ${p.name}. ${intro.text} ${more.text}`, claims: [...intro.claims, ...more.claims] });
  }
  out.say(`Visitor: ${rng.pick(['Thank you very much.', 'Thanks, that helps a lot.'])}`);
  return { source: 'dialogue', text: out.text('\n'), claims: out.claims };
}

function factsDocument(rng: Rng, w: World): Doc {
  const out = new Writer();
  switch (rng.int(4)) {
    case 0: {
      for (const p of rng.shuffle([...w.people]).slice(0, 3 + rng.int(3))) {
        const lines = [`Name: ${p.name}`, `Age: ${p.age}`, `Job: ${p.job}`, `Home: ${w.places[p.home].name}`, `Favourite colour: ${p.colour}`, `Favourite food: ${p.food}`];
        out.say({ text: lines.join('\n'), claims: (['age', 'job', 'home', 'colour', 'food'] as const).map((rel) => personSentence(rng, w, p, rel, nameRef(p.name)).claims[0]) });
      }
      return { source: 'facts', text: out.text('\n\n'), claims: out.claims };
    }
    case 1: {
      out.say(rng.pick(['Who lives where:', 'Places and their people.', 'A list of places and the people who live in them.']));
      for (const li of rng.shuffle(w.places.map((_, i) => i)).slice(0, 4 + rng.int(4))) {
        const names = w.residentsOf[li].slice(0, 8).map((i) => w.people[i].name);
        if (names.length) out.say({ text: `${w.places[li].name} (${w.places[li].kind}): ${names.join(', ')}.`, claims: [{ subject: w.places[li].id, rel: 'kind', value: w.places[li].kind }, ...names.map((n) => ({ subject: w.places[li].id, rel: 'resident' as const, value: n }))] });
      }
      return { source: 'facts', text: out.text('\n'), claims: out.claims };
    }
    case 2: {
      out.say(rng.pick(['Some people and their friends.', 'Friendships:', 'Who is friends with whom.']));
      for (const p of rng.shuffle([...w.people]).slice(0, 5 + rng.int(4))) {
        if (p.friends.length) out.say({ text: `${p.name}: ${listJoin(p.friends.map((i) => w.people[i].name))}.`, claims: p.friends.map((i) => ({ subject: p.id, rel: 'friend' as const, value: w.people[i].name })) });
      }
      return { source: 'facts', text: out.text('\n'), claims: out.claims };
    }
    default: {
      for (let k = 0; k < 5 + rng.int(4); k++) out.say(numberList(rng));
      return { source: 'facts', text: out.text('\n'), claims: [] };
    }
  }
}

export function numberList(rng: Rng): string {
  const a = rng.int(30);
  const n = 5 + rng.int(6);
  switch (rng.int(4)) {
    case 0: return `Counting from ${a} to ${a + n - 1}: ${range(a, n, 1).join(', ')}.`;
    case 1: return `Counting by twos from ${2 * a}: ${range(2 * a, n, 2).join(', ')}.`;
    case 2: return `Counting down from ${a + n}: ${range(a + n, n, -1).join(', ')}.`;
    default: { const xs = rng.shuffle(range(a, n, 3)); return `The numbers ${listJoin(xs.map(String))} in order are ${[...xs].sort((x, y) => x - y).join(', ')}.`; }
  }
}

function range(start: number, n: number, step: number): number[] {
  return Array.from({ length: n }, (_, i) => start + i * step);
}

/** Arithmetic facts as equations, questions and word problems about the world's people. */
export function arithmeticLine(rng: Rng, w: World): { text: string; a: number; b: number; op: string; value: number } {
  const op = rng.pick(['+', '-', '*', '/']);
  let a = rng.int(op === '*' || op === '/' ? 13 : rng.next() < 0.7 ? 21 : 101), b = rng.int(op === '*' || op === '/' ? 13 : 21);
  if (op === '-' && b > a) [a, b] = [b, a];
  if (op === '/') { b = Math.max(1, b); a = a * b; }
  const value = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b;
  const word = { '+': 'plus', '-': 'minus', '*': 'times', '/': 'divided by' }[op];
  const p = rng.pick(w.people);
  const food = p.food.endsWith('s') ? p.food : null;
  let text: string;
  switch (rng.int(food && (op === '+' || op === '-') ? 5 : 4)) {
    case 0: text = `${a} ${op === '*' ? '×' : op === '/' ? '÷' : op} ${b} = ${value}`; break;
    case 1: text = `${a} ${word} ${b} is ${value}.`; break;
    case 2: text = `What is ${a} ${word} ${b}? It is ${value}.`; break;
    case 3: text = `If you take ${a} and ${op === '+' ? `add ${b}` : op === '-' ? `subtract ${b}` : op === '*' ? `multiply by ${b}` : `divide by ${b}`}, you get ${value}.`; break;
    default: {
      const pr = pronouns(p);
      text = op === '+'
        ? `${p.first} has ${a} ${food}. A friend brings ${b} more, so now ${pr.subj} has ${value} ${food}.`
        : `${p.first} had ${a} ${food} and ate ${b} of them, so ${pr.subj} has ${value} left.`;
    }
  }
  return { text, a, b, op, value };
}

function arithmeticDocument(rng: Rng, w: World): Doc {
  const lines: string[] = [];
  for (let k = 0; k < 8 + rng.int(10); k++) lines.push(arithmeticLine(rng, w).text);
  return { source: 'arithmetic', text: lines.join('\n'), claims: [] };
}

/** One document of a random kind, in the proportions of the reference corpus. */
export function randomDocument(rng: Rng, w: World): Doc {
  const x = rng.next();
  if (x < 0.24) return encyclopedia(rng, w);
  if (x < 0.52) return storyDocument(rng, w);
  if (x < 0.66) return rng.next() < 0.6 ? friendsDialogue(rng, w) : visitorDialogue(rng, w);
  if (x < 0.80) return factsDocument(rng, w);
  if (x < 0.91) return arithmeticDocument(rng, w);
  // Task-like pages carry no claims: worksheets state false hypotheses (labelled as false) on purpose.
  return { ...exercisePage(rng, w), claims: [] };
}

export interface RefDoc extends Doc { id: string }

/**
 * The reference corpus, streamed: first one entry per person, place and species (so every fact
 * is stated at least once), then documents of every kind until `chars` characters are reached.
 */
export function* referenceDocuments(w: World, chars = w.preset.referenceChars): Generator<RefDoc> {
  const rng = w.rng.fork('reference');
  let n = 0, total = 0;
  const emit = (d: Doc): RefDoc => { total += d.text.length; return { id: `ref-${String(n++).padStart(7, '0')}`, ...d }; };
  for (const p of w.people) yield emit(personEntry(rng, w, p));
  for (let i = 0; i < w.places.length; i++) yield emit(placeEntry(rng, w, i));
  for (let i = 0; i < w.species.length; i++) yield emit(speciesEntry(rng, w, i));
  while (total < chars) yield emit(randomDocument(rng, w));
}

/** True when every claim of a document holds in the world (used by tests and crawl checks). */
export function docIsTrue(w: World, d: Doc): boolean {
  return d.claims.every((c) => holds(w, c));
}
