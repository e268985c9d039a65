// The main job (`npm start`): the whole ladder on the embedded world, each rung a stage that reads
// the previous rungs' folders and ends in a chat model and a report card:
//   world → curate → tokenizer → pretrain → finetune → eval → claims (GPT-1/2/3) → bert (BERT and
//   the Transformer's claims) → sft → rm → ppo → judge → rlhf-claims (InstructGPT's) → report
// Every stage writes its own folder under `out/`, whose output marker records a hash of the
// settings and inputs it was built from and the figures it measured: a stage is reused only when
// that hash matches and it finished (an interrupted training stage resumes from its checkpoint), and
// rebuilt when it does not, with every stage after it. `fresh` rebuilds all; `only` and `from` pick
// stages. summary.json and the report card are made from the stages' figures, reused ones included.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorld, writeWorld, openWorldDir, GENERATOR, WORLD_SIZES, type WorldProgress, type WorldSize } from '../world/index.ts';
import { trainBpe, readTexts, openTokenizerDir, type TrainProgress } from '../tokenizer/index.ts';
import { curate } from '../data/curate.ts';
import { parseCurateConfig } from '../data/config.ts';
import { tokenizerFingerprint } from '../tokenizer/formats.ts';
import { pretrain, type PretrainEvent } from './pretrain.ts';
import { finetune } from './finetune.ts';
import { runGptExperiment } from './experiment.ts';
import { runBertExperiment } from './experiment-bert.ts';
import { runInstructGptExperiment } from './experiment-instructgpt.ts';
import { sft } from './sft.ts';
import { rm } from './rm.ts';
import { ppo } from './ppo.ts';
import { judgeModels, type JudgeReport } from './judge.ts';
import { writeReport } from './report.ts';
import { evaluate } from '../eval/harness.ts';
import { headEvaluator } from '../eval/head.ts';
import { generateText } from '../generate/text.ts';
import { generate } from '../generate/generate.ts';
import { sampleToken } from '../generate/sampling.ts';
import { loadModel } from '../interop/load.ts';
import { loadChatModel } from '../rlhf/chat-model.ts';
import type { ChatMessage } from '../rlhf/chat-template.ts';
import { gptConfig, type GptConfig } from '../models/gpt.ts';
import { hasTrainerState, openCheckpointDir } from '../interop/checkpoint.ts';
import { clearBufferPool } from '../tensor/tensor.ts';
import { ConfigError } from '../util/errors.ts';
import { OutputDir } from '../util/output.ts';
import { InterruptedError } from '../util/signals.ts';
import { Rng } from '../util/rng.ts';
import { checkRange, positiveInt, type Range } from '../util/ranges.ts';

export type LadderPreset = 'toy' | 'quick' | 'full';
export const LADDER_PRESETS: readonly LadderPreset[] = ['toy', 'quick', 'full'];

export interface LadderConfig {
  out: string;
  /** toy: seconds per stage (tests); quick: `npm start`, ≤ 10 minutes on 2 cores; full: the claims' sizes, ≤ 2 hours. */
  preset: LadderPreset;
  seed: number;
  /** Recompute every stage even when its output exists. */
  fresh: boolean;
  /** Run only these stages (again); the ones they read must be there. */
  only: string[];
  /** Run this stage (again) and every one after it. */
  from: string | null;
  /** Stop after this stage (the stages after it are left as they are). */
  until: string | null;
  // Overrides of the preset's sizes (null: the preset's).
  worldSize: WorldSize | null;
  vocabSize: number | null;
  gptPreset: string | null;
  steps: number | null;
  batchSize: number | null;
  lr: number | null;
}

export const defaultLadderConfig: LadderConfig = {
  out: 'runs/main', preset: 'quick', seed: 0, fresh: false, only: [], from: null, until: null,
  worldSize: null, vocabSize: null, gptPreset: null, steps: null, batchSize: null, lr: null,
};

export const ladderRanges: Record<string, Range> = {
  seed: { min: 0, max: 2 ** 31, int: true }, vocabSize: { min: 260, max: 65536, int: true }, steps: positiveInt, batchSize: positiveInt,
  lr: { min: 0, minExclusive: true, max: 10 },
};

/** The sizes of every rung at a preset. */
interface Scale {
  worldSize: WorldSize;
  vocabSize: number;
  gpt: { preset: string; overrides: Partial<GptConfig> };
  pretrain: { steps: number; batchSize: number; lr: number };
  curate: { budgetChars: number; classifierDocs: number };
  finetune: { task: string; limit: number; valLimit: number; epochs: number; batchSize: number; lr: number };
  eval: { tasks: string[]; shots: number[]; limit: number };
  claims: 'quick' | 'full';
  sft: { steps: number; epochs: number; batchSize: number; lr: number };
  rm: { steps: number; epochs: number; batchSize: number; lr: number };
  ppo: { iterations: number; batchSize: number; minibatch: number; maxNewTokens: number };
  judge: { limit: number; shots: number; maxTokens: number };
}

const TASKS = ['world:sentiment', 'world:entailment', 'world:similarity', 'world:multiple_choice'];

const SCALES: Record<LadderPreset, Scale> = {
  toy: {
    worldSize: 'small', vocabSize: 512, gpt: { preset: 'nano', overrides: { blockSize: 128, dropout: 0 } },
    pretrain: { steps: 20, batchSize: 4, lr: 3e-3 }, curate: { budgetChars: 200_000, classifierDocs: 300 },
    finetune: { task: 'world:sentiment', limit: 32, valLimit: 16, epochs: 1, batchSize: 8, lr: 1e-3 },
    eval: { tasks: ['world:sentiment', 'world:multiple_choice'], shots: [0, 1], limit: 8 }, claims: 'quick',
    sft: { steps: 6, epochs: 1, batchSize: 4, lr: 1e-3 }, rm: { steps: 4, epochs: 1, batchSize: 2, lr: 1e-4 },
    ppo: { iterations: 2, batchSize: 4, minibatch: 2, maxNewTokens: 12 }, judge: { limit: 6, shots: 2, maxTokens: 16 },
  },
  quick: {
    worldSize: 'small', vocabSize: 2048, gpt: { preset: 'tiny', overrides: { blockSize: 256, dropout: 0 } },
    pretrain: { steps: 900, batchSize: 16, lr: 2e-3 }, curate: { budgetChars: 3_000_000, classifierDocs: 2000 },
    finetune: { task: 'world:sentiment', limit: 2000, valLimit: 200, epochs: 1, batchSize: 32, lr: 2e-4 },
    eval: { tasks: TASKS, shots: [0, 1, 4], limit: 100 }, claims: 'quick',
    sft: { steps: 0, epochs: 2, batchSize: 16, lr: 3e-4 }, rm: { steps: 0, epochs: 1, batchSize: 8, lr: 1e-4 },
    ppo: { iterations: 6, batchSize: 16, minibatch: 8, maxNewTokens: 40 }, judge: { limit: 60, shots: 4, maxTokens: 48 },
  },
  full: {
    worldSize: 'medium', vocabSize: 4096, gpt: { preset: 'small', overrides: { dropout: 0 } },
    pretrain: { steps: 600, batchSize: 16, lr: 1e-3 }, curate: { budgetChars: 20_000_000, classifierDocs: 20000 },
    finetune: { task: 'world:entailment', limit: 3000, valLimit: 500, epochs: 3, batchSize: 32, lr: 6.25e-5 },
    eval: { tasks: TASKS, shots: [0, 1, 4], limit: 300 }, claims: 'full',
    // The medium world holds 10× the small one's demonstrations and rankings: SFT and the RM are capped
    // by steps (about 5,000 demonstrations and 1,000 rankings), or they alone would take two hours.
    sft: { steps: 300, epochs: 4, batchSize: 16, lr: 1e-4 }, rm: { steps: 120, epochs: 1, batchSize: 8, lr: 1e-4 },
    ppo: { iterations: 12, batchSize: 16, minibatch: 8, maxNewTokens: 64 }, judge: { limit: 200, shots: 4, maxTokens: 64 },
  },
};

export const STAGES = ['world', 'curate', 'tokenizer', 'pretrain', 'finetune', 'eval', 'claims', 'bert', 'sft', 'rm', 'ppo', 'judge', 'rlhf-claims', 'report'] as const;
export type StageName = (typeof STAGES)[number];

/** Which earlier stages each stage reads (its hash includes theirs). */
const DEPS: Record<StageName, StageName[]> = {
  world: [], curate: ['world'], tokenizer: ['world'], pretrain: ['world', 'tokenizer'], finetune: ['pretrain'], eval: ['pretrain'],
  claims: [], bert: [], sft: ['pretrain'], rm: ['sft'], ppo: ['sft', 'rm'], judge: ['pretrain', 'sft', 'ppo'], 'rlhf-claims': [],
  report: ['world', 'curate', 'tokenizer', 'pretrain', 'finetune', 'eval', 'claims', 'bert', 'sft', 'rm', 'ppo', 'judge', 'rlhf-claims'],
};

/** The kind of each stage's folder (util/output.ts refuses another kind there). */
const KIND: Record<StageName, string> = {
  world: 'world', curate: 'curated', tokenizer: 'tokenizer', pretrain: 'checkpoint', finetune: 'checkpoint', eval: 'results',
  claims: 'experiment', bert: 'experiment-bert', sft: 'checkpoint', rm: 'checkpoint', ppo: 'checkpoint', judge: 'results', 'rlhf-claims': 'experiment', report: 'results',
};
/** Stages that train through a resumable checkpoint of their own. */
const RESUMABLE = new Set<StageName>(['pretrain', 'finetune', 'sft', 'rm', 'ppo']);
/** A training stage's folder holds a checkpoint to resume (its own trainer state, or last/'s). */
const resumable = (d: string) => existsSync(d) && (hasTrainerState(d) || (existsSync(join(d, 'last')) && hasTrainerState(join(d, 'last'))));
const DIR: Record<StageName, string> = { ...Object.fromEntries(STAGES.map((s) => [s, s])), pretrain: 'gpt', report: '.' } as Record<StageName, string>;

export type LadderEvent =
  | { type: 'plan'; stages: { stage: StageName; action: 'run' | 'reuse' | 'resume'; why: string }[]; preset: LadderPreset }
  | { type: 'stage'; stage: StageName; index: number; total: number; detail: string; elapsedSec: number; etaSec: number | null }
  | { type: 'world'; progress: WorldProgress }
  | { type: 'tokenizer'; progress: TrainProgress }
  | { type: 'pretrain'; event: PretrainEvent }
  | { type: 'progress'; stage: StageName; event: Record<string, unknown> }
  | { type: 'sample'; prompt: string; text: string }
  | { type: 'done'; out: string; seconds: number; summary: Record<string, unknown>; report: string };

/**
 * Expected seconds per stage at each preset on two cores (quick and full: measured runs; toy: the
 * tests). The ETA scales what is left by the pace so far, shrunk towards 1 until a few minutes
 * of work are behind it (the first stages are too short to say how fast this machine is).
 */
const EXPECTED_SEC: Record<LadderPreset, Record<StageName, number>> = {
  toy: { world: 3, curate: 2, tokenizer: 1, pretrain: 3, finetune: 2, eval: 2, claims: 20, bert: 40, sft: 2, rm: 2, ppo: 3, judge: 3, 'rlhf-claims': 30, report: 1 },
  quick: { world: 1, curate: 2, tokenizer: 1, pretrain: 205, finetune: 7, eval: 4, claims: 6, bert: 5, sft: 45, rm: 95, ppo: 20, judge: 5, 'rlhf-claims': 8, report: 1 },
  full: { world: 14, curate: 4, tokenizer: 1, pretrain: 1387, finetune: 253, eval: 102, claims: 1493, bert: 331, sft: 398, rm: 539, ppo: 239, judge: 54, 'rlhf-claims': 1314, report: 2 },
};
const PACE_PRIOR_SEC = 120;

/** Every setting checked before any stage runs (a bad preset must not wait for the world). */
export function validateLadderConfig(cfg: Partial<LadderConfig>): void {
  for (const k of Object.keys(cfg)) if (!(k in defaultLadderConfig)) throw new ConfigError(`unknown ladder option '${k}'`);
  for (const [k, r] of Object.entries(ladderRanges)) {
    const v = (cfg as Record<string, unknown>)[k];
    if (v !== undefined && v !== null) checkRange(k, v, r);
  }
  if (cfg.preset !== undefined && !LADDER_PRESETS.includes(cfg.preset)) throw new ConfigError(`preset must be one of ${LADDER_PRESETS.join(', ')}, got '${cfg.preset}'`, 'the GPT size is --gpt-preset');
  if (cfg.worldSize != null && !(WORLD_SIZES as readonly string[]).includes(cfg.worldSize)) throw new ConfigError(`worldSize must be one of ${WORLD_SIZES.join(', ')}, got '${cfg.worldSize}'`);
  if (cfg.gptPreset != null) gptConfig(cfg.gptPreset);
  for (const s of [...(cfg.only ?? []), ...(cfg.from ? [cfg.from] : []), ...(cfg.until ? [cfg.until] : [])]) {
    if (!(STAGES as readonly string[]).includes(s)) throw new ConfigError(`unknown stage '${s}'`, `stages: ${STAGES.join(', ')}`);
  }
  if (cfg.only?.length && cfg.from) throw new ConfigError('give --only or --from, not both');
}

/** The preset's sizes with the overrides applied. */
export function ladderScale(cfg: LadderConfig): Scale {
  const s = structuredClone(SCALES[cfg.preset]);
  if (cfg.worldSize) s.worldSize = cfg.worldSize;
  if (cfg.vocabSize) s.vocabSize = cfg.vocabSize;
  if (cfg.gptPreset) s.gpt = { preset: cfg.gptPreset, overrides: { dropout: 0 } };
  if (cfg.steps) s.pretrain.steps = cfg.steps;
  if (cfg.batchSize) s.pretrain.batchSize = cfg.batchSize;
  if (cfg.lr) s.pretrain.lr = cfg.lr;
  return s;
}

function hashOf(x: unknown): string {
  return createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);
}

interface StageRecord { hash: string; settings: Record<string, unknown>; done: boolean; figures: Record<string, unknown>; /** Wall-clock seconds of the run that finished it. */ seconds?: number }

function changes(was: Record<string, unknown>, now: Record<string, unknown>): string {
  const diff = Object.keys(now).filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]));
  return diff.map((k) => `${k} ${JSON.stringify(was[k])} → ${JSON.stringify(now[k])}`).join(', ');
}

const RUN_ENTRIES = new Set(['world', 'tokenizer', 'gpt', 'summary.json', ...STAGES.map((s) => DIR[s]), 'report.html', 'report.json']);

/** What runLadder needs from a stage: where it writes, what it is built from, how to run it. */
interface StageContext {
  cfg: LadderConfig;
  scale: Scale;
  dir: (s: StageName) => string;
  figures: (s: StageName) => Record<string, unknown>;
  emit: (e: LadderEvent) => void;
  progress: (e: Record<string, unknown>) => void;
}

/** Each stage's settings: everything that changes what it builds. */
function settingsOf(stage: StageName, c: LadderConfig, s: Scale): Record<string, unknown> {
  switch (stage) {
    case 'world': return { seed: c.seed, worldSize: s.worldSize, generator: GENERATOR };
    case 'curate': return { ...s.curate, seed: c.seed };
    case 'tokenizer': return { vocabSize: s.vocabSize };
    case 'pretrain': return { gpt: s.gpt, ...s.pretrain, seed: c.seed };
    case 'finetune': return { ...s.finetune, seed: c.seed };
    case 'eval': return { ...s.eval, seed: c.seed };
    case 'claims': case 'bert': case 'rlhf-claims': return { size: s.claims, seed: c.seed };
    case 'sft': return { ...s.sft, seed: c.seed };
    case 'rm': return { ...s.rm, seed: c.seed };
    case 'ppo': return { ...s.ppo, seed: c.seed };
    case 'judge': return { ...s.judge, seed: c.seed };
    case 'report': return {};
  }
}

/** Run one stage into its (already opened) folder; returns the figures it measured. */
async function runStage(stage: StageName, x: StageContext, out: OutputDir, resume: boolean): Promise<Record<string, unknown>> {
  const { cfg, scale: s } = x;
  const world = x.dir('world');
  const corpus = join(world, 'corpus', 'reference.jsonl');
  const seed = cfg.seed;
  switch (stage) {
    case 'world': {
      const manifest = writeWorld(generateWorld({ seed, size: s.worldSize }), out, (p) => x.emit({ type: 'world', progress: p }));
      return { size: manifest.size, seed: manifest.seed, files: Object.keys(manifest.files).length, reference_bytes: manifest.files['corpus/reference.jsonl'].bytes };
    }
    case 'curate': {
      const config = parseCurateConfig({
        seed, threads: 2, onError: 'fail',
        inputs: { crawl: { paths: [join(world, 'crawl', 'crawl.jsonl')] }, reference: { paths: [corpus] } },
        stages: [{ stage: 'exact_dedup' }, { stage: 'classifier', train: { positive: ['reference'], negative: ['crawl'], maxDocs: s.curate.classifierDocs } },
          { stage: 'fuzzy_dedup' }, { stage: 'mix', sources: { crawl: 0.6, reference: 0.4 }, budgetChars: s.curate.budgetChars }],
        output: out.path,
      }, 'the ladder\'s curate stage');
      let report: Record<string, any> = {};
      await out.commit(async (staging) => {
        report = await curate({ config, answers: join(world, 'answers', 'crawl.jsonl'), writeDir: staging, onProgress: (p) => x.progress({ ...p }) });
      }, { replaceAll: true });
      const stages = report.stages as { stage: string; docs_in: number; docs_out: number }[];
      return {
        input_docs: report.input_docs, curated_docs: report.curated_docs, dedup_precision: report.dedup_precision, dedup_recall: report.dedup_recall,
        classifier_auc: report.classifier_auc, stages: stages.map((t) => ({ stage: t.stage, docs_in: t.docs_in, docs_out: t.docs_out })),
      };
    }
    case 'tokenizer': {
      const tok = await trainBpe(readTexts([corpus]), { vocabSize: s.vocabSize, specialTokens: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'], onProgress: (p) => x.emit({ type: 'tokenizer', progress: p }) });
      out.commitSync((staging) => tok.save(staging), { replaceAll: true });
      return { vocab_size: tok.vocabSize, merges: tok.merges.length, sha256: tokenizerFingerprint(tok) };
    }
    case 'pretrain': {
      const p = s.pretrain;
      const r = await pretrain(resume ? { out: out.path, resume: true } : {
        data: [corpus], tokenizer: x.dir('tokenizer'), out: out.path, preset: s.gpt.preset, model: s.gpt.overrides, steps: p.steps, batchSize: p.batchSize,
        lr: p.lr, minLr: p.lr / 10, warmupSteps: Math.min(100, Math.ceil(p.steps / 10)), evalEvery: Math.max(1, Math.floor(p.steps / 8)),
        evalBatches: 8, checkpointEvery: Math.max(1, Math.floor(p.steps / 4)), seed: seed + 1337,
      }, (e) => x.emit({ type: 'pretrain', event: e }));
      const { model, tokenizer } = loadModel(out.path);
      const prompts = ['In Dorvale lives', 'Once upon a time,', 'Q: How old is'];
      const samples = generateText(model, tokenizer, prompts, { maxTokens: 60, temperature: 0.8, topK: 40, seed });
      samples.forEach((g, i) => x.emit({ type: 'sample', prompt: prompts[i], text: g.text }));
      return { val_loss: r.valLoss ?? lastMetric(out.path, 'val_loss'), steps: p.steps, params: model.config, samples: samples.map((g, i) => ({ prompt: prompts[i], text: g.text })) };
    }
    case 'finetune': {
      const f = s.finetune;
      const r = await finetune(resume ? { out: out.path, resume: true } : {
        model: x.dir('pretrain'), task: f.task, world, out: out.path, limit: f.limit, valLimit: f.valLimit, epochs: f.epochs, batchSize: f.batchSize, lr: f.lr, seed,
      }, (e) => x.progress(e as unknown as Record<string, unknown>));
      const loaded = loadModel(out.path);
      const head = loaded.task ? headEvaluator(loaded.model, loaded.tokenizer, loaded.task) : undefined;
      const res = evaluate({ model: loaded.model, tokenizer: loaded.tokenizer, name: out.path, head }, { tasks: [f.task], shots: [0], limit: s.eval.limit * 2, world, seed });
      const task = f.task.replace(/^world:/, '');
      return { task, val_acc: r.valAcc, test: res.results[task] };
    }
    case 'eval': {
      const { model, tokenizer } = loadModel(x.dir('pretrain'));
      const res = evaluate({ model, tokenizer, name: x.dir('pretrain') }, { tasks: s.eval.tasks, shots: s.eval.shots, limit: s.eval.limit, world, seed },
        (e) => x.progress(e as unknown as Record<string, unknown>));
      out.commitSync((staging) => writeFileSync(join(staging, 'results.json'), JSON.stringify(res, null, 1) + '\n'), { replaceAll: true });
      return { results: res.results, shots: s.eval.shots, limit: s.eval.limit };
    }
    case 'claims': {
      out.close(); // the experiment opens its own folder (kind 'experiment') and keeps its marker
      const { claims } = await runGptExperiment({ out: out.path, seed, quick: s.claims === 'quick' }, (e) => x.progress(e as unknown as Record<string, unknown>));
      return { size: s.claims, claims };
    }
    case 'bert': {
      out.close(); // the experiment keeps its own folder and marker
      const { claims } = await runBertExperiment({ out: out.path, seed, quick: s.claims === 'quick' }, (e) => x.progress(e as unknown as Record<string, unknown>));
      return { size: s.claims, claims };
    }
    case 'rlhf-claims': {
      out.close();
      const { claims } = await runInstructGptExperiment({ out: out.path, seed, quick: s.claims === 'quick' }, (e) => x.progress(e as unknown as Record<string, unknown>));
      return { size: s.claims, claims };
    }
    case 'sft': {
      const t = s.sft;
      const r = await sft(resume ? { model: x.dir('pretrain'), out: out.path, resume: true } : {
        model: x.dir('pretrain'), data: ['world'], world, out: out.path, epochs: t.epochs, steps: t.steps, batchSize: t.batchSize, lr: t.lr, minLr: t.lr / 10, seed,
      }, (e) => x.progress(e as unknown as Record<string, unknown>));
      return { best_val_loss: r.bestValLoss };
    }
    case 'rm': {
      const t = s.rm;
      const r = await rm(resume ? { model: x.dir('sft'), out: out.path, resume: true } : {
        model: x.dir('sft'), data: ['world'], world, out: out.path, epochs: t.epochs, steps: t.steps, batchSize: t.batchSize, lr: t.lr, minLr: t.lr / 10, seed,
      }, (e) => x.progress(e as unknown as Record<string, unknown>));
      return { accuracy: r.report.accuracy, pairs: r.report.pairs, labeler_agreement: r.report.labelerAgreement, demo_mean_before: r.report.demoMeanBefore };
    }
    case 'ppo': {
      const t = s.ppo;
      await ppo({
        policy: x.dir('sft'), reward: x.dir('rm'), prompts: ['world'], ptx: ['world'], world, out: out.path, iterations: t.iterations,
        batchSize: t.batchSize, minibatch: t.minibatch, maxNewTokens: t.maxNewTokens, warmupIterations: Math.min(10, t.iterations), seed, resume,
      }, (e) => x.progress(e as unknown as Record<string, unknown>));
      const its = readJsonl(join(out.path, 'metrics.jsonl')).filter((m) => 'reward' in m);
      return { iterations: its.length, reward_first: its[0]?.reward ?? null, reward_last: its.at(-1)?.reward ?? null, kl_last: its.at(-1)?.kl ?? null };
    }
    case 'judge': {
      const j = s.judge;
      const run = async (model: string, baseline: string, baselineShots: number): Promise<JudgeReport> =>
        judgeModels({ model, baseline, baselineShots, prompts: ['world:test'], world, limit: j.limit, maxTokens: j.maxTokens, seed }, (e) => x.progress(e as unknown as Record<string, unknown>));
      const pretrained = x.dir('pretrain'), sftDir = x.dir('sft'), ppoDir = x.dir('ppo');
      const comparisons = {
        sft_vs_pretrained: await run(sftDir, pretrained, j.shots),
        ppo_vs_sft: await run(ppoDir, sftDir, 0),
        ppo_vs_pretrained: await run(ppoDir, pretrained, j.shots),
      };
      const conversation = converse(ppoDir, seed);
      out.commitSync((staging) => writeFileSync(join(staging, 'judge.json'), JSON.stringify({ comparisons, conversation }, null, 1) + '\n'), { replaceAll: true });
      const brief = (r: JudgeReport) => ({ win_rate: r.winRate, stderr: r.stderr, prompts: r.prompts, model: r.model, baseline: r.baseline, examples: r.examples.slice(0, 2) });
      return { ...Object.fromEntries(Object.entries(comparisons).map(([k, r]) => [k, brief(r)])), conversation };
    }
    case 'report':
      throw new Error('the report is written by runLadder itself');
  }
}

/** A short two-turn conversation with a chat model (the report shows it). */
function converse(dir: string, seed: number): ChatMessage[] {
  const { model, chat } = loadChatModel(dir);
  model.eval();
  const rng = new Rng(seed).fork('conversation');
  const messages: ChatMessage[] = [];
  for (const question of ['Who is the oldest person in Dorvale?', 'And what is a secret of theirs?']) {
    messages.push({ role: 'user', content: question });
    const prompt = chat.encodePrompt(messages);
    const room = model.config.blockSize - prompt.length - 1;
    if (room < 4) break;
    const [g] = generate(model, [prompt], (l) => sampleToken(l, rng, { temperature: 0.7, topK: 40 }).token, { maxTokens: Math.min(64, room), eosIds: [chat.endOfTurnId] });
    messages.push({ role: 'assistant', content: chat.tokenizer.decode(g.tokens).trim() });
  }
  return messages;
}

function readJsonl(path: string): Record<string, any>[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

function lastMetric(dir: string, key: string): number | null {
  const v = readJsonl(join(dir, 'metrics.jsonl')).filter((m) => typeof m[key] === 'number');
  return v.length ? v.at(-1)![key] : null;
}

export async function runLadder(cfgIn: Partial<LadderConfig>, onEvent: (e: LadderEvent) => void = () => {}): Promise<Record<string, unknown>> {
  validateLadderConfig(cfgIn);
  const cfg: LadderConfig = { ...defaultLadderConfig, ...cfgIn };
  const scale = ladderScale(cfg);
  const t0 = performance.now();
  const run = OutputDir.open(cfg.out, { kind: 'run', update: true, label: `--out ${cfg.out}`, legacy: (_d, entries) => (entries.every((n) => RUN_ENTRIES.has(n)) ? entries : null) });
  run.own(...STAGES.filter((s) => s !== 'report').map((s) => DIR[s]));
  const dir = (s: StageName) => join(cfg.out, DIR[s]);
  const records = new Map<StageName, StageRecord | null>();
  const hashes = new Map<StageName, string>();
  const settings = (s: StageName) => ({ ...settingsOf(s, cfg, scale), inputs: DEPS[s].map((d) => hashes.get(d)) });
  // Folders an earlier gptkit wrote before output markers existed (runs/main/world, tokenizer, gpt) are recognised by their files.
  const open = (s: StageName) => {
    const o = { update: true, force: true };
    if (KIND[s] === 'world') return openWorldDir(dir(s), o);
    if (KIND[s] === 'tokenizer') return openTokenizerDir(dir(s), o);
    if (KIND[s] === 'checkpoint') return openCheckpointDir(dir(s), o);
    return OutputDir.open(dir(s), { kind: KIND[s], ...o });
  };

  // The plan: which stages run, resume or are reused, decided before any work.
  const forced = (s: StageName) => cfg.fresh || cfg.only.includes(s) || (cfg.from !== null && STAGES.indexOf(s) >= STAGES.indexOf(cfg.from as StageName));
  const plan: { stage: StageName; action: 'run' | 'reuse' | 'resume'; why: string }[] = [];
  const rebuilt = new Set<StageName>();
  const last = cfg.until ? STAGES.indexOf(cfg.until as StageName) : STAGES.length - 1;
  for (const s of STAGES.slice(0, last + 1)) {
    const now = settings(s);
    const hash = hashOf(now);
    hashes.set(s, hash);
    let had: StageRecord | null = null;
    if (s !== 'report') {
      const od = open(s);
      had = (od.meta.ladder_stage as StageRecord | undefined) ?? null;
      od.close();
    }
    records.set(s, had);
    const upstream = DEPS[s].find((d) => rebuilt.has(d));
    let action: 'run' | 'reuse' | 'resume' = 'run', why = 'new';
    if (s === 'report') { why = 'always'; }
    else if (cfg.only.length && !cfg.only.includes(s)) {
      if (!had?.done) throw new ConfigError(`--only ${cfg.only.join(',')}: stage '${s}' has not run in ${cfg.out} yet`, 'run the ladder without --only first');
      action = 'reuse'; why = 'not in --only';
    } else if (forced(s)) { why = cfg.fresh ? 'fresh' : cfg.only.length ? '--only' : `--from ${cfg.from}`; }
    else if (!had) { why = 'new'; }
    else if (upstream) { why = `${upstream} was rebuilt`; }
    else if (had.hash !== hash) { why = `settings changed: ${changes(had.settings, now) || 'inputs'}`; }
    else if (had.done) { action = 'reuse'; why = 'done'; }
    else if (RESUMABLE.has(s) && resumable(dir(s))) { action = 'resume'; why = 'interrupted'; }
    else { why = 'interrupted before its first checkpoint'; }
    if (action === 'run') rebuilt.add(s);
    plan.push({ stage: s, action, why });
  }
  onEvent({ type: 'plan', stages: plan, preset: cfg.preset });

  const figures = (s: StageName) => records.get(s)?.figures ?? {};
  const expected = plan.map((p) => (p.action === 'reuse' ? 0 : EXPECTED_SEC[cfg.preset][p.stage]));
  const expectedTotal = expected.reduce((a, b) => a + b, 0);
  let expectedDone = 0;
  for (const [i, p] of plan.entries()) {
    const s = p.stage;
    const elapsed = (performance.now() - t0) / 1000;
    const pace = (elapsed + PACE_PRIOR_SEC) / (expectedDone + PACE_PRIOR_SEC);
    const etaSec = p.action === 'reuse' ? null : Math.max(0, (expectedTotal - expectedDone) * pace);
    const target = s === 'report' ? join(cfg.out, 'report.html') : dir(s);
    const detail = p.action === 'reuse' ? `reusing ${target}` : `${p.action === 'resume' ? 'resuming' : 'writing'} ${target}${p.why !== 'new' && p.why !== 'always' ? ` (${p.why})` : ''}`;
    onEvent({ type: 'stage', stage: s, index: i + 1, total: plan.length, detail, elapsedSec: elapsed, etaSec });
    if (p.action === 'reuse') continue;
    if (s === 'report') {
      writeReport(run, { preset: cfg.preset, scale, figures: Object.fromEntries(STAGES.map((t) => [t, figures(t)])), dirs: Object.fromEntries(STAGES.map((t) => [t, dir(t)])) });
      continue;
    }
    const out = open(s);
    const now = settings(s);
    const record: StageRecord = { hash: hashes.get(s)!, settings: now, done: false, figures: {} };
    if (p.action === 'run' && out.existed) out.clear();
    // The hash goes in first, so an interruption before the stage's first checkpoint is recognised.
    out.setMeta({ ladder_stage: record });
    out.close();
    const ctx: StageContext = { cfg, scale, dir, figures, emit: onEvent, progress: (e) => onEvent({ type: 'progress', stage: s, event: e }) };
    let measured: Record<string, unknown>;
    const started = performance.now();
    try {
      const again = open(s);
      measured = await runStage(s, ctx, again, p.action === 'resume');
      again.close();
    } catch (e) {
      if (e instanceof InterruptedError) throw new InterruptedError(e.message, 'run the same command again to continue where it stopped');
      throw e;
    }
    clearBufferPool(); // the next stage's models have other shapes: this one's pooled buffers are of no use to it
    const done: StageRecord = { ...record, done: true, figures: measured, seconds: Math.round((performance.now() - started) / 100) / 10 };
    const fin = open(s);
    fin.setMeta({ ladder_stage: done });
    fin.close();
    records.set(s, done);
    expectedDone += expected[i];
  }

  const summary = {
    preset: cfg.preset, out: cfg.out, chat_model: dir('ppo'), report: join(cfg.out, 'report.html'),
    stages: Object.fromEntries(STAGES.map((s) => [s, { dir: dir(s), seconds: records.get(s)?.seconds ?? null, figures: figures(s) }])),
  };
  run.commitSync((staging) => writeFileSync(join(staging, 'summary.json'), JSON.stringify(summary, null, 1) + '\n'));
  run.close();
  onEvent({ type: 'done', out: cfg.out, seconds: (performance.now() - t0) / 1000, summary, report: summary.report });
  return summary;
}

/** `gptkit report --run DIR`: the report card again, from the figures the run's stages recorded. */
export function regenerateReport(runDir: string): { html: string; json: string } {
  const run = OutputDir.open(runDir, { kind: 'run', update: true, label: `--run ${runDir}` });
  const figures: Record<string, Record<string, unknown>> = {};
  let preset: LadderPreset = 'quick';
  let scale: Scale | null = null;
  if (existsSync(join(runDir, 'summary.json'))) {
    const sm = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'));
    if (LADDER_PRESETS.includes(sm.preset)) preset = sm.preset;
  }
  for (const s of STAGES) {
    if (s === 'report') continue;
    const marker = join(runDir, DIR[s], '.gptkit-output.json');
    if (!existsSync(marker)) continue;
    const rec = JSON.parse(readFileSync(marker, 'utf8')).meta?.ladder_stage as StageRecord | undefined;
    if (rec?.done) figures[s] = rec.figures;
  }
  scale ??= SCALES[preset];
  const paths = writeReport(run, { preset, scale, figures, dirs: Object.fromEntries(STAGES.map((t) => [t, join(runDir, DIR[t])])) });
  run.close();
  return paths;
}
