// Corpus BLEU exactly as sacreBLEU 2 computes it by default (tests/golden/bleu/ checks it against
// sacrebleu.corpus_bleu): mteval-v13a tokenisation, n-grams 1…4 clipped by the most any reference
// has, the closest reference length (ties: the shorter), brevity penalty exp(1 − r/c) when c < r,
// and "exp" smoothing (an order with no match counts as 1/2^k of a match, k = such orders so far).
// Scores are 0–100, as sacreBLEU prints them.

/** sacreBLEU's 13a tokeniser: HTML entities unescaped, punctuation split, periods and commas split unless between digits. */
export function tokenize13a(line: string): string {
  let s = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (s.includes('&')) s = s.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  s = ` ${s} `;
  s = s.replace(/([{-~[-` -&(-+:-@/])/g, ' $1 ');
  s = s.replace(/([^0-9])([.,])/g, '$1 $2 ');
  s = s.replace(/([.,])([^0-9])/g, ' $1 $2');
  s = s.replace(/([0-9])(-)/g, '$1 $2 ');
  return s.split(/\s+/u).filter(Boolean).join(' ');
}

function ngrams(words: string[], maxN: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let n = 1; n <= maxN; n++) {
    for (let i = 0; i + n <= words.length; i++) {
      const k = n + '\u0001' + words.slice(i, i + n).join(' ');
      m.set(k, (m.get(k) ?? 0) + 1);
    }
  }
  return m;
}

export interface BleuScore {
  score: number;
  /** Matched and total n-grams, n = 1…4. */
  counts: number[];
  totals: number[];
  precisions: number[];
  bp: number;
  sysLen: number;
  refLen: number;
}

/**
 * Corpus BLEU of hypotheses against reference streams (`refs[k][i]` is the k-th reference of
 * segment i, sacreBLEU's layout).
 */
export function corpusBleu(hyps: readonly string[], refs: readonly (readonly string[])[], maxN = 4): BleuScore {
  for (const r of refs) if (r.length !== hyps.length) throw new RangeError(`corpusBleu: a reference stream has ${r.length} segments, the hypotheses ${hyps.length}`);
  const counts = new Array(maxN).fill(0), totals = new Array(maxN).fill(0);
  let sysLen = 0, refLen = 0;
  hyps.forEach((h, i) => {
    const hw = tokenize13a(h).split(' ').filter(Boolean);
    const refWords = refs.map((r) => tokenize13a(r[i]).split(' ').filter(Boolean));
    sysLen += hw.length;
    let best = Infinity, bestDiff = Infinity;
    for (const rw of refWords) {
      const d = Math.abs(rw.length - hw.length);
      if (d < bestDiff || (d === bestDiff && rw.length < best)) { bestDiff = d; best = rw.length; }
    }
    refLen += best;
    const maxRef = new Map<string, number>();
    for (const rw of refWords) for (const [k, c] of ngrams(rw, maxN)) maxRef.set(k, Math.max(maxRef.get(k) ?? 0, c));
    for (const [k, c] of ngrams(hw, maxN)) {
      const n = Number(k.slice(0, k.indexOf('\u0001')));
      totals[n - 1] += c;
      counts[n - 1] += Math.min(c, maxRef.get(k) ?? 0);
    }
  });
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1;
  const precisions = new Array(maxN).fill(0);
  if (!counts.some((c) => c > 0)) return { score: 0, counts, totals, precisions, bp, sysLen, refLen };
  let smooth = 1;
  for (let n = 0; n < maxN; n++) {
    if (totals[n] === 0) break;
    if (counts[n] === 0) { smooth *= 2; precisions[n] = 100 / (smooth * totals[n]); } else precisions[n] = (100 * counts[n]) / totals[n];
  }
  const log = (p: number) => (p === 0 ? -9999999999 : Math.log(p));
  const score = bp * Math.exp(precisions.reduce((s, p) => s + log(p), 0) / maxN);
  return { score, counts, totals, precisions, bp, sysLen, refLen };
}

/** Fraction of hypotheses equal to their (first) reference after trimming. */
export function exactMatch(hyps: readonly string[], refs: readonly string[]): number {
  if (!hyps.length) return 0;
  return hyps.filter((h, i) => h.trim() === refs[i].trim()).length / hyps.length;
}
