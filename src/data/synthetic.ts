// A small synthetic crawl for data/'s own tests and benchmarks (data/ cannot use world/): good
// documents from a random grammar over a generated vocabulary, junk (keyword spam, navigation
// boilerplate, character noise), exact copies and near copies (a few words replaced and two
// sentences swapped), shuffled, with the planted truth in the answers format of evaluate.ts.
import { Rng } from '../util/rng.ts';

export interface SyntheticRecord {
  id: string;
  text: string;
  answer: { id: string; junk: boolean; junk_kind: string | null; duplicate_of: string | null; dup_kind: 'exact' | 'near' | null };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'tu', 'sa', 'vel', 'dor', 'in', 'ba', 'qui', 'zen', 'ol', 'pra', 'fe', 'nu'];
const VERBS = ['visited', 'described', 'built', 'painted', 'remembered', 'sold', 'studied', 'repaired', 'found', 'followed', 'protected', 'carried'];
const LINKS = ['near', 'behind', 'across from', 'north of', 'beside', 'under'];
const SPAM = ['buy', 'cheap', 'free', 'best', 'deal', 'click', 'now', 'sale', 'discount', 'win', 'casino', 'offer'];
const NAV = ['Home', 'About', 'Contact', 'Login', 'Register', 'Privacy', 'Terms', 'Help', 'Sitemap', 'Search', 'Cart', 'FAQ'];

function makeWord(rng: Rng): string {
  let w = '';
  for (let i = 0, n = 2 + rng.int(2); i < n; i++) w += rng.pick(SYLLABLES);
  return w;
}

export class SyntheticCrawl {
  private readonly rng: Rng;
  private readonly names: string[];
  private readonly things: string[];
  private next = 0;

  constructor(seed: number, vocabulary = 3000) {
    this.rng = new Rng(seed);
    this.names = Array.from({ length: vocabulary }, () => makeWord(this.rng)).map((w) => w[0].toUpperCase() + w.slice(1));
    this.things = Array.from({ length: vocabulary }, () => makeWord(this.rng));
  }

  private sentence(): string {
    const r = this.rng;
    return `${r.pick(this.names)} ${r.pick(VERBS)} the ${r.pick(this.things)} ${r.pick(LINKS)} the ${r.pick(this.things)} of ${r.pick(this.names)} in ${1800 + r.int(200)}.`;
  }

  /** A good document of `sentences` sentences. */
  good(sentences = 10 + this.rng.int(20)): string {
    return Array.from({ length: sentences }, () => this.sentence()).join(' ');
  }

  junk(): { text: string; kind: string } {
    const r = this.rng;
    const kind = r.pick(['keyword_spam', 'boilerplate', 'garbled']);
    if (kind === 'keyword_spam') {
      const topic = r.pick(this.things);
      return { kind, text: Array.from({ length: 40 + r.int(60) }, () => (r.next() < 0.3 ? topic : r.pick(SPAM))).join(' ') };
    }
    if (kind === 'boilerplate') return { kind, text: Array.from({ length: 4 + r.int(4) }, () => r.shuffle([...NAV]).slice(0, 6).join(' | ')).join('\n') + `\n© ${2000 + r.int(25)} All rights reserved.` };
    const chars = [...this.good(8)];
    for (let i = 0; i < chars.length; i++) if (r.next() < 0.3) chars[i] = r.pick(['#', '@', 'ï¿½', '%', '{', '&nbsp;']);
    return { kind, text: chars.join('') };
  }

  /** A near copy: `edits` words replaced and two neighbouring sentences swapped. */
  nearCopy(text: string, edits = 2): string {
    const r = this.rng;
    const sentences = text.split(/(?<=\.) /);
    if (sentences.length > 3) {
      const k = r.int(sentences.length - 1);
      [sentences[k], sentences[k + 1]] = [sentences[k + 1], sentences[k]];
    }
    const words = sentences.join(' ').split(' ');
    for (let e = 0; e < edits; e++) words[r.int(words.length)] = r.pick(this.things);
    return words.join(' ');
  }

  /** `n` shuffled crawl records: 60% good, 20% junk, 5% exact and 15% near copies of good ones. */
  crawl(n: number): SyntheticRecord[] {
    const r = this.rng;
    const recs: { text: string; junk: string | null; original: number | null; dup: 'exact' | 'near' | null }[] = [];
    const nGood = Math.round(n * 0.6);
    const nJunk = Math.round(n * 0.2);
    const nExact = Math.round(n * 0.05);
    for (let i = 0; i < nGood; i++) recs.push({ text: this.good(), junk: null, original: null, dup: null });
    for (let i = 0; i < nJunk; i++) {
      const j = this.junk();
      recs.push({ text: j.text, junk: j.kind, original: null, dup: null });
    }
    for (let i = 0; recs.length < n; i++) {
      const src = r.int(nGood);
      const exact = i < nExact;
      recs.push({ text: exact ? recs[src].text : this.nearCopy(recs[src].text), junk: null, original: src, dup: exact ? 'exact' : 'near' });
    }
    const order = r.shuffle(recs.map((_, i) => i));
    const idOf: string[] = [];
    order.forEach((rec, pos) => (idOf[rec] = `doc-${this.next + pos}`));
    this.next += n;
    return order.map((i) => {
      const x = recs[i];
      return { id: idOf[i], text: x.text, answer: { id: idOf[i], junk: x.junk !== null, junk_kind: x.junk, duplicate_of: x.original === null ? null : idOf[x.original], dup_kind: x.dup } };
    });
  }
}
