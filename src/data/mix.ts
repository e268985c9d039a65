// Mixing sources by weight, as GPT-3 did (Table 2.2): each source gets weight/Σweights of a
// budget (characters or tokens) whatever its size, so a small high-quality source is repeated
// (more than one epoch) and a big one is subsampled (less than one). A source with e epochs is
// emitted ⌊e⌋ whole times plus a seeded Bernoulli(e − ⌊e⌋) sample of one more pass; sources are
// interleaved by picking the next document's source with probability ∝ its unfilled share, so the
// output stream is mixed all the way through. Memory: one document per source.
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';
import type { Doc } from './readers.ts';

export interface MixSource {
  name: string;
  weight: number;
  /** Units (characters or tokens) in one pass over the source. */
  units: number;
  docs: number;
  /** Opens a fresh pass over the source. */
  open: () => AsyncIterable<Doc>;
}

export interface MixOptions {
  /** Total units to emit (approximately: the last pass is sampled). */
  budget: number;
  /** Units of one document (text.length for characters, encode(text).length for tokens). */
  measure: (doc: Doc) => number;
  seed: number;
}

export interface MixSourceStats {
  name: string;
  weight: number;
  /** weight / Σ weights. */
  share: number;
  source_docs: number;
  source_units: number;
  target_units: number;
  /** target_units / source_units. */
  target_epochs: number;
  emitted_docs: number;
  emitted_units: number;
  /** emitted_units / source_units: the epochs this source got. */
  epochs: number;
}

/** Stream the mixture; `stats` (one entry per source) is complete when the stream ends. */
export async function* mixSources(sources: MixSource[], opts: MixOptions, stats: MixSourceStats[]): AsyncGenerator<{ source: string; doc: Doc }> {
  if (!sources.length) throw new ConfigError('mix: needs at least one source');
  if (!(opts.budget > 0)) throw new ConfigError(`mix: budget must be positive, got ${opts.budget}`);
  const total = sources.reduce((s, x) => s + x.weight, 0);
  for (const s of sources) {
    if (!(s.weight > 0)) throw new ConfigError(`mix: weight of source '${s.name}' must be positive, got ${s.weight}`);
    if (!(s.units > 0)) throw new ConfigError(`mix: source '${s.name}' is empty, so it cannot supply its share`);
  }
  const rng = new Rng(opts.seed).fork('mix');
  const streams = sources.map((s, i) => {
    const share = s.weight / total;
    const target = share * opts.budget;
    const st: MixSourceStats = {
      name: s.name, weight: s.weight, share, source_docs: s.docs, source_units: s.units, target_units: target,
      target_epochs: target / s.units, emitted_docs: 0, emitted_units: 0, epochs: 0,
    };
    stats.push(st);
    return { st, iter: passes(s, target / s.units, rng.fork(`source-${i}`))[Symbol.asyncIterator]() };
  });
  const active = [...streams];
  while (active.length) {
    // Unfilled share of each source; a source past its target (the sampled pass ran long) still drains.
    const need = active.map((a) => Math.max(a.st.target_units - a.st.emitted_units, 1e-9 * a.st.target_units));
    let pick = rng.next() * need.reduce((s, x) => s + x, 0);
    let k = 0;
    while (k < active.length - 1 && pick >= need[k]) pick -= need[k++];
    const a = active[k];
    const r = await a.iter.next();
    if (r.done) {
      active.splice(k, 1);
      continue;
    }
    a.st.emitted_docs++;
    a.st.emitted_units += opts.measure(r.value);
    a.st.epochs = a.st.emitted_units / a.st.source_units;
    yield { source: a.st.name, doc: r.value };
  }
}

async function* passes(s: MixSource, epochs: number, rng: Rng): AsyncGenerator<Doc> {
  const whole = Math.floor(epochs);
  for (let p = 0; p < whole; p++) yield* s.open();
  const frac = epochs - whole;
  if (frac <= 0) return;
  for await (const doc of s.open()) if (rng.next() < frac) yield doc;
}
