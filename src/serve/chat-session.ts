// One conversation with a model, as `gptkit chat` holds it: the system prompt, the turns so far,
// answers streamed from the engine, and a history that keeps to the context — when the prompt plus
// the answer's budget no longer fit, the oldest turns are dropped (the system prompt stays) and
// the caller is told how many. Prints nothing: cli/chat.ts decides how to show it.
import { appendFileSync } from 'node:fs';
import type { ChatMessage, ChatTemplate } from '../rlhf/chat-template.ts';
import type { SamplingOptions } from '../generate/sampling.ts';
import { ConfigError, FileFormatError } from '../util/errors.ts';
import type { EngineClient, Generation } from './engine-client.ts';
import type { FinishReason } from './protocol.ts';

export interface ChatSessionOptions {
  system: string | null;
  maxTokens: number;
  sampling: SamplingOptions;
  /** Seed of the first answer; each answer after it uses the next. */
  seed: number;
}

export interface Answer {
  text: string;
  finishReason: FinishReason;
  /** Earlier messages dropped to fit the context before this answer (0 = none). */
  dropped: number;
}

export class ChatSession {
  system: string | null;
  /** User and assistant turns, oldest first (the system prompt is kept apart). */
  turns: ChatMessage[] = [];
  private current: Generation | null = null;
  private answers = 0;

  constructor(private readonly engine: EngineClient, private readonly template: ChatTemplate, private readonly opts: ChatSessionOptions) {
    this.system = opts.system;
  }

  get messages(): ChatMessage[] {
    return this.system ? [{ role: 'system', content: this.system }, ...this.turns] : [...this.turns];
  }

  reset(): void {
    this.turns = [];
  }

  /** Send a user message; the answer streams through onText and joins the history. */
  async send(text: string, onText: (piece: string) => void): Promise<Answer> {
    this.turns.push({ role: 'user', content: text });
    const context = this.engine.info.contextLength;
    let dropped = 0;
    let prompt = this.template.encodePrompt(this.messages);
    // Whole turns go, oldest first, until the prompt leaves room for the answer (or only this message is left).
    while (prompt.length + this.opts.maxTokens > context && this.turns.length > 1) {
      this.turns.shift();
      dropped++;
      while (this.turns.length > 1 && this.turns[0].role !== 'user') { this.turns.shift(); dropped++; }
      prompt = this.template.encodePrompt(this.messages);
    }
    const maxTokens = Math.min(this.opts.maxTokens, context - prompt.length);
    if (maxTokens <= 0) {
      this.turns.pop();
      throw new ConfigError(`this message (${prompt.length} tokens with the system prompt) leaves no room for an answer in the model's context of ${context} tokens`);
    }
    let answer = '';
    const done = await new Promise<FinishReason>((resolve, reject) => {
      this.current = this.engine.generate({
        prompt, maxTokens, sampling: this.opts.sampling, seed: (this.opts.seed + this.answers++) >>> 0, stop: [],
        eosIds: [this.template.endOfTurnId, ...(this.template.tokenizer.specialTokens.has('<|endoftext|>') ? [this.template.tokenizer.tokenId('<|endoftext|>')] : [])],
      }, {
        onText: (piece) => { answer += piece; if (piece) onText(piece); },
        onDone: (d) => resolve(d.finishReason),
        onError: reject,
      });
    }).finally(() => { this.current = null; });
    this.turns.push({ role: 'assistant', content: answer });
    return { text: answer, finishReason: done, dropped };
  }

  /** Stop the answer being generated (what it has so far stays in the history). */
  stop(): boolean {
    if (!this.current) return false;
    this.current.cancel();
    return true;
  }

  /** Append the conversation to a JSONL file as one `{"messages": [...]}` line (the SFT format). */
  save(file: string): number {
    const messages = this.messages;
    try {
      appendFileSync(file, JSON.stringify({ messages }) + '\n');
    } catch (e) {
      throw new FileFormatError(file, `cannot append the conversation: ${(e as Error).message}`);
    }
    return messages.length;
  }
}
