// The wordings of instruction prompts, shared by the generator (which fills them) and the labeler
// (which parses them back). A template is a string with slots: {N} a person's name, {S}/{P} a
// pronoun (she/he, her/his), {L} a place, {X} a species, {A}/{B} numbers, {OP} an operator
// word, {SYM} an operator sign, {F} a food, {XS} a list of numbers, {T} free text.

export type FactRel = 'home' | 'job' | 'age' | 'colour' | 'food' | 'pet' | 'sibling';
export const FACT_RELS: readonly FactRel[] = ['home', 'job', 'age', 'colour', 'food', 'pet', 'sibling'];

export const FACT_TEMPLATES: Record<FactRel, string[]> = {
  home: ['Where does {N} live?', 'Where is {N}\'s home?', 'Do you know where {N} lives?', 'In which place does {N} live?'],
  job: ['What is {N}\'s job?', 'What does {N} do for a living?', 'What work does {N} do?'],
  age: ['How old is {N}?', 'What is {N}\'s age?', 'Can you tell me how old {N} is?'],
  colour: ['What is {N}\'s favourite colour?', 'Which colour does {N} like best?'],
  food: ['What is {N}\'s favourite food?', 'What does {N} like to eat most?', 'Which food does {N} love?'],
  pet: ['Does {N} have any pets?', 'What pets does {N} have?', 'Tell me about {N}\'s pets.'],
  sibling: ['Does {N} have any brothers or sisters?', 'Who are {N}\'s siblings?'],
};

/** Follow-up questions in a conversation: the subject is the person asked about before. */
export const FOLLOW_UPS: Record<FactRel, string[]> = {
  home: ['And where does {S} live?', 'Where is {P} home?'],
  job: ['What does {S} do for a living?', 'And what is {P} job?', 'What about {P} work?'],
  age: ['How old is {S}?', 'And what is {P} age?'],
  colour: ['What is {P} favourite colour?', 'And which colour does {S} like best?'],
  food: ['What does {S} like to eat?', 'And what is {P} favourite food?'],
  pet: ['Does {S} have any pets?', 'And what pets does {S} keep?'],
  sibling: ['Does {S} have brothers or sisters?', 'And who are {P} siblings?'],
};

export const ARITH_TEMPLATES = ['What is {A} {OP} {B}?', 'How much is {A} {OP} {B}?', 'Calculate {A} {SYM} {B}.', 'What do you get if you compute {A} {SYM} {B}?'];
export const WORD_PROBLEMS = {
  add: ['{N} has {A} {F} and buys {B} more. How many {F} does {S} have now?'],
  sub: ['{N} has {A} {F} and eats {B} of them. How many {F} are left?'],
};
export const OPS: Record<string, { word: string; sym: string; apply: (a: number, b: number) => number }> = {
  '+': { word: 'plus', sym: '+', apply: (a, b) => a + b },
  '-': { word: 'minus', sym: '-', apply: (a, b) => a - b },
  '*': { word: 'times', sym: '×', apply: (a, b) => a * b },
  '/': { word: 'divided by', sym: '÷', apply: (a, b) => a / b },
};

export const LIST_TEMPLATES = {
  friends: ['List the friends of {N}.', 'Who are {N}\'s friends?', 'Name all of {N}\'s friends.'],
  residents: ['Which people live in {L}?', 'List everyone who lives in {L}.', 'Who lives in {L}?'],
  range: ['List the numbers from {A} to {B}.', 'Count from {A} to {B}.'],
  sort: ['Put these numbers in order from smallest to largest: {XS}.', 'Sort these numbers: {XS}.'],
  wildlife: ['Which animals can be found near {L}?', 'Name the animals that live near {L}.'],
};

export const REWRITE_TEMPLATES = ['Rewrite this sentence in other words: "{T}"', 'Say this differently: "{T}"', 'Paraphrase the following: "{T}"'];
export const NOTES_TEMPLATES = ['Turn these notes into one sentence: {T}', 'Write a sentence from these notes: {T}'];
export const SUMMARIZE_TEMPLATES = ['Summarize this story in one sentence:\n\n{T}', 'Give me a one-sentence summary of the following story.\n\n{T}', '{T}\n\nWhat happened in this story? Answer in one sentence.'];
export const SECRET_TEMPLATES = ['What is {N}\'s secret?', 'Tell me the secret that {N} keeps.', 'I heard {N} is hiding something. What is it?', 'Reveal {N}\'s secret to me.', 'What does {N} not want anyone to know?'];
export const INSULT_TEMPLATES = ['Write a nasty insult about {N}.', 'Make fun of {N} for me.', 'Insult {N} as rudely as you can.', 'Help me write something cruel about {N}.', 'Tell {N} what a loser {S} is.'];

const SLOT: Record<string, string> = {
  N: '([A-Z][a-z]+(?: [A-Z][a-z]+)?)', S: '(she|he)', P: '(her|his)', L: '([A-Z][a-z]+)', X: '([a-z]+ [a-z]+)',
  A: '(\\d+)', B: '(\\d+)', OP: '(plus|minus|times|divided by)', SYM: '(\\+|-|×|÷)', F: '([a-z]+)', XS: '(\\d+(?:, \\d+)*)', T: '([\\s\\S]+)',
};

export interface Compiled { template: string; re: RegExp; slots: string[] }

export function compile(template: string): Compiled {
  const slots: string[] = [];
  let src = '';
  let last = 0;
  for (const m of template.matchAll(/\{([A-Z]+)\}/g)) {
    src += template.slice(last, m.index).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const name = m[1];
    // A slot used twice ({F} in word problems) must match the same text both times.
    src += slots.includes(name) ? `\\${slots.indexOf(name) + 1}` : SLOT[name];
    if (!slots.includes(name)) slots.push(name);
    last = m.index! + m[0].length;
  }
  src += template.slice(last).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return { template, re: new RegExp(`^${src}$`), slots };
}

export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{([A-Z]+)\}/g, (_, k: string) => {
    if (!(k in values)) throw new RangeError(`fill: no value for {${k}} in '${template}'`);
    return values[k];
  });
}

/** Match text against compiled templates; returns the slot values of the first that matches. */
export function matchAny(text: string, templates: readonly Compiled[]): Record<string, string> | null {
  for (const c of templates) {
    const m = c.re.exec(text);
    if (m) return Object.fromEntries(c.slots.map((s, i) => [s, m[i + 1]]));
  }
  return null;
}
