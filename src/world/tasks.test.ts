import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from './lexicon.ts';
import { buildWorld } from './model.ts';
import { secondLanguage, taskSplits, SPLITS, TASK_NAMES } from './tasks.ts';

const w = buildWorld(4, 'small');
const all = Object.fromEntries(TASK_NAMES.map((t) => [t, taskSplits(w, t)])) as Record<string, ReturnType<typeof taskSplits>>;

test('every task has three disjoint splits of the preset sizes (multiple choice: as many facts as the world holds)', () => {
  for (const t of TASK_NAMES) {
    const seen = new Map<string, string>();
    for (const s of SPLITS) {
      for (const ex of all[t][s]) {
        const key = JSON.stringify(t === 'multiple_choice' ? ex.question : t === 'translation' ? ex.source : { ...ex, label: undefined });
        assert.ok(!seen.has(key) || seen.get(key) === s, `${t}: ${key} in ${seen.get(key)} and ${s}`);
        seen.set(key, s);
      }
    }
    if (t !== 'multiple_choice') assert.deepEqual(SPLITS.map((s) => all[t][s].length), [w.preset.taskTrain, w.preset.taskEval, w.preset.taskEval], t);
    else assert.ok(all[t].train.length > 200 && all[t].test.length > 30, `${all[t].train.length}`);
  }
});

test('labels are balanced and follow from the text', () => {
  const sentiment = all.sentiment.train;
  assert.equal(sentiment.filter((e) => e.label === 'positive').length, sentiment.length / 2);
  for (const e of sentiment) assert.match(e.text as string, e.label === 'positive' ? /(go back|recommended|Five stars|return|go again)\.$/ : /(not return|Avoid it|One star|Never again|evening)\.$/);
  const ent = all.entailment.train;
  for (const label of ['entailed', 'contradicted', 'unknown']) assert.equal(ent.filter((e) => e.label === label).length, ent.length / 3);
  // Value words (a job, colour, food, place or number) of the hypothesis are all in the premise
  // exactly when it is entailed; a contradiction brings a value the premise does not have.
  const valueWords = new Set<string>([...L.JOBS, ...L.COLOURS, ...L.FOODS, ...w.places.map((l) => l.name.toLowerCase())]);
  const values = (t: string) => (t.toLowerCase().match(/[a-z]+|\d+/g) ?? []).filter((x) => valueWords.has(x) || /^\d+$/.test(x));
  for (const e of ent) {
    const premise = new Set(values(e.premise as string));
    const fresh = values(e.hypothesis as string).filter((x) => !premise.has(x));
    if (e.label === 'entailed') assert.deepEqual(fresh, [], `${e.premise} ⊨ ${e.hypothesis}`);
    if (e.label === 'contradicted') assert.equal(fresh.length, 1, `${e.premise} ⊭ ${e.hypothesis}`);
  }
  const sim = all.similarity.train;
  assert.equal(sim.filter((e) => e.label === 1).length, sim.length / 2);
  for (const e of sim) assert.notEqual(e.text_a, e.text_b);
});

test('multiple-choice answers are true in the world', () => {
  for (const e of all.multiple_choice.train) {
    const choices = e.choices as string[];
    assert.equal(new Set(choices).size, 4);
    const answer = choices[e.label as number];
    const m = /^Where does (\w+ \w+) live\?$/.exec(e.question as string) ?? /^How old is (\w+ \w+)\?$/.exec(e.question as string);
    if (!m) continue;
    const p = w.byFirst.get(m[1].split(' ')[0].toLowerCase())!;
    assert.equal(answer, (e.question as string).startsWith('Where') ? w.places[p.home].name : String(p.age));
  }
});

test('translation: each English word always becomes the same word, object before verb', () => {
  const lang = secondLanguage(w);
  for (const e of all.translation.train.slice(0, 300)) {
    const src = (e.source as string).replace(/\.$/, '').split(' ');
    const tgt = (e.target as string).replace(/\.$/, '').split(' ');
    const verb = src.find((x) => [...lang.words.keys()].includes(x) && /s$/.test(x) && tgt[tgt.length - 1] === lang.words.get(x));
    const past = /(saw|liked|found|carried|wanted|painted|followed|remembered)/.test(e.source as string);
    assert.ok(verb || past, `${e.source} → ${e.target}`);
    if (past) assert.ok(tgt[tgt.length - 1].endsWith(lang.past));
    for (const x of src) if (lang.words.has(x.toLowerCase()) && x !== verb) assert.ok(tgt.map((t) => t.toLowerCase()).includes(lang.words.get(x.toLowerCase())!), `${x} in ${e.target}`);
  }
});
