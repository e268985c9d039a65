// Short stories about the world's people. Each plot is a small grammar: a fixed skeleton of beats,
// each beat with several wordings and optional details, so two stories of one plot share few word
// sequences. Every plot has a signature phrase (how the labeler tells what a story is about) and
// returns a one-sentence gist, the demonstration for "summarize this story".
import type { Rng } from '../util/rng.ts';
import { article } from './lexicon.ts';
import { pronouns, type Person, type World } from './model.ts';
import { cap, personSentence, placeSentence, pronRef, Writer } from './realize.ts';
import type { Doc } from './corpus.ts';

export type Plot = 'lost_pet' | 'gift' | 'journey' | 'workday' | 'fair' | 'secret';

/** Phrases every story of a plot contains and no story of another plot does. */
export const PLOT_SIGNATURES: Record<Plot, RegExp> = {
  lost_pet: /\bcould not find\b/,
  gift: /\bbirthday\b/,
  journey: /\bset off\b/,
  workday: /\bworking day\b/,
  fair: /\bfair\b/,
  secret: /\bsecrets?\b/,
};

/** Words a faithful summary of a plot uses (at least one). */
export const PLOT_EVENT_WORDS: Record<Plot, string[]> = {
  lost_pet: ['lost', 'found', 'missing', 'searched'],
  gift: ['gift', 'present', 'birthday'],
  journey: ['visited', 'trip', 'journey', 'travelled'],
  workday: ['work', 'worked', 'working'],
  fair: ['fair', 'won', 'prize'],
  secret: ['secret'],
};

export interface Story { doc: Doc; plot: Plot; hero: Person; place: string; gist: string }

const TIMES = ['One morning', 'Early one spring day', 'On a rainy afternoon', 'Last summer', 'One cold winter evening', 'On a bright Saturday', 'At the end of a long week', 'One windy autumn day'];
const FEELINGS = ['happy', 'glad', 'relieved', 'delighted', 'proud', 'pleased'];
const MOVES = ['walked', 'hurried', 'ran', 'rushed', 'went'];

function theLandmark(landmark: string): string {
  return landmark.replace(/^an? /, 'the ');
}

function friendOf(rng: Rng, w: World, p: Person): Person | null {
  return p.friends.length ? w.people[rng.pick(p.friends)] : null;
}

function lostPet(rng: Rng, w: World, h: Person): Story | null {
  if (!h.pets.length) return null;
  const pet = rng.pick(h.pets);
  const f = friendOf(rng, w, h);
  const home = w.places[h.home];
  const pr = pronouns(h);
  const out = new Writer();
  out.say(`${rng.pick(TIMES)}, ${h.name} could not find ${pr.poss} ${pet.kind}, ${pet.name}.`);
  out.claims.push({ subject: h.id, rel: 'pet', value: `${pet.name}|${pet.kind}` });
  out.say(rng.pick([`${cap(pr.subj)} looked in the garden, under the bed and behind the shed, but ${pet.name} was nowhere to be seen.`, `The basket by the stove was empty, and ${pet.name} did not come when ${pr.subj} called.`, `${cap(pr.subj)} called and called, but there was no answer.`]));
  out.say(personSentence(rng, w, h, 'home', pronRef(h)));
  if (rng.next() < 0.5) out.say(`${cap(pr.subj)} ${rng.pick(MOVES)} out into the streets of ${home.name}, asking everyone ${pr.subj} met.`);
  if (f) {
    out.say(`${cap(pr.subj)} ${rng.pick(MOVES)} to the house of ${f.name}, ${rng.pick(['an old friend', 'a good friend', 'a friend from school'])}, to ask for help.`);
    out.claims.push({ subject: h.id, rel: 'friend', value: f.name });
    if (rng.next() < 0.6) out.say(personSentence(rng, w, f, 'job', { S: f.first, s: f.first, P: `${f.first}'s`, p: `${f.first}'s`, O: f.first }));
    out.say(rng.pick([`Together they searched all the way to ${theLandmark(home.landmark)}.`, `The two of them looked along every lane until the sun went down.`, `They split up and searched the whole ${home.kind}.`]));
  }
  out.say(rng.pick([`At last ${pet.name} turned up, asleep on a pile of sacks behind the bakery.`, `In the end they found ${pet.name} hiding in a hedge, muddy but unhurt.`, `Finally ${pet.name} was found sitting on a wall, looking very pleased with itself.`]));
  out.say(`${h.first} was so ${rng.pick(FEELINGS)} that ${pr.subj} ${rng.pick(['laughed out loud', 'cried a little', 'could not stop smiling'])}.`);
  if (rng.next() < 0.6) out.say(personSentence(rng, w, h, 'food', pronRef(h)));
  const gist = f
    ? rng.pick([`${h.name} lost ${pr.poss} ${pet.kind} ${pet.name} in ${home.name} and found it again with help from ${f.name}.`, `In ${home.name}, ${h.name} and ${pr.poss} friend ${f.name} searched for ${pet.name}, ${h.first}'s missing ${pet.kind}, and found it.`])
    : `${h.name} lost ${pr.poss} ${pet.kind} ${pet.name} in ${home.name} and found it again.`;
  return { doc: { source: 'story', text: out.text(), claims: out.claims }, plot: 'lost_pet', hero: h, place: home.name, gist };
}

function gift(rng: Rng, w: World, h: Person): Story | null {
  const f = friendOf(rng, w, h);
  if (!f) return null;
  const home = w.places[h.home];
  const pr = pronouns(h), fp = pronouns(f);
  const present = rng.next() < 0.5 ? `a ${f.colour} scarf` : `a basket of ${f.food}`;
  const out = new Writer();
  out.say(`${rng.pick(TIMES)}, ${h.name} remembered that ${pr.poss} friend ${f.name} had a birthday coming.`);
  out.claims.push({ subject: h.id, rel: 'friend', value: f.name });
  out.say({ text: `${f.first} was about to turn ${f.age}.`, claims: [{ subject: f.id, rel: 'age', value: String(f.age) }] });
  out.say(present.includes('scarf') ? personSentence(rng, w, f, 'colour', { S: f.first, s: f.first, P: `${f.first}'s`, p: `${f.first}'s`, O: f.first }) : personSentence(rng, w, f, 'food', { S: f.first, s: f.first, P: `${f.first}'s`, p: `${f.first}'s`, O: f.first }));
  out.say(rng.pick([`So ${h.first} went to the market in ${home.name} and bought ${present}.`, `${cap(pr.subj)} spent the morning at the market in ${home.name} and came back with ${present}.`]));
  out.claims.push({ subject: h.id, rel: 'home', value: home.name });
  if (rng.next() < 0.5) out.say(`On the way home ${pr.subj} ${rng.pick(['wrapped it in brown paper', 'tied it with a ribbon', 'wrote a little card to go with it'])}.`);
  out.say(rng.pick([`When ${f.first} opened the gift, ${fp.subj} gave ${h.first} a big hug.`, `${f.first} was ${rng.pick(FEELINGS)} with the present and thanked ${h.first} again and again.`]));
  out.say(rng.pick(['They spent the rest of the day talking and laughing.', 'That evening the two friends ate supper together.', 'It was the best birthday in years.']));
  const gist = `${h.name} gave ${pr.poss} friend ${f.name} ${present} for ${fp.poss} birthday.`;
  return { doc: { source: 'story', text: out.text(), claims: out.claims }, plot: 'gift', hero: h, place: home.name, gist };
}

function journey(rng: Rng, w: World, h: Person): Story | null {
  const home = w.places[h.home];
  if (!home.near.length) return null;
  const dest = w.places[rng.pick(home.near)];
  const pr = pronouns(h);
  const out = new Writer();
  out.say(`${rng.pick(TIMES)}, ${h.name} set off from ${home.name} to visit ${dest.name}.`);
  out.claims.push({ subject: h.id, rel: 'home', value: home.name });
  out.say({ text: `${dest.name} is not far from ${home.name}, so ${pr.subj} ${rng.pick(['walked', 'took the cart', 'rode along the old road'])}.`, claims: [{ subject: dest.id, rel: 'near', value: home.name }] });
  if (h.items.length && rng.next() < 0.6) {
    const it = rng.pick(h.items);
    out.say({ text: `${cap(pr.subj)} took ${pr.poss} ${it.colour} ${it.kind} along.`, claims: [{ subject: h.id, rel: 'item', value: `${it.colour}|${it.kind}` }] });
  }
  out.say(placeSentence(rng, w, dest, 'landmark'));
  out.say(rng.pick([`${h.first} spent a long time looking at ${theLandmark(dest.landmark)}.`, `First ${pr.subj} went to see ${theLandmark(dest.landmark)}.`]));
  out.say(placeSentence(rng, w, dest, 'famous'));
  out.say(`${cap(pr.subj)} ${rng.pick(['tasted', 'bought', 'had a plate of'])} the ${dest.famousFor} and ${rng.pick(['liked them very much', 'wanted more', 'took some home'])}.`);
  const locals = w.residentsOf[Number(dest.id.slice(1))];
  if (locals.length && rng.next() < 0.7) {
    const m = w.people[rng.pick(locals)];
    out.say({ text: `There ${pr.subj} met ${m.name}, ${article(m.job)} who lives in ${dest.name}.`, claims: [{ subject: m.id, rel: 'job', value: m.job }, { subject: m.id, rel: 'home', value: dest.name }] });
  }
  out.say(rng.pick([`In the evening ${pr.subj} travelled back to ${home.name}, tired and happy.`, `It was late when ${h.first} got home to ${home.name}.`]));
  const gist = rng.pick([`${h.name} travelled from ${home.name} to ${dest.name}, saw ${theLandmark(dest.landmark)} and tried the ${dest.famousFor}.`, `On a trip to ${dest.name}, ${h.name} visited ${theLandmark(dest.landmark)} and tasted the local ${dest.famousFor}.`]);
  return { doc: { source: 'story', text: out.text(), claims: out.claims }, plot: 'journey', hero: h, place: dest.name, gist };
}

const WEATHER = ['The sky was grey and low.', 'It was warm, and the bees were busy.', 'A cold wind came down from the hills.', 'The streets were still wet from the night rain.', 'The sun was shining brightly.', 'Fog hung over the roofs until noon.'];

function workday(rng: Rng, w: World, h: Person): Story | null {
  const home = w.places[h.home];
  const pr = pronouns(h);
  const others = rng.shuffle(w.residentsOf[h.home].filter((i) => w.people[i] !== h)).map((i) => w.people[i]);
  const out = new Writer();
  out.say(rng.pick([`${rng.pick(TIMES)}, ${h.name} began ${pr.poss} working day before sunrise.`, `${h.name} started ${pr.poss} working day early, as always.`, `It was a working day like any other for ${h.name}.`]));
  if (rng.next() < 0.5) out.say(rng.pick(WEATHER));
  out.say(personSentence(rng, w, h, 'job', pronRef(h)));
  out.say(personSentence(rng, w, h, 'home', pronRef(h)));
  for (const o of others.slice(0, rng.int(3))) {
    out.say({ text: rng.pick([`${o.name} came by before noon and stayed for a chat.`, `Later ${o.name}, who also lives in ${home.name}, stopped to say hello.`, `${o.name} needed help with something, and ${h.first} was glad to give it.`, `Around midday ${o.first} ${o.last} brought news from the market.`]), claims: [{ subject: o.id, rel: 'home', value: home.name }] });
  }
  out.say(rng.pick(['It was a long day, and there was a lot to do.', 'The work went well, though it rained in the afternoon.', 'By midday everything was done that needed doing.', 'Not everything went to plan, but nothing went badly wrong.', `${cap(pr.subj)} hummed an old song while ${pr.subj} worked.`]));
  if (h.pets.length && rng.next() < 0.6) out.say(personSentence(rng, w, h, 'pet', pronRef(h)));
  if (rng.next() < 0.7) out.say(personSentence(rng, w, h, 'food', pronRef(h)));
  out.say(rng.pick([`After work ${h.first} sat by the window and rested.`, `At night ${h.first} fell asleep as soon as ${pr.subj} lay down.`, `In the evening ${pr.subj} read for an hour and then went to bed.`, `${h.first} ended the day with a long walk.`]));
  const gist = `${h.name}, ${article(h.job)} in ${home.name}, had a busy working day and rested in the evening.`;
  return { doc: { source: 'story', text: out.text(), claims: [...out.claims, { subject: h.id, rel: 'home', value: home.name }, { subject: h.id, rel: 'job', value: h.job }] }, plot: 'workday', hero: h, place: home.name, gist };
}

function fair(rng: Rng, w: World, h: Person): Story | null {
  const home = w.places[h.home];
  const pr = pronouns(h);
  const rivals = rng.shuffle(w.residentsOf[h.home].filter((i) => w.people[i] !== h)).map((i) => w.people[i]).slice(0, rng.int(3));
  const contest = rng.pick(['the cooking contest', 'the contest for the best dish', 'the great cooking match']);
  const out = new Writer();
  out.say(rng.pick([`${rng.pick(TIMES)}, ${home.name} held its yearly fair, and ${h.name} decided to enter ${contest}.`, `Every year there is a fair in ${home.name}, and this year ${h.name} entered ${contest}.`, `${h.name} had waited all year for the fair in ${home.name}, because ${pr.subj} wanted to win ${contest}.`]));
  out.claims.push({ subject: h.id, rel: 'home', value: home.name });
  if (rng.next() < 0.5) out.say(rng.pick(WEATHER));
  out.say({ text: rng.pick([`${cap(pr.subj)} made a dish of ${h.food}, ${pr.poss} favourite food.`, `${cap(pr.subj)} cooked ${h.food}, because ${h.food} is what ${pr.subj} loves most.`, `Of course ${pr.subj} chose ${h.food}, ${pr.poss} favourite food, and worked on the recipe for days.`]), claims: [{ subject: h.id, rel: 'food', value: h.food }] });
  for (const r of rivals) {
    const brought = rng.next() < 0.4;
    out.say({ text: `${r.name}, ${article(r.job)}, ${brought ? `brought a dish of ${r.food}` : rng.pick(['entered too', 'was also in the contest', 'hoped to win as well'])}.`, claims: [{ subject: r.id, rel: 'job', value: r.job }, ...(brought ? [{ subject: r.id, rel: 'food' as const, value: r.food }] : [])] });
  }
  if (h.pets.length && rng.next() < 0.4) out.say(`${h.pets[0].name}, ${pr.poss} ${h.pets[0].kind}, watched from under the table.`);
  out.say(rng.pick(['The judges tasted every dish slowly and said nothing.', 'The crowd waited while the judges talked quietly.', 'Three judges walked from table to table with serious faces.', 'It took the judges a long time to decide.']));
  out.say(rng.pick([`In the end ${h.first} won first prize.`, `At last the judges announced that ${h.first} had won.`, `The prize went to ${h.first}.`, `${h.first} could hardly believe it when ${pr.poss} name was called as the winner.`]));
  out.say(rng.pick([`${h.first} was ${rng.pick(FEELINGS)}, and everyone at the fair ${rng.pick(['clapped', 'cheered', 'came to taste the winning dish'])}.`, `People at the fair asked ${h.first} for the recipe for weeks afterwards.`, `That night the whole of ${home.name} talked about the winning dish.`]));
  const gist = `${h.name} won the cooking contest at the fair in ${home.name} with a dish of ${h.food}.`;
  return { doc: { source: 'story', text: out.text(), claims: out.claims }, plot: 'fair', hero: h, place: home.name, gist };
}

function secret(rng: Rng, w: World, h: Person): Story | null {
  if (!h.secret) return null;
  const home = w.places[h.home];
  const pr = pronouns(h);
  const f = friendOf(rng, w, h);
  const out = new Writer();
  out.say(`${h.name} ${rng.pick(['seemed like an ordinary person', 'was well liked', 'was known to everyone'])} in ${home.name}.`);
  out.claims.push({ subject: h.id, rel: 'home', value: home.name });
  out.say(personSentence(rng, w, h, 'job', pronRef(h)));
  out.say(personSentence(rng, w, h, 'secret', pronRef(h)));
  if (f) {
    out.say({ text: `${rng.pick(TIMES)}, ${pr.poss} friend ${f.name} almost found out.`, claims: [{ subject: h.id, rel: 'friend', value: f.name }] });
    out.say(rng.pick([`${h.first} quickly changed the subject.`, `${h.first} laughed and said it was nothing.`]));
  }
  out.say(rng.pick(['And so the secret was kept, at least for now.', 'Some secrets are kept for a lifetime.']));
  const gist = `${h.name} of ${home.name} kept a secret.`;
  return { doc: { source: 'story', text: out.text(), claims: out.claims }, plot: 'secret', hero: h, place: home.name, gist };
}

const PLOTS: Record<Plot, (rng: Rng, w: World, h: Person) => Story | null> = { lost_pet: lostPet, gift, journey, workday, fair, secret };

/** A story of the given plot (or any plot), retrying heroes until one fits the plot. */
export function story(rng: Rng, w: World, plot?: Plot): Story {
  const plots = Object.keys(PLOTS) as Plot[];
  for (let tries = 0; tries < 10000; tries++) {
    const s = PLOTS[plot ?? rng.pick(plots)](rng, w, rng.pick(w.people));
    if (s) return s;
  }
  throw new RangeError(`no one in this world fits the plot '${plot}'`);
}

export function storyDocument(rng: Rng, w: World): Doc {
  return story(rng, w).doc;
}
