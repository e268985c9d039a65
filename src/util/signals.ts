// Ctrl-C during long work: the first SIGINT/SIGTERM asks the work to stop at its next safe point
// (a training loop saves a checkpoint there); the handlers are then removed, so a second signal
// ends the process at once with the default action (exit 130 / 143).
import { GptkitError } from './errors.ts';

/** Raised by work that stopped on a signal after saving what it had; the CLI exits 130. */
export class InterruptedError extends GptkitError {
  constructor(message: string, hint?: string) {
    super('interrupted', message, hint);
  }
}

export interface StopRequest {
  /** The signal received, once one has been. */
  readonly signal: NodeJS.Signals | null;
  /** Remove the handlers (work finished normally). */
  dispose(): void;
}

export function stopOnSignal(): StopRequest {
  let signal: NodeJS.Signals | null = null;
  const onSignal = (s: NodeJS.Signals) => {
    signal = s;
    dispose();
  };
  const dispose = () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { get signal() { return signal; }, dispose };
}

/** Let pending signal handlers (and other events) run between synchronous steps. */
export function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
