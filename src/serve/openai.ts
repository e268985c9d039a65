// The OpenAI-compatible endpoints: /v1/models, /v1/chat/completions, /v1/completions, and vLLM's
// /tokenize and /detokenize. Responses follow OpenAI's shapes field for field, so the official
// clients work unchanged; streams are Server-Sent Events ending `data: [DONE]`.
import { randomUUID } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Tokenizer } from '../tokenizer/index.ts';
import type { ChatTemplate } from '../rlhf/chat-template.ts';
import type { EngineClient } from './engine-client.ts';
import type { Done } from './protocol.ts';
import { ApiError, invalid } from './api-error.ts';
import { parseChatRequest, parseCompletionRequest, parseDetokenizeRequest, parseTokenizeRequest, badJson, type CompletionSettings } from './requests.ts';
import { choiceSeed, runJobs, type Job, type JobRun } from './jobs.ts';
import type { ServerMetrics } from './metrics.ts';
import type { ServerLimits } from './limits.ts';

export interface ServeContext {
  engine: EngineClient;
  tokenizer: Tokenizer;
  /** The chat template, or why this model has none (then chat endpoints answer 400). */
  chat: ChatTemplate | { unavailable: string };
  modelName: string;
  created: number;
  limits: ServerLimits;
  metrics: ServerMetrics;
  active: Set<JobRun>;
}

export async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badJson((e as Error).message);
  }
}

function checkModel(ctx: ServeContext, model: string | null): void {
  if (model !== null && model !== ctx.modelName) {
    throw new ApiError(404, 'invalid_request_error', `The model '${model}' does not exist; this server serves '${ctx.modelName}'`, 'model', 'model_not_found');
  }
}

export function chatTemplate(ctx: ServeContext): ChatTemplate {
  if ('unavailable' in ctx.chat) throw new ApiError(400, 'invalid_request_error', `this model cannot chat: ${ctx.chat.unavailable}; use /v1/completions`, 'messages', 'chat_template_unavailable');
  return ctx.chat;
}

function eosIds(ctx: ServeContext, chat: boolean): number[] {
  const ids = new Set<number>();
  if (chat && !('unavailable' in ctx.chat)) ids.add(ctx.chat.endOfTurnId);
  if (ctx.tokenizer.specialTokens.has('<|endoftext|>')) ids.add(ctx.tokenizer.tokenId('<|endoftext|>'));
  return [...ids];
}

/** max_tokens against the context: the default is whatever room the prompt leaves. */
function budget(ctx: ServeContext, promptTokens: number, s: CompletionSettings, param: string): number {
  const context = ctx.engine.info.contextLength;
  const room = context - promptTokens;
  if (s.maxTokens === null) {
    if (room <= 0) throw new ApiError(400, 'invalid_request_error', `This model's maximum context length is ${context} tokens; the prompt has ${promptTokens}`, param, 'context_length_exceeded');
    return room;
  }
  if (promptTokens + s.maxTokens > context) {
    throw new ApiError(400, 'invalid_request_error', `This model's maximum context length is ${context} tokens. However, you requested ${promptTokens + s.maxTokens} tokens (${promptTokens} in the prompt, ${s.maxTokens} for the completion). Please reduce the prompt or max_tokens.`, param, 'context_length_exceeded');
  }
  return s.maxTokens;
}

function sampling(s: CompletionSettings) {
  return { temperature: s.temperature, topP: s.topP, topK: s.topK };
}

const usage = (p: number, c: number) => ({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c });

/** OpenAI's finish reasons; a generation the server had to end reports 'length'. */
const finishReason = (d: Done): 'stop' | 'length' => (d.finishReason === 'stop' ? 'stop' : 'length');

/** Collect a whole run; the generations are cancelled when the client goes away. */
async function collect(c: Context, run: JobRun, choices: number, metrics: ServerMetrics): Promise<{ texts: string[]; dones: Done[] }> {
  const abort = () => { metrics.disconnects++; run.cancel(); };
  c.req.raw.signal.addEventListener('abort', abort, { once: true });
  const texts = new Array<string>(choices).fill('');
  const dones = new Array<Done>(choices);
  try {
    for await (const e of run.events) {
      if (e.kind === 'text') texts[e.index] += e.text;
      else if (e.kind === 'done') dones[e.index] = e.done;
      else throw engineFailure(e.error.message);
    }
  } finally {
    c.req.raw.signal.removeEventListener('abort', abort);
  }
  return { texts, dones };
}

function engineFailure(message: string): ApiError {
  return new ApiError(503, 'server_error', `generation failed: ${message}`, null, 'engine_unavailable');
}

/** Stream a run as SSE: `chunk(e)` builds each event's JSON; usage at the end when asked. */
function streamRun(c: Context, ctx: ServeContext, run: JobRun, opts: {
  start?: (s: SSEStreamingApi) => Promise<void>;
  text: (index: number, text: string) => unknown;
  finish: (index: number, done: Done) => unknown;
  usage: ((prompt: number, completion: number) => unknown) | null;
  promptTokens: number;
}): Response {
  return streamSSE(c, async (stream) => {
    stream.onAbort(() => { ctx.metrics.disconnects++; run.cancel(); });
    if (opts.start) await opts.start(stream);
    let completion = 0;
    const send = (x: unknown) => stream.writeSSE({ data: JSON.stringify(x) });
    for await (const e of run.events) {
      if (stream.aborted) continue; // drain the engine's last events (the cancel is on its way)
      if (e.kind === 'text') {
        if (e.text) await send(opts.text(e.index, e.text));
      } else if (e.kind === 'done') {
        completion += e.done.completionTokens;
        if (e.done.finishReason === 'cancelled') {
          await send(new ApiError(503, 'server_error', 'the server is shutting down; this generation was ended early', null, 'server_shutting_down').toJSON());
        } else {
          await send(opts.finish(e.index, e.done));
        }
      } else {
        await send(engineFailure(e.error.message).toJSON());
      }
    }
    if (stream.aborted) return;
    if (opts.usage) await send(opts.usage(opts.promptTokens, completion));
    await stream.writeSSE({ data: '[DONE]' });
  });
}

export function registerOpenAi(app: Hono, ctx: ServeContext): void {
  const modelCard = () => ({ id: ctx.modelName, object: 'model', created: ctx.created, owned_by: 'gptkit', max_model_len: ctx.engine.info.contextLength });

  app.get('/v1/models', (c) => c.json({ object: 'list', data: [modelCard()] }));
  app.get('/v1/models/:model', (c) => {
    checkModel(ctx, c.req.param('model'));
    return c.json(modelCard());
  });

  app.post('/v1/chat/completions', async (c) => {
    const req = parseChatRequest(await jsonBody(c), ctx.limits);
    checkModel(ctx, req.model);
    const prompt = chatTemplate(ctx).encodePrompt(req.messages);
    const maxTokens = budget(ctx, prompt.length, req, 'messages');
    const jobs: Job[] = Array.from({ length: req.n }, (_, i) => ({ prompt, index: i, seed: choiceSeed(req.seed, i), maxTokens }));
    const run = runJobs(ctx, jobs, { sampling: sampling(req), stop: req.stop, eosIds: eosIds(ctx, true) });
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const base = { id, object: 'chat.completion.chunk', created, model: ctx.modelName, system_fingerprint: null };
    if (req.stream) {
      return streamRun(c, ctx, run, {
        promptTokens: prompt.length * req.n,
        start: async (s) => {
          for (let i = 0; i < req.n; i++) {
            await s.writeSSE({ data: JSON.stringify({ ...base, choices: [{ index: i, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] }) });
          }
        },
        text: (index, text) => ({ ...base, choices: [{ index, delta: { content: text }, logprobs: null, finish_reason: null }] }),
        finish: (index, done) => ({ ...base, choices: [{ index, delta: {}, logprobs: null, finish_reason: finishReason(done) }] }),
        usage: req.includeUsage ? (p, n) => ({ ...base, choices: [], usage: usage(p, n) }) : null,
      });
    }
    const { texts, dones } = await collect(c, run, req.n, ctx.metrics);
    const completion = dones.reduce((s, d) => s + d.completionTokens, 0);
    return c.json({
      id, object: 'chat.completion', created, model: ctx.modelName, system_fingerprint: null,
      choices: texts.map((text, i) => ({ index: i, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: finishReason(dones[i]) })),
      usage: usage(prompt.length * req.n, completion),
    });
  });

  app.post('/v1/completions', async (c) => {
    const req = parseCompletionRequest(await jsonBody(c), ctx.limits);
    checkModel(ctx, req.model);
    const V = ctx.engine.info.vocabSize;
    const prompts = req.prompts.map((p, j) => {
      if (typeof p !== 'string') {
        const bad = p.findIndex((t) => t < 0 || t >= V);
        if (bad >= 0) throw invalid('prompt', `prompt ${j} has token id ${p[bad]} outside the vocabulary [0, ${V})`);
        return { ids: p, text: ctx.tokenizer.decode(p) };
      }
      const ids = ctx.tokenizer.encode(p); // user text: never a special token
      return { ids: ids.length ? ids : eosIds(ctx, false).slice(0, 1), text: p };
    });
    if (prompts.some((p) => p.ids.length === 0)) throw invalid('prompt', 'an empty prompt needs a tokenizer with <|endoftext|> to start from');
    const jobs: Job[] = [];
    prompts.forEach((p, j) => {
      const maxTokens = budget(ctx, p.ids.length, req, 'prompt');
      for (let i = 0; i < req.n; i++) jobs.push({ prompt: p.ids, index: j * req.n + i, seed: choiceSeed(req.seed, i), maxTokens });
    });
    const promptTokens = jobs.reduce((s, j) => s + j.prompt.length, 0);
    const run = runJobs(ctx, jobs, { sampling: sampling(req), stop: req.stop, eosIds: eosIds(ctx, false) });
    const id = `cmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const base = { id, object: 'text_completion', created, model: ctx.modelName, system_fingerprint: null };
    const echoOf = (index: number) => (req.echo ? prompts[Math.floor(index / req.n)].text : '');
    if (req.stream) {
      return streamRun(c, ctx, run, {
        promptTokens,
        start: req.echo ? async (s) => {
          for (const j of jobs) await s.writeSSE({ data: JSON.stringify({ ...base, choices: [{ index: j.index, text: echoOf(j.index), logprobs: null, finish_reason: null }] }) });
        } : undefined,
        text: (index, text) => ({ ...base, choices: [{ index, text, logprobs: null, finish_reason: null }] }),
        finish: (index, done) => ({ ...base, choices: [{ index, text: '', logprobs: null, finish_reason: finishReason(done) }] }),
        usage: req.includeUsage ? (p, n) => ({ ...base, choices: [], usage: usage(p, n) }) : null,
      });
    }
    const { texts, dones } = await collect(c, run, jobs.length, ctx.metrics);
    return c.json({
      ...base, object: 'text_completion',
      choices: texts.map((text, i) => ({ index: i, text: echoOf(i) + text, logprobs: null, finish_reason: finishReason(dones[i]) })),
      usage: usage(promptTokens, dones.reduce((s, d) => s + d.completionTokens, 0)),
    });
  });

  app.post('/tokenize', async (c) => {
    const req = parseTokenizeRequest(await jsonBody(c));
    checkModel(ctx, req.model);
    const tokens = 'messages' in req
      ? (req.addGenerationPrompt
        ? chatTemplate(ctx).encodePrompt(req.messages)
        : chatTemplate(ctx).encodeConversation(req.messages).ids)
      : ctx.tokenizer.encode(req.prompt);
    return c.json({ count: tokens.length, max_model_len: ctx.engine.info.contextLength, tokens, token_strs: tokens.map((t) => ctx.tokenizer.decode([t])) });
  });

  app.post('/detokenize', async (c) => {
    const req = parseDetokenizeRequest(await jsonBody(c), ctx.engine.info.vocabSize);
    checkModel(ctx, req.model);
    return c.json({ prompt: ctx.tokenizer.decode(req.tokens) });
  });
}
