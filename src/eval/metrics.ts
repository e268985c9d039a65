// Per-item metrics and their aggregation with standard errors, as lm-evaluation-harness computes
// them: accuracy from log-likelihoods (raw and per character), exact match and F1 after SQuAD's
// answer normalisation, and the standard error of a mean (sample standard deviation / √n).

/** argmax of xs (the first on ties, as numpy). */
export function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/**
 * acc: the choice with the highest log-likelihood is the gold one. acc_norm: the same after
 * dividing each log-likelihood by its choice's length in characters (lm-evaluation-harness).
 */
export function choiceMetrics(logprobs: readonly number[], choices: readonly string[], gold: number): { acc: number; acc_norm: number } {
  const norm = logprobs.map((lp, i) => lp / Math.max(1, choices[i].length));
  return { acc: argmax(logprobs) === gold ? 1 : 0, acc_norm: argmax(norm) === gold ? 1 : 0 };
}

/** SQuAD's normalisation: lower case, no punctuation, no articles (a, an, the), single spaces. */
export function normalizeAnswer(s: string): string {
  return s
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, '')
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .join(' ');
}

export function exactMatch(prediction: string, answer: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(answer) ? 1 : 0;
}

/** SQuAD's token F1 between normalised answers (bag of words, overlap counted with multiplicity). */
export function f1Score(prediction: string, answer: string): number {
  const p = normalizeAnswer(prediction).split(' ').filter(Boolean);
  const g = normalizeAnswer(answer).split(' ').filter(Boolean);
  if (p.length === 0 || g.length === 0) return p.length === g.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) { same++; counts.set(t, c - 1); }
  }
  if (same === 0) return 0;
  const precision = same / p.length, recall = same / g.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Mean and its standard error, sample standard deviation (n − 1) / √n; 0 for fewer than two items. */
export function meanStderr(xs: readonly number[]): { mean: number; stderr: number } {
  const n = xs.length;
  if (n === 0) return { mean: NaN, stderr: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, stderr: 0 };
  const v = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  return { mean, stderr: Math.sqrt(v / n) };
}
