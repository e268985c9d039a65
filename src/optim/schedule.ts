// Learning-rate schedules. Steps count from 0 (the first update uses step 0).

export interface WarmupCosine {
  maxLr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
}

/** Linear warmup to maxLr, then cosine decay to minLr at totalSteps (constant minLr after). */
export function warmupCosine(step: number, s: WarmupCosine): number {
  if (step < s.warmupSteps) return (s.maxLr * (step + 1)) / s.warmupSteps;
  if (step >= s.totalSteps) return s.minLr;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const t = (step - s.warmupSteps) / span;
  return s.minLr + 0.5 * (s.maxLr - s.minLr) * (1 + Math.cos(Math.PI * t));
}

/** Linear warmup then linear decay to 0 (BERT), constant after totalSteps. */
export function warmupLinear(step: number, maxLr: number, warmupSteps: number, totalSteps: number): number {
  if (step < warmupSteps) return (maxLr * (step + 1)) / warmupSteps;
  return maxLr * Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
}

/** The Transformer paper's schedule: d_model^−0.5 · min(step^−0.5, step · warmup^−1.5), step from 1. */
export function noamLr(step: number, dModel: number, warmupSteps: number, factor = 1): number {
  const s = Math.max(1, step + 1);
  return factor * dModel ** -0.5 * Math.min(s ** -0.5, s * warmupSteps ** -1.5);
}
