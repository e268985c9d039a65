// The main job (`npm start`): the ladder on the embedded world, each rung a stage that reads the
// previous rung's files. Today: world → tokenizer → GPT pretraining → samples. Later rungs (BERT,
// GPT-1 finetuning, prompting, SFT, reward model, PPO, chat, report) append stages here.
// Every stage's output lands under `out/` and records, in its folder's marker, a hash of the settings
// and inputs it was built from: a stage is reused only when that hash matches (an interrupted
// pretraining resumes), rebuilt when it does not (and every stage after it with it), and always
// rebuilt with `fresh`. summary.json keeps every figure measured, reused stages' included.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorld, writeWorld, openWorldDir, GENERATOR, WORLD_SIZES, type WorldProgress } from '../world/index.ts';
import { trainBpe, readTexts, loadTokenizer, openTokenizerDir, type TrainProgress } from '../tokenizer/index.ts';
import { pretrain, type PretrainEvent } from './pretrain.ts';
import { generateText } from '../generate/text.ts';
import { loadModel } from '../interop/load.ts';
import { gptConfig } from '../models/gpt.ts';
import { openCheckpointDir } from '../interop/checkpoint.ts';
import { ConfigError } from '../util/errors.ts';
import { OutputDir } from '../util/output.ts';
import { InterruptedError } from '../util/signals.ts';
import { checkRange, positiveInt, type Range } from '../util/ranges.ts';

export interface LadderConfig {
  out: string;
  seed: number;
  worldSize: 'small' | 'medium' | 'large';
  vocabSize: number;
  preset: string;
  steps: number;
  batchSize: number;
  lr: number;
  /** Recompute every stage even when its output exists. */
  fresh: boolean;
}

export const defaultLadderConfig: LadderConfig = {
  out: 'runs/main', seed: 0, worldSize: 'small', vocabSize: 2048, preset: 'tiny', steps: 1200, batchSize: 16, lr: 2e-3, fresh: false,
};

export const ladderRanges: Record<string, Range> = {
  seed: { min: 0, max: 2 ** 31, int: true }, vocabSize: { min: 260, max: 65536, int: true }, steps: positiveInt, batchSize: positiveInt,
  lr: { min: 0, minExclusive: true, max: 10 },
};

export type LadderEvent =
  | { type: 'stage'; stage: string; detail: string }
  | { type: 'world'; progress: WorldProgress }
  | { type: 'tokenizer'; progress: TrainProgress }
  | { type: 'pretrain'; event: PretrainEvent }
  | { type: 'sample'; prompt: string; text: string }
  | { type: 'done'; out: string; seconds: number; summary: Record<string, unknown> };

const SAMPLE_PROMPTS = ['In Dorvale lives', 'Once upon a time,', 'Q: How old is'];
const RUN_ENTRIES = new Set(['world', 'tokenizer', 'gpt', 'summary.json']);

/** Every setting checked before any stage runs (a bad --preset must not wait for the world). */
export function validateLadderConfig(cfg: Partial<LadderConfig>): void {
  for (const k of Object.keys(cfg)) if (!(k in defaultLadderConfig)) throw new ConfigError(`unknown ladder option '${k}'`);
  for (const [k, r] of Object.entries(ladderRanges)) if ((cfg as Record<string, unknown>)[k] !== undefined) checkRange(k, (cfg as Record<string, unknown>)[k], r);
  if (cfg.worldSize !== undefined && !(WORLD_SIZES as readonly string[]).includes(cfg.worldSize)) throw new ConfigError(`worldSize must be one of ${WORLD_SIZES.join(', ')}, got '${cfg.worldSize}'`);
  if (cfg.preset !== undefined) gptConfig(cfg.preset);
}

function hashOf(x: unknown): string {
  return createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);
}

/** What a stage folder says it was built from (null: nothing there, or built before hashes were kept). */
function builtFrom(out: OutputDir): { hash: string; settings: Record<string, unknown> } | null {
  const s = out.meta.ladder_stage as { hash: string; settings: Record<string, unknown> } | undefined;
  return out.existed && s ? s : null;
}

function changes(was: Record<string, unknown>, now: Record<string, unknown>): string {
  const diff = Object.keys(now).filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]));
  return diff.map((k) => `${k} ${JSON.stringify(was[k])} → ${JSON.stringify(now[k])}`).join(', ');
}

export async function runLadder(cfgIn: Partial<LadderConfig>, onEvent: (e: LadderEvent) => void = () => {}): Promise<Record<string, unknown>> {
  validateLadderConfig(cfgIn);
  const cfg = { ...defaultLadderConfig, ...cfgIn };
  const t0 = performance.now();
  const run = OutputDir.open(cfg.out, { kind: 'run', update: true, label: `--out ${cfg.out}`, legacy: (_d, entries) => (entries.every((n) => RUN_ENTRIES.has(n)) ? entries : null) });
  run.own('world', 'tokenizer', 'gpt');
  const worldDir = join(cfg.out, 'world');
  const tokDir = join(cfg.out, 'tokenizer');
  const gptDir = join(cfg.out, 'gpt');
  const previous = existsSync(join(cfg.out, 'summary.json')) ? JSON.parse(readFileSync(join(cfg.out, 'summary.json'), 'utf8')) as Record<string, unknown> : {};

  /** Decide reuse/rebuild for one stage; `rebuilt` becomes true once a stage before this one was rebuilt. */
  let rebuilt = false;
  const decide = (stage: string, out: OutputDir, settings: Record<string, unknown>): { reuse: boolean; why: string } => {
    const hash = hashOf(settings);
    const had = builtFrom(out);
    if (cfg.fresh) return { reuse: false, why: 'fresh' };
    if (!out.existed) return { reuse: false, why: 'new' };
    if (!had) return { reuse: false, why: 'built before settings were recorded' };
    if (had.hash !== hash) return { reuse: false, why: rebuilt ? `an earlier stage was rebuilt${changes(had.settings, settings) ? `; ${changes(had.settings, settings)}` : ''}` : `settings changed: ${changes(had.settings, settings)}` };
    return { reuse: true, why: stage };
  };
  const record = (out: OutputDir, settings: Record<string, unknown>) => out.setMeta({ ladder_stage: { hash: hashOf(settings), settings } });

  // 1. The world: corpus, crawl, tasks, instructions, labeler data.
  const worldSettings = { seed: cfg.seed, worldSize: cfg.worldSize, generator: GENERATOR };
  const worldOut = openWorldDir(worldDir, { update: true });
  const w = decide('world', worldOut, worldSettings);
  if (w.reuse) {
    onEvent({ type: 'stage', stage: 'world', detail: `reusing ${worldDir}` });
  } else {
    onEvent({ type: 'stage', stage: 'world', detail: `generating the ${cfg.worldSize} world (seed ${cfg.seed}) into ${worldDir}${w.why !== 'new' ? ` (${w.why})` : ''}` });
    writeWorld(generateWorld({ seed: cfg.seed, size: cfg.worldSize }), worldOut, (p) => onEvent({ type: 'world', progress: p }));
    record(worldOut, worldSettings);
    rebuilt = true;
  }
  worldOut.close();
  const corpus = join(worldDir, 'corpus', 'reference.jsonl');

  // 2. A byte-level BPE vocabulary learned from the reference corpus.
  const tokSettings = { vocabSize: cfg.vocabSize, world: hashOf(worldSettings) };
  const tokOut = openTokenizerDir(tokDir, { update: true });
  const t = decide('tokenizer', tokOut, tokSettings);
  if (t.reuse) {
    onEvent({ type: 'stage', stage: 'tokenizer', detail: `reusing ${tokDir}` });
  } else {
    onEvent({ type: 'stage', stage: 'tokenizer', detail: `training a ${cfg.vocabSize}-token BPE vocabulary on ${corpus}${t.why !== 'new' ? ` (${t.why})` : ''}` });
    const tok = await trainBpe(readTexts([corpus]), { vocabSize: cfg.vocabSize, specialTokens: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'], onProgress: (p) => onEvent({ type: 'tokenizer', progress: p }) });
    tokOut.commitSync((staging) => tok.save(staging), { replaceAll: true });
    record(tokOut, tokSettings);
    rebuilt = true;
  }
  tokOut.close();
  const tokenizer = loadTokenizer(tokDir);

  // 3. GPT pretraining on the reference corpus (resumes if a previous run was interrupted).
  const gptSettings = { preset: cfg.preset, steps: cfg.steps, batchSize: cfg.batchSize, lr: cfg.lr, seed: cfg.seed, tokenizer: hashOf(tokSettings) };
  const gptOut = openCheckpointDir(gptDir, { update: true });
  const g = decide('pretrain', gptOut, gptSettings);
  gptOut.close();
  const trained = trainedSteps(gptDir);
  let valLoss: number | null = null;
  if (g.reuse && trained >= cfg.steps) {
    onEvent({ type: 'stage', stage: 'pretrain', detail: `reusing ${gptDir}` });
    valLoss = lastValLoss(gptDir) ?? (previous.val_loss as number | null) ?? null;
  } else {
    const resume = g.reuse && trained > 0;
    onEvent({ type: 'stage', stage: 'pretrain', detail: resume ? `resuming the '${cfg.preset}' GPT in ${gptDir} at step ${trained} of ${cfg.steps}` : `pretraining a '${cfg.preset}' GPT for ${cfg.steps} steps into ${gptDir}${g.why !== 'new' ? ` (${g.why})` : ''}` });
    if (!resume) {
      // The marker's hash is recorded first, so an interruption before the first checkpoint resumes too.
      const fresh = openCheckpointDir(gptDir, { update: true, force: true });
      if (fresh.existed) fresh.clear();
      record(fresh, gptSettings);
      fresh.close();
    }
    try {
      const r = await pretrain(resume ? { out: gptDir, resume: true } : {
        data: [corpus], tokenizer: tokDir, out: gptDir, preset: cfg.preset, steps: cfg.steps, batchSize: cfg.batchSize,
        lr: cfg.lr, minLr: cfg.lr / 10, warmupSteps: Math.min(100, Math.ceil(cfg.steps / 10)), evalEvery: Math.max(1, Math.floor(cfg.steps / 4)),
        evalBatches: 8, checkpointEvery: Math.max(1, Math.floor(cfg.steps / 4)), seed: cfg.seed + 1337, model: { dropout: 0 },
      }, (e) => onEvent({ type: 'pretrain', event: e }));
      valLoss = r.valLoss;
    } catch (e) {
      if (e instanceof InterruptedError) throw new InterruptedError(e.message, 'run the same command again to continue where it stopped');
      throw e;
    }
  }

  // 4. Samples from the pretrained model.
  onEvent({ type: 'stage', stage: 'samples', detail: `sampling from ${gptDir}` });
  const { model } = loadModel(gptDir);
  const samples = generateText(model, tokenizer, SAMPLE_PROMPTS, { maxTokens: 60, temperature: 0.8, topK: 40, seed: cfg.seed });
  samples.forEach((s, i) => onEvent({ type: 'sample', prompt: SAMPLE_PROMPTS[i], text: s.text }));

  const summary = {
    ...previous,
    world: worldDir, tokenizer: tokDir, gpt: gptDir, vocab_size: tokenizer.vocabSize, steps: trainedSteps(gptDir),
    val_loss: valLoss, samples: samples.map((s, i) => ({ prompt: SAMPLE_PROMPTS[i], text: s.text })),
  };
  run.commitSync((staging) => writeFileSync(join(staging, 'summary.json'), JSON.stringify(summary, null, 2) + '\n'));
  run.close();
  onEvent({ type: 'done', out: cfg.out, seconds: (performance.now() - t0) / 1000, summary });
  return summary;
}

function trainedSteps(dir: string): number {
  const p = join(dir, 'trainer_state', 'state.json');
  return existsSync(p) ? Number(JSON.parse(readFileSync(p, 'utf8')).step) : 0;
}

/** The last validation loss a run logged (a reused stage's figure is not lost from the summary). */
function lastValLoss(dir: string): number | null {
  const p = join(dir, 'metrics.jsonl');
  if (!existsSync(p)) return null;
  let v: number | null = null;
  for (const line of readFileSync(p, 'utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line);
    if (typeof r.val_loss === 'number') v = r.val_loss;
  }
  return v;
}
