// What the RLHF commands (sft, rm, dpo) share: the optimisation flags, turning parsed flags into
// a stage config, and printing the loop's events.
import { runUnderMpi, ranksFlag } from './mpi-launch.ts';
import { launchedRanks, mpiWorld } from '../train/distributed.ts';
import { parseFlags, helpText, withConfigFile, type FlagSpecs } from './flags.ts';
import { readConfigFile } from './config-file.ts';
import { stepLine, fmtCount } from './progress.ts';
import { ConfigError } from '../util/errors.ts';
import { bf16Notice, type TrainOptions } from '../train/trainer.ts';
import type { Precision } from '../tensor/autocast.ts';
import type { LoopEvent } from '../pipeline/rlhf-loop.ts';

type Defaults = TrainOptions & { batchSize: number; seed: number; checkpointEvery: number; world: string };

/** The flags every fine-tuning stage has, with its own defaults. */
export function trainingFlags(d: Defaults): FlagSpecs {
  return {
    config: { type: 'string', value: 'FILE', help: 'JSON file of options (keys as these flags); flags given here win' },
    world: { type: 'string', value: 'DIR', path: true, default: d.world, help: "the generated world that '--data world' reads (gptkit world generate)" },
    'batch-size': { type: 'number', range: { min: 1, int: true }, default: d.batchSize, help: 'examples per micro-batch' },
    'grad-accum': { type: 'number', range: { min: 1, int: true }, default: d.gradAccum, help: 'micro-batches per optimizer step' },
    steps: { type: 'number', range: { min: 0, int: true }, default: d.steps, help: 'optimizer steps (0 = the epochs\' worth)' },
    lr: { type: 'number', range: { min: 0, minExclusive: true }, default: d.lr, help: 'peak learning rate' },
    'min-lr': { type: 'number', range: { min: 0 }, default: d.minLr, help: 'learning rate at the end of the cosine decay' },
    'warmup-steps': { type: 'number', range: { min: 0, int: true }, default: d.warmupSteps, help: 'linear warmup steps' },
    'weight-decay': { type: 'number', range: { min: 0 }, default: d.weightDecay, help: 'AdamW weight decay (not on biases, LayerNorm, embeddings)' },
    beta1: { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, default: d.beta1, help: 'AdamW β1' },
    beta2: { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, default: d.beta2, help: 'AdamW β2' },
    eps: { type: 'number', range: { min: 0, minExclusive: true }, default: d.eps, help: 'AdamW ε' },
    'grad-clip': { type: 'number', range: { min: 0 }, default: d.gradClip, help: 'clip the global gradient norm (0 = off)' },
    precision: { type: 'string', value: 'f32|bf16', choices: ['f32', 'bf16'], default: d.precision, help: "'bf16': mixed precision as torch.autocast (matrix products in bf16; see gptkit pretrain --help)" },
    'eval-every': { type: 'number', range: { min: 0, int: true }, default: d.evalEvery, help: 'validate every N steps (0 = at the end of every epoch)' },
    'checkpoint-every': { type: 'number', range: { min: 0, int: true }, default: d.checkpointEvery, help: 'save out/last/ every N steps (0 = at validations and the end)' },
    seed: { type: 'number', range: { min: 0, int: true }, default: d.seed, help: 'seed for data order and dropout' },
    resume: { type: 'boolean', help: 'continue the run in --out (from out/last/)' },
    force: { type: 'boolean', help: 'start over in an --out that holds a run (only the files gptkit wrote there are replaced)' },
    json: { type: 'boolean', help: 'print progress as JSON lines instead of text' },
    ranks: ranksFlag,
  };
}

/** `--ranks N` (N > 1, not already under mpirun): the command again under mpirun; null otherwise. */
export function underMpi(command: string, argv: string[], specs: FlagSpecs): Promise<number> | null {
  const ranks = Number(parseFlags(argv, specs).values.ranks ?? 1);
  return ranks > 1 && launchedRanks() === null ? runUnderMpi(command, ranks, argv) : null;
}

/** Flags → the stage's config (null after --help). `required` flags must be given. */
export function configFromArgs(argv: string[], specs: FlagSpecs, usage: string, summary: string, required: string[]): Record<string, unknown> | null {
  const p = parseFlags(argv, specs);
  if (p.help) {
    console.log(helpText(usage, summary, specs));
    return null;
  }
  const file = p.values.config ? readConfigFile(String(p.values.config), specs) : {};
  const v = withConfigFile(p, file);
  for (const r of required) if (v[r] === undefined) throw new ConfigError(`--${r.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is required`);
  // Only what the user set: the stage fills in its defaults, or on --resume the run's own settings.
  const cfg: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) if (k !== 'config' && k !== 'json' && k !== 'ranks' && (p.given.has(k) || k in file)) cfg[k] = val;
  cfg.resume = Boolean(v.resume);
  cfg.force = Boolean(v.force);
  const notice = bf16Notice(v.precision as Precision);
  if (notice && (mpiWorld()?.rank ?? 0) === 0) console.error(`notice: ${notice}`); // once, not once per rank
  return cfg;
}

/** The loop's events as text lines (throttled steps) or JSON lines. */
export function printLoopEvent(e: LoopEvent, json: boolean, shouldPrint: (force?: boolean) => boolean): void {
  if (json) {
    console.log(JSON.stringify(e));
    return;
  }
  switch (e.type) {
    case 'step':
      if (shouldPrint(e.step === e.steps || e.step === 1)) console.log(`${stepLine(e)} | epoch ${e.epoch + 1}`);
      break;
    case 'eval':
      console.log(`step ${e.step}: validation ${Object.entries(e.metrics).filter(([k]) => k !== 'score').map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}${e.best ? ' (best so far: saved)' : ''}`);
      break;
    case 'checkpoint':
      if (!e.best) console.log(`checkpoint: ${e.dir} (step ${e.step})`);
      break;
  }
}

export function printAdded(added: { token: string; id: number }[], json: boolean): void {
  if (json) console.log(JSON.stringify({ type: 'chat-tokens', added }));
  else console.log(`added the chat tokens ${added.map((a) => `${a.token} (id ${a.id})`).join(', ')} to the vocabulary; their embeddings start at the mean of the others`);
}

export { fmtCount };
