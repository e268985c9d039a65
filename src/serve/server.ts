// `gptkit serve` as a function: load the model into the engine's worker thread, listen, and shut
// down cleanly. drain() is what SIGTERM does: stop accepting connections and generations, let the
// running ones finish for up to the drain timeout, end the rest (their streams get an error event
// and [DONE]), then stop the worker.
import type { ModelDtype } from '../models/quantize.ts';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, resolve } from 'node:path';
import type { Tokenizer } from '../tokenizer/index.ts';
import { ChatTemplate, readChatTemplate } from '../rlhf/chat-template.ts';
import { EngineClient } from './engine-client.ts';
import { DEFAULT_KV_CACHE, type KvDtype } from './slot-cache.ts';
import { createApp, type AppState } from './app.ts';
import { ServerMetrics } from './metrics.ts';
import { DEFAULT_LIMITS, type ServerLimits } from './limits.ts';
import type { ServeContext } from './openai.ts';
import type { UiOptions } from './ui.ts';
import type { JobRun } from './jobs.ts';

export interface ServerOptions {
  modelDir: string;
  /** Weights for decoding (models/quantize.ts); default f32. */
  dtype?: ModelDtype;
  /** KV cache storage (slot-cache.ts): f16 (default) or f32. */
  kvCache?: KvDtype;
  /** The name clients use in `model` (default: the model directory's name). */
  modelName?: string;
  host: string;
  /** 0: any free port. */
  port: number;
  apiKey: string | null;
  limits?: Partial<ServerLimits>;
  ui?: UiOptions;
}

export interface RunningServer {
  url: string;
  port: number;
  modelName: string;
  context: ServeContext;
  /** The HTTP application (its fetch answers a Request without the network). */
  app: Hono;
  /** Stop accepting, finish or end in-flight generations, stop the engine. */
  drain(): Promise<void>;
}

/** The model's chat template, or why there is none (a custom template whose special tokens the tokenizer lacks). */
export function chatTemplateFor(modelDir: string, tokenizer: Tokenizer): ChatTemplate | { unavailable: string } {
  try {
    return new ChatTemplate(tokenizer, readChatTemplate(modelDir).template);
  } catch (e) {
    return { unavailable: (e as Error).message };
  }
}

/** What to tell a user whose model got the chat tokens only now: it was never trained to chat. */
export function untrainedNotice(added: { token: string; id: number }[]): string {
  return `note: the model had no ${added.map((a) => a.token).join(' / ')}; they were added as new ids (${added.map((a) => a.id).join(', ')}) the model was never trained on, so it will not chat well (fine-tune it with gptkit sft)`;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const engine = await EngineClient.start({ modelDir: opts.modelDir, maxBatch: limits.maxBatch, dtype: opts.dtype ?? 'f32', kvCache: opts.kvCache ?? DEFAULT_KV_CACHE });
  const tokenizer = engine.tokenizer;
  const metrics = new ServerMetrics(() => ({ ...engine.stats }));
  engine.onStep = () => { metrics.decodeSteps++; };
  const modelName = opts.modelName ?? basename(resolve(opts.modelDir));
  const ctx: ServeContext = {
    engine, tokenizer, chat: chatTemplateFor(opts.modelDir, tokenizer), modelName, created: Math.floor(Date.now() / 1000),
    limits, metrics, active: new Set<JobRun>(),
  };
  const state: AppState = { draining: false };
  const app = createApp(ctx, { apiKey: opts.apiKey, ui: opts.ui ?? {} }, state);
  const server = await new Promise<Server>((res, rej) => {
    const s = serve({ fetch: app.fetch, hostname: opts.host, port: opts.port }, () => res(s as Server)) as Server;
    s.once('error', rej);
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;

  let drained: Promise<void> | null = null;
  const drain = () => (drained ??= (async () => {
    state.draining = true;
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeIdleConnections();
    const deadline = Date.now() + limits.drainTimeoutMs;
    while (ctx.active.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const run of ctx.active) run.cancel();
    while (ctx.active.size > 0) await new Promise((r) => setTimeout(r, 20));
    // Responses are written; connections kept alive by clients are not waited for.
    setTimeout(() => server.closeAllConnections(), 100).unref();
    await closed;
    await engine.close();
  })());
  return { url: `http://${host}:${port}`, port, modelName, context: ctx, app, drain };
}
