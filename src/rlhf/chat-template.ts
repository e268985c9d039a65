// The chat format: conversations ⇄ token ids. The format is a Jinja `chat_template`, kept in the
// checkpoint's tokenizer_config.json as Hugging Face does and rendered with @huggingface/jinja, so a
// checkpoint exported to the Python ecosystem formats chats the same way. The default is ChatML:
//
//   <|im_start|>system\nYou are …<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n
//
// What this module promises (the chat server and every RLHF stage rely on it):
// - `encodePrompt(messages)`: the ids of a conversation followed by the assistant-generation prompt,
//   ready to be continued by the model; generation stops at `endOfTurnId` (<|im_end|>).
// - `encodeConversation(messages)`: the ids of a whole conversation and a per-token mask, 1 on the
//   tokens of every assistant message and on the end-of-turn token that closes it (the model must
//   learn to stop), 0 elsewhere. Its ids equal `tokenizer.encode(render(messages), {allowedSpecial})`
//   whenever no message contains a special token's text.
// - `encodeCompletion(text)`: the ids the model should produce after encodePrompt for that answer
//   (ordinary tokens, then the end-of-turn token).
// - Message text never becomes a special token: only the template's own text may contain them.
//   A template must insert each message's content verbatim (ChatML does); one that rewrites it
//   (e.g. `| trim`) is refused, because the mask could not be placed on the right tokens.
import { Template } from '@huggingface/jinja';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tokenizer } from '../tokenizer/index.ts';
import { ConfigError, FileFormatError } from '../util/errors.ts';
import { isGgufFile } from '../interop/gguf-gpt2.ts';
import { GgufValueType, openGguf } from '../interop/gguf.ts';

export type Role = 'system' | 'user' | 'assistant';
export const ROLES: readonly Role[] = ['system', 'user', 'assistant'];
export interface ChatMessage { role: Role; content: string }

export const IM_START = '<|im_start|>';
export const IM_END = '<|im_end|>';
export const CHATML_TOKENS = [IM_START, IM_END] as const;

/** ChatML as a Hugging Face chat template (the same text Qwen and OpenHermes ship). */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface EncodedConversation {
  ids: number[];
  /** 1 where the token belongs to an assistant message (its end-of-turn token included). */
  mask: Uint8Array;
}

/** A character span of the rendered text holding message `message`'s content. */
interface ContentSpan { start: number; end: number; message: number }

export class ChatTemplate {
  readonly source: string;
  /** The token that ends a turn (generation stops on it): <|im_end|> for ChatML. */
  readonly endOfTurnId: number;
  private readonly template: Template;
  private readonly specials: string[];
  private readonly encoder = new TextEncoder();

  constructor(readonly tokenizer: Tokenizer, source: string = CHATML_TEMPLATE) {
    this.source = source;
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new ConfigError(`the chat template does not parse: ${(e as Error).message}`);
    }
    this.specials = [...tokenizer.specialTokens.keys()];
    const missing = this.specials.length ? [] : ['any'];
    if (source.includes(IM_START) || source.includes(IM_END)) for (const t of CHATML_TOKENS) if (!tokenizer.specialTokens.has(t)) missing.push(t);
    if (missing.length) throw new ConfigError(`the tokenizer lacks the chat template's special tokens (${missing.join(', ')})`, 'add them with withChatTokens()');
    this.endOfTurnId = this.findEndOfTurn();
  }

  /** The template's text for a conversation (Jinja variables: messages, add_generation_prompt). */
  render(messages: readonly ChatMessage[], addGenerationPrompt = false): string {
    checkMessages(messages);
    return this.template.render({ messages: messages.map((m) => ({ role: m.role, content: m.content })), add_generation_prompt: addGenerationPrompt, bos_token: '', eos_token: IM_END });
  }

  /** Ids of the conversation followed by the assistant-generation prompt. */
  encodePrompt(messages: readonly ChatMessage[]): number[] {
    return this.encode(messages, true).ids;
  }

  /** Ids of a whole conversation with the mask of assistant tokens. */
  encodeConversation(messages: readonly ChatMessage[]): EncodedConversation {
    return this.encode(messages, false);
  }

  /** What the model should emit after encodePrompt(): the answer's ids, then the end-of-turn id. */
  encodeCompletion(text: string): number[] {
    return [...this.tokenizer.encode(text), this.endOfTurnId];
  }

  private encode(messages: readonly ChatMessage[], addGenerationPrompt: boolean): EncodedConversation {
    const { text, spans } = this.renderWithSpans(messages, addGenerationPrompt);
    // Special tokens are looked for only outside message contents.
    const ids: number[] = [];
    const starts: number[] = []; // UTF-8 byte offset where each token starts
    let pos = 0, byte = 0, span = 0;
    const ordinary = (end: number) => {
      if (end <= pos) return;
      const from = ids.length;
      this.tokenizer.encodeOrdinary(text, pos, end, ids);
      for (let i = from; i < ids.length; i++) { starts.push(byte); byte += this.tokenizer.tokenBytes(ids[i]).length; }
      pos = end;
    };
    for (;;) {
      // The next special token in template text at or after pos.
      let at = -1, which = '';
      for (const s of this.specials) {
        let k = text.indexOf(s, pos);
        while (k >= 0) {
          const inside = spans.find((c) => k < c.end && k + s.length > c.start);
          if (!inside) break;
          k = text.indexOf(s, inside.end);
        }
        if (k >= 0 && (at < 0 || k < at || (k === at && s.length > which.length))) { at = k; which = s; }
      }
      if (at < 0) break;
      ordinary(at);
      ids.push(this.tokenizer.tokenId(which));
      starts.push(byte);
      byte += this.encoder.encode(which).length;
      pos = at + which.length;
    }
    ordinary(text.length);
    // Mask: tokens starting inside an assistant message's content, and the end-of-turn token right after it.
    const mask = new Uint8Array(ids.length);
    const byteAt = (ch: number) => this.encoder.encode(text.slice(0, ch)).length;
    let t = 0;
    for (span = 0; span < spans.length; span++) {
      const c = spans[span];
      if (messages[c.message].role !== 'assistant') continue;
      const b0 = byteAt(c.start), b1 = byteAt(c.end);
      while (t < ids.length && starts[t] < b0) t++;
      while (t < ids.length && starts[t] < b1) mask[t++] = 1;
      if (t < ids.length && starts[t] === b1 && ids[t] === this.endOfTurnId) mask[t++] = 1;
    }
    return { ids, mask };
  }

  /**
   * Render, and find where each message's content lies in the text: the template is rendered a
   * second time with unique markers for contents, which must give the same text once the markers
   * are replaced by the contents (the template inserts contents verbatim).
   */
  private renderWithSpans(messages: readonly ChatMessage[], addGenerationPrompt: boolean): { text: string; spans: ContentSpan[] } {
    const text = this.render(messages, addGenerationPrompt);
    let nonce = 0;
    const all = messages.map((m) => m.content).join('\u0000') + this.source;
    while (all.includes(`\u27e6${nonce}:`)) nonce++;
    const marker = (i: number) => `\u27e6${nonce}:${i}\u27e7`;
    const marked = this.template.render({ messages: messages.map((m, i) => ({ role: m.role, content: marker(i) })), add_generation_prompt: addGenerationPrompt, bos_token: '', eos_token: IM_END });
    const re = new RegExp(`\u27e6${nonce}:(\\d+)\u27e7`, 'g');
    const spans: ContentSpan[] = [];
    let rebuilt = '', last = 0;
    for (let m = re.exec(marked); m; m = re.exec(marked)) {
      rebuilt += marked.slice(last, m.index);
      const i = Number(m[1]);
      spans.push({ start: rebuilt.length, end: rebuilt.length + messages[i].content.length, message: i });
      rebuilt += messages[i].content;
      last = m.index + m[0].length;
    }
    rebuilt += marked.slice(last);
    if (rebuilt !== text) throw new ConfigError('the chat template changes message contents (e.g. trims them); gptkit needs each content inserted verbatim to mask the right tokens');
    return { text, spans };
  }

  /** The special token a template writes right after an assistant message's content. */
  private findEndOfTurn(): number {
    const probe = 'x';
    const { text, spans } = this.renderWithSpans([{ role: 'user', content: 'q' }, { role: 'assistant', content: probe }], false);
    const after = text.slice(spans[1].end);
    const s = this.specials.filter((t) => after.startsWith(t)).sort((a, b) => b.length - a.length)[0];
    if (s) return this.tokenizer.tokenId(s);
    if (this.tokenizer.specialTokens.has('<|endoftext|>')) return this.tokenizer.tokenId('<|endoftext|>');
    throw new ConfigError('the chat template writes no special token after an assistant message, and the tokenizer has no <|endoftext|> to stop on');
  }
}

/** Roles and contents must be what the template expects; a ConfigError names the message. */
export function checkMessages(messages: readonly ChatMessage[]): void {
  if (!Array.isArray(messages)) throw new ConfigError('messages must be an array');
  messages.forEach((m, i) => {
    if (!m || typeof m !== 'object') throw new ConfigError(`messages[${i}] is not an object`);
    if (!ROLES.includes(m.role)) throw new ConfigError(`messages[${i}].role is ${JSON.stringify(m.role)}, expected one of ${ROLES.join(', ')}`);
    if (typeof m.content !== 'string') throw new ConfigError(`messages[${i}].content must be a string, got ${typeof m.content}`);
  });
}

// ---------------------------------------------------------------------------------------------
// tokenizer_config.json: where the template lives in a checkpoint.

export const TOKENIZER_CONFIG = 'tokenizer_config.json';

/** The chat template of a model directory (its tokenizer_config.json's) or GGUF file (its tokenizer.chat_template), else ChatML. */
export function readChatTemplate(dir: string): { template: string; fromFile: boolean } {
  if (isGgufFile(dir)) {
    const f = openGguf(dir);
    try {
      const t = f.metadata.get('tokenizer.chat_template');
      return t?.type === GgufValueType.STRING ? { template: t.value, fromFile: true } : { template: CHATML_TEMPLATE, fromFile: false };
    } finally {
      f.close();
    }
  }
  const path = join(dir, TOKENIZER_CONFIG);
  if (!existsSync(path)) return { template: CHATML_TEMPLATE, fromFile: false };
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FileFormatError(path, `not valid JSON: ${(e as Error).message}`);
  }
  const t = json.chat_template;
  if (t === undefined) return { template: CHATML_TEMPLATE, fromFile: false };
  if (typeof t !== 'string') throw new FileFormatError(path, 'field "chat_template" must be a string (named templates are not supported)');
  return { template: t, fromFile: true };
}

/** A Hugging Face tokenizer_config.json for a GPT-2-style tokenizer with this chat template. */
export function tokenizerConfigJson(tokenizer: Tokenizer, template: string, modelMaxLength: number): string {
  const added: Record<string, unknown> = {};
  for (const [content, id] of [...tokenizer.specialTokens].sort((a, b) => a[1] - b[1])) {
    added[String(id)] = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  }
  const has = (t: string) => tokenizer.specialTokens.has(t);
  const eot = has('<|endoftext|>') ? '<|endoftext|>' : null;
  return JSON.stringify({
    add_prefix_space: false,
    added_tokens_decoder: added,
    additional_special_tokens: CHATML_TOKENS.filter(has),
    bos_token: eot,
    eos_token: has(IM_END) ? IM_END : eot,
    pad_token: eot,
    unk_token: eot,
    chat_template: template,
    clean_up_tokenization_spaces: false,
    model_max_length: modelMaxLength,
    tokenizer_class: 'GPT2Tokenizer',
  }, null, 2) + '\n';
}
