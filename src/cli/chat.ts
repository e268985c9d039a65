// `gptkit chat`: a terminal conversation with a model. Answers stream as they are decoded (the
// model runs in a worker thread, so the terminal stays responsive); Ctrl-C stops the answer, not
// the program. With piped stdin, each line is one user message and each answer one block of
// output, so scripts can drive it.
import type { ModelDtype } from '../models/quantize.ts';
import { createInterface } from 'node:readline';
import type { Command } from './main.ts';
import { parseFlags, helpText, type FlagSpecs } from './flags.ts';
import { EngineClient } from '../serve/engine-client.ts';
import { ChatSession } from '../serve/chat-session.ts';
import { chatTemplateFor, untrainedNotice } from '../serve/server.ts';
import { Sampler } from '../generate/sampling.ts';
import { backendNotice } from '../backend/index.ts';
import { ConfigError, GptkitError } from '../util/errors.ts';
import { DEFAULT_KV_CACHE, type KvDtype } from '../serve/slot-cache.ts';

const chatFlags: FlagSpecs = {
  model: { type: 'string', value: 'DIR', help: 'gptkit checkpoint or Hugging Face GPT-2 directory (with the ChatML tokens: e.g. from gptkit sft)' },
  system: { type: 'string', value: 'TEXT', help: 'system prompt' },
  temperature: { type: 'number', default: 0.7, help: 'softmax temperature (0 = greedy)' },
  'top-p': { type: 'number', default: 1, help: 'nucleus sampling mass (1 = off)' },
  'top-k': { type: 'number', default: 0, help: 'sample among the k most likely tokens (0 = off)' },
  'max-tokens': { type: 'number', default: 256, help: 'tokens per answer at most' },
  seed: { type: 'number', default: 0, help: 'seed of the first answer (the next answers use the next seeds)' },
  dtype: { type: 'string', value: 'f32|bf16|q8_0', default: 'f32', choices: ['f32', 'bf16', 'q8_0'], help: 'weights for decoding: f32, or a narrow copy read as stored (bf16: 2 bytes a weight, q8_0: ggml\'s 8-bit blocks, 1.06 bytes)' },
  'kv-cache': { type: 'string', value: 'f16|f32', default: DEFAULT_KV_CACHE, choices: ['f16', 'f32'], help: 'KV cache storage, as gptkit serve\'s (f32: the bits of gptkit generate)' },
};

const HELP = [
  'commands:',
  '  /reset          forget the conversation (the system prompt stays)',
  '  /system TEXT    set the system prompt (empty: none)',
  '  /save FILE      append the conversation to FILE as one {"messages": [...]} line (the SFT format)',
  '  /exit           quit (so do Ctrl-D, or Ctrl-C at an empty prompt)',
  'Ctrl-C while an answer streams stops that answer.',
].join('\n');

export const chatCommand: Command = {
  summary: 'chat with a model in the terminal',
  async run(argv) {
    const p = parseFlags(argv, chatFlags);
    if (p.help) {
      console.log(helpText('gptkit chat --model DIR [--system TEXT] [--temperature 0.7] [--max-tokens 256]', `A multi-turn conversation in the ChatML format; answers stream as they are decoded.\n\n${HELP}`, chatFlags));
      return 0;
    }
    const v = p.values as { model?: string; system?: string; temperature: number; topP: number; topK: number; maxTokens: number; seed: number; dtype: ModelDtype; kvCache: KvDtype };
    if (!v.model) throw new ConfigError('--model is required');
    if (!(Number.isInteger(v.maxTokens) && v.maxTokens >= 1)) throw new ConfigError(`--max-tokens must be an integer ≥ 1, got ${v.maxTokens}`);
    const sampling = { temperature: v.temperature, topP: v.topP, topK: v.topK };
    new Sampler(sampling); // bad settings are refused now, not at the first message
    const notice = backendNotice();
    if (notice) console.error(notice);
    const engine = await EngineClient.start({ modelDir: v.model, maxBatch: 1, dtype: v.dtype, kvCache: v.kvCache });
    try {
      const template = chatTemplateFor(v.model, engine.tokenizer);
      if ('unavailable' in template) throw new ConfigError(`${v.model} cannot chat: ${template.unavailable}`);
      if (engine.info.addedTokens.length) console.error(untrainedNotice(engine.info.addedTokens));
      const session = new ChatSession(engine, template, {
        system: v.system ?? null, maxTokens: v.maxTokens, seed: v.seed,
        sampling,
      });
      return await repl(session, engine.info.contextLength);
    } finally {
      await engine.close();
    }
  },
};

async function repl(session: ChatSession, context: number): Promise<number> {
  const tty = Boolean(process.stdin.isTTY);
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty, prompt: '> ' });
  const note = (s: string) => process.stderr.write(`${s}\n`);
  let answering = false;
  // Ctrl-C: stop the answer if one is streaming, else quit.
  const interrupt = () => {
    if (answering) session.stop();
    else rl.close();
  };
  rl.on('SIGINT', interrupt);
  process.on('SIGINT', interrupt);
  if (tty) note(`chatting with a model of context ${context} tokens; /help for commands`);
  try {
    if (tty) rl.prompt();
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === '') { if (tty) rl.prompt(); continue; }
      if (line.startsWith('/')) {
        const [cmd, ...rest] = line.split(/\s+/);
        const arg = line.slice(cmd.length).trim();
        if (cmd === '/exit' || cmd === '/quit') break;
        if (cmd === '/reset') { session.reset(); note('[conversation cleared]'); }
        else if (cmd === '/system') { session.system = arg || null; session.reset(); note(arg ? '[system prompt set; conversation cleared]' : '[no system prompt; conversation cleared]'); }
        else if (cmd === '/save') {
          if (!rest.length) note('usage: /save FILE');
          else {
            try { note(`[saved ${session.save(arg)} messages to ${arg}]`); } catch (e) { note(`error: ${(e as Error).message}`); }
          }
        } else if (cmd === '/help') note(HELP);
        else note(`unknown command ${cmd} (/help lists them)`);
        if (tty) rl.prompt();
        continue;
      }
      answering = true;
      try {
        const a = await session.send(line, (piece) => process.stdout.write(piece));
        process.stdout.write('\n');
        if (a.dropped) note(`[history: the ${a.dropped} oldest messages were dropped to fit the context of ${context} tokens]`);
        if (a.finishReason === 'cancelled') note('[stopped]');
        else if (a.finishReason === 'length') note('[answer cut at --max-tokens]');
      } catch (e) {
        if (!(e instanceof GptkitError)) throw e;
        note(`error: ${e.message}`);
      } finally {
        answering = false;
      }
      if (tty) rl.prompt();
    }
  } finally {
    process.off('SIGINT', interrupt);
    rl.close();
  }
  return 0;
}
