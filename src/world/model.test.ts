import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from './lexicon.ts';
import { buildWorld, checkSeed, checkSize, unknownPersonName, valuesOf } from './model.ts';
import { ConfigError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';

test('value vocabularies are disjoint single lowercase words', () => {
  const sets: Record<string, readonly string[]> = { JOBS: L.JOBS, COLOURS: L.COLOURS, FOODS: L.FOODS, PET_KINDS: L.PET_KINDS, ITEM_KINDS: L.ITEM_KINDS, DIETS: L.DIETS, TERRAINS: L.TERRAINS, INSULTS: L.INSULTS };
  const seen = new Map<string, string>();
  for (const [name, xs] of Object.entries(sets)) {
    for (const x of xs) {
      assert.match(x, /^[a-z]+$/, `${name}: '${x}'`);
      assert.ok(!seen.has(x), `'${x}' is in both ${seen.get(x)} and ${name}`);
      seen.set(x, name);
    }
  }
});

test('same seed gives the same world, another seed another world', () => {
  const a = buildWorld(11, 'small'), b = buildWorld(11, 'small'), c = buildWorld(12, 'small');
  assert.deepEqual(JSON.stringify(a.people), JSON.stringify(b.people));
  assert.notDeepEqual(JSON.stringify(a.people), JSON.stringify(c.people));
  assert.equal(a.people.length, a.preset.people);
  assert.equal(a.places.length, a.preset.places);
  assert.equal(a.species.length, a.preset.species);
});

test('relations are consistent: symmetric friendship, siblings share a family name, places near each other', () => {
  const w = buildWorld(3, 'small');
  const names = new Set<string>();
  for (const p of w.people) {
    assert.ok(!names.has(p.first.toLowerCase()), `first name ${p.first} reused`);
    names.add(p.first.toLowerCase());
    for (const f of p.friends) { assert.ok(w.people[f].friends.includes(Number(p.id.slice(1))), `${p.name} ↔ ${w.people[f].name}`); assert.notEqual(w.people[f], p); }
    for (const s of p.siblings) assert.equal(w.people[s].last, p.last);
    assert.ok(p.age >= 18 && p.age <= 85);
    if (p.secret) for (const k of p.secret.keywords) assert.ok(p.secret.text.includes(k), `${k} in '${p.secret.text}'`);
  }
  for (const l of w.places) for (const n of l.near) assert.ok(w.places[n].near.includes(Number(l.id.slice(1))));
  const residents = w.places.reduce((a, l) => a + valuesOf(w, l.id, 'resident').length, 0);
  assert.equal(residents, w.people.length);
  assert.ok(w.people.some((p) => p.secret) && w.people.some((p) => !p.secret));
});

test('unknown names are not in the world', () => {
  const w = buildWorld(3, 'small');
  const rng = new Rng(1);
  for (let i = 0; i < 200; i++) {
    const [first, last] = unknownPersonName(w, rng).split(' ');
    assert.ok(!w.names.has(first.toLowerCase()) && !w.names.has(last.toLowerCase()), `${first} ${last}`);
  }
});

test('bad seed or size is a ConfigError naming the field', () => {
  assert.throws(() => checkSize('huge'), (e: unknown) => e instanceof ConfigError && /size: expected one of small, medium, large, got 'huge'/.test(e.message));
  assert.throws(() => checkSeed(-1), (e: unknown) => e instanceof ConfigError && /seed: expected an integer/.test(e.message));
  assert.throws(() => checkSeed(1.5), ConfigError);
  assert.throws(() => valuesOf(buildWorld(0, 'small'), 'p0', 'population'), RangeError);
});
