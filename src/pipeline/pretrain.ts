// The pretraining stage: text (or token shards) → token ids → GPT trained with the Trainer →
// checkpoints, a metrics JSONL and samples. Progress goes out as events; cli/ prints them.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { openMetricsLog } from '../train/metrics-log.ts';
import { mpiWorld, type Communicator } from '../train/distributed.ts';
import { join, dirname, resolve } from 'node:path';
import { GPT, gptConfig, countParams, flopsPerToken, type GptConfig } from '../models/gpt.ts';
import { Trainer, defaultTrainOptions, bf16Notice, type StepEvent, type TrainOptions } from '../train/trainer.ts';
import { RandomWindows, SequentialWindows, type TokenArray } from '../train/batches.ts';
import { saveCheckpoint, loadCheckpoint, loadTrainerState, openCheckpointDir, hasTrainerState } from '../interop/checkpoint.ts';
import type { OutputDir } from '../util/output.ts';
import { checkRanges, positiveInt, nonNegativeInt, type Range } from '../util/ranges.ts';
import { stopOnSignal, yieldToEvents, InterruptedError } from '../util/signals.ts';
import { tokenizerFingerprint } from '../tokenizer/formats.ts';
import { generate } from '../generate/generate.ts';
import { sampleToken } from '../generate/sampling.ts';
import { loadTokenizer, type Tokenizer } from '../tokenizer/index.ts';
import { tokenizerJsonText } from '../tokenizer/formats.ts';
import { readDocuments, TokenShards } from '../data/index.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';
import { backend } from '../backend/index.ts';
import { pretrainBert } from './pretrain-bert.ts';

export interface PretrainConfig extends TrainOptions {
  /** 'gpt', or 'bert' (MLM + NSP on sentence pairs: pretrainBertRun, pipeline/pretrain-bert.ts). */
  arch: 'gpt' | 'bert';
  /** Text files (.txt, .jsonl, .parquet, ± .gz) or one token-shard index (.json with "shards"). */
  data: string[];
  /** Tokenizer directory, or 'gpt2'. */
  tokenizer: string;
  preset: string;
  /** Model overrides on top of the preset (nLayer, nHead, nEmbd, blockSize, dropout, …). */
  model: Partial<GptConfig>;
  out: string;
  batchSize: number;
  valFraction: number;
  sampleEvery: number; // 0 = never
  sampleTokens: number;
  samplePrompt: string;
  checkpointEvery: number; // 0 = only at the end (and on Ctrl-C)
  seed: number;
  /** Continue the checkpoint in `out` with its own saved settings. */
  resume: boolean;
  /** Start over in an `out` that holds a checkpoint (only gptkit's files there are replaced). */
  force: boolean;
  textField: string;
  /** A malformed record in a text file: stop ('fail') or skip it and report it ('skip'). */
  onError: 'fail' | 'skip';
}

export const defaultPretrainConfig: Omit<PretrainConfig, 'data' | 'out'> = {
  ...defaultTrainOptions,
  arch: 'gpt', tokenizer: 'gpt2', preset: 'tiny', model: {}, batchSize: 16, valFraction: 0.05,
  sampleEvery: 0, sampleTokens: 64, samplePrompt: '', checkpointEvery: 0, seed: 1337, resume: false, force: false, textField: 'text', onError: 'fail',
};

/** The documented range of every numeric setting (the CLI's flags show and check the same). */
export const pretrainRanges: Record<string, Range> = {
  steps: positiveInt, gradAccum: positiveInt, batchSize: positiveInt,
  lr: { min: 0, minExclusive: true, max: 10 }, minLr: { min: 0 }, warmupSteps: nonNegativeInt,
  weightDecay: { min: 0 }, beta1: { min: 0, max: 1, maxExclusive: true }, beta2: { min: 0, max: 1, maxExclusive: true },
  eps: { min: 0, minExclusive: true }, gradClip: { min: 0 }, valFraction: { min: 0, max: 1, maxExclusive: true },
  evalEvery: nonNegativeInt, evalBatches: positiveInt, sampleEvery: nonNegativeInt, sampleTokens: positiveInt,
  checkpointEvery: nonNegativeInt, seed: { min: 0, max: 2 ** 32 - 1, int: true },
};

/** Settings a resumed run may change; every other one is the checkpoint's. */
export const changeableOnResume = ['steps', 'evalEvery', 'checkpointEvery', 'sampleEvery', 'sampleTokens', 'samplePrompt', 'evalBatches', 'precision'] as const;
/** Per-call settings, never saved or compared. */
const notSaved = new Set(['resume', 'force', 'out']);

export type PretrainEvent =
  | { type: 'start'; config: PretrainConfig; model: GptConfig; params: number; flopsPerToken: number; trainTokens: number; valTokens: number; backend: string; threads: number; resumedFrom: number | null }
  | { type: 'tokenize'; docs: number; tokens: number; done: boolean }
  | { type: 'malformed'; file: string; line: number; message: string }
  | ({ type: 'step'; wallSec: number } & StepEvent)
  | { type: 'eval'; step: number; valLoss: number }
  | { type: 'sample'; step: number; text: string }
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'notice'; message: string }
  | { type: 'interrupted'; step: number; dir: string; signal: string }
  | { type: 'done'; step: number; dir: string; valLoss: number | null };

/** Token ids of every document, each followed by the end-of-text token. */
async function tokenizeFiles(paths: string[], tok: Tokenizer, textField: string, onError: 'fail' | 'skip', onEvent: (e: PretrainEvent) => void): Promise<TokenArray> {
  const onProgress = (docs: number, tokens: number, done = false) => onEvent({ type: 'tokenize', docs, tokens, done });
  const eot = tok.tokenId('<|endoftext|>');
  let buf = new Uint32Array(1 << 16);
  let n = 0, docs = 0;
  const onMalformed = (m: { file: string; line: number; message: string }) => onEvent({ type: 'malformed', ...m });
  for await (const doc of readDocuments(paths, { textField, onError, onMalformed })) {
    const ids = tok.encode(doc.text);
    while (n + ids.length + 1 > buf.length) {
      const bigger = new Uint32Array(buf.length * 2);
      bigger.set(buf.subarray(0, n));
      buf = bigger;
    }
    buf.set(ids, n);
    n += ids.length;
    buf[n++] = eot;
    if (++docs % 1000 === 0) onProgress(docs, n);
  }
  onProgress(docs, n, true);
  return tok.vocabSize <= 65536 ? Uint16Array.from(buf.subarray(0, n)) : buf.slice(0, n);
}

/** Token shards written by `gptkit data shards` (their directory or its index.json), read whole. */
function readShards(path: string): { tokens: Int32Array; vocabSize: number; fingerprint: string | null; tokenizer: string } {
  const shards = TokenShards.open(path.endsWith('index.json') ? dirname(path) : path);
  try {
    const total = shards.index.shards.reduce((n, s) => n + s.tokens, 0);
    const tokens = new Int32Array(total);
    let at = 0;
    shards.index.shards.forEach((s, i) => {
      tokens.set(shards.read(i, 0, s.tokens), at);
      at += s.tokens;
    });
    return { tokens, vocabSize: shards.index.vocab_size, fingerprint: shards.index.tokenizer_sha256 ?? null, tokenizer: shards.index.tokenizer };
  } finally {
    shards.close();
  }
}

function isShardIndex(p: string): boolean {
  return p.endsWith('index.json') || (existsSync(p) && statSync(p).isDirectory() && existsSync(join(p, 'index.json')));
}

function isShards(paths: string[]): boolean {
  const n = paths.filter(isShardIndex).length;
  if (n && paths.length > 1) throw new ConfigError(`--data: a token-shard index must be the only --data (got ${paths.length} paths: ${paths.join(' ')})`, 'train on the shards alone, or on text files alone');
  return n === 1;
}

function trainOptionsOf(c: PretrainConfig): TrainOptions {
  const o = {} as TrainOptions;
  for (const k of Object.keys(defaultTrainOptions) as (keyof TrainOptions)[]) (o as unknown as Record<string, number>)[k] = c[k] as number;
  return o;
}

/** The settings a run was started with, as saved in its checkpoint's config.json. */
function savedSettings(out: string): Record<string, unknown> {
  const ck = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { training?: Record<string, unknown> };
  if (!ck.training) throw new ConfigError(`--resume: ${out}/config.json has no saved training settings`, 'it was not written by gptkit pretrain');
  return ck.training;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const flagOf = (k: string) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/**
 * The settings of a resumed run: the checkpoint's own, with the few that may change taken from the
 * caller (each change reported). Any other given setting that differs is an error naming both values.
 */
function resumeSettings(given: Partial<PretrainConfig>, saved: Record<string, unknown>, savedModel: object, notice: (m: string) => void): PretrainConfig {
  const cfg = { ...defaultPretrainConfig, ...saved } as PretrainConfig;
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined || notSaved.has(k)) continue;
    if (k === 'model') {
      for (const [mk, mv] of Object.entries(v as Partial<GptConfig>)) {
        if (mv !== undefined && !same(mv, (savedModel as unknown as Record<string, unknown>)[mk])) throw new ConfigError(`--resume: ${flagOf(mk)} ${mv} differs from the checkpoint's ${JSON.stringify((savedModel as unknown as Record<string, unknown>)[mk])}`, 'a resumed run keeps its model; start a new run (another --out) to change it');
      }
      continue;
    }
    const was = k === 'data' ? (saved.data as string[]) : saved[k];
    const now = k === 'data' ? (v as string[]).map((p) => resolve(p)) : k === 'tokenizer' && v !== 'gpt2' ? resolve(v as string) : v;
    const wasNorm = k === 'tokenizer' && was !== 'gpt2' && typeof was === 'string' ? resolve(was) : was;
    if (same(now, wasNorm)) continue;
    if ((changeableOnResume as readonly string[]).includes(k)) {
      notice(`${flagOf(k)} changed from ${JSON.stringify(was)} to ${JSON.stringify(v)} for the rest of the run`);
      (cfg as unknown as Record<string, unknown>)[k] = v;
      continue;
    }
    throw new ConfigError(`--resume: ${flagOf(k)} ${JSON.stringify(v)} differs from the checkpoint's ${JSON.stringify(was)}`, `leave it out to keep the run's own setting (only ${changeableOnResume.map(flagOf).join(', ')} may change on resume)`);
  }
  cfg.resume = true;
  cfg.out = given.out!;
  return cfg;
}

/** Check a config's names and ranges (library callers get the same checks as the CLI's flags). */
export function validatePretrainConfig(cfg: Partial<PretrainConfig>): void {
  for (const k of Object.keys(cfg)) {
    if (!(k in defaultPretrainConfig) && k !== 'data' && k !== 'out') throw new ConfigError(`unknown pretrain option '${k}'`);
  }
  checkRanges(cfg as Record<string, unknown>, pretrainRanges);
  if (cfg.minLr !== undefined && cfg.lr !== undefined && cfg.minLr > cfg.lr) throw new ConfigError(`minLr (${cfg.minLr}) must not exceed lr (${cfg.lr})`);
  if (cfg.onError !== undefined && cfg.onError !== 'fail' && cfg.onError !== 'skip') throw new ConfigError(`onError must be 'fail' or 'skip', got '${cfg.onError}'`);
  if (cfg.arch !== undefined && cfg.arch !== 'gpt' && cfg.arch !== 'bert') throw new ConfigError(`arch must be 'gpt' or 'bert', got '${cfg.arch}'`);
}

/**
 * Pretrain a GPT. `cfgIn` holds the settings the caller chose; the rest are defaults, or, with
 * `resume`, the checkpoint's own. The output folder is checked before any work (util/output.ts).
 * Ctrl-C saves a checkpoint at the step boundary and throws InterruptedError.
 */
export async function pretrain(cfgIn: Partial<PretrainConfig> & { out: string }, onEvent: (e: PretrainEvent) => void = () => {}): Promise<{ model: GPT; tokenizer: Tokenizer; valLoss: number | null }> {
  validatePretrainConfig(cfgIn);
  if (cfgIn.arch === 'bert') throw new ConfigError('pretrain() trains GPTs; call pretrainBertRun for --arch bert');
  const outLabel = `--out ${cfgIn.out}`;
  const hasCk = existsSync(cfgIn.out) && hasTrainerState(cfgIn.out);
  if (cfgIn.resume && !hasCk) {
    throw new ConfigError(`--resume: ${cfgIn.out} holds no checkpoint to resume (no trainer_state/state.json)`, 'leave out --resume to start a new run there');
  }
  // Under mpirun (train/distributed.ts) every rank trains; rank 0 alone writes and reports.
  const comm = mpiWorld();
  if (comm && comm.rank > 0) onEvent = () => {};
  const notice = (message: string) => onEvent({ type: 'notice', message });
  let cfg: PretrainConfig;
  let model: GPT;
  let tokenizer: Tokenizer;
  if (cfgIn.resume) {
    const ck = loadCheckpoint(cfgIn.out);
    model = ck.model;
    tokenizer = loadTokenizer(cfgIn.out);
    cfg = resumeSettings(cfgIn, savedSettings(cfgIn.out), model.config, notice);
    if (cfgIn.preset !== undefined && cfgIn.preset !== cfg.preset) throw new ConfigError(`--resume: --preset ${cfgIn.preset} differs from the checkpoint's ${cfg.preset}`);
  } else {
    cfg = { ...defaultPretrainConfig, ...cfgIn, data: cfgIn.data ?? [] } as PretrainConfig;
    if (!cfg.data.length) throw new ConfigError('no training data given', 'pass --data FILE…');
  }
  const inputs = [...cfg.data.map((p) => ({ flag: '--data', path: p })), ...(cfg.tokenizer !== 'gpt2' && !cfg.resume ? [{ flag: '--tokenizer', path: cfg.tokenizer }] : [])];
  if (comm && comm.rank > 0) {
    if (!cfg.resume) {
      tokenizer = loadTokenizer(cfg.tokenizer);
      model = new GPT(gptConfig(cfg.preset, { vocabSize: tokenizer.vocabSize, ...cfg.model }), cfg.seed); // the same seed: the same weights as rank 0
    }
    return train(cfg, null, model!, tokenizer!, onEvent, comm);
  }
  const out = openCheckpointDir(cfg.out, {
    label: outLabel, force: cfg.force, update: cfg.resume || !hasCk, inputs,
    existsHint: 'pass --resume to continue that run, or --force to start over (only the files gptkit wrote there are replaced)',
  });
  return out.use(async () => {
    if (!cfg.resume) {
      if (out.existed) out.clear(); // --force: the old run's files go, foreign ones stay
      tokenizer = loadTokenizer(cfg.tokenizer);
      const mc = gptConfig(cfg.preset, { vocabSize: tokenizer.vocabSize, ...cfg.model });
      model = new GPT(mc, cfg.seed);
    }
    return train(cfg, out, model, tokenizer, onEvent, comm);
  });
}

/** `out` is null on ranks other than 0 (they write nothing). */
async function train(cfg: PretrainConfig, out: OutputDir | null, model: GPT, tokenizer: Tokenizer, onEvent: (e: PretrainEvent) => void, comm: Communicator | null): Promise<{ model: GPT; tokenizer: Tokenizer; valLoss: number | null }> {
  // Data.
  let tokens: TokenArray;
  if (isShards(cfg.data)) {
    const sh = readShards(cfg.data[0]);
    const fp = tokenizerFingerprint(tokenizer);
    if (sh.fingerprint && sh.fingerprint !== fp) throw new ConfigError(`the shards in ${cfg.data[0]} were made with tokenizer '${sh.tokenizer}' (sha256 ${sh.fingerprint.slice(0, 12)}…), not with this run's tokenizer (${fp.slice(0, 12)}…)`, 'pretrain with the tokenizer the shards were made with (--tokenizer), or re-shard with this one');
    if (sh.vocabSize > model.config.vocabSize) throw new ConfigError(`the shards in ${cfg.data[0]} were made with a ${sh.vocabSize}-token vocabulary, the model has ${model.config.vocabSize}`, 'pretrain with the tokenizer the shards were made with (--tokenizer)');
    tokens = sh.tokens;
  } else tokens = await tokenizeFiles(cfg.data, tokenizer, cfg.textField, cfg.onError, onEvent);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] >= model.config.vocabSize) throw new ConfigError(`token id ${tokens[i]} at position ${i} is outside the model's vocabulary of ${model.config.vocabSize}`, 'were the shards made with another tokenizer?');
  }
  const T = model.config.blockSize;
  const nVal = cfg.valFraction > 0 ? Math.max(T + 1, Math.floor(tokens.length * cfg.valFraction)) : 0;
  if (tokens.length - nVal < T + 2) {
    throw new ConfigError(`the data has ${tokens.length} tokens: ${nVal} held out for validation (--val-fraction ${cfg.valFraction}${nVal ? `, at least one context of ${T + 1}` : ''}) leaves ${Math.max(0, tokens.length - nVal)} to train on, fewer than the ${T + 2} one training window needs (block size ${T})`, 'add data, lower --block-size, or lower --val-fraction (0 holds nothing out)');
  }
  const trainTokens = tokens.subarray(0, tokens.length - nVal);
  const valTokens = tokens.subarray(tokens.length - nVal);
  const train = new RandomWindows(trainTokens, cfg.batchSize, T, cfg.seed);
  const val = nVal > 0 ? new SequentialWindows(valTokens, cfg.batchSize, T) : undefined;
  const trainer = new Trainer(model, (b) => model.forward(b.ids, b.B, b.T, b.targets).loss!, { train, val }, trainOptionsOf(cfg), comm);

  let resumedFrom: number | null = null;
  if (cfg.resume) {
    const { state, extra } = loadTrainerState(cfg.out, model);
    if (typeof extra.train_tokens === 'number' && extra.train_tokens !== trainTokens.length) {
      throw new ConfigError(`--resume: the data now gives ${trainTokens.length} training tokens, the checkpoint was trained on ${extra.train_tokens}`, 'the data files changed since the run started; resume with the same data');
    }
    trainer.restore(state);
    resumedFrom = state.step;
  }
  const metric = out ? openMetricsLog(out, resumedFrom) : () => {};

  const bf16 = bf16Notice(cfg.precision);
  if (bf16) onEvent({ type: 'notice', message: bf16 });
  onEvent({
    type: 'start', config: cfg, model: model.config, params: countParams(model.config).total, flopsPerToken: flopsPerToken(model.config),
    trainTokens: trainTokens.length, valTokens: valTokens.length, backend: backend().name, threads: backend().threads(), resumedFrom,
    ...(comm ? { ranks: comm.size, mpi: comm.library } : {}),
  });

  const tokJson = tokenizerJsonText(tokenizer.toSpec());
  const saved: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) if (!notSaved.has(k)) saved[k] = v;
  saved.data = cfg.data.map((p) => resolve(p));
  if (cfg.tokenizer !== 'gpt2') saved.tokenizer = resolve(cfg.tokenizer);
  const save = () => {
    if (!out) return;
    saveCheckpoint(out, model, {
      extra: { training: saved },
      tokenizerJson: { text: tokJson },
      trainerState: trainer.state(),
      trainerExtra: { train_tokens: trainTokens.length },
    });
    onEvent({ type: 'checkpoint', step: trainer.step, dir: cfg.out });
  };
  const sampleRng = new Rng(cfg.seed).fork('samples');
  const sample = () => {
    if (!out) return;
    model.eval();
    const prompt = cfg.samplePrompt ? tokenizer.encode(cfg.samplePrompt) : [tokenizer.tokenId('<|endoftext|>')];
    const [g] = generate(model, [prompt], (l) => sampleToken(l, sampleRng, { temperature: 0.8, topK: 50 }).token, { maxTokens: cfg.sampleTokens, eosIds: [tokenizer.tokenId('<|endoftext|>')] });
    model.train();
    const text = cfg.samplePrompt + tokenizer.decode(g.tokens);
    onEvent({ type: 'sample', step: trainer.step, text });
    metric({ step: trainer.step, sample: text });
  };

  let valLoss: number | null = null;
  const wall0 = performance.now();
  const stop = stopOnSignal();
  try {
    while (trainer.step < cfg.steps) {
      const ev = trainer.runStep(); // throws DivergedError before touching the last checkpoint
      onEvent({ type: 'step', wallSec: (performance.now() - wall0) / 1000, ...ev });
      metric({ step: ev.step, loss: ev.loss, lr: ev.lr, grad_norm: ev.gradNorm, tokens: ev.tokens, tokens_per_sec: ev.tokensPerSec, elapsed_sec: ev.elapsedSec });
      const last = ev.step === cfg.steps;
      if (val && cfg.evalEvery > 0 && (ev.step % cfg.evalEvery === 0 || last)) {
        valLoss = trainer.evaluate();
        onEvent({ type: 'eval', step: ev.step, valLoss });
        metric({ step: ev.step, val_loss: valLoss });
      }
      if (cfg.sampleEvery > 0 && (ev.step % cfg.sampleEvery === 0 || last)) sample();
      if (cfg.checkpointEvery > 0 && ev.step % cfg.checkpointEvery === 0 && !last) save();
      await yieldToEvents(); // a Ctrl-C pressed during the step is seen here
      if (trainer.agree(stop.signal !== null) && !last) {
        save();
        onEvent({ type: 'interrupted', step: trainer.step, dir: cfg.out, signal: stop.signal ?? 'SIGTERM' });
        throw new InterruptedError(`interrupted (${stop.signal ?? 'another rank'}) at step ${trainer.step}; checkpoint saved in ${cfg.out}`, `continue with: gptkit pretrain --out ${cfg.out} --resume`);
      }
    }
  } finally {
    stop.dispose();
  }
  save();
  onEvent({ type: 'done', step: trainer.step, dir: cfg.out, valLoss });
  return { model, tokenizer, valLoss };
}

/** Pretrain a BERT (`--arch bert`) under this stage's settings rules: pipeline/pretrain-bert.ts does the work. */
export function pretrainBertRun(cfgIn: Partial<PretrainConfig> & { out: string }, onEvent: (e: PretrainEvent) => void = () => {}): ReturnType<typeof pretrainBert> {
  validatePretrainConfig(cfgIn);
  return pretrainBert({ ...cfgIn, arch: 'bert' }, { resumeSettings, savedSettings, trainOptionsOf, defaults: defaultPretrainConfig, notSaved }, onEvent);
}
