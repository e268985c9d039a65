import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from './lexicon.ts';
import { buildWorld } from './model.ts';
import { referenceDocuments, docIsTrue } from './corpus.ts';
import { holds, surfaces } from './realize.ts';
import { story, PLOT_SIGNATURES, type Plot } from './stories.ts';
import { Rng } from '../util/rng.ts';

const w = buildWorld(5, 'small');
const docs = [...referenceDocuments(w)];

test('small reference corpus: ~1.5 MB of every kind of document, one entry per entity first', () => {
  const chars = docs.reduce((a, d) => a + d.text.length, 0);
  assert.ok(chars >= 1_500_000 && chars < 3_000_000, `${chars} chars`);
  const sources = new Set(docs.map((d) => d.source));
  assert.deepEqual([...sources].sort(), ['arithmetic', 'dialogue', 'encyclopedia', 'facts', 'phrasebook', 'quiz', 'reviews', 'story', 'worksheet']);
  for (const p of w.people) assert.ok(docs.some((d) => d.text.startsWith(`${p.name}\n\n`)), p.name);
  assert.equal(new Set(docs.map((d) => d.id)).size, docs.length);
});

test('every claim a document makes is true in the world and stated in its text', () => {
  let claims = 0;
  for (const d of docs) {
    assert.ok(docIsTrue(w, d), d.text);
    for (const c of d.claims) {
      claims++;
      assert.ok(holds(w, c));
      for (const s of surfaces(c)) assert.ok(d.text.includes(s), `'${s}' (${c.rel} of ${c.subject}) missing from: ${d.text.slice(0, 200)}`);
    }
  }
  assert.ok(claims > 20000, `${claims} claims`);
});

test('independent check: a sentence naming one person and one job gives that person\'s job', () => {
  const jobs = new Set<string>(L.JOBS);
  let checked = 0;
  // Worksheets are left out: their hypotheses and paraphrase pairs are false half the time, by design
  // (each labelled as such).
  for (const d of docs.filter((x) => x.source !== 'worksheet')) {
    for (const sentence of d.text.split(/[.!?\n]/)) {
      const people = [...new Set((sentence.match(/\b[A-Z][a-z]+\b/g) ?? []).map((t) => w.byFirst.get(t.toLowerCase())).filter((p) => p !== undefined))];
      const js = (sentence.toLowerCase().match(/[a-z]+/g) ?? []).filter((t) => jobs.has(t));
      if (people.length !== 1 || js.length !== 1) continue;
      checked++;
      assert.equal(js[0], people[0]!.job, sentence);
    }
  }
  assert.ok(checked > 1000, `${checked} sentences checked`);
});

test('every story plot is recognised by its own signature only', () => {
  const rng = new Rng(2);
  for (const plot of Object.keys(PLOT_SIGNATURES) as Plot[]) {
    for (let i = 0; i < 40; i++) {
      const s = story(rng, w, plot);
      const matched = (Object.keys(PLOT_SIGNATURES) as Plot[]).filter((k) => PLOT_SIGNATURES[k].test(s.doc.text));
      assert.deepEqual(matched, [plot], s.doc.text);
      assert.ok(s.gist.includes(s.hero.name));
    }
  }
});

test('medium holds at least 20 M characters of reference text', () => {
  const m = buildWorld(1, 'medium');
  let chars = 0;
  for (const d of referenceDocuments(m)) chars += d.text.length;
  assert.ok(chars >= 20_000_000, `${chars}`);
});

test('a plot nobody fits is an error, not an endless search', () => {
  const lonely = buildWorld(5, 'small');
  for (const p of lonely.people) p.secret = null;
  assert.throws(() => story(new Rng(1), lonely, 'secret'), /no one in this world fits the plot 'secret'/);
});
