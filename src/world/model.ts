// The world itself: people, places, species, pets and belongings, and the relations between them,
// drawn deterministically from a seed. Every text world/ writes is realized from these facts, and
// `valuesOf` is the single source of truth that tests and the labeler check texts against.
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';
import { NameBank } from './names.ts';
import * as L from './lexicon.ts';

export type WorldSize = 'small' | 'medium' | 'large';
export const WORLD_SIZES: readonly WorldSize[] = ['small', 'medium', 'large'];

/** How much of everything a size generates. Character targets are for JSON-unescaped text. */
export interface SizePreset {
  people: number;
  places: number;
  species: number;
  referenceChars: number;
  crawlChars: number;
  /** Examples per labelled task: train, and each of validation and test. */
  taskTrain: number;
  taskEval: number;
  sftTrain: number;
  sftValidation: number;
  promptsTrain: number;
  promptsEval: number;
  prefsTrain: number;
  prefsValidation: number;
  /** Answers ranked per preference record (InstructGPT used K = 4…9). */
  k: number;
}

export const SIZE_PRESETS: Readonly<Record<WorldSize, Readonly<SizePreset>>> = Object.freeze({
  small: { people: 60, places: 12, species: 16, referenceChars: 1_500_000, crawlChars: 2_000_000, taskTrain: 1500, taskEval: 200, sftTrain: 2000, sftValidation: 200, promptsTrain: 2000, promptsEval: 200, prefsTrain: 2000, prefsValidation: 200, k: 4 },
  medium: { people: 800, places: 60, species: 120, referenceChars: 24_000_000, crawlChars: 40_000_000, taskTrain: 10000, taskEval: 1000, sftTrain: 20000, sftValidation: 1000, promptsTrain: 20000, promptsEval: 1000, prefsTrain: 20000, prefsValidation: 1000, k: 4 },
  large: { people: 4000, places: 200, species: 400, referenceChars: 200_000_000, crawlChars: 1_000_000_000, taskTrain: 50000, taskEval: 5000, sftTrain: 100000, sftValidation: 5000, promptsTrain: 100000, promptsEval: 5000, prefsTrain: 100000, prefsValidation: 5000, k: 6 },
});

export interface Pet { name: string; kind: string }
export interface Item { kind: string; colour: string }
export interface Secret {
  text: string;
  /** Content words that together give the secret away; an answer containing all of them leaks it. */
  keywords: string[];
}

export interface Person {
  id: string;
  first: string;
  last: string;
  name: string;
  gender: 'f' | 'm';
  age: number;
  home: number;
  job: string;
  colour: string;
  food: string;
  pets: Pet[];
  items: Item[];
  friends: number[];
  siblings: number[];
  secret: Secret | null;
}

export interface Place {
  id: string;
  name: string;
  kind: string;
  population: number;
  landmark: string;
  famousFor: string;
  terrain: string;
  near: number[];
}

export interface Species {
  id: string;
  /** The generated word that names the species ("tarvel" in "the tarvel heron"). */
  prefix: string;
  name: string;
  cls: L.SpeciesClass;
  colour: string;
  size: string;
  legs: number;
  diet: string;
  habitat: string;
  place: number;
  sound: string;
}

export type PersonRel = 'home' | 'job' | 'age' | 'colour' | 'food' | 'pet' | 'item' | 'friend' | 'sibling' | 'secret';
export type PlaceRel = 'kind' | 'terrain' | 'population' | 'landmark' | 'famous' | 'near' | 'resident';
export type SpeciesRel = 'class' | 'colour' | 'size' | 'legs' | 'diet' | 'habitat' | 'place' | 'sound';
export type Rel = PersonRel | PlaceRel | SpeciesRel;

/** One fact a text states: subject id, relation, canonical value (see `valuesOf`). */
export interface Claim { subject: string; rel: Rel; value: string }

export interface World {
  seed: number;
  size: WorldSize;
  preset: Readonly<SizePreset>;
  people: Person[];
  places: Place[];
  species: Species[];
  /** The root generator; every consumer forks its own named stream from it. */
  rng: Rng;
  byFirst: Map<string, Person>;
  placeByName: Map<string, Place>;
  speciesByPrefix: Map<string, Species>;
  /** Every generated name in the world, lowercase (for telling unknown names from known ones). */
  names: Set<string>;
  /** People indices by home place index. */
  residentsOf: number[][];
}

export function checkSize(size: string): WorldSize {
  if (!(WORLD_SIZES as readonly string[]).includes(size)) {
    throw new ConfigError(`size: expected one of ${WORLD_SIZES.join(', ')}, got '${size}'`);
  }
  return size as WorldSize;
}

export function checkSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new ConfigError(`seed: expected an integer in [0, 4294967295], got ${seed}`);
  }
  return seed;
}

function reservedWords(): string[] {
  return [
    ...L.JOBS, ...L.COLOURS, ...L.FOODS, ...L.PET_KINDS, ...L.ITEM_KINDS, ...L.PLACE_KINDS, ...L.TERRAINS,
    ...L.DIETS, ...L.SIZES, ...L.INSULTS, ...L.SPAM_WORDS, ...L.COMMON_WORDS, ...L.NUMBER_WORDS,
    ...L.POSITIVE_ADJ, ...L.NEGATIVE_ADJ, ...Object.values(L.SPECIES_CLASSES).flatMap((c) => c.heads),
  ];
}

function drawSecret(rng: Rng): Secret {
  if (rng.next() < 0.5) {
    const thing = rng.pick(L.SECRET_THINGS);
    const spot = rng.pick(L.SECRET_SPOTS);
    return { text: `hides ${thing} ${spot}`, keywords: [lastWord(thing), lastWord(spot)] };
  }
  const [text, keywords] = rng.pick(L.SECRET_HABITS);
  return { text, keywords: [...keywords] };
}

function lastWord(s: string): string {
  return s.slice(s.lastIndexOf(' ') + 1);
}

function drawPopulation(rng: Rng, kind: string): number {
  const [lo, hi] = kind === 'village' ? [120, 900] : kind === 'town' ? [1000, 9000] : kind === 'port' ? [3000, 30000] : [20000, 90000];
  const n = lo + rng.int(hi - lo);
  return n < 1000 ? Math.round(n / 10) * 10 : Math.round(n / 100) * 100;
}

/** Draw a world. Deterministic in (seed, size). */
export function buildWorld(seed: number, size: WorldSize): World {
  checkSeed(seed);
  const preset = SIZE_PRESETS[checkSize(size)];
  const rng = new Rng(seed);
  const r = rng.fork('entities');
  const bank = new NameBank(rng.fork('names'), reservedWords());

  const places: Place[] = [];
  for (let i = 0; i < preset.places; i++) {
    const kind = L.PLACE_KINDS[i < 2 ? 3 - i * 2 : r.int(L.PLACE_KINDS.length)];
    places.push({ id: `l${i}`, name: bank.next('place'), kind, population: drawPopulation(r, kind), landmark: r.pick(L.LANDMARKS), famousFor: r.pick(L.FOODS), terrain: r.pick(L.TERRAINS), near: [] });
  }
  // Places lie on a ring: each is near the one before and after it (a symmetric relation).
  const order = r.shuffle(places.map((_, i) => i));
  for (let i = 0; i < order.length; i++) {
    const a = order[i], b = order[(i + 1) % order.length];
    if (a !== b && !places[a].near.includes(b)) { places[a].near.push(b); places[b].near.push(a); }
  }

  const people: Person[] = [];
  while (people.length < preset.people) {
    // Families of one to three share a family name and are siblings.
    const last = bank.next('family');
    const members = Math.min(preset.people - people.length, 1 + (r.next() < 0.35 ? 1 + r.int(2) : 0));
    const start = people.length;
    for (let m = 0; m < members; m++) {
      const first = bank.next('first');
      const pets: Pet[] = [];
      const nPets = r.next() < 0.3 ? 0 : r.next() < 0.7 ? 1 : 2;
      for (let j = 0; j < nPets; j++) pets.push({ name: bank.next('pet'), kind: r.pick(L.PET_KINDS) });
      const itemKinds = r.shuffle([...L.ITEM_KINDS]).slice(0, 1 + r.int(2));
      people.push({
        id: `p${people.length}`, first, last, name: `${first} ${last}`, gender: r.next() < 0.5 ? 'f' : 'm',
        age: 18 + r.int(68), home: r.int(places.length), job: r.pick(L.JOBS), colour: r.pick(L.COLOURS),
        food: r.pick(L.FOODS), pets, items: itemKinds.map((kind) => ({ kind, colour: r.pick(L.COLOURS) })),
        friends: [], siblings: [], secret: r.next() < 0.4 ? drawSecret(r) : null,
      });
    }
    for (let a = start; a < people.length; a++) {
      for (let b = start; b < people.length; b++) if (a !== b) people[a].siblings.push(b);
    }
  }
  // Friendship is symmetric; everyone gets one to three friends outside their family.
  for (let a = 0; a < people.length; a++) {
    const want = 1 + r.int(3);
    for (let tries = 0; people[a].friends.length < want && tries < 20; tries++) {
      const b = r.int(people.length);
      if (b === a || people[a].friends.includes(b) || people[a].siblings.includes(b) || people[b].friends.length >= 4) continue;
      people[a].friends.push(b);
      people[b].friends.push(a);
    }
  }

  const species: Species[] = [];
  const classes = Object.keys(L.SPECIES_CLASSES) as L.SpeciesClass[];
  for (let i = 0; i < preset.species; i++) {
    const cls = classes[i % classes.length];
    const info = L.SPECIES_CLASSES[cls];
    const prefix = bank.next('species');
    const head = r.pick(info.heads);
    species.push({ id: `s${i}`, prefix, name: `${prefix} ${head}`, cls, colour: r.pick(L.COLOURS), size: r.pick(L.SIZES), legs: info.legs, diet: r.pick(L.DIETS), habitat: r.pick(L.TERRAINS), place: r.int(places.length), sound: r.pick(info.sound) });
  }

  const names = new Set<string>();
  for (const p of people) { names.add(p.first.toLowerCase()); names.add(p.last.toLowerCase()); for (const pet of p.pets) names.add(pet.name.toLowerCase()); }
  for (const l of places) names.add(l.name.toLowerCase());
  for (const s of species) names.add(s.prefix);
  return {
    seed, size, preset, people, places, species, rng, names,
    residentsOf: places.map((_, i) => people.flatMap((p, j) => (p.home === i ? [j] : []))),
    byFirst: new Map(people.map((p) => [p.first.toLowerCase(), p])),
    placeByName: new Map(places.map((l) => [l.name.toLowerCase(), l])),
    speciesByPrefix: new Map(species.map((s) => [s.prefix, s])),
  };
}

/** A person's name that exists nowhere in the world (for questions about unknown entities). */
export function unknownPersonName(world: World, rng: Rng): string {
  const bank = new NameBank(rng, [...world.names, ...reservedWords()]);
  return `${bank.next('first')} ${bank.next('family')}`;
}

export function entity(world: World, id: string): Person | Place | Species {
  const i = Number(id.slice(1));
  const e = id[0] === 'p' ? world.people[i] : id[0] === 'l' ? world.places[i] : id[0] === 's' ? world.species[i] : undefined;
  if (!e) throw new RangeError(`no entity with id '${id}'`);
  return e;
}

/**
 * The canonical values of one relation of one entity. Pets are "Name|kind", items "colour|kind";
 * people and places are given by name. A claim is true when its value is in this list.
 */
export function valuesOf(world: World, id: string, rel: Rel): string[] {
  const e = entity(world, id);
  if (id[0] === 'p') {
    const p = e as Person;
    switch (rel) {
      case 'home': return [world.places[p.home].name];
      case 'job': return [p.job];
      case 'age': return [String(p.age)];
      case 'colour': return [p.colour];
      case 'food': return [p.food];
      case 'pet': return p.pets.map((x) => `${x.name}|${x.kind}`);
      case 'item': return p.items.map((x) => `${x.colour}|${x.kind}`);
      case 'friend': return p.friends.map((i) => world.people[i].name);
      case 'sibling': return p.siblings.map((i) => world.people[i].name);
      case 'secret': return p.secret ? [p.secret.text] : [];
    }
  } else if (id[0] === 'l') {
    const l = e as Place;
    switch (rel) {
      case 'kind': return [l.kind];
      case 'terrain': return [l.terrain];
      case 'population': return [String(l.population)];
      case 'landmark': return [l.landmark];
      case 'famous': return [l.famousFor];
      case 'near': return l.near.map((i) => world.places[i].name);
      case 'resident': return world.residentsOf[Number(id.slice(1))].map((i) => world.people[i].name);
    }
  } else {
    const s = e as Species;
    switch (rel) {
      case 'class': return [s.cls];
      case 'colour': return [s.colour];
      case 'size': return [s.size];
      case 'legs': return [String(s.legs)];
      case 'diet': return [s.diet];
      case 'habitat': return [s.habitat];
      case 'place': return [world.places[s.place].name];
      case 'sound': return [s.sound];
    }
  }
  throw new RangeError(`relation '${rel}' does not apply to '${id}'`);
}

export function pronouns(p: Person): { subj: string; obj: string; poss: string } {
  return p.gender === 'f' ? { subj: 'she', obj: 'her', poss: 'her' } : { subj: 'he', obj: 'him', poss: 'his' };
}
