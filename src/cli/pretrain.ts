// `gptkit pretrain`: flags (or a JSON config with the same keys) → pipeline/pretrain.
import type { Command } from './main.ts';
import { parseFlags, helpText, withConfigFile, type FlagSpecs } from './flags.ts';
import { readConfigFile } from './config-file.ts';
import { pretrain, pretrainBertRun, defaultPretrainConfig, pretrainRanges as R, type PretrainConfig, type PretrainEvent } from '../pipeline/pretrain.ts';
import { presets, type GptConfig } from '../models/gpt.ts';
import { bertPresets } from '../models/bert.ts';
import { isBertDir } from '../interop/hf-bert.ts';
import { backendNotice } from '../backend/index.ts';
import { stepLine, throttle, fmtCount, fmtDuration } from './progress.ts';
import { ConfigError } from '../util/errors.ts';
import { launchedRanks } from '../train/distributed.ts';
import { runUnderMpi, ranksFlag } from './mpi-launch.ts';



const d = defaultPretrainConfig;
export const pretrainFlags: FlagSpecs = {
  config: { type: 'string', value: 'FILE', help: 'JSON file of options (keys as these flags); flags given here win' },
  data: { type: 'strings', value: 'FILE', path: true, help: 'training text (.txt, .jsonl, .parquet, ± .gz) or a token-shard index.json' },
  out: { type: 'string', value: 'DIR', path: true, help: 'checkpoint directory (config.json, model.safetensors, tokenizer.json, trainer_state/, metrics.jsonl)' },
  tokenizer: { type: 'string', value: 'DIR', path: true, default: d.tokenizer, help: "tokenizer directory, or 'gpt2'" },
  arch: { type: 'string', value: 'gpt|bert', choices: ['gpt', 'bert'], default: d.arch, help: "'bert': a BERT encoder on MLM + NSP sentence pairs (needs a WordPiece --tokenizer; presets bert-*, default bert-world-tiny)" },
  preset: { type: 'string', value: 'NAME', default: d.preset, help: `model preset: ${Object.keys(presets).join(', ')} (with --arch bert: ${Object.keys(bertPresets).join(', ')})` },
  'n-layer': { type: 'number', range: { min: 1, int: true }, help: 'override the preset: transformer blocks' },
  'n-head': { type: 'number', range: { min: 1, int: true }, help: 'override the preset: attention heads' },
  'n-embd': { type: 'number', range: { min: 1, int: true }, help: 'override the preset: model width' },
  'block-size': { type: 'number', range: { min: 1, int: true }, help: 'override the preset: context length in tokens' },
  dropout: { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, help: 'override the preset: dropout probability' },
  norm: { type: 'string', value: 'pre|post', choices: ['pre', 'post'], help: "override the preset: LayerNorm placement ('post' = GPT-1)" },
  attention: { type: 'string', value: 'dense|alternating', choices: ['dense', 'alternating'], help: "override the preset: 'alternating' = GPT-3 dense/banded layers" },
  window: { type: 'number', range: { min: 1, int: true }, help: 'override the preset: band width of sparse layers' },
  steps: { type: 'number', range: R.steps, default: d.steps, help: 'optimizer steps' },
  'batch-size': { type: 'number', range: R.batchSize, default: d.batchSize, help: 'sequences per micro-batch' },
  'grad-accum': { type: 'number', range: R.gradAccum, default: d.gradAccum, help: 'micro-batches per optimizer step' },
  precision: { type: 'string', value: 'f32|bf16', choices: ['f32', 'bf16'], default: d.precision, help: "'bf16': mixed precision as torch.autocast — matrix products in bf16 (AVX512_BF16 where the CPU has it, else emulated), weights, optimizer, LayerNorm, softmax and loss in float32" },
  lr: { type: 'number', range: R.lr, default: d.lr, help: 'peak learning rate' },
  'min-lr': { type: 'number', range: R.minLr, default: d.minLr, help: 'learning rate at the end of the cosine decay' },
  'warmup-steps': { type: 'number', range: R.warmupSteps, default: d.warmupSteps, help: 'linear warmup steps' },
  'weight-decay': { type: 'number', range: R.weightDecay, default: d.weightDecay, help: 'AdamW weight decay (not on biases, LayerNorm, embeddings)' },
  beta1: { type: 'number', range: R.beta1, default: d.beta1, help: 'AdamW β1' },
  beta2: { type: 'number', range: R.beta2, default: d.beta2, help: 'AdamW β2' },
  eps: { type: 'number', range: R.eps, default: d.eps, help: 'AdamW ε' },
  'grad-clip': { type: 'number', range: R.gradClip, default: d.gradClip, help: 'clip the global gradient norm (0 = off)' },
  'val-fraction': { type: 'number', range: R.valFraction, default: d.valFraction, help: 'fraction of tokens held out for validation' },
  'eval-every': { type: 'number', range: R.evalEvery, default: d.evalEvery, help: 'validation loss every N steps (0 = never)' },
  'eval-batches': { type: 'number', range: R.evalBatches, default: d.evalBatches, help: 'batches per validation' },
  'sample-every': { type: 'number', range: R.sampleEvery, default: d.sampleEvery, help: 'print a sample every N steps (0 = never)' },
  'sample-tokens': { type: 'number', range: R.sampleTokens, default: d.sampleTokens, help: 'tokens per sample' },
  'sample-prompt': { type: 'string', default: d.samplePrompt, help: 'prompt for samples' },
  'checkpoint-every': { type: 'number', range: R.checkpointEvery, default: d.checkpointEvery, help: 'checkpoint every N steps (0 = only at the end)' },
  seed: { type: 'number', range: R.seed, default: d.seed, help: 'seed for init, data order and dropout' },
  resume: { type: 'boolean', help: "continue the run in --out with its own saved settings (--data, --tokenizer and the rest may be left out; only --steps, --eval-every, --checkpoint-every and the sampling flags may change)" },
  force: { type: 'boolean', help: 'start over in an --out that holds a checkpoint (only the files gptkit wrote there are replaced)' },
  'text-field': { type: 'string', default: d.textField, help: 'JSONL/Parquet field holding the text' },
  'on-error': { type: 'string', value: 'fail|skip', choices: ['fail', 'skip'], default: d.onError, help: 'a malformed record: stop, or skip it with a warning naming file and line' },
  json: { type: 'boolean', help: 'print progress as JSON lines instead of text' },
  ranks: ranksFlag,
};

const modelKeys = ['nLayer', 'nHead', 'nEmbd', 'blockSize', 'dropout', 'norm', 'attention', 'window'] as const;

/**
 * Flags → the settings the user chose (model overrides gathered under `model`). Defaults are left to
 * the pipeline, which fills them in for a new run and takes the checkpoint's own on --resume.
 */
export function pretrainConfigFromArgs(argv: string[]): (Partial<PretrainConfig> & { out: string }) | null {
  const p = parseFlags(argv, pretrainFlags);
  if (p.help) {
    console.log(helpText('gptkit pretrain --data FILE… --out DIR [options]', 'Pretrain a GPT language model (nanoGPT-style) on text or token shards.', pretrainFlags));
    return null;
  }
  const file = p.values.config ? readConfigFile(String(p.values.config), pretrainFlags) : {};
  const v = withConfigFile(p, file);
  const chosen = new Set([...p.given, ...Object.keys(file)]);
  if (!v.out) throw new ConfigError('--out is required');
  if (!v.data && !v.resume) throw new ConfigError('--data is required', 'pass --data FILE… (with --resume the run\'s own data is used)');
  const model: Partial<GptConfig> = {};
  for (const k of modelKeys) if (v[k] !== undefined) (model as Record<string, unknown>)[k] = v[k];
  const cfg: Record<string, unknown> = {};
  if (Object.keys(model).length) cfg.model = model;
  for (const k of chosen) {
    if (k === 'config' || k === 'json' || k === 'ranks' || (modelKeys as readonly string[]).includes(k)) continue;
    cfg[k] = v[k];
  }
  cfg.resume = Boolean(v.resume);
  cfg.force = Boolean(v.force);
  return cfg as Partial<PretrainConfig> & { out: string };
}

export function printPretrainEvent(e: PretrainEvent, json: boolean, shouldPrint: (force?: boolean) => boolean): void {
  if (json) {
    if (e.type !== 'tokenize' || shouldPrint(e.done)) console.log(JSON.stringify(e.type === 'start' ? { ...e, config: undefined } : e));
    return;
  }
  switch (e.type) {
    case 'malformed':
      console.error(`warning: skipped ${e.file}:${e.line}: ${e.message}`);
      break;
    case 'tokenize':
      if (shouldPrint(e.done)) console.log(`tokenizing: ${fmtCount(e.docs)} documents, ${fmtCount(e.tokens)} tokens${e.done ? ' (done)' : ''}`);
      break;
    case 'start': {
      const m = e.model;
      console.log(`model: ${m.nLayer} layers × ${m.nHead} heads × ${m.nEmbd} wide, context ${m.blockSize}, vocab ${m.vocabSize}, ${m.norm}-LN, ${m.attention} attention — ${fmtCount(e.params)} parameters, ${e.flopsPerToken.toExponential(2)} training FLOPs/token`);
      console.log(`data: ${fmtCount(e.trainTokens)} train / ${fmtCount(e.valTokens)} validation tokens; backend ${e.backend} (${e.threads} threads)${e.config.precision === 'bf16' ? '; bf16 mixed precision' : ''}`);
      if (e.resumedFrom !== null) console.log(`resuming from step ${e.resumedFrom}`);
      break;
    }
    case 'step':
      if (shouldPrint(e.step === e.steps || e.step === 1)) console.log(stepLine(e));
      break;
    case 'eval':
      console.log(`step ${e.step}: validation loss ${e.valLoss.toFixed(4)}`);
      break;
    case 'sample':
      console.log(`--- sample at step ${e.step} ---\n${e.text}\n---`);
      break;
    case 'checkpoint':
      console.log(`checkpoint: ${e.dir} (step ${e.step})`);
      break;
    case 'notice':
      console.error(`notice: ${e.message}`);
      break;
    case 'interrupted':
      console.error(`\n${e.signal}: stopped at step ${e.step}; checkpoint saved in ${e.dir}`);
      break;
    case 'done':
      console.log(`done: ${e.step} steps${e.valLoss !== null ? `, validation loss ${e.valLoss.toFixed(4)}` : ''}; model in ${e.dir}`);
      break;
  }
}

/** The opening line: what the user asked for, readably (the full config is in --json's start event and config.json). */
function describeRun(cfg: Partial<PretrainConfig> & { out: string }): string {
  if (cfg.resume) return `resuming the run in ${cfg.out}${Object.keys(cfg).length > 3 ? ` (given: ${Object.keys(cfg).filter((k) => !['out', 'resume', 'force'].includes(k)).join(', ') || 'nothing else'})` : ''}`;
  const parts = [`pretrain → ${cfg.out}`, `data ${(cfg.data ?? []).join(' ')}`, `tokenizer ${cfg.tokenizer ?? d.tokenizer}`, `preset ${cfg.preset ?? d.preset}`,
    `${cfg.steps ?? d.steps} steps × batch ${cfg.batchSize ?? d.batchSize}`, `lr ${cfg.lr ?? d.lr}`];
  return parts.join(' | ');
}

export const pretrainCommand: Command = {
  summary: 'pretrain a GPT on text or token shards',
  async run(argv) {
    const cfg = pretrainConfigFromArgs(argv);
    if (!cfg) return 0;
    const ranks = Number(parseFlags(argv, pretrainFlags).values.ranks ?? 1);
    if (ranks > 1 && launchedRanks() === null) return runUnderMpi('pretrain', ranks, argv);
    const json = argv.includes('--json');
    const notice = backendNotice();
    if (notice) console.error(notice);
    if (!json) console.log(describeRun(cfg));
    const t0 = performance.now();
    const tick = throttle(json ? 0 : 2);
    const bert = cfg.arch === 'bert' || (cfg.resume && cfg.arch === undefined && isBertDir(cfg.out));
    await (bert ? pretrainBertRun : pretrain)(cfg, (e) => printPretrainEvent(e, json, tick));
    if (!json) console.log(`total time ${fmtDuration((performance.now() - t0) / 1000)}`);
    return 0;
  },
};
