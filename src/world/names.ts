// Names made from syllables: people, families, places, pets, species and the words of the world's
// second language. A NameBank hands out names that are unique across every kind (a pet is never
// called like a person, a place never like an English word of the lexicon), so a name in a text
// points at exactly one entity.
import type { Rng } from '../util/rng.ts';

const ONSETS = ['b', 'd', 'f', 'g', 'h', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'br', 'dr', 'gr', 'kl', 'st', 'th', 'sh', 'tr', 'j', 'w'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'a', 'e', 'o', 'i', 'a', 'ai', 'ea'];
const CODAS = ['', '', '', 'n', 'l', 'r', 's', 'm', 'th', 'nd', 'rk'];
const FAMILY_ENDINGS = ['son', 'ley', 'wick', 'dal', 'ren', 'more', 'by', 'ton', 'ard', 'ell'];
const PLACE_ENDINGS = ['ford', 'by', 'holm', 'wick', 'mere', 'ton', 'vale', 'stead', 'haven', 'moor', 'bridge', 'field'];

function syllable(rng: Rng, coda = true): string {
  return rng.pick(ONSETS) + rng.pick(VOWELS) + (coda ? rng.pick(CODAS) : '');
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export type NameKind = 'first' | 'family' | 'place' | 'pet' | 'species' | 'word';

function draw(rng: Rng, kind: NameKind): string {
  switch (kind) {
    case 'first': {
      const n = 2 + (rng.next() < 0.15 ? 1 : 0);
      let s = '';
      for (let i = 0; i < n; i++) s += syllable(rng, i === n - 1);
      return capitalize(s);
    }
    case 'family':
      return capitalize(syllable(rng, rng.next() < 0.5) + rng.pick(FAMILY_ENDINGS));
    case 'place':
      return capitalize(syllable(rng) + (rng.next() < 0.4 ? syllable(rng, false) : '') + rng.pick(PLACE_ENDINGS));
    case 'pet':
      return capitalize(syllable(rng, rng.next() < 0.5) + (rng.next() < 0.5 ? rng.pick(['y', 'o', 'i', 'ie']) : ''));
    case 'species':
      return syllable(rng, false) + syllable(rng) ;
    case 'word':
      return syllable(rng, rng.next() < 0.5) + (rng.next() < 0.6 ? syllable(rng, rng.next() < 0.3) : '');
  }
}

/** Hands out names unique (case-insensitively) across all kinds and distinct from reserved words. */
export class NameBank {
  private used = new Set<string>();
  constructor(private rng: Rng, reserved: Iterable<string> = []) {
    for (const w of reserved) this.used.add(w.toLowerCase());
  }

  /** A fresh name of the given kind; never returns a name twice. */
  next(kind: NameKind): string {
    for (let attempt = 0; ; attempt++) {
      const name = draw(this.rng, kind);
      const key = name.toLowerCase();
      // Short names collide with English words too easily ("Bat", "Ten"): require 4+ letters.
      if (key.length < 4 || this.used.has(key)) {
        if (attempt > 10000) throw new Error(`NameBank: ran out of ${kind} names`);
        continue;
      }
      this.used.add(key);
      return name;
    }
  }

  has(name: string): boolean {
    return this.used.has(name.toLowerCase());
  }
}
