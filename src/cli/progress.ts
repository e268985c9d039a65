// How long-running work reads in a terminal and in a CI log alike: one plain line per report
// (no carriage-return tricks), aligned fields, human units.

export function fmtDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  sec = Math.max(0, Math.round(sec));
  const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

export function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** Report at most every `everySec` seconds, plus the first and last calls. */
export function throttle(everySec: number): (force?: boolean) => boolean {
  let last = -Infinity;
  return (force = false) => {
    const now = performance.now() / 1000;
    if (force || now - last >= everySec) {
      last = now;
      return true;
    }
    return false;
  };
}

export interface StepLine {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  tokensPerSec: number;
  etaSec: number;
  gradNorm?: number;
}

export function stepLine(e: StepLine): string {
  const w = String(e.steps).length;
  return [
    `step ${String(e.step).padStart(w)}/${e.steps}`,
    `loss ${e.loss.toFixed(4)}`,
    `lr ${e.lr.toExponential(2)}`,
    e.gradNorm !== undefined ? `norm ${e.gradNorm.toFixed(2)}` : null,
    `${fmtCount(e.tokensPerSec).padStart(6)} tok/s`,
    `ETA ${fmtDuration(e.etaSec)}`,
  ].filter(Boolean).join(' | ');
}
