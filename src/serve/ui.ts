// The web UI: a chat page, a ranking page (InstructGPT's labelling loop by hand: K sampled answers,
// ordered by a person, appended as one K-wise preference line in the format `gptkit rm` reads), and
// a training dashboard drawn from a run's metrics.jsonl, updated live. The pages are plain HTML and
// ES modules shipped in src/serve/ui/ (no CDN, nothing fetched at run time); they talk to the same
// API as any client (/v1/chat/completions) plus the few /ui/api routes below.
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { streamSSE } from 'hono/streaming';
import { appendFileSync, existsSync, openSync, readFileSync, readSync, closeSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError, invalid } from './api-error.ts';
import { FileFormatError } from '../util/errors.ts';
import { parseMessages } from './requests.ts';
import { jsonBody, type ServeContext } from './openai.ts';

export interface UiOptions {
  /** Where the ranking page appends K-wise preference lines (JSONL). */
  rankingsFile?: string;
  /** JSONL of {"messages": [...]} prompts the ranking page offers. */
  promptsFile?: string;
  /** A run directory whose metrics.jsonl the dashboard draws. */
  runDir?: string;
}

const ASSETS = fileURLToPath(new URL('./ui/', import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
const PAGES: Record<string, string> = { '/': 'chat.html', '/rank': 'rank.html', '/dashboard': 'dashboard.html' };
/** How often the dashboard's stream looks for new lines in metrics.jsonl, ms. */
const METRICS_POLL_MS = 500;

function asset(name: string): { body: string; type: string } | null {
  if (!/^[a-z-]+\.(html|js|css|svg)$/.test(name)) return null;
  const path = join(ASSETS, name);
  if (!existsSync(path)) return null;
  return { body: readFileSync(path, 'utf8'), type: TYPES[name.slice(name.lastIndexOf('.'))] };
}

/** Prompts of a JSONL file ({"messages": [...]} per line), read once at start; a bad line names itself. */
function readPrompts(file: string): unknown[] {
  if (!existsSync(file)) throw new FileFormatError(file, 'no such prompts file');
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: unknown[] = [];
  lines.forEach((l, i) => {
    if (!l.trim()) return;
    try {
      out.push(parseMessages(JSON.parse(l).messages));
    } catch (e) {
      throw new FileFormatError(`${file}:${i + 1}`, `expected a {"messages": [...]} line: ${(e as Error).message}`);
    }
  });
  return out;
}

/** New complete lines of a growing file from byte `offset`; returns them and the next offset. */
function readNewLines(file: string, offset: number): { records: unknown[]; offset: number } {
  if (!existsSync(file)) return { records: [], offset: 0 };
  const size = statSync(file).size;
  if (size < offset) offset = 0; // the file was replaced: start over
  if (size === offset) return { records: [], offset };
  const buf = Buffer.alloc(size - offset);
  const fd = openSync(file, 'r');
  try { readSync(fd, buf, 0, buf.length, offset); } finally { closeSync(fd); }
  const end = buf.lastIndexOf(0x0a) + 1; // only whole lines: a record being written waits for the next poll
  const records: unknown[] = [];
  for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    try { records.push(JSON.parse(line)); } catch { /* a torn or foreign line: skipped */ }
  }
  return { records, offset: offset + end };
}

/** A ranking from the page, checked before it is written: K ≥ 2 answers and a permutation of them. */
function parseRanking(body: unknown): { prompt: unknown; responses: string[]; ranking: number[] } {
  if (typeof body !== 'object' || body === null) throw invalid('body', 'the ranking must be a JSON object');
  const b = body as Record<string, unknown>;
  const prompt = parseMessages(b.prompt, 'prompt');
  const responses = b.responses;
  if (!Array.isArray(responses) || responses.length < 2 || !responses.every((r) => typeof r === 'string')) throw invalid('responses', "'responses' must be an array of at least 2 strings");
  const ranking = b.ranking;
  const K = responses.length;
  if (!Array.isArray(ranking) || ranking.length !== K || [...ranking].sort((x, y) => x - y).some((r, i) => r !== i)) {
    throw invalid('ranking', `'ranking' must order all ${K} responses: a permutation of 0…${K - 1}, best first`);
  }
  for (const k of Object.keys(b)) if (!['prompt', 'responses', 'ranking'].includes(k)) throw invalid(k, `unrecognized field '${k}'`, 'unrecognized_argument');
  return { prompt, responses: responses as string[], ranking: ranking as number[] };
}

export function registerUi(app: Hono, ctx: ServeContext | null, opts: UiOptions): void {
  const prompts = opts.promptsFile ? readPrompts(opts.promptsFile) : [];
  for (const [path, page] of Object.entries(PAGES)) {
    app.get(path, (c) => {
      if (!ctx && page !== 'dashboard.html') return c.redirect('/dashboard');
      const a = asset(page)!;
      return c.body(a.body, 200, { 'Content-Type': a.type });
    });
  }
  app.get('/ui/static/:name', (c) => {
    const a = asset(c.req.param('name'));
    if (!a) throw new ApiError(404, 'invalid_request_error', `no asset ${c.req.param('name')}`, null, 'not_found');
    return c.body(a.body, 200, { 'Content-Type': a.type, 'Cache-Control': 'no-cache' });
  });

  app.get('/ui/api/config', (c) => c.json({
    model: ctx?.modelName ?? null,
    contextLength: ctx?.engine.info.contextLength ?? null,
    chat: ctx ? !('unavailable' in ctx.chat) : false,
    rankings: ctx ? opts.rankingsFile ?? null : null,
    prompts: prompts.length,
    run: opts.runDir ?? null,
  }));

  app.get('/ui/api/prompts/:index', (c) => {
    if (!prompts.length) throw new ApiError(404, 'invalid_request_error', 'no --prompts file was given', null, 'not_found');
    const i = Number(c.req.param('index'));
    if (!(Number.isInteger(i) && i >= 0 && i < prompts.length)) throw invalid('index', `prompt index must be in [0, ${prompts.length})`);
    return c.json({ index: i, count: prompts.length, messages: prompts[i] });
  });

  app.post('/ui/api/rankings', async (c) => {
    if (!ctx || !opts.rankingsFile) throw new ApiError(404, 'invalid_request_error', 'this server writes no rankings', null, 'not_found');
    const r = parseRanking(await jsonBody(c));
    const line = JSON.stringify({ prompt: r.prompt, responses: r.responses, ranking: r.ranking });
    try {
      appendFileSync(opts.rankingsFile, line + '\n');
    } catch (e) {
      throw new ApiError(500, 'server_error', `cannot append to ${opts.rankingsFile}: ${(e as Error).message}`);
    }
    return c.json({ ok: true, file: opts.rankingsFile });
  });

  const metricsFile = () => {
    if (!opts.runDir) throw new ApiError(404, 'invalid_request_error', 'no run directory was given (--run DIR)', null, 'not_found');
    return join(opts.runDir, 'metrics.jsonl');
  };
  app.get('/ui/api/metrics', (c) => c.json({ run: opts.runDir, records: readNewLines(metricsFile(), 0).records }));
  // Live: every record so far, then new ones as the run appends them.
  app.get('/ui/api/metrics/stream', (c) => {
    const file = metricsFile();
    return streamSSE(c, async (stream) => {
      let offset = 0;
      while (!stream.aborted) {
        const r = readNewLines(file, offset);
        offset = r.offset;
        if (r.records.length) await stream.writeSSE({ data: JSON.stringify(r.records) });
        await stream.sleep(METRICS_POLL_MS);
      }
    });
  });
}

/** `gptkit ui`: the dashboard alone, no model. */
export async function startUiServer(opts: { host: string; port: number; runDir: string }): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Hono();
  registerUi(app, null, { runDir: opts.runDir });
  app.notFound((c) => c.json(new ApiError(404, 'invalid_request_error', `no route for ${c.req.method} ${c.req.path}`, null, 'not_found').toJSON(), 404));
  app.onError((e, c) => {
    const err = e instanceof ApiError ? e : new ApiError(500, 'server_error', `internal error: ${e.message}`);
    return c.json(err.toJSON(), err.status);
  });
  const server = await new Promise<Server>((res, rej) => {
    const s = serve({ fetch: app.fetch, hostname: opts.host, port: opts.port }, () => res(s as Server)) as Server;
    s.once('error', rej);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
