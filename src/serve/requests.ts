// Request bodies of the OpenAI-compatible endpoints, checked field by field. Every mistake is a
// 400 naming the field (`param`), what was expected and what was found; unknown fields are
// refused as OpenAI refuses them, so a typo never silently does nothing.
import { ApiError, invalid } from './api-error.ts';
import type { ServerLimits } from './limits.ts';
import type { ChatMessage, Role } from '../rlhf/chat-template.ts';

/** Sampling and length settings shared by chat and text completions. */
export interface CompletionSettings {
  model: string | null;
  maxTokens: number | null;
  temperature: number;
  topP: number;
  topK: number;
  stop: string[];
  seed: number | null;
  n: number;
  stream: boolean;
  includeUsage: boolean;
}

export interface ChatRequest extends CompletionSettings {
  messages: ChatMessage[];
}

export interface CompletionRequest extends CompletionSettings {
  /** Each prompt as text or as token ids. */
  prompts: (string | number[])[];
  echo: boolean;
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s;
};

/** A JSON object's fields, read one by one; `done()` refuses the ones nobody read. */
class Fields {
  private readonly seen = new Set<string>();
  private readonly obj: Record<string, unknown>;

  constructor(body: unknown, private readonly prefix = '') {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw invalid(prefix || 'body', `${prefix || 'the request body'} must be a JSON object, found ${show(body)}`);
    }
    this.obj = body as Record<string, unknown>;
  }

  private name(key: string): string {
    return this.prefix ? `${this.prefix}.${key}` : key;
  }

  raw(key: string): unknown {
    this.seen.add(key);
    const v = this.obj[key];
    return v === null ? undefined : v; // OpenAI's clients send null for "not set"
  }

  required(key: string): unknown {
    const v = this.raw(key);
    if (v === undefined) throw invalid(this.name(key), `'${this.name(key)}' is required`, 'missing_required_parameter');
    return v;
  }

  number(key: string, o: { min: number; max: number; integer?: boolean; minExclusive?: boolean }): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    const n = this.name(key);
    const kind = o.integer ? 'an integer' : 'a number';
    if (typeof v !== 'number' || !Number.isFinite(v) || (o.integer && !Number.isInteger(v))) throw invalid(n, `'${n}' must be ${kind}, found ${show(v)}`);
    const low = o.minExclusive ? v <= o.min : v < o.min;
    if (low || v > o.max) throw invalid(n, `'${n}' must be ${kind} in ${o.minExclusive ? '(' : '['}${o.min}, ${o.max}], found ${v}`);
    return v;
  }

  boolean(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw invalid(this.name(key), `'${this.name(key)}' must be true or false, found ${show(v)}`);
    return v;
  }

  string(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw invalid(this.name(key), `'${this.name(key)}' must be a string, found ${show(v)}`);
    return v;
  }

  /** Fields accepted for compatibility whose only supported value is the default. */
  onlyDefault(key: string, ok: (v: unknown) => boolean, what: string): void {
    const v = this.raw(key);
    if (v !== undefined && !ok(v)) throw invalid(this.name(key), `'${this.name(key)}' is not supported by gptkit serve (only ${what}), found ${show(v)}`, 'unsupported_parameter');
  }

  done(): void {
    for (const k of Object.keys(this.obj)) {
      if (!this.seen.has(k)) throw invalid(this.name(k), `unrecognized request argument supplied: '${this.name(k)}'`, 'unrecognized_argument');
    }
  }
}

function settings(f: Fields, limits: ServerLimits): CompletionSettings {
  const model = f.string('model') ?? null;
  const maxTokens = f.number('max_completion_tokens', { min: 0, max: 1 << 30, integer: true }) ?? f.number('max_tokens', { min: 0, max: 1 << 30, integer: true }) ?? null;
  const temperature = f.number('temperature', { min: 0, max: 2 }) ?? 1;
  const topP = f.number('top_p', { min: 0, max: 1, minExclusive: true }) ?? 1;
  const topK = f.number('top_k', { min: -1, max: 1 << 30, integer: true }) ?? 0; // vLLM's extension; -1 or 0 = off
  const seed = f.number('seed', { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, integer: true }) ?? null;
  const n = f.number('n', { min: 1, max: limits.maxN, integer: true }) ?? 1;
  const stream = f.boolean('stream') ?? false;
  let stop: string[] = [];
  const rawStop = f.raw('stop');
  if (typeof rawStop === 'string') stop = [rawStop];
  else if (Array.isArray(rawStop)) stop = rawStop;
  else if (rawStop !== undefined) throw invalid('stop', `'stop' must be a string or an array of strings, found ${show(rawStop)}`);
  if (stop.length > limits.maxStop) throw invalid('stop', `'stop' has ${stop.length} strings; at most ${limits.maxStop} are allowed`);
  stop.forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0) throw invalid(`stop[${i}]`, `'stop[${i}]' must be a non-empty string, found ${show(s)}`);
  });
  let includeUsage = false;
  const so = f.raw('stream_options');
  if (so !== undefined) {
    if (!stream) throw invalid('stream_options', "'stream_options' is only allowed when 'stream' is true");
    const o = new Fields(so, 'stream_options');
    includeUsage = o.boolean('include_usage') ?? false;
    o.raw('continuous_usage_stats');
    o.done();
  }
  f.onlyDefault('frequency_penalty', (v) => v === 0, '0');
  f.onlyDefault('presence_penalty', (v) => v === 0, '0');
  f.onlyDefault('logprobs', (v) => v === false || v === 0, 'false');
  f.onlyDefault('logit_bias', (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0, '{}');
  f.string('user'); // an end-user id for abuse monitoring: accepted, not used
  return { model, maxTokens, temperature, topP, topK: topK < 0 ? 0 : topK, stop, seed, n, stream, includeUsage };
}

/** OpenAI's roles; 'developer' (its newer name for system) is read as 'system'. */
const ROLES: readonly string[] = ['system', 'developer', 'user', 'assistant'];

/** `messages`: roles and text contents (a string, or an array of text parts). */
export function parseMessages(raw: unknown, param = 'messages'): ChatMessage[] {
  if (!Array.isArray(raw)) throw invalid(param, `'${param}' must be an array of messages, found ${show(raw)}`);
  if (raw.length === 0) throw invalid(param, `'${param}' must contain at least one message`);
  return raw.map((m, i) => {
    const f = new Fields(m, `${param}[${i}]`);
    const role = f.required('role');
    if (typeof role !== 'string' || !ROLES.includes(role)) throw invalid(`${param}[${i}].role`, `'${param}[${i}].role' must be one of ${ROLES.join(', ')}, found ${show(role)}`);
    const c = f.required('content');
    let content: string;
    if (typeof c === 'string') content = c;
    else if (Array.isArray(c)) {
      content = c.map((part, j) => {
        const p = new Fields(part, `${param}[${i}].content[${j}]`);
        if (p.required('type') !== 'text') throw invalid(`${param}[${i}].content[${j}].type`, `only text content parts are supported, found ${show(p.raw('type'))}`);
        const text = p.required('text');
        if (typeof text !== 'string') throw invalid(`${param}[${i}].content[${j}].text`, `'text' must be a string, found ${show(text)}`);
        p.done();
        return text;
      }).join('');
    } else throw invalid(`${param}[${i}].content`, `'${param}[${i}].content' must be a string or an array of text parts, found ${show(c)}`);
    f.string('name');
    f.done();
    return { role: role === 'developer' ? 'system' : (role as Role), content };
  });
}

export function parseChatRequest(body: unknown, limits: ServerLimits): ChatRequest {
  const f = new Fields(body);
  const messages = parseMessages(f.required('messages'));
  const s = settings(f, limits);
  f.done();
  return { ...s, messages };
}

export function parseCompletionRequest(body: unknown, limits: ServerLimits): CompletionRequest {
  const f = new Fields(body);
  const p = f.required('prompt');
  const isIds = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((t) => Number.isInteger(t));
  let prompts: (string | number[])[];
  if (typeof p === 'string') prompts = [p];
  else if (isIds(p)) prompts = [p];
  else if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string' || isIds(x))) prompts = p as (string | number[])[];
  else throw invalid('prompt', `'prompt' must be a string, an array of strings, or token ids (an array of integers, or of such arrays), found ${show(p)}`);
  if (prompts.length > limits.maxPrompts) throw invalid('prompt', `'prompt' holds ${prompts.length} prompts; at most ${limits.maxPrompts} are allowed`);
  const echo = f.boolean('echo') ?? false;
  f.onlyDefault('best_of', (v) => v === 1, '1');
  f.onlyDefault('suffix', (v) => v === '', "''");
  const s = settings(f, limits);
  f.done();
  return { ...s, prompts, echo };
}

export type TokenizeRequest = { model: string | null } & ({ prompt: string } | { messages: ChatMessage[]; addGenerationPrompt: boolean });

/** /tokenize: `{model?, prompt}` or `{model?, messages}` (vLLM's shape). */
export function parseTokenizeRequest(body: unknown): TokenizeRequest {
  const f = new Fields(body);
  const model = f.string('model') ?? null;
  const hasMessages = f.raw('messages') !== undefined;
  const hasPrompt = f.raw('prompt') !== undefined;
  if (hasMessages === hasPrompt) throw invalid('prompt', "give exactly one of 'prompt' (text) and 'messages' (a chat)", 'missing_required_parameter');
  let out: TokenizeRequest;
  if (hasMessages) {
    out = { model, messages: parseMessages(f.raw('messages')), addGenerationPrompt: f.boolean('add_generation_prompt') ?? true };
  } else {
    out = { model, prompt: f.string('prompt')! };
  }
  f.done();
  return out;
}

/** /detokenize: `{model?, tokens}`. */
export function parseDetokenizeRequest(body: unknown, vocabSize: number): { model: string | null; tokens: number[] } {
  const f = new Fields(body);
  const model = f.string('model') ?? null;
  const tokens = f.required('tokens');
  if (!Array.isArray(tokens) || !tokens.every((t) => Number.isInteger(t) && t >= 0 && t < vocabSize)) {
    throw invalid('tokens', `'tokens' must be an array of token ids in [0, ${vocabSize}), found ${show(tokens)}`);
  }
  f.done();
  return { model, tokens };
}

/** A body that is not JSON at all. */
export function badJson(message: string): ApiError {
  return new ApiError(400, 'invalid_request_error', `the request body is not valid JSON: ${message}`, null, 'invalid_json');
}
