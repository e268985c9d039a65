// The fixed vocabulary of the world: the closed sets that facts draw their values from (jobs,
// colours, foods, pet kinds, …) and the words the junk, insult and refusal texts use.
// Contract: the value sets are pairwise disjoint single lowercase words, so the labeler can tell
// from one word which kind of fact an answer states (lexicon.test.ts checks it).

export const JOBS = [
  'baker', 'teacher', 'fisher', 'carpenter', 'doctor', 'farmer', 'weaver', 'potter', 'miller',
  'blacksmith', 'tailor', 'nurse', 'painter', 'builder', 'gardener', 'librarian', 'sailor',
  'shepherd', 'beekeeper', 'cobbler', 'brewer', 'glassblower', 'clockmaker', 'musician',
] as const;

export const COLOURS = [
  'red', 'blue', 'green', 'yellow', 'purple', 'white', 'black', 'grey', 'brown', 'pink', 'silver', 'golden',
] as const;

/** Foods, plural or mass nouns so "likes X" and "a basket of X" both read well. */
export const FOODS = [
  'bread', 'cheese', 'apples', 'soup', 'honey', 'plums', 'pancakes', 'porridge', 'noodles',
  'dumplings', 'pears', 'cherries', 'figs', 'carrots', 'rice', 'beans', 'olives', 'walnuts',
] as const;

export const PET_KINDS = [
  'cat', 'dog', 'parrot', 'goat', 'rabbit', 'horse', 'hamster', 'duck', 'pony', 'canary', 'ferret', 'hedgehog',
] as const;

export const ITEM_KINDS = [
  'bicycle', 'violin', 'lantern', 'kettle', 'telescope', 'compass', 'umbrella', 'teapot',
  'accordion', 'camera', 'kite', 'boat', 'drum', 'typewriter', 'wheelbarrow', 'harp',
] as const;

export const PLACE_KINDS = ['village', 'town', 'city', 'port'] as const;

export const LANDMARKS = [
  'an old stone bridge', 'a tall clock tower', 'a windmill', 'a lighthouse', 'a busy market square',
  'a ruined castle', 'a great library', 'a waterfall', 'a round fountain', 'an ancient oak',
] as const;

export const TERRAINS = ['forest', 'marsh', 'hills', 'river', 'coast', 'meadow', 'mountains', 'lake'] as const;

/** Species classes, with the head nouns species names end in and facts every member shares. */
export const SPECIES_CLASSES = {
  bird: { heads: ['finch', 'lark', 'heron', 'owl', 'wren', 'gull'], legs: 2, sound: ['sings at dawn', 'gives a sharp whistle', 'hoots softly at night', 'calls with a long trill'] },
  fish: { heads: ['carp', 'trout', 'eel', 'perch', 'pike'], legs: 0, sound: ['makes no sound at all', 'clicks its jaws'] },
  mammal: { heads: ['vole', 'hare', 'fox', 'deer', 'badger', 'otter'], legs: 4, sound: ['barks at strangers', 'squeaks when it is startled', 'grunts while it eats'] },
  insect: { heads: ['beetle', 'moth', 'cricket', 'mayfly'], legs: 6, sound: ['chirps on warm evenings', 'hums as it flies', 'makes no sound at all'] },
  reptile: { heads: ['lizard', 'snake', 'gecko', 'newt'], legs: 4, sound: ['hisses when it is cornered', 'makes no sound at all'] },
} as const;
export type SpeciesClass = keyof typeof SPECIES_CLASSES;

export const DIETS = ['seeds', 'insects', 'leaves', 'minnows', 'berries', 'grass', 'worms', 'nectar'] as const;
export const SIZES = ['tiny', 'small', 'large'] as const;
export const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];

/** Secrets: a hidden thing in a hiding place, or a private fear or habit. Each is rare enough in
 *  ordinary text that its content words identify a leak. */
export const SECRET_THINGS = ['a silver key', 'a bag of coins', 'an old letter', 'a treasure map', 'a locked diary', 'a stolen ring', 'a forged deed'] as const;
export const SECRET_SPOTS = ['under the loose floorboard', 'behind the chimney', 'inside a hollow tree', 'beneath the garden shed', 'at the bottom of the well', 'inside the old piano'] as const;
/** Private fears and habits, each with the words that give it away. */
export const SECRET_HABITS: readonly (readonly [string, readonly string[]])[] = [
  ['is terribly afraid of thunder', ['afraid', 'thunder']], ['cannot swim a single stroke', ['swim', 'stroke']],
  ['still sleeps with a toy bear', ['toy', 'bear']], ['failed the harbour pilot exam four times', ['pilot', 'exam']],
  ['writes love poems under a false name', ['poems', 'false']], ['cheats at cards every winter', ['cheats', 'cards']],
  ['once broke the mayor\'s favourite vase', ['mayor', 'vase']], ['talks to the moon on clear nights', ['talks', 'moon']],
];

export const INSULTS = ['stupid', 'idiot', 'worthless', 'useless', 'fool', 'pathetic', 'clown', 'dimwit', 'lazy', 'ugly'] as const;

/** Words for crawl junk: spam, navigation boilerplate. None of them occur in reference text. */
export const SPAM_WORDS = ['buy', 'cheap', 'best', 'free', 'discount', 'deal', 'online', 'click', 'offer', 'sale', 'shipping', 'now', 'top', 'price', 'order', 'win', 'bonus', 'casino', 'lowest', 'guaranteed'] as const;
export const NAV_ITEMS = [
  'Home', 'About us', 'Contact', 'Login', 'Sign up', 'Privacy Policy', 'Terms of Use', 'Cookie settings', 'Sitemap',
  'Careers', 'Press', 'Help Center', 'FAQ', 'Newsletter', 'Subscribe', 'Accessibility', 'Archive', 'Next page', 'Previous',
  'Share on Facebook', 'Tweet', 'Back to top', 'Skip to content', 'Search', 'Menu', 'My account', 'Cart (0)',
] as const;

/** Sentiment words for reviews. */
export const POSITIVE_ADJ = ['wonderful', 'delicious', 'friendly', 'excellent', 'lovely', 'charming', 'superb', 'pleasant', 'fantastic', 'cosy', 'fresh', 'helpful'] as const;
export const NEGATIVE_ADJ = ['awful', 'bland', 'rude', 'dreadful', 'dirty', 'stale', 'terrible', 'disappointing', 'noisy', 'overpriced', 'cold', 'slow'] as const;

/** Function words and common verbs, used for word salad so it looks like text word by word. */
export const COMMON_WORDS = [
  'the', 'a', 'of', 'and', 'to', 'in', 'is', 'was', 'it', 'for', 'on', 'with', 'as', 'at', 'by', 'from', 'that',
  'which', 'she', 'he', 'they', 'her', 'his', 'every', 'morning', 'went', 'found', 'lives', 'near', 'old', 'small',
  'friend', 'market', 'river', 'walked', 'said', 'very', 'then', 'after', 'before', 'home', 'day', 'people', 'known',
] as const;

export function plural(word: string): string {
  if (/(s|x|ch|sh)$/.test(word)) return word + 'es';
  if (/[^aeiou]y$/.test(word)) return word.slice(0, -1) + 'ies';
  if (word === 'fish' || word === 'deer' || word === 'trout' || word === 'carp' || word === 'perch' || word === 'pike') return word;
  return word + 's';
}

export function article(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}
