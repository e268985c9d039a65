// `gptkit sample`, `gptkit score` and `gptkit export`: use a trained (or Hugging Face GPT-2) model.
import type { Command } from './main.ts';
import { parseFlags, helpText, type FlagSpecs } from './flags.ts';
import { loadModel, exportHfGpt2 } from '../interop/load.ts';
import { generateText } from '../generate/text.ts';
import { scoreText } from '../generate/score.ts';
import { backendNotice } from '../backend/index.ts';
import { ConfigError } from '../util/errors.ts';
import { OutputDir, legacyByNames } from '../util/output.ts';
import { isBertDir, loadBertDir, writeBertFiles } from '../interop/hf-bert.ts';
import { exportGguf, isGgufFile, GGUF_DTYPES, type GgufDtype } from '../interop/gguf-gpt2.ts';
import { readChatTemplate, tokenizerConfigJson, TOKENIZER_CONFIG } from '../rlhf/chat-template.ts';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { quantizeModel, type ModelDtype } from '../models/quantize.ts';

const sampleFlags: FlagSpecs = {
  dtype: { type: 'string', value: 'f32|bf16|q8_0', default: 'f32', choices: ['f32', 'bf16', 'q8_0'], help: 'weights for decoding: f32, or a narrow copy read as stored (bf16: 2 bytes a weight, q8_0: ggml\'s 8-bit blocks, 1.06 bytes)' },
  model: { type: 'string', value: 'DIR', help: 'gptkit checkpoint or Hugging Face GPT-2 directory' },
  prompt: { type: 'string', value: 'TEXT', default: '', help: 'text to continue (empty: start from <|endoftext|>)' },
  greedy: { type: 'boolean', help: 'always take the most likely token' },
  temperature: { type: 'number', default: 1, range: { min: 0, max: 100 }, help: 'softmax temperature (0 = greedy)' },
  'top-k': { type: 'number', default: 0, range: { min: 0, int: true }, help: 'sample among the k most likely tokens (0 = off)' },
  'top-p': { type: 'number', default: 1, range: { min: 0, minExclusive: true, max: 1 }, help: 'nucleus sampling mass (1 = off)' },
  'max-tokens': { type: 'number', default: 100, range: { min: 1, int: true }, help: 'tokens to generate at most' },
  stop: { type: 'strings', value: 'TEXT', help: 'stop before any of these strings (\\n, \\t and \\\\ are unescaped, so --stop "\\n" stops at a newline)' },
  num: { type: 'number', default: 1, range: { min: 1, max: 256, int: true }, help: 'number of samples (generated as one batch)' },
  seed: { type: 'number', default: 0, range: { min: 0, max: 2 ** 32 - 1, int: true }, help: 'random seed (same seed, same text)' },
  json: { type: 'boolean', help: 'print one JSON object instead of streaming text' },
};

/** `--stop "\n"` as typed in a shell is backslash + n: mean the newline, as the README shows it. */
export function unescapeStop(s: string): string {
  return s.replace(/\\(n|t|r|\\)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : '\\'));
}

export const sampleCommand: Command = {
  summary: 'generate text from a model',
  async run(argv) {
    const p = parseFlags(argv, sampleFlags);
    if (p.help) {
      console.log(helpText('gptkit sample --model DIR --prompt TEXT [options]', 'Continue a prompt with a trained model (KV-cache decoding).', sampleFlags));
      return 0;
    }
    const v = p.values as { model?: string; prompt: string; greedy?: boolean; temperature: number; topK: number; topP: number; maxTokens: number; stop?: string[]; num: number; seed: number; json?: boolean; dtype: ModelDtype };
    if (!v.model) throw new ConfigError('--model is required');
    const notice = backendNotice();
    if (notice) console.error(notice);
    const { model, tokenizer } = loadModel(v.model);
    quantizeModel(model, v.dtype);
    const prompts = Array.from({ length: v.num }, () => v.prompt);
    const stream = !v.json && v.num === 1;
    if (stream) process.stdout.write(v.prompt);
    const t0 = performance.now();
    const res = generateText(model, tokenizer, prompts, {
      maxTokens: v.maxTokens, greedy: Boolean(v.greedy), temperature: v.temperature, topK: v.topK, topP: v.topP, seed: v.seed, stop: (v.stop ?? []).map(unescapeStop),
      onText: stream ? (_b, text) => process.stdout.write(text) : undefined,
    });
    const sec = (performance.now() - t0) / 1000;
    // --max-tokens past the context: decoding ends when the context is full, and the user is told.
    const ctx = model.config.blockSize;
    const full = (r: { finishReason: string; promptTokens: number; completionTokens: number }) => r.finishReason === 'length' && r.completionTokens < v.maxTokens && r.promptTokens + r.completionTokens >= ctx;
    if (!v.json && res.some(full)) console.error(`note: stopped before --max-tokens ${v.maxTokens}: the model's context of ${ctx} tokens filled up (prompt ${res[0].promptTokens} tokens)`);
    const tokens = res.reduce((s, r) => s + r.completionTokens, 0);
    if (v.json) {
      console.log(JSON.stringify({ samples: res.map((r) => ({ text: r.text, tokens: r.tokens, finish_reason: r.finishReason, completion_tokens: r.completionTokens, ...(full(r) ? { context_full: true } : {}) })), prompt_tokens: res[0].promptTokens, tokens_per_sec: tokens / sec }));
    } else if (stream) {
      process.stdout.write('\n');
      console.error(`[${res[0].completionTokens} tokens, ${(tokens / sec).toFixed(1)} tok/s, finish: ${res[0].finishReason}]`);
    } else {
      res.forEach((r, i) => console.log(`--- sample ${i + 1} (${r.finishReason}) ---\n${v.prompt}${r.text}`));
    }
    return 0;
  },
};

const scoreFlags: FlagSpecs = {
  dtype: { type: 'string', value: 'f32|bf16|q8_0', default: 'f32', choices: ['f32', 'bf16', 'q8_0'], help: 'weights for decoding: f32, or a narrow copy read as stored (bf16: 2 bytes a weight, q8_0: ggml\'s 8-bit blocks, 1.06 bytes)' },
  model: { type: 'string', value: 'DIR', help: 'gptkit checkpoint or Hugging Face GPT-2 directory' },
  text: { type: 'string', value: 'TEXT', help: 'text to score' },
  context: { type: 'string', value: 'TEXT', default: '', help: 'condition on this text first (not scored)' },
  json: { type: 'boolean', help: 'print JSON (tokens, per-token log-probabilities, perplexity)' },
};

export const scoreCommand: Command = {
  summary: 'per-token log-probabilities and perplexity of a text',
  async run(argv) {
    const p = parseFlags(argv, scoreFlags);
    if (p.help) {
      console.log(helpText('gptkit score --model DIR --text TEXT [--context TEXT] [--json]', 'Score a text under a model: log p of every token, total, perplexity.', scoreFlags));
      return 0;
    }
    const v = p.values as { model?: string; text?: string; context: string; json?: boolean; dtype: ModelDtype };
    if (!v.model) throw new ConfigError('--model is required');
    if (v.text === undefined) throw new ConfigError('--text is required');
    const { model, tokenizer } = loadModel(v.model);
    quantizeModel(model, v.dtype);
    const s = scoreText(model, tokenizer, v.text, v.context);
    if (v.json) {
      console.log(JSON.stringify({ tokens: s.tokens.map((id, i) => ({ id, text: tokenizer.decode([id]), logprob: s.logprobs[i] })), total_logprob: s.totalLogprob, perplexity: s.perplexity }));
    } else {
      for (let i = 0; i < s.tokens.length; i++) console.log(`${JSON.stringify(tokenizer.decode([s.tokens[i]])).padEnd(16)} ${s.logprobs[i].toFixed(4)}`);
      console.log(`total log-prob ${s.totalLogprob.toFixed(4)} over ${s.tokens.length} tokens; perplexity ${s.perplexity.toFixed(3)}`);
    }
    return 0;
  },
};

const exportFlags: FlagSpecs = {
  model: { type: 'string', value: 'DIR', help: 'gptkit checkpoint (GPT-2 style: pre-LN, tied, dense), Hugging Face GPT-2 directory or GGUF file' },
  out: { type: 'string', value: 'PATH', help: 'hf: the Hugging Face GPT-2 directory to write (new, empty, or an export gptkit wrote; replaced with --force; never --model itself); gguf: the .gguf file to write (an existing one is replaced only with --force, and only if it is a GGUF file)' },
  format: { type: 'string', value: 'hf|gguf', default: 'hf', choices: ['hf', 'gguf'], help: 'hf: a transformers GPT2LMHeadModel directory; gguf: one file llama.cpp loads (architecture gpt2)' },
  dtype: { type: 'string', value: 'F32|F16|BF16|Q8_0', default: 'F32', help: 'element type of the weights: hf takes F32, F16 or BF16; gguf takes F32, F16, BF16 or Q8_0 (case does not matter)' },
  force: { type: 'boolean', help: 'replace an export gptkit wrote in --out (other files there are kept)' },
};

export const exportCommand: Command = {
  summary: 'export a checkpoint as a Hugging Face GPT-2 directory or a GGUF file for llama.cpp',
  async run(argv) {
    const p = parseFlags(argv, exportFlags);
    if (p.help) {
      console.log(helpText('gptkit export --model DIR --out PATH [--format hf|gguf] [--dtype F32]', 'Write config.json, model.safetensors (Conv1D layout) and tokenizer.json that transformers loads as GPT2LMHeadModel; or, with --format gguf, one GGUF file (weights, tokenizer, chat template) that llama.cpp loads.', exportFlags));
      return 0;
    }
    const v = p.values as { model?: string; out?: string; format: 'hf' | 'gguf'; dtype: string; force?: boolean };
    if (!v.model || !v.out) throw new ConfigError('--model and --out are required');
    const dtype = v.dtype.toUpperCase();
    const allowed = v.format === 'gguf' ? GGUF_DTYPES : ['F32', 'F16', 'BF16'];
    if (!allowed.includes(dtype as never)) throw new ConfigError(`--dtype ${v.dtype}: --format ${v.format} takes ${allowed.join(', ')}`);
    if (v.format === 'gguf') return exportGgufFile(v.model, v.out, dtype as GgufDtype, Boolean(v.force));
    if (dtype !== 'F32' && isBertDir(v.model)) throw new ConfigError(`--dtype ${v.dtype}: BERT exports are F32`);
    v.dtype = dtype;
    const out = OutputDir.open(v.out, {
      kind: 'hf-export', label: `--out ${v.out}`, force: Boolean(v.force), inputs: [{ flag: '--model', path: v.model }],
      legacy: legacyByNames(['config.json', 'model.safetensors'], (n) => ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].includes(n)),
    });
    if (isBertDir(v.model)) {
      // A BERT checkpoint is already a BertForPreTraining directory: written again without gptkit's training state.
      await out.use(() => {
        const { model, tokenizer } = loadBertDir(v.model!);
        out.commitSync((staging) => writeBertFiles(staging, model, tokenizer), { replaceAll: true });
      });
      console.log(`wrote ${v.out} (config.json, model.safetensors, tokenizer.json, vocab.txt: BertForPreTraining)`);
      return 0;
    }
    // A chat model's template goes with it (tokenizer_config.json, where transformers reads it).
    const chat = readChatTemplate(v.model);
    await out.use(() => {
      const { model, tokenizer } = loadModel(v.model!);
      out.commitSync((staging) => {
        exportHfGpt2(model, tokenizer, staging, { dtype: v.dtype as 'F32' });
        if (chat.fromFile) writeFileSync(join(staging, TOKENIZER_CONFIG), tokenizerConfigJson(tokenizer, chat.template, model.config.blockSize));
      }, { replaceAll: true });
    });
    console.log(`wrote ${v.out} (config.json, model.safetensors, tokenizer.json${chat.fromFile ? ', tokenizer_config.json with the chat template' : ''})`);
    return 0;
  },
};

/**
 * `export --format gguf`: one file. Never over a directory or --model, never over a file that is
 * not GGUF, and over a GGUF file only with --force; written beside it and renamed into place.
 */
function exportGgufFile(modelPath: string, outPath: string, dtype: GgufDtype, force: boolean): number {
  if (resolve(outPath) === resolve(modelPath)) throw new ConfigError(`--out ${outPath} is --model itself`);
  if (existsSync(outPath)) {
    if (statSync(outPath).isDirectory()) throw new ConfigError(`--out ${outPath} is a directory; --format gguf writes one file (e.g. --out model.gguf)`);
    if (!isGgufFile(outPath)) throw new ConfigError(`--out ${outPath} exists and is not a GGUF file: gptkit will not overwrite it`);
    if (!force) throw new ConfigError(`--out ${outPath} exists`, 'add --force to replace it');
  }
  const { model, tokenizer } = loadModel(modelPath);
  const { template, fromFile } = readChatTemplate(modelPath);
  exportGguf(model, tokenizer, outPath, { dtype, chatTemplate: fromFile ? template : undefined, name: basename(resolve(modelPath)) });
  console.log(`wrote ${outPath} (GGUF v3, architecture gpt2, ${dtype}${fromFile ? ', with the chat template' : ''}, ${(statSync(outPath).size / 1e6).toFixed(1)} MB)`);
  return 0;
}
