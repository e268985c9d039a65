// `gptkit seq2seq train` (the 2017 Transformer on {"source","target"} pairs) and `gptkit translate`
// (greedy or beam search with a trained model, BLEU and exact match when references are given).
// The work is in pipeline/seq2seq.ts; this prints.
import { readFileSync, existsSync } from 'node:fs';
import type { Command } from './main.ts';
import { parseFlags, helpText, type FlagSpecs } from './flags.ts';
import { stepLine, throttle, fmtCount, fmtDuration } from './progress.ts';
import { backendNotice } from '../backend/index.ts';
import { ConfigError, FileFormatError } from '../util/errors.ts';
import { trainSeq2Seq, loadSeq2Seq, translate, defaultSeq2SeqConfig as d, readPairs, type Seq2SeqConfig, type Seq2SeqEvent } from '../pipeline/seq2seq.ts';
import { transformerPresets, type TransformerConfig } from '../models/transformer.ts';
import { corpusBleu, exactMatch } from '../eval/bleu.ts';

const posInt = { min: 1, int: true };
export const seq2seqFlags: FlagSpecs = {
  task: { type: 'string', value: 'world:translation|FILE.jsonl|DIR', help: 'pairs {"source","target"}: the world\'s translation task, a JSONL file (its last 10% validates) or a folder of train.jsonl + validation.jsonl' },
  world: { type: 'string', value: 'DIR', default: d.world, path: true, help: 'world directory for world:NAME tasks (gptkit world generate --out DIR)' },
  out: { type: 'string', value: 'DIR', path: true, help: 'checkpoint directory (config.json, model.safetensors, tokenizer.json, trainer_state/, metrics.jsonl)' },
  tokenizer: { type: 'string', value: 'DIR', path: true, help: 'a BPE tokenizer holding <|pad|> <|bos|> <|eos|> (default: train one on the pairs, shared by source and target)' },
  'vocab-size': { type: 'number', default: d.vocabSize, range: { min: 260, int: true }, help: 'size of the BPE trained on the pairs' },
  preset: { type: 'string', value: 'NAME', default: d.preset, choices: Object.keys(transformerPresets), help: 'model size' },
  'n-layer': { type: 'number', range: posInt, help: 'override the preset: layers in the encoder and in the decoder' },
  'n-head': { type: 'number', range: posInt, help: 'override the preset: attention heads' },
  'n-embd': { type: 'number', range: posInt, help: 'override the preset: d_model' },
  'd-ff': { type: 'number', range: posInt, help: 'override the preset: feed-forward width' },
  'block-size': { type: 'number', range: posInt, help: 'override the preset: longest source or target in tokens' },
  dropout: { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, help: 'override the preset: dropout (the paper: 0.1)' },
  'label-smoothing': { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, help: 'override the preset: label smoothing (the paper: 0.1)' },
  steps: { type: 'number', default: d.steps, range: posInt, help: 'optimizer steps' },
  'batch-size': { type: 'number', default: d.batchSize, range: posInt, help: 'pairs per step' },
  lr: { type: 'number', default: d.lr, range: { min: 0, minExclusive: true, max: 100 }, help: 'factor on the inverse-square-root schedule d^-0.5·min(step^-0.5, step·warmup^-1.5)' },
  'warmup-steps': { type: 'number', default: d.warmupSteps, range: posInt, help: 'warmup of the schedule (the paper: 4000)' },
  beta1: { type: 'number', default: d.beta1, range: { min: 0, max: 1, maxExclusive: true }, help: 'Adam β1' },
  beta2: { type: 'number', default: d.beta2, range: { min: 0, max: 1, maxExclusive: true }, help: 'Adam β2 (the paper: 0.98)' },
  eps: { type: 'number', default: d.eps, range: { min: 0, minExclusive: true }, help: 'Adam ε (the paper: 1e-9)' },
  'grad-clip': { type: 'number', default: d.gradClip, range: { min: 0 }, help: 'clip the global gradient norm (0 = off, as the paper)' },
  'eval-every': { type: 'number', default: d.evalEvery, range: { min: 0, int: true }, help: 'validation loss every N steps (0 = never)' },
  'eval-batches': { type: 'number', default: d.evalBatches, range: posInt, help: 'batches per validation' },
  'bleu-sentences': { type: 'number', default: d.bleuSentences, range: { min: 0, int: true }, help: 'validation pairs translated (greedy) for BLEU at the end' },
  'checkpoint-every': { type: 'number', default: d.checkpointEvery, range: { min: 0, int: true }, help: 'checkpoint every N steps (0 = only at the end)' },
  seed: { type: 'number', default: d.seed, range: { min: 0, max: 2 ** 32 - 1, int: true }, help: 'seed for init, data order and dropout' },
  resume: { type: 'boolean', help: 'continue the run in --out with its own settings (only --steps, --eval-every, --eval-batches, --checkpoint-every, --bleu-sentences may change)' },
  force: { type: 'boolean', help: 'start over in an --out that holds a run (only the files gptkit wrote there are replaced)' },
  json: { type: 'boolean', help: 'print progress as JSON lines' },
};

const modelFlags: Record<string, keyof TransformerConfig> = { nLayer: 'nLayer', nHead: 'nHead', nEmbd: 'nEmbd', dFf: 'dFf', blockSize: 'blockSize', dropout: 'dropout', labelSmoothing: 'labelSmoothing' };

function printEvent(e: Seq2SeqEvent, json: boolean, tick: (force?: boolean) => boolean): void {
  if (json) return void (e.type !== 'step' || tick(e.step === e.steps) ? console.log(JSON.stringify(e)) : undefined);
  switch (e.type) {
    case 'tokenizer': console.log(`tokenizer: a ${e.vocabSize}-token BPE shared by source and target`); break;
    case 'start': {
      const m = e.model;
      console.log(`model: encoder–decoder, ${m.nLayer}+${m.nLayer} layers × ${m.nHead} heads × ${m.nEmbd} wide (FFN ${m.dFf}), ${fmtCount(e.params)} parameters; ${fmtCount(e.trainPairs)} train / ${fmtCount(e.valPairs)} validation pairs; backend ${e.backend} (${e.threads} threads)`);
      if (e.resumedFrom !== null) console.log(`resuming from step ${e.resumedFrom}`);
      break;
    }
    case 'step': if (tick(e.step === e.steps || e.step === 1)) console.log(stepLine(e)); break;
    case 'eval': console.log(`step ${e.step}: validation loss ${e.valLoss.toFixed(4)}`); break;
    case 'bleu': console.log(`validation (${e.sentences} pairs, greedy): BLEU ${e.bleu.toFixed(2)}, exact match ${(100 * e.exactMatch).toFixed(1)}%`); break;
    case 'checkpoint': console.log(`checkpoint: ${e.dir} (step ${e.step})`); break;
    case 'interrupted': console.error(`\n${e.signal}: stopped at step ${e.step}; checkpoint saved in ${e.dir}`); break;
    case 'done': console.log(`done: ${e.step} steps${e.bleu !== null ? `, validation BLEU ${e.bleu.toFixed(2)}` : ''}; model in ${e.dir}`); break;
  }
}

async function train(argv: string[]): Promise<number> {
  const p = parseFlags(argv, seq2seqFlags);
  if (p.help) {
    console.log(helpText('gptkit seq2seq train --task world:translation|FILE.jsonl --out DIR [options]', 'Train the 2017 Transformer (encoder–decoder) on {"source","target"} pairs.', seq2seqFlags));
    return 0;
  }
  const v = p.values as Record<string, unknown>;
  if (!v.out) throw new ConfigError('--out is required');
  if (!v.task && !v.resume) throw new ConfigError('--task is required', 'e.g. --task world:translation (with --resume the run\'s own task is used)');
  const cfg: Record<string, unknown> = { out: v.out, resume: Boolean(v.resume), force: Boolean(v.force) };
  const model: Record<string, unknown> = {};
  for (const k of p.given) {
    if (k === 'json' || k === 'out' || k === 'resume' || k === 'force') continue;
    if (k in modelFlags) model[modelFlags[k]] = v[k];
    else cfg[k] = v[k];
  }
  if (Object.keys(model).length) cfg.model = model;
  const notice = backendNotice();
  if (notice) console.error(notice);
  const t0 = performance.now();
  const json = Boolean(v.json);
  const tick = throttle(json ? 0 : 2);
  await trainSeq2Seq(cfg as Partial<Seq2SeqConfig> & { out: string }, (e) => printEvent(e, json, tick));
  if (!json) console.log(`total time ${fmtDuration((performance.now() - t0) / 1000)}`);
  return 0;
}

export const seq2seqCommand: Command = {
  summary: 'seq2seq train: the 2017 Transformer (encoder–decoder) on {"source","target"} pairs',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'train') return train(rest);
    if (sub === undefined || sub === '--help' || sub === '-h') {
      console.log('usage: gptkit seq2seq train --task world:translation|FILE.jsonl --out DIR [options]\n\nsubcommands:\n  train   train an encoder–decoder Transformer (see gptkit seq2seq train --help)');
      return sub === undefined ? 1 : 0;
    }
    throw new ConfigError(`unknown subcommand '${sub}'`, 'subcommands: train');
  },
};

export const translateFlags: FlagSpecs = {
  model: { type: 'string', value: 'DIR', help: 'a folder written by gptkit seq2seq train' },
  input: { type: 'string', value: 'FILE', help: 'sentences, one a line, or {"source","target"} JSONL (then BLEU and exact match are reported); default: standard input' },
  beam: { type: 'number', default: 4, range: posInt, help: 'beam width (1 = greedy decoding)' },
  alpha: { type: 'number', default: 0.6, range: { min: 0 }, help: 'length penalty ((5+|Y|)/6)^α' },
  'max-len': { type: 'number', default: 128, range: posInt, help: 'longest output in tokens (also at most the model\'s block size and 2·source + 10)' },
  'batch-size': { type: 'number', default: 16, range: posInt, help: 'sentences decoded together' },
  json: { type: 'boolean', help: 'print one JSON object per sentence (and the scores) instead of plain lines' },
};

export const translateCommand: Command = {
  summary: 'translate with a seq2seq model (beam search or greedy); BLEU when references are given',
  async run(argv) {
    const p = parseFlags(argv, translateFlags);
    if (p.help) {
      console.log(helpText('gptkit translate --model DIR [--beam 4] [--input FILE] [--json]', 'Translate sentences with a model from gptkit seq2seq train; with {"source","target"} JSONL input, also print BLEU (sacreBLEU\'s) and exact match.', translateFlags));
      return 0;
    }
    const v = p.values as { model?: string; input?: string; beam: number; alpha: number; maxLen: number; batchSize: number; json?: boolean };
    if (!v.model) throw new ConfigError('--model is required');
    if (v.input && !existsSync(v.input)) throw new FileFormatError(v.input, 'no such file');
    const { model, tokenizer } = loadSeq2Seq(v.model);
    const text = v.input ? readFileSync(v.input, 'utf8') : readFileSync(0, 'utf8');
    const jsonl = text.trimStart().startsWith('{');
    const pairs = jsonl ? (v.input ? readPairs(v.input) : text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { source: string; target?: string })) : text.split('\n').filter((l) => l.trim()).map((source) => ({ source }));
    const t0 = performance.now();
    const hyps = translate(model, tokenizer, pairs.map((x) => x.source), { beam: v.beam, alpha: v.alpha, maxLen: v.maxLen, batchSize: v.batchSize });
    const sec = (performance.now() - t0) / 1000;
    hyps.forEach((h, i) => console.log(v.json ? JSON.stringify({ source: pairs[i].source, translation: h }) : h));
    const refs = pairs.map((x) => (x as { target?: string }).target);
    if (refs.every((r) => typeof r === 'string') && refs.length) {
      const bleu = corpusBleu(hyps, [refs as string[]]).score, em = exactMatch(hyps, refs as string[]);
      const line = { bleu, exact_match: em, sentences: hyps.length, beam: v.beam, seconds: sec };
      if (v.json) console.log(JSON.stringify(line));
      else console.error(`BLEU ${bleu.toFixed(2)} (sacreBLEU 13a), exact match ${(100 * em).toFixed(1)}% on ${hyps.length} sentences, beam ${v.beam}, ${fmtDuration(sec)}`);
    }
    return 0;
  },
};
