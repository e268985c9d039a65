// The RLHF data files, read and checked record by record. Every error names the file and line.
//   SFT (OpenAI fine-tuning format): {"messages": [{"role": "system"|"user"|"assistant", "content": "…"}, …]}
//   preferences, K-wise:            {"prompt": messages, "responses": ["…", …K], "ranking": [best … worst]}
//                                   (ranking lists indices of responses, best first, a permutation of 0…K−1)
//   preferences, pairs:             {"prompt", "chosen", "rejected"}; prompt a string or messages,
//                                   chosen/rejected strings or [{"role": "assistant", "content": "…"}]
//   prompts:                        {"messages": […]} or {"prompt": messages | "…"}
// Extra fields (a "category", an "id") are kept where a record carries them and otherwise ignored.
import { readFileSync } from 'node:fs';
import { FileFormatError } from '../util/errors.ts';
import { ROLES, type ChatMessage } from './chat-template.ts';

export interface SftRecord { messages: ChatMessage[]; category?: string }
/** K ≥ 2 responses to one prompt; ranking[0] is the index of the best. */
export interface PreferenceRecord { prompt: ChatMessage[]; responses: string[]; ranking: number[]; category?: string }
export interface PromptRecord { prompt: ChatMessage[]; category?: string }

/** Thrown for a bad record: `file:line: what is wrong`. */
export class RecordError extends FileFormatError {
  constructor(file: string, readonly line: number, message: string) {
    super(`${file}:${line}`, message);
  }
}

type Obj = Record<string, unknown>;

/** Each non-empty line of a JSONL file as an object, with its 1-based line number. */
function* jsonLines(file: string): Generator<{ rec: Obj; line: number }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FileFormatError(file, `cannot read: ${(e as Error).message}`);
  }
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (!l) continue;
    let rec: unknown;
    try {
      rec = JSON.parse(l);
    } catch (e) {
      throw new RecordError(file, i + 1, `not valid JSON: ${(e as Error).message}`);
    }
    if (!rec || typeof rec !== 'object' || Array.isArray(rec)) throw new RecordError(file, i + 1, 'expected a JSON object');
    yield { rec: rec as Obj, line: i + 1 };
  }
}

function messagesOf(v: unknown, field: string, fail: (msg: string) => never): ChatMessage[] {
  if (typeof v === 'string') return [{ role: 'user', content: v }];
  if (!Array.isArray(v) || v.length === 0) fail(`"${field}" must be a non-empty array of messages`);
  return (v as unknown[]).map((m, i) => {
    const o = m as Obj;
    if (!o || typeof o !== 'object') fail(`${field}[${i}] is not an object`);
    if (!ROLES.includes(o.role as never)) fail(`${field}[${i}].role is ${JSON.stringify(o.role)}, expected one of ${ROLES.join(', ')}`);
    if (typeof o.content !== 'string') fail(`${field}[${i}].content must be a string`);
    return { role: o.role as ChatMessage['role'], content: o.content as string };
  });
}

const categoryOf = (r: Obj) => (typeof r.category === 'string' ? { category: r.category } : {});

export function readSftFile(file: string): SftRecord[] {
  const out: SftRecord[] = [];
  for (const { rec, line } of jsonLines(file)) {
    const fail = (msg: string): never => { throw new RecordError(file, line, msg); };
    if (typeof rec.messages === 'string') fail('"messages" must be an array of messages');
    const messages = messagesOf(rec.messages, 'messages', fail);
    if (!messages.some((m) => m.role === 'assistant')) fail('no assistant message to learn from');
    out.push({ messages, ...categoryOf(rec) });
  }
  return out;
}

function answerOf(v: unknown, field: string, fail: (msg: string) => never): string {
  if (typeof v === 'string') return v;
  const ms = messagesOf(v, field, fail);
  if (ms.length !== 1 || ms[0].role !== 'assistant') fail(`"${field}" must be a string or one assistant message`);
  return ms[0].content;
}

export function readPreferenceFile(file: string): PreferenceRecord[] {
  const out: PreferenceRecord[] = [];
  for (const { rec, line } of jsonLines(file)) {
    const fail = (msg: string): never => { throw new RecordError(file, line, msg); };
    const prompt = messagesOf(rec.prompt, 'prompt', fail);
    if ('chosen' in rec || 'rejected' in rec) {
      out.push({ prompt, responses: [answerOf(rec.chosen, 'chosen', fail), answerOf(rec.rejected, 'rejected', fail)], ranking: [0, 1], ...categoryOf(rec) });
      continue;
    }
    const responses = rec.responses;
    if (!Array.isArray(responses)) fail('expected "responses" and "ranking" (K-wise) or "chosen" and "rejected" (a pair)');
    const rs = responses as unknown[];
    if (rs.length < 2) fail(`"responses" has ${rs.length} answer${rs.length === 1 ? '' : 's'}; a ranking needs K ≥ 2`);
    rs.forEach((r, i) => { if (typeof r !== 'string') fail(`responses[${i}] must be a string`); });
    const ranking = rec.ranking;
    const K = rs.length;
    const isPerm = Array.isArray(ranking) && ranking.length === K && ranking.every((x) => Number.isInteger(x) && x >= 0 && x < K) && new Set(ranking).size === K;
    if (!isPerm) fail(`"ranking" must be a permutation of 0…${K - 1} (indices of responses, best first), got ${JSON.stringify(ranking)}`);
    out.push({ prompt, responses: rs as string[], ranking: ranking as number[], ...categoryOf(rec) });
  }
  return out;
}

export function readPromptFile(file: string): PromptRecord[] {
  const out: PromptRecord[] = [];
  for (const { rec, line } of jsonLines(file)) {
    const fail = (msg: string): never => { throw new RecordError(file, line, msg); };
    const prompt = messagesOf(rec.messages ?? rec.prompt, rec.messages !== undefined ? 'messages' : 'prompt', fail);
    if (prompt[prompt.length - 1].role === 'assistant') fail('the prompt ends with an assistant message; nothing is left to answer');
    out.push({ prompt, ...categoryOf(rec) });
  }
  return out;
}

/** All C(K,2) (winner, loser) index pairs of a ranking, best pairs first. */
export function rankingPairs(ranking: readonly number[]): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < ranking.length; i++) for (let j = i + 1; j < ranking.length; j++) pairs.push([ranking[i], ranking[j]]);
  return pairs;
}
