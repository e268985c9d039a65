// The Transformer's stage: `gptkit seq2seq train` (pairs → a shared byte-level BPE → the 2017
// encoder–decoder trained with label smoothing, Adam β2 0.98 ε 1e-9 and the inverse-square-root
// warmup schedule) and `gptkit translate` (greedy or beam search). Pairs are JSONL
// `{"source", "target"}`: the world's translation task (world:translation), a file (its last 10%
// validates), or a folder of train.jsonl / validation.jsonl. The checkpoint folder:
//   config.json        {"model_type": "gptkit-transformer", "transformer": {…}, "special_tokens", "training", "bleu"}
//   model.safetensors  the parameters (embed.weight, encoder.0.self_attn.c_attn.weight, …)
//   tokenizer.json     the shared BPE with <|pad|> <|bos|> <|eos|>
//   trainer_state/     exact resume (interop/module-state.ts); metrics.jsonl beside it
import { existsSync, readFileSync, appendFileSync, writeFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Transformer, transformerConfig, transformerPresets, countTransformerParams, greedyDecode, beamSearch, type TransformerConfig, type Seq2SeqBatch } from '../models/transformer.ts';
import { Trainer, type TrainOptions, type StepEvent } from '../train/trainer.ts';
import type { Batch, BatchSource } from '../train/batches.ts';
import { noamLr } from '../optim/schedule.ts';
import { openCheckpointDir, hasTrainerState } from '../interop/checkpoint.ts';
import { writeTrainerState, readTrainerState, loadParams } from '../interop/module-state.ts';
import { readSafetensors, writeSafetensors } from '../interop/safetensors.ts';
import type { OutputDir } from '../util/output.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { stopOnSignal, yieldToEvents, InterruptedError } from '../util/signals.ts';
import { Tokenizer, loadTokenizer, trainBpe } from '../tokenizer/index.ts';
import { tokenizerJsonText } from '../tokenizer/formats.ts';
import { corpusBleu, exactMatch } from '../eval/bleu.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError, FileFormatError } from '../util/errors.ts';
import { backend } from '../backend/index.ts';

export const SEQ2SEQ_SPECIALS = ['<|pad|>', '<|bos|>', '<|eos|>'] as const;

export interface Pair { source: string; target: string }

/** `{"source","target"}` JSONL; a bad line is an error naming file and line. */
export function readPairs(file: string): Pair[] {
  if (!existsSync(file)) throw new FileFormatError(file, 'no such file');
  return readFileSync(file, 'utf8').split('\n').flatMap((line, i) => {
    if (!line.trim()) return [];
    let r: unknown;
    try { r = JSON.parse(line); } catch (e) { throw new FileFormatError(`${file}:${i + 1}`, `not valid JSON (${(e as Error).message})`); }
    const { source, target } = (r ?? {}) as Record<string, unknown>;
    if (typeof source !== 'string' || typeof target !== 'string') throw new FileFormatError(`${file}:${i + 1}`, 'expected {"source": string, "target": string}');
    return [{ source, target }];
  });
}

/** Train and validation pairs of a task spec (world:translation, FILE.jsonl, or a folder). */
export function loadPairs(spec: string, world: string): { train: Pair[]; validation: Pair[]; test: Pair[] } {
  const dir = spec.startsWith('world:') ? join(world, 'tasks', spec.slice(6)) : spec;
  if (existsSync(dir) && statSync(dir).isDirectory()) {
    const f = (s: string) => (existsSync(join(dir, `${s}.jsonl`)) ? readPairs(join(dir, `${s}.jsonl`)) : []);
    if (!existsSync(join(dir, 'train.jsonl'))) throw new FileFormatError(dir, 'no train.jsonl', spec.startsWith('world:') ? `make a world with \`gptkit world generate --out ${world}\`, or pass --world DIR` : 'a task folder needs train.jsonl (+ validation.jsonl)');
    return { train: f('train'), validation: f('validation'), test: f('test') };
  }
  if (spec.startsWith('world:')) throw new FileFormatError(dir, 'no such task folder', `make a world with \`gptkit world generate --out ${world}\`, or pass --world DIR`);
  const all = readPairs(spec);
  const nVal = Math.floor(all.length / 10);
  return { train: all.slice(0, all.length - nVal), validation: all.slice(all.length - nVal), test: [] };
}

export interface Seq2SeqConfig {
  task: string;
  world: string;
  out: string;
  /** A tokenizer folder holding the three special tokens, or null: train a shared BPE on the pairs. */
  tokenizer: string | null;
  vocabSize: number;
  preset: string;
  model: Partial<TransformerConfig>;
  steps: number;
  batchSize: number;
  /**
   * Factor on the Noam schedule d^−0.5·min(s^−0.5, s·w^−1.5). The paper's 1 peaks at 7e-4 for d 512
   * and 4,000 warmup steps; small models with short warmups peak far higher, and a post-LN model at
   * ~1e-2 never learns to read the source, so the default 0.3 peaks near 2e-3 on transformer-world-tiny.
   */
  lr: number;
  warmupSteps: number;
  beta1: number;
  beta2: number;
  eps: number;
  gradClip: number;
  evalEvery: number;
  evalBatches: number;
  /** Validation sentences translated (greedy) for BLEU at the end (0 = none). */
  bleuSentences: number;
  checkpointEvery: number;
  seed: number;
  resume: boolean;
  force: boolean;
}

export const defaultSeq2SeqConfig: Omit<Seq2SeqConfig, 'task' | 'out'> = {
  world: 'runs/main/world', tokenizer: null, vocabSize: 1024, preset: 'transformer-world-tiny', model: {}, steps: 1000, batchSize: 32,
  lr: 0.3, warmupSteps: 200, beta1: 0.9, beta2: 0.98, eps: 1e-9, gradClip: 0, evalEvery: 100, evalBatches: 4, bleuSentences: 200,
  checkpointEvery: 0, seed: 1337, resume: false, force: false,
};

/** Settings a resumed run may change. */
const CHANGEABLE = new Set(['steps', 'evalEvery', 'evalBatches', 'checkpointEvery', 'bleuSentences', 'world']);

export interface Specials { pad: number; bos: number; eos: number }

function specialsOf(tok: Tokenizer, where: string): Specials {
  for (const s of SEQ2SEQ_SPECIALS) if (!tok.specialTokens.has(s)) throw new ConfigError(`the tokenizer ${where} has no ${s} special token`, `seq2seq needs ${SEQ2SEQ_SPECIALS.join(' ')}; leave out --tokenizer to train one on the pairs`);
  return { pad: tok.tokenId('<|pad|>'), bos: tok.tokenId('<|bos|>'), eos: tok.tokenId('<|eos|>') };
}

interface EncodedPair { src: number[]; tgt: number[] }

/** Pairs → a padded batch: src, BOS + target in, target + EOS out (−100 at padding). */
export function packPairs(pairs: EncodedPair[], sp: Specials, maxLen: number): Seq2SeqBatch & Batch {
  const B = pairs.length;
  const srcs = pairs.map((p) => p.src.slice(0, maxLen)), tgts = pairs.map((p) => p.tgt.slice(0, maxLen - 1));
  const S = Math.max(1, ...srcs.map((s) => s.length)), T = Math.max(...tgts.map((t) => t.length)) + 1;
  const src = new Int32Array(B * S).fill(sp.pad), srcLen = new Int32Array(B), tgtIn = new Int32Array(B * T).fill(sp.pad), tgtOut = new Int32Array(B * T).fill(-100);
  pairs.forEach((_, b) => {
    src.set(srcs[b], b * S);
    srcLen[b] = Math.max(1, srcs[b].length);
    tgtIn.set([sp.bos, ...tgts[b]], b * T);
    tgtOut.set([...tgts[b], sp.eos], b * T);
  });
  return { src, srcLen, S, tgtIn, tgtOut, T, B, ids: tgtIn, targets: tgtOut };
}

/** Random batches of pairs; the position is the Rng's state (exact resume). */
class PairBatches implements BatchSource {
  private rng: Rng;
  constructor(private readonly pairs: EncodedPair[], private readonly B: number, private readonly sp: Specials, private readonly maxLen: number, seed: number) {
    if (!pairs.length) throw new ConfigError('no training pairs');
    this.rng = new Rng(seed);
  }
  next(): Batch { return packPairs(Array.from({ length: this.B }, () => this.pairs[this.rng.int(this.pairs.length)]), this.sp, this.maxLen); }
  state(): unknown { return this.rng.state(); }
  restore(s: unknown): void { this.rng.setState(s as ReturnType<Rng['state']>); }
}

/** The paper's schedule: lr = factor · d^−0.5 · min(step^−0.5, step · warmup^−1.5). */
class NoamTrainer extends Trainer {
  constructor(private readonly dModel: number, ...args: ConstructorParameters<typeof Trainer>) { super(...args); }
  override lrAt(step: number): number { return noamLr(step, this.dModel, Math.max(1, this.opts.warmupSteps), this.opts.lr); }
}

export interface TranslateOptions { beam: number; alpha: number; maxLen: number; batchSize: number }

/** Translate sources with greedy decoding (beam 1) or beam search, in batches. */
export function translate(model: Transformer, tok: Tokenizer, sources: string[], o: TranslateOptions): string[] {
  const sp = specialsOf(tok, '');
  const out: string[] = [];
  model.eval();
  for (let i = 0; i < sources.length; i += o.batchSize) {
    const chunk = sources.slice(i, i + o.batchSize).map((s) => ({ src: tok.encode(s), tgt: [] }));
    const b = packPairs(chunk, sp, model.config.blockSize);
    const enc = model.encodeSource(b.src, b.B, b.S, b.srcLen);
    // Outputs stop at 2·source + 10 tokens (fairseq's max_len_a/b idea): beam search may stop a sentence
    // only when no live beam can still win, and that bound tightens with the longest allowed output.
    const longest = Math.max(...Array.from(b.srcLen));
    const dec = { bos: sp.bos, eos: sp.eos, banned: [sp.pad, sp.bos], maxLen: Math.min(o.maxLen, model.config.blockSize, 2 * longest + 10) };
    const ids = o.beam <= 1 ? greedyDecode(model, enc, dec) : beamSearch(model, enc, { ...dec, beam: o.beam, alpha: o.alpha }).map((h) => h.tokens);
    out.push(...ids.map((t) => tok.decode(t)));
  }
  return out;
}

/** BLEU (sacreBLEU's) and exact match of a model's translations of pairs. */
export function scoreTranslations(model: Transformer, tok: Tokenizer, pairs: Pair[], o: TranslateOptions): { bleu: number; exactMatch: number; hypotheses: string[] } {
  const hyps = translate(model, tok, pairs.map((p) => p.source), o);
  return { bleu: corpusBleu(hyps, [pairs.map((p) => p.target)]).score, exactMatch: exactMatch(hyps, pairs.map((p) => p.target)), hypotheses: hyps };
}

/** A seq2seq checkpoint folder's model and tokenizer. */
export function loadSeq2Seq(dir: string): { model: Transformer; tokenizer: Tokenizer; config: Record<string, unknown> } {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new FileFormatError(dir, 'no config.json: not a model folder');
  const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  if (config.model_type !== 'gptkit-transformer') throw new FileFormatError(path, `model_type is ${JSON.stringify(config.model_type)}, expected "gptkit-transformer"`, 'give a folder written by gptkit seq2seq train');
  let c: TransformerConfig;
  try { c = transformerConfig(config.transformer as TransformerConfig); } catch (e) { throw new FileFormatError(path, `field "transformer": ${(e as Error).message}`); }
  const model = new Transformer(c);
  const weights = join(dir, 'model.safetensors');
  const { tensors } = readSafetensors(weights);
  loadParams(model, tensors, weights);
  if (tensors.size) throw new FileFormatError(weights, `unexpected tensors: ${[...tensors.keys()].slice(0, 5).join(', ')}`);
  const tokenizer = loadTokenizer(dir);
  specialsOf(tokenizer, dir);
  return { model: model.eval(), tokenizer, config };
}

export type Seq2SeqEvent =
  | { type: 'start'; model: TransformerConfig; params: number; trainPairs: number; valPairs: number; backend: string; threads: number; resumedFrom: number | null }
  | { type: 'tokenizer'; vocabSize: number }
  | ({ type: 'step'; wallSec: number } & StepEvent)
  | { type: 'eval'; step: number; valLoss: number }
  | { type: 'bleu'; step: number; bleu: number; exactMatch: number; sentences: number }
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'interrupted'; step: number; dir: string; signal: string }
  | { type: 'done'; step: number; dir: string; valLoss: number | null; bleu: number | null };

/** Train a Transformer on pairs. Ctrl-C saves a checkpoint at the step boundary and throws InterruptedError. */
export async function trainSeq2Seq(cfgIn: Partial<Seq2SeqConfig> & { out: string }, onEvent: (e: Seq2SeqEvent) => void = () => {}): Promise<{ model: Transformer; tokenizer: Tokenizer; bleu: number | null }> {
  for (const k of Object.keys(cfgIn)) if (!(k in defaultSeq2SeqConfig) && k !== 'task' && k !== 'out') throw new ConfigError(`unknown seq2seq option '${k}'`);
  const hasCk = existsSync(cfgIn.out) && hasTrainerState(cfgIn.out);
  if (cfgIn.resume && !hasCk) throw new ConfigError(`--resume: ${cfgIn.out} holds no checkpoint to resume (no trainer_state/state.json)`, 'leave out --resume to start a new run there');
  let cfg: Seq2SeqConfig;
  if (cfgIn.resume) {
    const saved = JSON.parse(readFileSync(join(cfgIn.out, 'config.json'), 'utf8')).training as Record<string, unknown>;
    for (const [k, v] of Object.entries(cfgIn)) {
      if (v === undefined || ['out', 'resume', 'force'].includes(k) || CHANGEABLE.has(k)) continue;
      const now = k === 'tokenizer' && v ? resolve(v as string) : v;
      if (JSON.stringify(now) !== JSON.stringify(saved[k])) throw new ConfigError(`--resume: --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} ${JSON.stringify(v)} differs from the checkpoint's ${JSON.stringify(saved[k])}`, "leave it out to keep the run's own setting");
    }
    cfg = { ...defaultSeq2SeqConfig, ...saved, ...Object.fromEntries(Object.entries(cfgIn).filter(([k, v]) => v !== undefined && CHANGEABLE.has(k))), out: cfgIn.out, resume: true, force: false } as Seq2SeqConfig;
  } else {
    cfg = { ...defaultSeq2SeqConfig, ...cfgIn } as Seq2SeqConfig;
    if (!cfg.task) throw new ConfigError('no task given', 'pass --task world:translation or a {"source","target"} JSONL file');
    if (!transformerPresets[cfg.preset]) throw new ConfigError(`unknown Transformer preset '${cfg.preset}'`, `one of: ${Object.keys(transformerPresets).join(', ')}`);
  }
  const data = loadPairs(cfg.task, cfg.world);
  const out = openCheckpointDir(cfg.out, {
    label: `--out ${cfg.out}`, force: cfg.force, update: cfg.resume || !hasCk,
    inputs: [...(cfg.task.startsWith('world:') ? [] : [{ flag: '--task', path: cfg.task }]), ...(cfg.tokenizer && !cfg.resume ? [{ flag: '--tokenizer', path: cfg.tokenizer }] : [])],
    existsHint: 'pass --resume to continue that run, or --force to start over (only the files gptkit wrote there are replaced)',
  });
  return out.use(async () => {
    let model: Transformer, tokenizer: Tokenizer;
    if (cfg.resume) ({ model, tokenizer } = loadSeq2Seq(cfg.out));
    else {
      if (out.existed) out.clear();
      tokenizer = cfg.tokenizer ? loadTokenizer(cfg.tokenizer)
        : await trainBpe(data.train.flatMap((p) => [p.source, p.target]), { vocabSize: cfg.vocabSize, specialTokens: SEQ2SEQ_SPECIALS });
      specialsOf(tokenizer, cfg.tokenizer ?? '(trained)');
      onEvent({ type: 'tokenizer', vocabSize: tokenizer.vocabSize });
      model = new Transformer(transformerConfig(cfg.preset, { ...cfg.model, vocabSize: tokenizer.vocabSize }), cfg.seed);
    }
    model.train();
    return run(cfg, out, model, tokenizer, data, onEvent);
  });
}

async function run(cfg: Seq2SeqConfig, out: OutputDir, model: Transformer, tokenizer: Tokenizer, data: { train: Pair[]; validation: Pair[] }, onEvent: (e: Seq2SeqEvent) => void) {
  const sp = specialsOf(tokenizer, cfg.out);
  const enc = (ps: Pair[]) => ps.map((p) => ({ src: tokenizer.encode(p.source), tgt: tokenizer.encode(p.target) }));
  const train = enc(data.train), val = enc(data.validation);
  const T = model.config.blockSize;
  const opts: TrainOptions = {
    steps: cfg.steps, gradAccum: 1, lr: cfg.lr, minLr: 0, warmupSteps: cfg.warmupSteps, weightDecay: 0,
    beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, gradClip: cfg.gradClip, evalEvery: cfg.evalEvery, evalBatches: cfg.evalBatches, precision: 'f32',
  };
  const lossOf = (b: Batch) => model.forward(b as Seq2SeqBatch & Batch).loss!;
  const trainer = new NoamTrainer(model.config.nEmbd, model, lossOf, { train: new PairBatches(train, cfg.batchSize, sp, T, cfg.seed), val: val.length ? new PairBatches(val, cfg.batchSize, sp, T, cfg.seed + 1) : undefined }, opts);
  const metricsPath = out.file('metrics.jsonl');
  let resumedFrom: number | null = null;
  if (cfg.resume) {
    const { state, extra } = readTrainerState(cfg.out, model);
    if (extra.train_pairs !== train.length) throw new ConfigError(`--resume: the task now has ${train.length} training pairs, the checkpoint was trained on ${extra.train_pairs}`, 'resume with the same data');
    trainer.restore(state);
    resumedFrom = state.step;
    if (existsSync(metricsPath)) writeFileAtomic(metricsPath, readFileSync(metricsPath, 'utf8').split('\n').filter((l) => l && JSON.parse(l).step <= state.step).map((l) => l + '\n').join(''));
  } else writeFileAtomic(metricsPath, '');
  out.own('metrics.jsonl');
  const metric = (rec: Record<string, unknown>) => appendFileSync(metricsPath, JSON.stringify(rec) + '\n');
  onEvent({ type: 'start', model: model.config, params: countTransformerParams(model.config), trainPairs: train.length, valPairs: val.length, backend: backend().name, threads: backend().threads(), resumedFrom });

  const training: Record<string, unknown> = { ...cfg, out: undefined, resume: undefined, force: undefined, tokenizer: cfg.tokenizer ? resolve(cfg.tokenizer) : null };
  let bleu: { bleu: number; exactMatch: number } | null = null;
  const save = () => {
    out.commitSync((tmp) => {
      writeFileSync(join(tmp, 'config.json'), JSON.stringify({ model_type: 'gptkit-transformer', transformer: model.config, special_tokens: SEQ2SEQ_SPECIALS, training, ...(bleu ? { validation: bleu } : {}) }, null, 2) + '\n');
      writeSafetensors(join(tmp, 'model.safetensors'), new Map(model.namedParameters().map(([n, t]) => [n, { dtype: 'F32' as const, shape: [...t.shape], data: t.data }])), { format: 'pt' });
      writeFileSync(join(tmp, 'tokenizer.json'), tokenizerJsonText(tokenizer.toSpec()));
      writeTrainerState(tmp, model, trainer.state(), { train_pairs: train.length });
    });
    onEvent({ type: 'checkpoint', step: trainer.step, dir: cfg.out });
  };
  let valLoss: number | null = null;
  const wall0 = performance.now();
  const stop = stopOnSignal();
  try {
    while (trainer.step < cfg.steps) {
      const ev = trainer.runStep();
      onEvent({ type: 'step', wallSec: (performance.now() - wall0) / 1000, ...ev });
      metric({ step: ev.step, loss: ev.loss, lr: ev.lr, grad_norm: ev.gradNorm, tokens: ev.tokens, tokens_per_sec: ev.tokensPerSec, elapsed_sec: ev.elapsedSec });
      const last = ev.step === cfg.steps;
      if (val.length && cfg.evalEvery > 0 && (ev.step % cfg.evalEvery === 0 || last)) {
        valLoss = trainer.evaluate();
        onEvent({ type: 'eval', step: ev.step, valLoss });
        metric({ step: ev.step, val_loss: valLoss });
      }
      if (cfg.checkpointEvery > 0 && ev.step % cfg.checkpointEvery === 0 && !last) save();
      await yieldToEvents();
      if (stop.signal && !last) {
        save();
        onEvent({ type: 'interrupted', step: trainer.step, dir: cfg.out, signal: stop.signal });
        throw new InterruptedError(`interrupted (${stop.signal}) at step ${trainer.step}; checkpoint saved in ${cfg.out}`, `continue with: gptkit seq2seq train --out ${cfg.out} --resume`);
      }
    }
  } finally {
    stop.dispose();
  }
  if (cfg.bleuSentences > 0 && data.validation.length) {
    const pairs = data.validation.slice(0, cfg.bleuSentences);
    const s = scoreTranslations(model, tokenizer, pairs, { beam: 1, alpha: 0.6, maxLen: T, batchSize: 32 });
    model.train();
    bleu = { bleu: s.bleu, exactMatch: s.exactMatch };
    onEvent({ type: 'bleu', step: trainer.step, bleu: s.bleu, exactMatch: s.exactMatch, sentences: pairs.length });
    metric({ step: trainer.step, val_bleu: s.bleu, val_exact_match: s.exactMatch });
  }
  save();
  onEvent({ type: 'done', step: trainer.step, dir: cfg.out, valLoss, bleu: bleu?.bleu ?? null });
  return { model, tokenizer, bleu: bleu?.bleu ?? null };
}
