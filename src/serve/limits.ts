// Every limit of `gptkit serve`, one named constant each; each has a flag (cli/serve.ts) and ends
// up in ServerLimits. Requests beyond a limit get a 4xx in OpenAI's error shape, never a hang.

/** Requests decoded together (the engine's slots): `--max-batch`. */
export const DEFAULT_MAX_BATCH = 16;
/** Generations waiting for a slot before new ones get 429: `--max-queue`. */
export const DEFAULT_MAX_QUEUE = 64;
/** Largest request body in bytes (413 beyond): `--max-body-bytes`. */
export const DEFAULT_MAX_BODY_BYTES = 1 << 20;
/** Choices per request (`n`): `--max-n`. */
export const DEFAULT_MAX_N = 8;
/** Stop strings per request (OpenAI allows 4): `--max-stop`. */
export const DEFAULT_MAX_STOP = 4;
/** Prompts in one /v1/completions request: `--max-prompts`. */
export const DEFAULT_MAX_PROMPTS = 16;
/** How long SIGTERM waits for in-flight streams before ending them, ms: `--drain-timeout-ms`. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/** Seconds a client is told to wait after a 429 (`Retry-After`). */
export const RETRY_AFTER_SECONDS = 1;

export interface ServerLimits {
  maxBatch: number;
  maxQueue: number;
  maxBodyBytes: number;
  maxN: number;
  maxStop: number;
  maxPrompts: number;
  drainTimeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxBatch: DEFAULT_MAX_BATCH,
  maxQueue: DEFAULT_MAX_QUEUE,
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  maxN: DEFAULT_MAX_N,
  maxStop: DEFAULT_MAX_STOP,
  maxPrompts: DEFAULT_MAX_PROMPTS,
  drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
});
