// Stop strings over a stream of decoded text.
//
// Contract: feed the decoded text chunk by chunk with push(); each call returns the text that is
// now safe to show. Text that could still be the start of a stop string is held back until it is
// ruled out. Generation stops at the first stop string to be completed in the stream (the match
// with the smallest end position; if several end there, the one that starts first); the text
// before that match is released and the stop string itself never is. The result does not depend
// on how the text is split into chunks. When the stream ends without a stop, flush() releases
// whatever is held.
//
// Held text is at most (longest stop string − 1) characters, so each push costs
// O(chunk length × number of stop strings + longest stop²).
import { ConfigError } from '../util/errors.ts';

export interface StopPush {
  /** Text safe to emit now. */
  text: string;
  /** True once a stop string has been completed; no further text will be released. */
  stopped: boolean;
  /** The stop string that matched, when stopped. */
  stop?: string;
}

export class StopMatcher {
  readonly stops: readonly string[];
  private held = '';
  private done = false;
  private readonly longest: number;

  constructor(stops: readonly string[]) {
    for (const s of stops) {
      if (typeof s !== 'string' || s.length === 0) throw new ConfigError(`stop strings must be non-empty strings, found ${JSON.stringify(s)}`);
    }
    this.stops = Object.freeze([...stops]);
    this.longest = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** True once a stop string has matched. */
  get stopped(): boolean {
    return this.done;
  }

  /** Feed the next chunk of decoded text. */
  push(chunk: string): StopPush {
    if (this.done) return { text: '', stopped: true };
    const buf = this.held + chunk;
    const match = this.firstCompleted(buf);
    if (match) {
      this.done = true;
      this.held = '';
      return { text: buf.slice(0, match.start), stopped: true, stop: match.stop };
    }
    const keep = this.partialStart(buf);
    this.held = buf.slice(keep);
    return { text: buf.slice(0, keep), stopped: false };
  }

  /** End of stream: release the held text (nothing if a stop matched). */
  flush(): string {
    const text = this.held;
    this.held = '';
    return text;
  }

  /** The match completed first in `buf`, or null. (Held text alone never contains a full match.) */
  private firstCompleted(buf: string): { start: number; stop: string } | null {
    let best: { start: number; end: number; stop: string } | null = null;
    for (const stop of this.stops) {
      const start = buf.indexOf(stop);
      if (start < 0) continue;
      const end = start + stop.length;
      if (!best || end < best.end || (end === best.end && start < best.start)) best = { start, end, stop };
    }
    return best;
  }

  /** The earliest position from which the rest of `buf` is a proper prefix of some stop string. */
  private partialStart(buf: string): number {
    for (let j = Math.max(0, buf.length - this.longest + 1); j < buf.length; j++) {
      const tail = buf.slice(j);
      if (this.stops.some((s) => s.length > tail.length && s.startsWith(tail))) return j;
    }
    return buf.length;
  }
}

/**
 * Apply stop strings to a whole text at once (non-streaming use, and the reference the streaming
 * matcher is tested against): the text before the first completed stop string.
 */
export function truncateAtStop(text: string, stops: readonly string[]): { text: string; stopped: boolean; stop?: string } {
  const m = new StopMatcher(stops);
  const r = m.push(text);
  return r.stopped ? r : { text: r.text + m.flush(), stopped: false };
}
