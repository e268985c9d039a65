// The web UI (filled in by the UI commit).
import type { Hono } from 'hono';
import type { ServeContext } from './openai.ts';

export interface UiOptions {
  /** Where the ranking page appends K-wise preference lines (JSONL). */
  rankingsFile?: string;
  /** A run directory whose metrics.jsonl the dashboard draws. */
  runDir?: string;
}

export function registerUi(_app: Hono, _ctx: ServeContext | null, _opts: UiOptions): void {}
