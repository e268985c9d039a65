// The generations of one HTTP request (n choices × prompts) as one stream of events, in the order
// the engine produced them, with one cancel for all of them. Admission control lives here: a
// request whose generations would overflow the engine's slots plus its queue gets 429 at once.
import { randomInt } from 'node:crypto';
import type { EngineClient, EngineError, Generation } from './engine-client.ts';
import type { Done, GenerateParams } from './protocol.ts';
import { ApiError } from './api-error.ts';
import type { ServerMetrics } from './metrics.ts';
import type { ServerLimits } from './limits.ts';

export interface Job {
  prompt: number[];
  /** The choice index in the response. */
  index: number;
  seed: number;
  maxTokens: number;
}

export type JobEvent =
  | { index: number; kind: 'text'; text: string; tokens: number }
  | { index: number; kind: 'done'; done: Done }
  | { index: number; kind: 'error'; error: EngineError };

/** A seed for choice i: the request's seed + i, or a fresh random one. */
export function choiceSeed(seed: number | null, i: number): number {
  return seed === null ? randomInt(2 ** 32) : (seed + i) >>> 0;
}

export interface JobRun {
  events: AsyncIterable<JobEvent>;
  cancel(): void;
}

/** What runJobs needs from the server. */
export interface JobHost {
  engine: EngineClient;
  limits: ServerLimits;
  metrics: ServerMetrics;
  /** Runs not yet finished (SIGTERM's drain ends them when its time is up). */
  active: Set<JobRun>;
}

export function runJobs(host: JobHost, jobs: Job[], params: Omit<GenerateParams, 'prompt' | 'seed' | 'maxTokens'>): JobRun {
  const { engine, limits, metrics } = host;
  if (engine.stats.inFlight + jobs.length > limits.maxBatch + limits.maxQueue) {
    throw new ApiError(429, 'rate_limit_error', `the server is busy: ${engine.stats.inFlight} generations are running or queued (limit ${limits.maxBatch + limits.maxQueue}); retry shortly`, null, 'queue_full');
  }
  const queue: JobEvent[] = [];
  let wake: (() => void) | null = null;
  const push = (e: JobEvent) => {
    queue.push(e);
    wake?.();
  };
  const t0 = performance.now();
  let open = jobs.length;
  const gens: Generation[] = jobs.map((job) => {
    let first = true;
    metrics.promptTokens += job.prompt.length;
    return engine.generate({ ...params, prompt: job.prompt, seed: job.seed, maxTokens: job.maxTokens }, {
      onText: (text, tokens) => {
        if (first && tokens > 0) {
          first = false;
          metrics.timeToFirstToken((performance.now() - t0) / 1000);
        }
        metrics.completionTokens += tokens;
        push({ index: job.index, kind: 'text', text, tokens });
      },
      onDone: (done) => { open--; push({ index: job.index, kind: 'done', done }); },
      onError: (error) => { open--; push({ index: job.index, kind: 'error', error }); },
    });
  });
  async function* events(): AsyncGenerator<JobEvent> {
    try {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (open === 0) return;
        await new Promise<void>((resolve) => { wake = resolve; });
        wake = null;
      }
    } finally {
      host.active.delete(run);
    }
  }
  const run: JobRun = { events: events(), cancel: () => gens.forEach((g) => g.cancel()) };
  host.active.add(run);
  return run;
}
