// The HTTP application of `gptkit serve` (Hono): the OpenAI-compatible API, /health, /metrics and
// the web UI, with the cross-cutting rules in middleware — API key, body size limit, draining on
// SIGTERM, request counting — and every error in OpenAI's shape. Bad input is always a 4xx.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { timingSafeEqual } from 'node:crypto';
import { ApiError } from './api-error.ts';
import { registerOpenAi, type ServeContext } from './openai.ts';
import { registerUi, type UiOptions } from './ui.ts';
import { RETRY_AFTER_SECONDS } from './limits.ts';

export interface AppOptions {
  /** Required as `Authorization: Bearer KEY` on the API when set. */
  apiKey: string | null;
  ui: UiOptions;
}

export interface AppState {
  /** SIGTERM received: new generations are refused, running ones finish. */
  draining: boolean;
}

function errorResponse(c: Context, e: ApiError): Response {
  if (e.status === 429) c.header('Retry-After', String(RETRY_AFTER_SECONDS));
  if (e.status === 401) c.header('WWW-Authenticate', 'Bearer');
  return c.json(e.toJSON(), e.status);
}

function sameKey(given: string, key: string): boolean {
  const a = Buffer.from(given), b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Paths that need the API key and count as generation traffic. */
const API = ['/v1/*', '/tokenize', '/detokenize', '/ui/api/*'];

export function createApp(ctx: ServeContext, opts: AppOptions, state: AppState): Hono {
  const app = new Hono();

  app.use('*', async (c, next) => {
    await next();
    ctx.metrics.request(c.req.routePath === '/*' ? 'other' : c.req.routePath, c.res.status);
  });

  for (const path of API) {
    app.use(path, async (c, next) => {
      if (opts.apiKey !== null) {
        const auth = c.req.header('authorization') ?? '';
        const m = /^Bearer\s+(.+)$/i.exec(auth);
        if (!m) throw new ApiError(401, 'authentication_error', "You didn't provide an API key. Send it as 'Authorization: Bearer KEY'.", null, 'missing_api_key');
        if (!sameKey(m[1].trim(), opts.apiKey)) throw new ApiError(401, 'authentication_error', 'Incorrect API key provided.', null, 'invalid_api_key');
      }
      if (state.draining && c.req.method === 'POST') {
        throw new ApiError(503, 'server_error', 'the server is shutting down and accepts no new requests', null, 'server_shutting_down');
      }
      await next();
    });
    app.use(path, bodyLimit({
      maxSize: ctx.limits.maxBodyBytes,
      // The unread rest of the body makes the connection unusable: tell the client not to reuse it.
      onError: (c) => {
        c.header('Connection', 'close');
        return errorResponse(c, new ApiError(413, 'invalid_request_error', `the request body is larger than the limit of ${ctx.limits.maxBodyBytes} bytes`, null, 'request_too_large'));
      },
    }));
  }

  app.get('/health', (c) => (state.draining ? c.json({ status: 'draining' }, 503) : c.json({ status: 'ok' })));
  app.get('/metrics', (c) => c.text(ctx.metrics.text(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }));

  registerOpenAi(app, ctx);
  registerUi(app, ctx, opts.ui);

  app.notFound((c) => errorResponse(c, new ApiError(404, 'invalid_request_error', `no route for ${c.req.method} ${c.req.path}`, null, 'not_found')));
  app.onError((e, c) => {
    if (e instanceof ApiError) return errorResponse(c, e);
    if (e instanceof HTTPException) {
      const status = e.status;
      const type = status === 401 ? 'authentication_error' : 'invalid_request_error';
      return c.json(new ApiError(status >= 500 ? 500 : 400, type, e.message || 'bad request').toJSON(), status);
    }
    // Only a bug in gptkit lands here: say so, in the same shape.
    return c.json(new ApiError(500, 'server_error', `internal error: ${e.message}`).toJSON(), 500);
  });
  return app;
}
