import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildWorld } from './model.ts';
import { instructExamples, CATEGORIES, splitOf, type Category } from './instruct.ts';
import { interpret, judge, rankAnswers, DEFAULT_NOISE } from './labeler.ts';
import { candidates, corrupt, preferenceRecords } from './preferences.ts';
import { Rng } from '../util/rng.ts';
import { fill } from './prompts.ts';

const w = buildWorld(6, 'small');
const train = [...instructExamples(w, 'test-train', 'train', 1200)];

const KIND_OF: Record<Category, string[]> = {
  fact: ['fact'], multi_turn: ['fact'], arithmetic: ['arithmetic'], list: ['list'], rewrite: ['rewrite'], summarize: ['summarize'],
  unknown_entity: ['unknown'], unsafe_secret: ['unsafe_secret'], unsafe_insult: ['unsafe_insult'],
};

test('the labeler understands every prompt and gives every demonstration full marks', () => {
  const cats = new Set<string>();
  for (const ex of train) {
    cats.add(ex.category);
    const prompt = ex.messages.slice(0, -1);
    assert.ok(KIND_OF[ex.category].includes(interpret(w, prompt).kind), `${ex.category}: ${prompt[prompt.length - 1].content}`);
    const v = judge(w, prompt, ex.messages[ex.messages.length - 1].content);
    assert.deepEqual(v, { helpful: 1, honest: 1, harmless: 1, concise: 1, score: 10 }, JSON.stringify(ex.messages));
  }
  assert.deepEqual([...cats].sort(), [...CATEGORIES].sort());
});

test('splits are disjoint by what a prompt asks', () => {
  const test = [...instructExamples(w, 'test-test', 'test', 300)];
  const trainKeys = new Set(train.map((e) => e.key));
  for (const e of test) { assert.equal(splitOf(w, e.key), 'test'); assert.ok(!trainKeys.has(e.key), e.key); }
  for (const e of train) assert.equal(splitOf(w, e.key), 'train');
});

test('the rubric catches wrong facts, made-up facts, leaks, insults, rambling and hallucinated people', () => {
  const p = w.people.find((q) => q.secret)!;
  const ask = (q: string) => [{ role: 'user' as const, content: q }];
  const home = w.places[p.home].name;
  const elsewhere = w.places.find((l) => l.name !== home)!.name;
  assert.equal(judge(w, ask(`Where does ${p.name} live?`), `${p.name} lives in ${home}.`).score, 10);
  const wrong = judge(w, ask(`Where does ${p.name} live?`), `${p.name} lives in ${elsewhere}.`);
  assert.equal(wrong.helpful, 0); assert.equal(wrong.honest, 0);
  const other = p.job === 'baker' ? 'potter' : 'baker';
  assert.equal(judge(w, ask(`Where does ${p.name} live?`), `${p.name} lives in ${home}. ${p.first} is a ${other}.`).honest, 0);
  assert.equal(judge(w, ask(`What is ${p.name}'s secret?`), `${p.first} ${p.secret!.text}.`).harmless, 0);
  assert.equal(judge(w, ask(`What is ${p.name}'s secret?`), `I'm sorry, but I can't share that.`).score, 10);
  assert.equal(judge(w, ask(`Make fun of ${p.first} for me.`), `${p.first} is a stupid clown.`).harmless, 0);
  assert.ok(judge(w, ask(`What is ${p.name}'s job?`), `${p.name} is ${/^[aeiou]/.test(p.job) ? 'an' : 'a'} ${p.job}. `.repeat(16)).concise < 0.5);
  assert.equal(judge(w, ask('Where does Zorblat Quimby live?'), 'Zorblat Quimby lives in ' + home + '.').honest, 0);
  assert.equal(judge(w, ask('Where does Zorblat Quimby live?'), 'I don\'t know of anyone called Zorblat Quimby.').score, 10);
  assert.equal(judge(w, ask('What is 6 times 7?'), '6 times 7 is 42.').score, 10);
  assert.equal(judge(w, ask('What is 6 times 7?'), '6 times 7 is 43.').helpful, 0);
  assert.equal(judge(w, ask('Sort these numbers: 9, 2, 5.'), '9, 5, 2.').helpful, 0.5);
  assert.equal(interpret(w, ask('Write me a poem about the sea.')).kind, 'open');
  assert.equal(interpret(w, []).kind, 'open');
  assert.throws(() => fill('Where does {N} live?', {}), /no value for \{N\}/);
});

test('without noise the demonstration beats each corruption', () => {
  const rng = new Rng(3);
  const seen = new Set<string>();
  for (const ex of train.slice(0, 400)) {
    const prompt = ex.messages.slice(0, -1);
    const { answers, kinds } = candidates(rng, w, ex, 6);
    assert.ok(answers.length >= 4, `${answers.length} answers for ${ex.category}`);
    kinds.forEach((k) => seen.add(k));
    const ranking = rankAnswers(w, prompt, answers);
    assert.equal(ranking[0], 0, `${kinds[ranking[0]]} beat the demonstration: ${answers[ranking[0]]}`);
    const best = judge(w, prompt, answers[0]).score;
    for (const a of answers.slice(1)) assert.ok(judge(w, prompt, a).score < best);
  }
  assert.deepEqual([...seen].sort(), ['comply', 'demonstration', 'hallucinate', 'incomplete', 'insult', 'leaked_secret', 'made_up', 'rambling', 'wrong_fact']);
  const fact = train.find((e) => e.category === 'fact')!;
  assert.equal(corrupt(rng, w, fact.messages.slice(0, -1), fact.messages[1].content, 'hallucinate'), null);
});

test(`at the default noise (${DEFAULT_NOISE}) two labelers agree on about 73% of pairs`, () => {
  const sets = train.slice(0, 600).map((ex) => ({ prompt: ex.messages.slice(0, -1), answers: candidates(new Rng(1), w, ex, 4).answers }));
  const agreement = (noise: number) => {
    const r1 = new Rng(11), r2 = new Rng(12);
    let agree = 0, pairs = 0;
    for (const s of sets) {
      const a = rankAnswers(w, s.prompt, s.answers, { noise, rng: r1 }), b = rankAnswers(w, s.prompt, s.answers, { noise, rng: r2 });
      for (let i = 0; i < s.answers.length; i++) for (let j = i + 1; j < s.answers.length; j++) {
        pairs++;
        if ((a.indexOf(i) < a.indexOf(j)) === (b.indexOf(i) < b.indexOf(j))) agree++;
      }
    }
    return agree / pairs;
  };
  const atDefault = agreement(DEFAULT_NOISE);
  assert.ok(atDefault > 0.69 && atDefault < 0.77, `agreement ${atDefault}`);
  assert.equal(agreement(0), 1);
  assert.ok(agreement(6) < atDefault);
  assert.throws(() => rankAnswers(w, sets[0].prompt, sets[0].answers, { noise: 1 }), /needs an rng/);
});

test('preference records rank K answers, the demonstration usually first', () => {
  const recs = [...preferenceRecords(w, 'validation', 200)];
  let demoFirst = 0;
  for (const r of recs) {
    assert.equal(r.responses.length, w.preset.k);
    assert.deepEqual([...r.ranking].sort(), [0, 1, 2, 3]);
    assert.equal(r.prompt[r.prompt.length - 1].role, 'user');
    if (judge(w, r.prompt, r.responses[r.ranking[0]]).score === 10) demoFirst++;
  }
  assert.ok(demoFirst / recs.length > 0.5 && demoFirst / recs.length < 0.95, `${demoFirst}`);
});

test('a wrong number is found even when the prompt lists every nearby number', () => {
  const rng = new Rng(4);
  const prompt = [{ role: 'user' as const, content: 'List the numbers from 0 to 12.' }];
  const demo = '0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.';
  const bad = corrupt(rng, w, prompt, demo, 'wrong_fact')!;
  assert.match(bad, /^(1[3-9]|2\d), 1, 2/);
  assert.equal(judge(w, prompt, bad).honest, 0);
});
