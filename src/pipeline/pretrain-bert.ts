// BERT's pretraining stage (`gptkit pretrain --arch bert`): documents → sentences → sentence pairs
// (50% the real next segment, 50% a random one) → 15% of tokens selected for MLM (80% [MASK], 10% a
// random token, 10% unchanged; [CLS], [SEP] and padding never) → BertForPreTraining trained on
// MLM + NSP with the same Trainer, progress events, metrics, checkpoints and exact resume as GPT
// pretraining (pipeline/pretrain.ts hands --arch bert runs here and owns the settings rules).
// Sequence length follows the paper: 90% of the steps at a quarter of the context (128 of 512),
// the rest at the full context.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BertForPreTraining, bertConfig, bertPresets, countBertParams, bertFlopsPerToken, type BertConfig } from '../models/bert.ts';
import { Trainer, type TrainOptions } from '../train/trainer.ts';
import type { Batch, BatchSource } from '../train/batches.ts';
import { openCheckpointDir, hasTrainerState } from '../interop/checkpoint.ts';
import { saveBertDir, loadBertDir, loadBertTrainerState } from '../interop/hf-bert.ts';
import type { OutputDir } from '../util/output.ts';
import { openMetricsLog } from '../train/metrics-log.ts';
import { stopOnSignal, yieldToEvents, InterruptedError } from '../util/signals.ts';
import { loadWordPiece, isWordPiecePath, type WordPieceTokenizer } from '../tokenizer/wordpiece.ts';
import { readDocuments } from '../data/index.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';
import { backend } from '../backend/index.ts';
import type { GptConfig } from '../models/gpt.ts';
import type { PretrainConfig, PretrainEvent } from './pretrain.ts';

/** A batch of sentence pairs: Batch's ids and targets (= MLM labels, -100 unselected) plus BERT's inputs. */
export interface BertPairBatch extends Batch {
  typeIds: Int32Array; // (B·T)
  lengths: Int32Array; // (B)
  nspLabels: Int32Array; // (B): 0 = B follows A, 1 = random
}

export interface SpecialIds { cls: number; sep: number; pad: number; mask: number; unk: number; vocabSize: number }

/** Sentences of a text: cut after . ! ? followed by space, after CJK 。！？, and at line breaks. */
export function splitSentences(text: string): string[] {
  return text.split(/(?<=[.!?])\s+|(?<=[。！？])\s*|\n+/).map((s) => s.trim()).filter(Boolean);
}

/**
 * BERT's masking, in place on ids (B·T): of the real non-special positions of each row, round(15%)
 * (at least 1) are selected; each becomes [MASK] with p 0.8, a random ordinary token with p 0.1, or
 * stays. Returns the labels: the original token at selected positions, -100 elsewhere.
 */
export function maskTokens(ids: Int32Array, lengths: Int32Array, B: number, T: number, sp: SpecialIds, rng: Rng, rate = 0.15): Int32Array {
  const labels = new Int32Array(B * T).fill(-100);
  const special = new Set([sp.cls, sp.sep, sp.pad]);
  const notRandom = new Set([sp.cls, sp.sep, sp.pad, sp.mask, sp.unk]);
  for (let b = 0; b < B; b++) {
    const cand: number[] = [];
    for (let t = 0; t < lengths[b]; t++) if (!special.has(ids[b * T + t])) cand.push(b * T + t);
    rng.shuffle(cand);
    const n = Math.min(cand.length, Math.max(1, Math.round(cand.length * rate)));
    for (const i of cand.slice(0, n)) {
      labels[i] = ids[i];
      const r = rng.next();
      if (r < 0.8) ids[i] = sp.mask;
      else if (r < 0.9) {
        let tok: number;
        do tok = rng.int(sp.vocabSize); while (notRandom.has(tok));
        ids[i] = tok;
      }
    }
  }
  return labels;
}

/**
 * Sentence-pair batches drawn from documents (each a list of tokenised sentences), as BERT's
 * create_pretraining_data: A is one or more consecutive sentences from a random point, B the
 * sentences that follow (NSP label 0) or, half the time, sentences from a random other document
 * (label 1); the pair is cut to fit. The position in the data is the Rng's state (exact resume).
 */
export class BertPairs implements BatchSource {
  private rng: Rng;
  private draws = 0;
  /** Documents of two or more sentences: the only ones a real next segment can come from. */
  private readonly multi: number[];
  constructor(
    private readonly docs: Int32Array[][],
    readonly B: number,
    /** Sequence length at draw k (the 128-then-512 schedule). */
    private readonly lengthAt: (draw: number) => number,
    private readonly sp: SpecialIds,
    seed: number,
  ) {
    if (docs.length < 2) throw new ConfigError(`BERT pretraining needs at least 2 documents with sentences, got ${docs.length}`, 'add data (NSP draws its random segment from another document)');
    this.multi = docs.flatMap((d, i) => (d.length >= 2 ? [i] : []));
    if (!this.multi.length) throw new ConfigError('BERT pretraining needs documents of two or more sentences (NSP pairs a sentence with the one after it)', 'sentences end with . ! or ? followed by a space, or a line break');
    this.rng = new Rng(seed);
  }

  /** Consecutive sentences of doc from `from` (at least one) while they fit `budget` tokens and end before `end`. */
  private sentences(doc: Int32Array[], from: number, budget: number, end = doc.length): { toks: number[]; next: number } {
    const toks: number[] = [];
    let i = from;
    do toks.push(...doc[i++]); while (i < end && toks.length + doc[i].length <= budget);
    return { toks, next: i };
  }

  next(): BertPairBatch {
    const { B, sp, rng } = this;
    const T = this.lengthAt(this.draws++);
    const ids = new Int32Array(B * T).fill(sp.pad), typeIds = new Int32Array(B * T), lengths = new Int32Array(B), nsp = new Int32Array(B);
    const room = T - 3; // [CLS] A [SEP] B [SEP]
    for (let b = 0; b < B; b++) {
      const isRandom = rng.next() < 0.5;
      // A real next segment needs a sentence after A: A then ends before the document's last sentence.
      const d = isRandom ? rng.int(this.docs.length) : this.multi[rng.int(this.multi.length)];
      const doc = this.docs[d];
      const end = isRandom ? doc.length : doc.length - 1;
      const a = this.sentences(doc, rng.int(end), rng.int(room) + 1, end);
      let bToks: number[];
      if (isRandom) {
        let o = rng.int(this.docs.length - 1);
        if (o >= d) o++;
        const other = this.docs[o];
        bToks = this.sentences(other, rng.int(other.length), room).toks;
      } else bToks = this.sentences(doc, a.next, room).toks;
      let aT = a.toks, bT = bToks;
      while (aT.length + bT.length > room) { // cut the longer one, from a random end (as BERT)
        const cut = aT.length > bT.length ? aT : bT;
        if (rng.next() < 0.5) cut.shift(); else cut.pop();
        if (aT.length === 0 || bT.length === 0) break;
      }
      if (aT.length + bT.length > room) { aT = aT.slice(0, Math.max(1, room - 1)); bT = bT.slice(0, room - aT.length); }
      const row = [sp.cls, ...aT, sp.sep, ...bT, sp.sep];
      ids.set(row, b * T);
      for (let t = aT.length + 2; t < row.length; t++) typeIds[b * T + t] = 1;
      lengths[b] = row.length;
      nsp[b] = isRandom ? 1 : 0;
    }
    const targets = maskTokens(ids, lengths, B, T, sp, rng);
    return { ids, targets, typeIds, lengths, nspLabels: nsp, B, T };
  }

  state(): unknown {
    return { rng: this.rng.state(), draws: this.draws };
  }

  restore(s: unknown): void {
    const st = s as { rng: ReturnType<Rng['state']>; draws: number };
    this.rng.setState(st.rng);
    this.draws = st.draws;
  }
}

async function tokenizeDocs(cfg: PretrainConfig, tok: WordPieceTokenizer, onEvent: (e: PretrainEvent) => void): Promise<Int32Array[][]> {
  const docs: Int32Array[][] = [];
  let tokens = 0;
  const onMalformed = (m: { file: string; line: number; message: string }) => onEvent({ type: 'malformed', ...m });
  for await (const doc of readDocuments(cfg.data, { textField: cfg.textField, onError: cfg.onError, onMalformed })) {
    const sents = splitSentences(doc.text).map((s) => Int32Array.from(tok.encode(s))).filter((s) => s.length > 0);
    if (!sents.length) continue;
    docs.push(sents);
    for (const s of sents) tokens += s.length;
    if (docs.length % 1000 === 0) onEvent({ type: 'tokenize', docs: docs.length, tokens, done: false });
  }
  onEvent({ type: 'tokenize', docs: docs.length, tokens, done: true });
  return docs;
}

const BERT_MODEL_KEYS = ['nLayer', 'nHead', 'nEmbd', 'blockSize', 'dropout'] as const;

/** The model config of a new BERT run: a BERT preset (default bert-world-tiny) and the overrides BERT has. */
function newBertConfig(cfg: PretrainConfig, presetGiven: boolean, vocabSize: number): BertConfig {
  const preset = presetGiven ? cfg.preset : 'bert-world-tiny';
  if (!bertPresets[preset]) throw new ConfigError(`--preset ${preset} is not a BERT preset`, `with --arch bert, one of: ${Object.keys(bertPresets).join(', ')}`);
  const over: Partial<BertConfig> = { vocabSize };
  for (const [k, v] of Object.entries(cfg.model as Partial<GptConfig>)) {
    if (v === undefined) continue;
    if (!(BERT_MODEL_KEYS as readonly string[]).includes(k)) throw new ConfigError(`--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} does not apply to BERT`, `BERT takes ${BERT_MODEL_KEYS.map((m) => '--' + m.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(', ')}`);
    (over as Record<string, unknown>)[k] = v;
  }
  return bertConfig(preset, over);
}

export interface BertStageHooks {
  /** pretrain.ts's rules for a resumed run's settings (the checkpoint's own, some changeable). */
  resumeSettings(given: Partial<PretrainConfig>, saved: Record<string, unknown>, savedModel: object, notice: (m: string) => void): PretrainConfig;
  savedSettings(out: string): Record<string, unknown>;
  trainOptionsOf(c: PretrainConfig): TrainOptions;
  defaults: Omit<PretrainConfig, 'data' | 'out'>;
  notSaved: Set<string>;
}

/** Pretrain a BERT (called by pretrain() for --arch bert, its config already validated). */
export async function pretrainBert(cfgIn: Partial<PretrainConfig> & { out: string }, hooks: BertStageHooks, onEvent: (e: PretrainEvent) => void): Promise<{ model: BertForPreTraining; tokenizer: WordPieceTokenizer; valLoss: number | null }> {
  const hasCk = existsSync(cfgIn.out) && hasTrainerState(cfgIn.out);
  if (cfgIn.resume && !hasCk) throw new ConfigError(`--resume: ${cfgIn.out} holds no checkpoint to resume (no trainer_state/state.json)`, 'leave out --resume to start a new run there');
  const notice = (message: string) => onEvent({ type: 'notice', message });
  let cfg: PretrainConfig, model: BertForPreTraining | undefined, tokenizer: WordPieceTokenizer | undefined;
  if (cfgIn.resume) {
    const ck = loadBertDir(cfgIn.out);
    model = ck.model;
    tokenizer = ck.tokenizer;
    cfg = hooks.resumeSettings(cfgIn, hooks.savedSettings(cfgIn.out), model.config, notice);
  } else {
    cfg = { ...hooks.defaults, ...cfgIn, data: cfgIn.data ?? [] } as PretrainConfig;
    if (!cfg.data.length) throw new ConfigError('no training data given', 'pass --data FILE…');
    if (cfg.tokenizer === 'gpt2' || !isWordPiecePath(cfg.tokenizer)) throw new ConfigError(`--arch bert needs a WordPiece tokenizer, got --tokenizer ${cfg.tokenizer}`, 'make one with `gptkit tokenizer train --model wordpiece`, or give a BERT directory with vocab.txt');
  }
  const out = openCheckpointDir(cfg.out, {
    label: `--out ${cfgIn.out}`, force: cfg.force, update: cfg.resume || !hasCk,
    inputs: [...cfg.data.map((p) => ({ flag: '--data', path: p })), ...(!cfg.resume ? [{ flag: '--tokenizer', path: cfg.tokenizer }] : [])],
    existsHint: 'pass --resume to continue that run, or --force to start over (only the files gptkit wrote there are replaced)',
  });
  return out.use(async () => {
    if (!cfg.resume) {
      if (out.existed) out.clear();
      tokenizer = loadWordPiece(cfg.tokenizer);
      model = new BertForPreTraining(newBertConfig(cfg, cfgIn.preset !== undefined, tokenizer.vocabSize), cfg.seed);
    }
    return train(cfg, hooks, out, model!, tokenizer!, onEvent);
  });
}

async function train(cfg: PretrainConfig, hooks: BertStageHooks, out: OutputDir, model: BertForPreTraining, tokenizer: WordPieceTokenizer, onEvent: (e: PretrainEvent) => void) {
  const docs = await tokenizeDocs(cfg, tokenizer, onEvent);
  const nVal = cfg.valFraction > 0 ? Math.max(2, Math.floor(docs.length * cfg.valFraction)) : 0;
  if (docs.length - nVal < 2) throw new ConfigError(`the data has ${docs.length} documents with text: ${nVal} held out for validation leaves ${docs.length - nVal}, and sentence pairs need at least 2`, 'add data or lower --val-fraction');
  const trainDocs = docs.slice(0, docs.length - nVal), valDocs = docs.slice(docs.length - nVal);
  const sp = { cls: tokenizer.clsId, sep: tokenizer.sepId, pad: tokenizer.padId, mask: tokenizer.maskId, unk: tokenizer.tokenId(tokenizer.options.unkToken), vocabSize: tokenizer.vocabSize };
  const full = model.config.blockSize, short = Math.max(8, Math.floor(full / 4));
  const longFrom = Math.floor(0.9 * cfg.steps) * cfg.gradAccum;
  const trainData = new BertPairs(trainDocs, cfg.batchSize, (k) => (k < longFrom ? short : full), sp, cfg.seed);
  const val = nVal >= 2 ? new BertPairs(valDocs, cfg.batchSize, () => full, sp, cfg.seed + 1) : undefined;
  // Per-step MLM/NSP parts for the metrics, summed over the micro-batches of a step.
  const parts = { mlm: 0, nsp: 0, n: 0 };
  const lossOf = (b: Batch) => {
    const bb = b as BertPairBatch;
    const o = model.forward({ ids: bb.ids, typeIds: bb.typeIds, lengths: bb.lengths, B: bb.B, T: bb.T, mlmLabels: bb.targets, nspLabels: bb.nspLabels }, { selectedOnly: true });
    if (model.training) { parts.mlm += o.mlmLoss!.item(); parts.nsp += o.nspLoss!.item(); parts.n++; }
    return o.loss!;
  };
  const trainer = new Trainer(model, lossOf, { train: trainData, val }, hooks.trainOptionsOf(cfg));

  let resumedFrom: number | null = null;
  if (cfg.resume) {
    const { state, extra } = loadBertTrainerState(cfg.out, model);
    if (typeof extra.train_docs === 'number' && extra.train_docs !== trainDocs.length) {
      throw new ConfigError(`--resume: the data now gives ${trainDocs.length} training documents, the checkpoint was trained on ${extra.train_docs}`, 'the data files changed since the run started; resume with the same data');
    }
    trainer.restore(state);
    resumedFrom = state.step;
  }
  const metric = openMetricsLog(out, resumedFrom);

  const trainTokens = trainDocs.reduce((n, d) => n + d.reduce((m, s) => m + s.length, 0), 0);
  const valTokens = valDocs.reduce((n, d) => n + d.reduce((m, s) => m + s.length, 0), 0);
  // The start event describes a GPT; BERT's config has the fields it prints (layers, heads, width,
  // context, vocabulary) and says post-LN, bidirectional for the rest.
  onEvent({
    type: 'start', config: cfg, model: { ...model.config, norm: 'post', attention: 'bidirectional' } as unknown as GptConfig, params: countBertParams(model.config).total,
    flopsPerToken: bertFlopsPerToken(model.config), trainTokens, valTokens, backend: backend().name, threads: backend().threads(), resumedFrom,
  });

  const saved: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) if (!hooks.notSaved.has(k)) saved[k] = v;
  saved.data = cfg.data.map((p) => resolve(p));
  saved.tokenizer = resolve(cfg.tokenizer);
  const save = () => {
    saveBertDir(out, model, tokenizer, { extra: { training: saved }, trainerState: trainer.state(), trainerExtra: { train_docs: trainDocs.length } });
    onEvent({ type: 'checkpoint', step: trainer.step, dir: cfg.out });
  };

  let valLoss: number | null = null;
  const wall0 = performance.now();
  const stop = stopOnSignal();
  try {
    while (trainer.step < cfg.steps) {
      parts.mlm = parts.nsp = parts.n = 0;
      const ev = trainer.runStep();
      onEvent({ type: 'step', wallSec: (performance.now() - wall0) / 1000, ...ev });
      metric({ step: ev.step, loss: ev.loss, mlm_loss: parts.mlm / parts.n, nsp_loss: parts.nsp / parts.n, lr: ev.lr, grad_norm: ev.gradNorm, tokens: ev.tokens, tokens_per_sec: ev.tokensPerSec, elapsed_sec: ev.elapsedSec });
      const last = ev.step === cfg.steps;
      if (val && cfg.evalEvery > 0 && (ev.step % cfg.evalEvery === 0 || last)) {
        valLoss = trainer.evaluate();
        onEvent({ type: 'eval', step: ev.step, valLoss });
        metric({ step: ev.step, val_loss: valLoss });
      }
      if (cfg.checkpointEvery > 0 && ev.step % cfg.checkpointEvery === 0 && !last) save();
      await yieldToEvents();
      if (stop.signal && !last) {
        save();
        onEvent({ type: 'interrupted', step: trainer.step, dir: cfg.out, signal: stop.signal });
        throw new InterruptedError(`interrupted (${stop.signal}) at step ${trainer.step}; checkpoint saved in ${cfg.out}`, `continue with: gptkit pretrain --out ${cfg.out} --resume`);
      }
    }
  } finally {
    stop.dispose();
  }
  save();
  onEvent({ type: 'done', step: trainer.step, dir: cfg.out, valLoss });
  return { model, tokenizer, valLoss };
}
