// `gptkit finetune`: flags (or a JSON config with the same keys) → pipeline/finetune (GPT-1's recipe).
import type { Command } from './main.ts';
import { parseFlags, helpText, withConfigFile, type FlagSpecs } from './flags.ts';
import { readConfigFile } from './config-file.ts';
import { finetune, defaultFinetuneConfig, type FinetuneConfig, type FinetuneEvent } from '../pipeline/finetune.ts';
import { finetuneBert, type BertFinetuneEvent } from '../pipeline/finetune-bert.ts';
import { isBertDir } from '../interop/hf-bert.ts';
import { backendNotice } from '../backend/index.ts';
import { stepLine, throttle, fmtCount, fmtDuration } from './progress.ts';
import { ConfigError } from '../util/errors.ts';
import { TASK_NAMES } from '../world/index.ts';
import { runUnderMpi, ranksFlag } from './mpi-launch.ts';
import { launchedRanks } from '../train/distributed.ts';

const d = defaultFinetuneConfig;
const classificationTasks = TASK_NAMES.filter((t) => t !== 'translation').map((t) => `world:${t}`);
export const finetuneFlags: FlagSpecs = {
  config: { type: 'string', value: 'FILE', help: 'JSON file of options (keys as these flags); flags given here win' },
  model: { type: 'string', value: 'DIR', path: true, help: 'pretrained model: a gptkit checkpoint or a Hugging Face GPT-2 directory' },
  task: { type: 'string', value: 'TASK', help: `${classificationTasks.join(', ')}, a JSONL file (all of it trains) or a directory of {train,validation}.jsonl` },
  out: { type: 'string', value: 'DIR', path: true, help: 'checkpoint directory (the pretraining files plus the head; config.json names its task)' },
  world: { type: 'string', value: 'DIR', path: true, default: d.world, help: 'world directory for world:NAME tasks' },
  'aux-lm': { type: 'number', range: { min: 0 }, default: d.auxLm, help: 'λ of L_task + λ·L_LM, the auxiliary language-modelling loss (0 = off)' },
  lr: { type: 'number', range: { min: 0, minExclusive: true }, default: d.lr, help: 'peak learning rate' },
  'batch-size': { type: 'number', range: { min: 1, int: true }, default: d.batchSize, help: 'examples per batch (a step takes --grad-accum batches, on each of --ranks)' },
  'grad-accum': { type: 'number', range: { min: 1, int: true }, default: d.gradAccum, help: 'batches per optimizer step, gradients summed' },
  epochs: { type: 'number', range: { min: 1, int: true }, default: d.epochs, help: 'passes over the training examples' },
  warmup: { type: 'number', range: { min: 0, max: 1 }, default: d.warmup, help: 'linear warmup over this fraction of the steps, then linear decay to 0' },
  'classifier-dropout': { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, default: d.classifierDropout, help: 'dropout on the extract state before the head' },
  dropout: { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, help: "the model's dropout (residual, attention, embeddings); default: the pretrained model's" },
  'weight-decay': { type: 'number', range: { min: 0 }, default: d.weightDecay, help: 'AdamW weight decay (not on biases, LayerNorm, embeddings)' },
  beta1: { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, default: d.beta1, help: 'Adam β1' },
  beta2: { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, default: d.beta2, help: 'Adam β2' },
  eps: { type: 'number', range: { min: 0, minExclusive: true }, default: d.eps, help: 'Adam ε' },
  'grad-clip': { type: 'number', range: { min: 0 }, default: d.gradClip, help: 'clip the global gradient norm (0 = off)' },
  seed: { type: 'number', range: { int: true }, default: d.seed, help: 'seed for the head, the new embedding rows, data order and dropout' },
  limit: { type: 'number', range: { min: 0, int: true }, default: d.limit, help: 'train on at most the first N examples (0 = all)' },
  'val-limit': { type: 'number', range: { min: 0, int: true }, default: d.valLimit, help: 'validate on at most the first N validation examples (0 = all)' },
  'checkpoint-every': { type: 'number', range: { min: 0, int: true }, default: d.checkpointEvery, help: 'checkpoint every N steps (0 = only at the end)' },
  resume: { type: 'boolean', help: 'continue the run in --out from its last checkpoint' },
  force: { type: 'boolean', help: 'start over in an --out holding an earlier run (only the files gptkit wrote there are replaced)' },
  json: { type: 'boolean', help: 'print progress as JSON lines instead of text' },
  ranks: ranksFlag,
};

/**
 * Flags → the settings the user chose; null after --help. Defaults are left to the pipeline, which
 * fills in GPT-1's for a new run and takes the checkpoint's own on --resume.
 */
export function finetuneConfigFromArgs(argv: string[]): (Partial<FinetuneConfig> & { out: string }) | null {
  const p = parseFlags(argv, finetuneFlags);
  if (p.help) {
    console.log(helpText('gptkit finetune --model DIR --task TASK --out DIR [options]', "Finetune a pretrained GPT on a labelled task with GPT-1's recipe: start/delimiter/extract tokens, a linear head on the extract token, L_task + λ·L_LM.", finetuneFlags));
    return null;
  }
  const file = p.values.config ? readConfigFile(String(p.values.config), finetuneFlags) : {};
  const v = withConfigFile(p, file);
  const chosen = new Set([...p.given, ...Object.keys(file)]);
  if (!v.out) throw new ConfigError('--out is required');
  if (!v.resume && !v.task) throw new ConfigError('--task is required', `e.g. --task ${classificationTasks[1]} (with --resume the run's own task is used)`);
  if (!v.resume && !v.model) throw new ConfigError('--model is required', "with --resume the run's own model is used");
  const cfg: Record<string, unknown> = {};
  for (const k of chosen) if (k !== 'config' && k !== 'json' && k !== 'ranks') cfg[k] = v[k];
  cfg.resume = Boolean(v.resume);
  cfg.force = Boolean(v.force);
  return cfg as Partial<FinetuneConfig> & { out: string };
}

export function printFinetuneEvent(e: FinetuneEvent, json: boolean, shouldPrint: (force?: boolean) => boolean): void {
  if (json) {
    console.log(JSON.stringify(e.type === 'start' ? { ...e, config: undefined } : e));
    return;
  }
  switch (e.type) {
    case 'start': {
      const m = e.model;
      console.log(`model: ${m.nLayer} layers × ${m.nHead} heads × ${m.nEmbd} wide, context ${m.blockSize}, vocab ${m.vocabSize}${e.addedTokens ? ` (${e.addedTokens} task tokens added)` : ''} — ${fmtCount(e.params)} parameters`);
      console.log(`task ${e.task}: ${e.layout}${e.labels ? ` over ${e.labels.join(' / ')}` : ''}; ${e.trainExamples} train / ${e.valExamples} validation examples; ${e.steps} steps (${e.stepsPerEpoch} per epoch); backend ${e.backend} (${e.threads} threads)${e.ranks ? ` × ${e.ranks} ranks (${e.mpi})` : ''}`);
      if (e.truncated) console.log(`${e.truncated} examples cut to the model's context of ${m.blockSize} tokens`);
      if (e.resumedFrom !== null) console.log(`resuming from step ${e.resumedFrom}`);
      break;
    }
    case 'step':
      if (shouldPrint(e.step === e.steps || e.step === 1)) console.log(`${stepLine(e)} | task ${e.taskLoss.toFixed(4)}${e.lmLoss !== null ? ` | lm ${e.lmLoss.toFixed(4)}` : ''} | epoch ${e.epoch}`);
      break;
    case 'eval':
      console.log(`epoch ${e.epoch} (step ${e.step}): validation accuracy ${(100 * e.valAcc).toFixed(1)}% on ${e.valExamples} examples`);
      break;
    case 'checkpoint':
      console.log(`checkpoint: ${e.dir} (step ${e.step})`);
      break;
    case 'done':
      console.log(`done: ${e.step} steps${e.valAcc !== null ? `, validation accuracy ${(100 * e.valAcc).toFixed(1)}%` : ''}; model in ${e.dir} (gptkit eval --model ${e.dir} uses its head)`);
      break;
  }
}

export const finetuneCommand: Command = {
  summary: "finetune a GPT on a labelled task (GPT-1's task head and input transformations)",
  async run(argv) {
    const cfg = finetuneConfigFromArgs(argv);
    if (!cfg) return 0;
    const bert = cfg.model ? isBertDir(cfg.model) : cfg.resume && isBertDir(cfg.out);
    const ranks = Number(parseFlags(argv, finetuneFlags).values.ranks ?? 1);
    if (bert && (ranks > 1 || (launchedRanks() ?? 1) > 1)) throw new ConfigError('--ranks: BERT finetuning runs in one process', 'leave out --ranks (data-parallel finetuning is for GPT models)');
    if (ranks > 1 && launchedRanks() === null) return runUnderMpi('finetune', ranks, argv);
    const json = argv.includes('--json');
    const notice = backendNotice();
    if (notice) console.error(notice);
    if (!json) console.log(`config: ${JSON.stringify(cfg)}`);
    const t0 = performance.now();
    const tick = throttle(json ? 0 : 2);
    if (bert) await finetuneBert(cfg, (e) => printBertEvent(e, json, tick));
    else await finetune(cfg, (e) => printFinetuneEvent(e, json, tick));
    if (!json) console.log(`total time ${fmtDuration((performance.now() - t0) / 1000)}`);
    return 0;
  },
};

/** A BERT run (pipeline/finetune-bert.ts): the same lines as GPT-1's. */
function printBertEvent(e: BertFinetuneEvent, json: boolean, shouldPrint: (force?: boolean) => boolean): void {
  if (json) return void console.log(JSON.stringify(e));
  if (e.type === 'start') console.log(`BERT on [CLS]: ${e.task} (${e.layout}${e.labels ? `: ${e.labels.join(', ')}` : ''}), ${fmtCount(e.trainExamples)} train / ${fmtCount(e.valExamples)} validation examples, ${e.steps} steps, ${fmtCount(e.params)} parameters${e.resumedFrom !== null ? `; resuming from step ${e.resumedFrom}` : ''}`);
  else if (e.type === 'step') { if (shouldPrint(e.step === e.steps || e.step === 1)) console.log(stepLine(e)); }
  else if (e.type === 'eval') console.log(`epoch ${e.epoch}: validation accuracy ${(100 * e.valAcc).toFixed(1)}% (${e.valExamples} examples)`);
  else if (e.type === 'checkpoint') console.log(`checkpoint: ${e.dir} (step ${e.step})`);
  else console.log(`done: ${e.step} steps${e.valAcc !== null ? `, validation accuracy ${(100 * e.valAcc).toFixed(1)}%` : ''}; model in ${e.dir}`);
}
