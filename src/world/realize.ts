// Sentences that state facts of the world, in many wordings. Every function returns the text and
// the claims it makes, so tests can check each sentence against `valuesOf` and the labeler knows
// which words an honest answer may contain.
import type { Rng } from '../util/rng.ts';
import { article, NUMBER_WORDS, plural } from './lexicon.ts';
import { pronouns, valuesOf, type Claim, type Person, type Place, type Rel, type Species, type World } from './model.ts';

export interface Said { text: string; claims: Claim[] }

/** Joins sentences into a text and collects their claims. */
export class Writer {
  parts: string[] = [];
  claims: Claim[] = [];
  say(s: Said | string): this {
    if (typeof s === 'string') this.parts.push(s);
    else { this.parts.push(s.text); this.claims.push(...s.claims); }
    return this;
  }
  text(sep = ' '): string {
    return this.parts.join(sep);
  }
}


/** How a sentence refers to a person: by name or by pronoun. */
export interface Ref { S: string; s: string; P: string; p: string; O: string }

export function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function listJoin(xs: readonly string[], conj = 'and'): string {
  if (xs.length <= 1) return xs.join('');
  return `${xs.slice(0, -1).join(', ')} ${conj} ${xs[xs.length - 1]}`;
}

export function numberWord(n: number): string {
  return n < NUMBER_WORDS.length ? NUMBER_WORDS[n] : String(n);
}

export function nameRef(name: string): Ref {
  return { S: name, s: name, P: `${name}'s`, p: `${name}'s`, O: name };
}

export function pronRef(p: Person): Ref {
  const pr = pronouns(p);
  return { S: cap(pr.subj), s: pr.subj, P: cap(pr.poss), p: pr.poss, O: pr.obj };
}

/** Name on first mention (full or first name), pronoun afterwards. */
export function refFor(rng: Rng, p: Person, mentioned: boolean): Ref {
  if (mentioned && rng.next() < 0.6) return pronRef(p);
  return nameRef(mentioned || rng.next() < 0.3 ? p.first : p.name);
}

const TERRAIN_PLACE: Record<string, string> = {
  forest: 'at the edge of a forest', marsh: 'beside a marsh', hills: 'among the hills', river: 'on a river',
  coast: 'on the coast', meadow: 'beside a wide meadow', mountains: 'at the foot of the mountains', lake: 'on the shore of a lake',
};
const TERRAIN_HABITAT: Record<string, string> = {
  forest: 'in forests', marsh: 'in marshes', hills: 'in the hills', river: 'in rivers', coast: 'along the coast',
  meadow: 'in meadows', mountains: 'high in the mountains', lake: 'around lakes',
};

/** Substrings a text must contain for it to state the claim (checked by tests). */
export function surfaces(claim: Claim): string[] {
  if (claim.value === 'none') return [];
  if (claim.rel === 'pet' || claim.rel === 'item') return claim.value.split('|');
  if (claim.rel === 'legs') return [claim.value === '0' ? 'no legs' : numberWord(Number(claim.value))];
  return [claim.value];
}

/** A claim is true when its value is one of the entity's values; "none" claims an empty relation. */
export function holds(world: World, claim: Claim): boolean {
  const values = valuesOf(world, claim.subject, claim.rel);
  return claim.value === 'none' ? values.length === 0 : values.includes(claim.value);
}

type PersonTemplate = (r: Ref, p: Person, w: World) => string;
const c = (subject: string, rel: Rel, value: string): Claim => ({ subject, rel, value });

const HOME: PersonTemplate[] = [
  (r, p, w) => `${r.S} lives in ${w.places[p.home].name}.`,
  (r, p, w) => `${r.S} is a resident of ${w.places[p.home].name}.`,
  (r, p, w) => `${r.S} makes ${r.p} home in ${w.places[p.home].name}.`,
  (r, p, w) => `${r.P} home is in ${w.places[p.home].name}.`,
  (r, p, w) => `These days ${r.s} lives in ${w.places[p.home].name}.`,
  (r, p, w) => `${r.S} has a house in ${w.places[p.home].name} and lives there all year.`,
];
const JOB: PersonTemplate[] = [
  (r, p) => `${r.S} works as ${article(p.job)}.`,
  (r, p) => `${r.S} is ${article(p.job)} by trade.`,
  (r, p) => `By trade, ${r.s} is ${article(p.job)}.`,
  (r, p) => `${r.S} earns a living as ${article(p.job)}.`,
  (r, p) => `${r.P} job is that of ${article(p.job)}.`,
  (r, p) => `${r.S} has worked as ${article(p.job)} for years.`,
];
const AGE: PersonTemplate[] = [
  (r, p) => `${r.S} is ${p.age} years old.`,
  (r, p) => `${r.S} is ${p.age}.`,
  (r, p) => `${r.S} turned ${p.age} this year.`,
  (r, p) => `${r.P} age is ${p.age}.`,
];
const COLOUR: PersonTemplate[] = [
  (r, p) => `${r.P} favourite colour is ${p.colour}.`,
  (r, p) => `${r.S} likes ${p.colour} more than any other colour.`,
  (r, p) => `${r.S} loves the colour ${p.colour}.`,
  (r, p) => `Of all the colours, ${r.s} likes ${p.colour} best.`,
];
const FOOD: PersonTemplate[] = [
  (r, p) => `${r.P} favourite food is ${p.food}.`,
  (r, p) => `${r.S} loves to eat ${p.food}.`,
  (r, p) => `${r.S} could eat ${p.food} every day.`,
  (r, p) => `Nothing makes ${r.O} happier than a plate of ${p.food}.`,
  (r, p) => `If you ask ${r.O}, the best food in the world is ${p.food}.`,
];

function onePet(r: Ref, name: string, kind: string, i: number): string {
  return [
    `${r.S} has ${article(kind)} called ${name}.`,
    `${r.S} owns ${article(kind)} named ${name}.`,
    `${r.P} ${kind} is called ${name}.`,
    `${name} is ${r.p} ${kind}.`,
  ][i % 4];
}

function oneItem(r: Ref, colour: string, kind: string, i: number): string {
  return [
    `${r.S} owns ${article(colour)} ${kind}.`,
    `${r.S} has ${article(colour)} ${kind}.`,
    `Among ${r.p} belongings is ${article(colour)} ${kind}.`,
    `${r.P} most treasured possession is ${article(colour)} ${kind}.`,
  ][i % 4];
}

/** One sentence stating one relation of a person (all values of a list relation). */
export function personSentence(rng: Rng, w: World, p: Person, rel: Rel, r: Ref): Said {
  const pick = (ts: PersonTemplate[]) => rng.pick(ts)(r, p, w);
  switch (rel) {
    case 'home': return { text: pick(HOME), claims: [c(p.id, 'home', w.places[p.home].name)] };
    case 'job': return { text: pick(JOB), claims: [c(p.id, 'job', p.job)] };
    case 'age': return { text: pick(AGE), claims: [c(p.id, 'age', String(p.age))] };
    case 'colour': return { text: pick(COLOUR), claims: [c(p.id, 'colour', p.colour)] };
    case 'food': return { text: pick(FOOD), claims: [c(p.id, 'food', p.food)] };
    case 'pet': {
      if (p.pets.length === 0) return { text: rng.pick([`${r.S} has no pets.`, `${r.S} does not keep any animals.`]), claims: [c(p.id, 'pet', 'none')] };
      const claims = p.pets.map((x) => c(p.id, 'pet', `${x.name}|${x.kind}`));
      if (p.pets.length === 1) return { text: onePet(r, p.pets[0].name, p.pets[0].kind, rng.int(4)), claims };
      const parts = p.pets.map((x) => `${article(x.kind)} called ${x.name}`);
      return { text: rng.next() < 0.5 ? `${r.S} keeps ${numberWord(p.pets.length)} pets: ${listJoin(parts)}.` : `${r.S} has ${listJoin(parts)}.`, claims };
    }
    case 'item': {
      const claims = p.items.map((x) => c(p.id, 'item', `${x.colour}|${x.kind}`));
      if (p.items.length === 1) return { text: oneItem(r, p.items[0].colour, p.items[0].kind, rng.int(4)), claims };
      return { text: `${r.S} owns ${listJoin(p.items.map((x) => `${article(x.colour)} ${x.kind}`))}.`, claims };
    }
    case 'friend': {
      const names = p.friends.map((i) => w.people[i].name);
      const claims = names.map((n) => c(p.id, 'friend', n));
      if (names.length === 1) {
        return { text: rng.pick([`${r.S} is good friends with ${names[0]}.`, `${r.P} best friend is ${names[0]}.`, `${r.S} and ${names[0]} have been friends for years.`]), claims };
      }
      return { text: rng.pick([`${r.S} is friends with ${listJoin(names)}.`, `${r.P} friends are ${listJoin(names)}.`, `${listJoin(names)} are friends of ${r.O}.`]), claims };
    }
    case 'sibling': {
      if (p.siblings.length === 0) return { text: rng.pick([`${r.S} has no brothers or sisters.`, `${r.S} is an only child.`]), claims: [c(p.id, 'sibling', 'none')] };
      const sibs = p.siblings.map((i) => w.people[i]);
      const claims = sibs.map((s) => c(p.id, 'sibling', s.name));
      if (sibs.length === 1) {
        const word = sibs[0].gender === 'f' ? 'sister' : 'brother';
        return { text: rng.pick([`${r.S} and ${sibs[0].name} are siblings.`, `${r.P} ${word} is ${sibs[0].name}.`, `${r.S} has ${article(word)} called ${sibs[0].name}.`]), claims };
      }
      return { text: `${r.P} siblings are ${listJoin(sibs.map((s) => s.name))}.`, claims };
    }
    case 'secret': {
      if (!p.secret) throw new RangeError(`${p.name} has no secret`);
      return { text: rng.pick([`Nobody else knew that ${r.s} ${p.secret.text}.`, `${r.S} had a secret: ${r.s} ${p.secret.text}.`, `Only a few people knew that ${r.s} ${p.secret.text}.`]), claims: [c(p.id, 'secret', p.secret.text)] };
    }
  }
  throw new RangeError(`personSentence: '${rel}' is not a person relation`);
}

/** An opening sentence that states two or three facts at once. */
export function personIntro(rng: Rng, w: World, p: Person): Said {
  const home = w.places[p.home].name;
  const claims = (...rels: Rel[]) => rels.map((rel) => c(p.id, rel, valuesOf(w, p.id, rel)[0]));
  switch (rng.int(6)) {
    case 0: return { text: `${p.name} is ${article(p.job)} who lives in ${home}.`, claims: claims('job', 'home') };
    case 1: return { text: `${p.name}, ${article(p.job)} from ${home}, is ${p.age} years old.`, claims: claims('job', 'home', 'age') };
    case 2: return { text: `${p.name} is a ${p.age}-year-old ${p.job} in ${home}.`, claims: claims('age', 'job', 'home') };
    case 3: return { text: `Born with the family name ${p.last}, ${p.name} works as ${article(p.job)} in ${home}.`, claims: claims('job', 'home') };
    case 4: return { text: `${p.name} lives in ${home}, where ${pronouns(p).subj} works as ${article(p.job)}.`, claims: claims('home', 'job') };
    default: return { text: `In ${home} lives ${p.name}, ${article(p.job)} aged ${p.age}.`, claims: claims('home', 'job', 'age') };
  }
}

export function placeSentence(rng: Rng, w: World, l: Place, rel: Rel, name = l.name): Said {
  const near = l.near.map((i) => w.places[i].name);
  switch (rel) {
    case 'kind': return { text: rng.pick([`${name} is ${article(l.kind)}.`, `${name} is a small ${l.kind}.`, `${name} is a busy ${l.kind}.`]), claims: [c(l.id, 'kind', l.kind)] };
    case 'terrain': return { text: `${name} lies ${TERRAIN_PLACE[l.terrain]}.`, claims: [c(l.id, 'terrain', l.terrain)] };
    case 'population': return { text: rng.pick([`About ${l.population} people live in ${name}.`, `${name} has a population of ${l.population}.`, `${name} is home to some ${l.population} people.`]), claims: [c(l.id, 'population', String(l.population))] };
    case 'landmark': return { text: rng.pick([`${name} is known for ${l.landmark}.`, `Visitors to ${name} come to see ${l.landmark}.`, `The pride of ${name} is ${l.landmark}.`]), claims: [c(l.id, 'landmark', l.landmark)] };
    case 'famous': return { text: rng.pick([`${name} is famous for its ${l.famousFor}.`, `People travel far for the ${l.famousFor} of ${name}.`, `The market in ${name} sells the best ${l.famousFor} in the land.`]), claims: [c(l.id, 'famous', l.famousFor)] };
    case 'near': return { text: rng.pick([`${name} lies near ${listJoin(near)}.`, `${name} is not far from ${listJoin(near)}.`, `From ${name} it is a short trip to ${listJoin(near)}.`]), claims: near.map((n) => c(l.id, 'near', n)) };
    case 'resident': {
      const names = valuesOf(w, l.id, 'resident');
      if (names.length === 0) return { text: `Nobody we know of lives in ${name}.`, claims: [c(l.id, 'resident', 'none')] };
      const shown = names.slice(0, 8);
      const some = shown.length < names.length;
      return { text: some ? `People who live in ${name} include ${listJoin(shown)}.` : `${listJoin(shown)} ${shown.length === 1 ? 'lives' : 'live'} in ${name}.`, claims: shown.map((n) => c(l.id, 'resident', n)) };
    }
  }
  throw new RangeError(`placeSentence: '${rel}' is not a place relation`);
}

const COATS: Record<string, string> = { bird: 'feathers', fish: 'scales', mammal: 'fur', insect: 'wings', reptile: 'scales' };

export function speciesSentence(rng: Rng, w: World, s: Species, rel: Rel, first: boolean): Said {
  const It = first ? `The ${s.name}` : rng.next() < 0.7 ? 'It' : `The ${s.name}`;
  switch (rel) {
    case 'class': return { text: rng.pick([
      `${It} is ${article(s.size)} ${s.colour} ${s.cls}.`,
      `${It} is ${article(s.size)} ${s.cls} with ${s.colour} ${COATS[s.cls]}.`,
      `Among the ${plural(s.cls)} of the land, the ${s.name} is ${article(s.size)} one, ${s.colour} in colour.`,
    ]), claims: [c(s.id, 'size', s.size), c(s.id, 'colour', s.colour), c(s.id, 'class', s.cls)] };
    case 'legs': return { text: s.legs === 0 ? `${It} has no legs.` : rng.pick([`${It} has ${numberWord(s.legs)} legs.`, `${It} walks on ${numberWord(s.legs)} legs.`]), claims: [c(s.id, 'legs', String(s.legs))] };
    case 'diet': return { text: rng.pick([`${It} feeds on ${s.diet}.`, `${It} eats mostly ${s.diet}.`, `${It} lives on a diet of ${s.diet}.`]), claims: [c(s.id, 'diet', s.diet)] };
    case 'habitat': return { text: rng.pick([`${It} lives ${TERRAIN_HABITAT[s.habitat]}.`, `${It} makes its home ${TERRAIN_HABITAT[s.habitat]}.`]), claims: [c(s.id, 'habitat', s.habitat)] };
    case 'place': return { text: rng.pick([`${It} can be found near ${w.places[s.place].name}.`, `People in ${w.places[s.place].name} often see the ${s.name}.`]), claims: [c(s.id, 'place', w.places[s.place].name)] };
    case 'sound': return { text: `${It} ${s.sound}.`, claims: [c(s.id, 'sound', s.sound)] };
  }
  throw new RangeError(`speciesSentence: '${rel}' is not a species relation`);
}

export const PERSON_RELS: Rel[] = ['home', 'job', 'age', 'colour', 'food', 'pet', 'item', 'friend', 'sibling'];
export const PLACE_RELS: Rel[] = ['kind', 'terrain', 'population', 'landmark', 'famous', 'near', 'resident'];
export const SPECIES_RELS: Rel[] = ['class', 'legs', 'diet', 'habitat', 'place', 'sound'];

