// The pretraining stage: text (or token shards) → token ids → GPT trained with the Trainer →
// checkpoints, a metrics JSONL and samples. Progress goes out as events; cli/ prints them.
import { existsSync, readFileSync, appendFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { writeFileAtomic, recoverDir } from '../util/fs.ts';
import { join, dirname, resolve } from 'node:path';
import { GPT, gptConfig, countParams, flopsPerToken, type GptConfig } from '../models/gpt.ts';
import { Trainer, defaultTrainOptions, type StepEvent, type TrainOptions } from '../train/trainer.ts';
import { RandomWindows, SequentialWindows, type TokenArray } from '../train/batches.ts';
import { saveCheckpoint, loadCheckpoint, loadTrainerState } from '../interop/checkpoint.ts';
import { generate } from '../generate/generate.ts';
import { sampleToken } from '../generate/sampling.ts';
import { loadTokenizer, type Tokenizer } from '../tokenizer/index.ts';
import { tokenizerJsonText } from '../tokenizer/formats.ts';
import { readDocuments, TokenShards } from '../data/index.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';
import { backend } from '../backend/index.ts';

export interface PretrainConfig extends TrainOptions {
  /** Text files (.txt, .jsonl, .parquet, ± .gz) or one token-shard index (.json with "shards"). */
  data: string[];
  /** Tokenizer directory, or 'gpt2'. Ignored when resuming (the checkpoint's is used). */
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
  checkpointEvery: number; // 0 = only at the end
  seed: number;
  resume: boolean;
  textField: string;
  /** A malformed record in a text file: stop ('fail') or skip it and report it ('skip'). */
  onError: 'fail' | 'skip';
}

export const defaultPretrainConfig: Omit<PretrainConfig, 'data' | 'out'> = {
  ...defaultTrainOptions,
  tokenizer: 'gpt2', preset: 'tiny', model: {}, batchSize: 16, valFraction: 0.05,
  sampleEvery: 0, sampleTokens: 64, samplePrompt: '', checkpointEvery: 0, seed: 1337, resume: false, textField: 'text', onError: 'fail',
};

export type PretrainEvent =
  | { type: 'start'; config: PretrainConfig; model: GptConfig; params: number; flopsPerToken: number; trainTokens: number; valTokens: number; backend: string; threads: number; resumedFrom: number | null }
  | { type: 'tokenize'; docs: number; tokens: number }
  | { type: 'malformed'; file: string; line: number; message: string }
  | ({ type: 'step'; wallSec: number } & StepEvent)
  | { type: 'eval'; step: number; valLoss: number }
  | { type: 'sample'; step: number; text: string }
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'done'; step: number; dir: string; valLoss: number | null };

/** Token ids of every document, each followed by the end-of-text token. */
async function tokenizeFiles(paths: string[], tok: Tokenizer, textField: string, onError: 'fail' | 'skip', onEvent: (e: PretrainEvent) => void): Promise<TokenArray> {
  const onProgress = (docs: number, tokens: number) => onEvent({ type: 'tokenize', docs, tokens });
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
  onProgress(docs, n);
  return tok.vocabSize <= 65536 ? Uint16Array.from(buf.subarray(0, n)) : buf.slice(0, n);
}

/** Token shards written by `gptkit data shards` (their directory or its index.json), read whole. */
function readShards(path: string): { tokens: Int32Array; vocabSize: number } {
  const shards = TokenShards.open(path.endsWith('index.json') ? dirname(path) : path);
  try {
    const total = shards.index.shards.reduce((n, s) => n + s.tokens, 0);
    const tokens = new Int32Array(total);
    let at = 0;
    shards.index.shards.forEach((s, i) => {
      tokens.set(shards.read(i, 0, s.tokens), at);
      at += s.tokens;
    });
    return { tokens, vocabSize: shards.index.vocab_size };
  } finally {
    shards.close();
  }
}

function isShards(paths: string[]): boolean {
  if (paths.length !== 1) return false;
  const p = paths[0];
  return p.endsWith('index.json') || (existsSync(p) && statSync(p).isDirectory() && existsSync(join(p, 'index.json')));
}

function trainOptionsOf(c: PretrainConfig): TrainOptions {
  const o = {} as TrainOptions;
  for (const k of Object.keys(defaultTrainOptions) as (keyof TrainOptions)[]) (o as unknown as Record<string, number>)[k] = c[k] as number;
  return o;
}

export async function pretrain(cfgIn: Partial<PretrainConfig> & { data: string[]; out: string }, onEvent: (e: PretrainEvent) => void = () => {}): Promise<{ model: GPT; tokenizer: Tokenizer; valLoss: number | null }> {
  for (const k of Object.keys(cfgIn)) {
    if (!(k in defaultPretrainConfig) && k !== 'data' && k !== 'out') throw new ConfigError(`unknown pretrain option '${k}'`);
  }
  const cfg: PretrainConfig = { ...defaultPretrainConfig, ...cfgIn };
  if (!cfg.data.length) throw new ConfigError('no training data given', 'pass --data FILE…');
  recoverDir(cfg.out); // a checkpoint swap cut short by a crash
  const resuming = cfg.resume && existsSync(join(cfg.out, 'trainer_state', 'state.json'));

  // Model and tokenizer: fresh, or from the checkpoint being resumed.
  let model: GPT;
  let tokenizer: Tokenizer;
  if (resuming) {
    const ck = loadCheckpoint(cfg.out);
    model = ck.model;
    tokenizer = loadTokenizer(cfg.out);
  } else {
    tokenizer = loadTokenizer(cfg.tokenizer);
    const mc = gptConfig(cfg.preset, { vocabSize: tokenizer.vocabSize, ...cfg.model });
    model = new GPT(mc, cfg.seed);
  }

  // Data.
  let tokens: TokenArray;
  if (isShards(cfg.data)) {
    const sh = readShards(cfg.data[0]);
    if (sh.vocabSize > model.config.vocabSize) throw new ConfigError(`the shards in ${cfg.data[0]} were made with a ${sh.vocabSize}-token vocabulary, the model has ${model.config.vocabSize}`, 'pretrain with the tokenizer the shards were made with (--tokenizer)');
    tokens = sh.tokens;
  } else tokens = await tokenizeFiles(cfg.data, tokenizer, cfg.textField, cfg.onError, onEvent);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] >= model.config.vocabSize) throw new ConfigError(`token id ${tokens[i]} at position ${i} is outside the model's vocabulary of ${model.config.vocabSize}`, 'were the shards made with another tokenizer?');
  }
  const T = model.config.blockSize;
  const nVal = Math.max(cfg.valFraction > 0 ? T + 1 : 0, Math.floor(tokens.length * cfg.valFraction));
  const trainTokens = tokens.subarray(0, tokens.length - nVal);
  const valTokens = tokens.subarray(tokens.length - nVal);
  const train = new RandomWindows(trainTokens, cfg.batchSize, T, cfg.seed);
  const val = nVal > 0 ? new SequentialWindows(valTokens, cfg.batchSize, T) : undefined;
  const trainer = new Trainer(model, (b) => model.forward(b.ids, b.B, b.T, b.targets).loss!, { train, val }, trainOptionsOf(cfg));

  let resumedFrom: number | null = null;
  if (resuming) {
    const { state } = loadTrainerState(cfg.out, model);
    trainer.restore(state);
    resumedFrom = state.step;
    // Drop metrics the interrupted run logged after its last checkpoint: they are redone now.
    const mp = join(cfg.out, 'metrics.jsonl');
    if (existsSync(mp)) {
      const kept = readFileSync(mp, 'utf8').split('\n').filter((l) => l && JSON.parse(l).step <= state.step);
      writeFileAtomic(mp, kept.map((l) => l + '\n').join(''));
    }
  } else {
    rmSync(join(cfg.out, 'metrics.jsonl'), { force: true });
  }
  mkdirSync(cfg.out, { recursive: true });
  const metricsPath = join(cfg.out, 'metrics.jsonl');
  const metric = (rec: Record<string, unknown>) => appendFileSync(metricsPath, JSON.stringify(rec) + '\n');

  onEvent({
    type: 'start', config: cfg, model: model.config, params: countParams(model.config).total, flopsPerToken: flopsPerToken(model.config),
    trainTokens: trainTokens.length, valTokens: valTokens.length, backend: backend().name, threads: backend().threads(), resumedFrom,
  });

  const tokJson = tokenizerJsonText(tokenizer.toSpec());
  const save = () => {
    saveCheckpoint(cfg.out, model, {
      extra: { training: { ...cfg, data: cfg.data.map((p) => resolve(p)) } },
      tokenizerJson: { text: tokJson },
      trainerState: trainer.state(),
    });
    onEvent({ type: 'checkpoint', step: trainer.step, dir: cfg.out });
  };
  const sampleRng = new Rng(cfg.seed).fork('samples');
  const sample = () => {
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
  }
  save();
  onEvent({ type: 'done', step: trainer.step, dir: cfg.out, valLoss });
  return { model, tokenizer, valLoss };
}
