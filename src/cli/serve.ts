// `gptkit serve`: the OpenAI-compatible API and the web UI for one model; `gptkit ui`: the training
// dashboard alone. SIGTERM (or Ctrl-C) drains: no new requests, running streams finish (up to
// --drain-timeout-ms), then exit 0.
import type { ModelDtype } from '../models/quantize.ts';
import type { Command } from './main.ts';
import { parseFlags, helpText, type FlagSpecs } from './flags.ts';
import { startServer, untrainedNotice } from '../serve/server.ts';
import { DEFAULT_KV_CACHE, type KvDtype } from '../serve/slot-cache.ts';
import { startUiServer } from '../serve/ui.ts';
import { DEFAULT_LIMITS, type ServerLimits } from '../serve/limits.ts';
import { backendNotice } from '../backend/index.ts';
import { ConfigError } from '../util/errors.ts';

const listenFlags: FlagSpecs = {
  host: { type: 'string', value: 'HOST', default: '127.0.0.1', help: 'address to listen on (0.0.0.0: every interface)' },
  port: { type: 'number', default: 8080, help: 'port to listen on (0: any free port)' },
};

const limitFlags: Record<keyof ServerLimits, [string, string]> = {
  maxBatch: ['max-batch', 'requests decoded together (the continuous batch)'],
  maxQueue: ['max-queue', 'generations waiting for a slot before new requests get 429'],
  maxBodyBytes: ['max-body-bytes', 'largest request body (413 beyond)'],
  maxN: ['max-n', "largest 'n' (choices per request)"],
  maxStop: ['max-stop', "most 'stop' strings per request"],
  maxPrompts: ['max-prompts', 'most prompts in one /v1/completions request'],
  drainTimeoutMs: ['drain-timeout-ms', 'on SIGTERM, how long running streams may finish before they are ended'],
};

const serveFlags: FlagSpecs = {
  model: { type: 'string', value: 'DIR', help: 'gptkit checkpoint or Hugging Face GPT-2 directory' },
  dtype: { type: 'string', value: 'f32|bf16|q8_0', default: 'f32', choices: ['f32', 'bf16', 'q8_0'], help: 'weights for decoding: f32, or a narrow copy read as stored (bf16: 2 bytes a weight, q8_0: ggml\'s 8-bit blocks, 1.06 bytes)' },
  'kv-cache': { type: 'string', value: 'f16|f32', default: DEFAULT_KV_CACHE, choices: ['f16', 'f32'], help: 'KV cache storage: f16 (IEEE half, llama.cpp\'s default: half the memory and half the cache bytes each decoding step reads; keys and values rounded once, when stored; logits move by ~1e-4) or f32 (the bits of gptkit generate)' },
  'model-name': { type: 'string', value: 'NAME', help: "the id clients use as 'model' (default: the directory's name)" },
  ...listenFlags,
  'api-key': { type: 'string', value: 'KEY', help: "require 'Authorization: Bearer KEY' on the API (default: $GPTKIT_API_KEY, else none)" },
  ...Object.fromEntries(Object.entries(limitFlags).map(([key, [flag, help]]) => [flag, { type: 'number' as const, default: DEFAULT_LIMITS[key as keyof ServerLimits], help }])),
  rankings: { type: 'string', value: 'FILE', default: 'rankings.jsonl', help: 'where the ranking page appends K-wise preference lines' },
  prompts: { type: 'string', value: 'FILE', help: 'JSONL of {"messages": [...]} prompts the ranking page offers (e.g. a world\'s instruct/prompts_train.jsonl)' },
  run: { type: 'string', value: 'DIR', help: "a run directory whose metrics.jsonl the dashboard draws (live)" },
};

function checkPort(port: number): void {
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new ConfigError(`--port must be an integer in [0, 65535], got ${port}`);
}

/** Resolve when SIGTERM or SIGINT arrives. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(sig);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

export const serveCommand: Command = {
  summary: 'OpenAI-compatible HTTP API with continuous batching, and the web UI',
  async run(argv) {
    const p = parseFlags(argv, serveFlags);
    if (p.help) {
      console.log(helpText('gptkit serve --model DIR [--port 8080] [--host 127.0.0.1] [--api-key KEY] [--max-batch 16]', 'Serve a model to OpenAI clients (/v1/chat/completions, /v1/completions, …) and in the browser (chat, ranking, dashboard) at /.', serveFlags));
      return 0;
    }
    const v = p.values as Record<string, unknown> & { model?: string; dtype: ModelDtype; kvCache: KvDtype; modelName?: string; host: string; port: number; apiKey?: string; rankings: string; prompts?: string; run?: string };
    if (!v.model) throw new ConfigError('--model is required');
    checkPort(v.port);
    const limits = {} as ServerLimits;
    for (const [key, [flag]] of Object.entries(limitFlags) as [keyof ServerLimits, [string, string]][]) {
      const n = v[key] as number;
      const min = key === 'maxQueue' ? 0 : 1;
      if (!(Number.isInteger(n) && n >= min)) throw new ConfigError(`--${flag} must be an integer ≥ ${min}, got ${n}`);
      limits[key] = n;
    }
    const notice = backendNotice();
    if (notice) console.error(notice);
    const apiKey = v.apiKey ?? process.env.GPTKIT_API_KEY ?? null;
    const server = await startServer({
      modelDir: v.model, dtype: v.dtype, kvCache: v.kvCache, modelName: v.modelName, host: v.host, port: v.port, apiKey, limits,
      ui: { rankingsFile: v.rankings, promptsFile: v.prompts, runDir: v.run },
    });
    const info = server.context.engine.info;
    const chat = 'unavailable' in server.context.chat ? `no chat (${server.context.chat.unavailable})` : 'chat: ChatML';
    if (info.addedTokens.length) console.error(untrainedNotice(info.addedTokens));
    console.log(`gptkit serve: '${server.modelName}' (${(info.parameters / 1e6).toFixed(1)}M parameters, context ${info.contextLength}, ${chat}, kernels ${info.kernels}, weights ${info.dtype}, KV cache ${info.kvCache}) at ${server.url}/v1 — web UI at ${server.url}/`);
    console.log(`limits: ${Object.entries(limits).map(([k, n]) => `--${limitFlags[k as keyof ServerLimits][0]} ${n}`).join(' ')}${apiKey ? '; API key required' : ''}`);
    const sig = await untilSignal();
    console.log(`gptkit serve: ${sig}: draining (${server.context.engine.stats.inFlight} generations in flight, up to ${limits.drainTimeoutMs} ms)`);
    await server.drain();
    console.log('gptkit serve: stopped');
    return 0;
  },
};

const uiFlags: FlagSpecs = {
  run: { type: 'string', value: 'DIR', help: 'run directory with metrics.jsonl (e.g. runs/main/gpt)' },
  ...listenFlags,
};

export const uiCommand: Command = {
  summary: 'the training dashboard of a run directory, in the browser',
  async run(argv) {
    const p = parseFlags(argv, uiFlags);
    if (p.help) {
      console.log(helpText('gptkit ui --run DIR [--port 8080]', "Draw a run's curves from its metrics.jsonl, updated live while it trains.", uiFlags));
      return 0;
    }
    const v = p.values as { run?: string; host: string; port: number };
    if (!v.run) throw new ConfigError('--run is required');
    checkPort(v.port);
    const ui = await startUiServer({ host: v.host, port: v.port, runDir: v.run });
    console.log(`gptkit ui: dashboard of ${v.run} at ${ui.url}/dashboard`);
    await untilSignal();
    await ui.close();
    return 0;
  },
};
