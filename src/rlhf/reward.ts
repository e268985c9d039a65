// The reward model (InstructGPT step 2): the SFT model's Transformer with the unembedding replaced
// by a scalar head read at the final token (the answer's end-of-turn token). Trained on K-wise
// rankings: a batch element is one prompt with all its K responses, each forwarded once, and the
// loss covers all C(K,2) pairs of that prompt together (losses.ts: rankingLoss).
//
// A checkpoint is a gptkit checkpoint whose config.json says model_type 'gptkit-reward' and whose
// weights add `score.proj.weight`/`score.proj.bias` (so it cannot be mistaken for a language model).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GPT, gptConfig, type GptConfig } from '../models/gpt.ts';
import { ScalarHead, lastTokens } from '../models/heads.ts';
import { Tensor, noGrad, scope } from '../tensor/tensor.ts';
import * as op from '../tensor/ops.ts';
import type { I32 } from '../backend/backend.ts';
import { readSafetensors, toFloat32 } from '../interop/safetensors.ts';
import { loadTokenizer } from '../tokenizer/index.ts';
import { Rng } from '../util/rng.ts';
import { FileFormatError } from '../util/errors.ts';
import type { Batch } from '../train/batches.ts';
import { ChatTemplate, readChatTemplate, type ChatMessage } from './chat-template.ts';
import { rankingLoss } from './losses.ts';
import { rankingPairs, type PreferenceRecord } from './records.ts';

export const REWARD_MODEL_TYPE = 'gptkit-reward';

export class RewardModel extends GPT {
  readonly score: ScalarHead;
  constructor(config: GptConfig, seed = 1337) {
    super(config, seed);
    this.score = this.child('score', new ScalarHead(config.nEmbd, new Rng(seed).fork('reward_head')));
  }

  /** A reward model whose Transformer is a copy of `lm`'s (the head starts fresh). */
  static fromLM(lm: GPT, seed = 1337, overrides: Partial<GptConfig> = {}): RewardModel {
    const rm = new RewardModel(gptConfig(lm.config, overrides), seed);
    const src = new Map(lm.namedParameters());
    for (const [n, p] of rm.namedParameters()) {
      const s = src.get(n);
      if (s) p.data.set(s.data);
    }
    return rm;
  }

  /** One reward per sequence, read at token lengths[b] − 1: ids (B, T) → (B). */
  rewards(ids: I32, B: number, T: number, lengths: I32): Tensor {
    const h = this.hidden(ids, B, T); // (B, T, C)
    return op.reshape(this.score.forward(lastTokens(h, lengths)), [B]); // (B)
  }

  /** Add to the head's bias (after training: demonstrations score 0 on average). */
  shift(by: number): void {
    this.score.proj.bias!.data[0] += by;
  }
}

export function isRewardModel(dir: string): boolean {
  const p = join(dir, 'config.json');
  if (!existsSync(p)) return false;
  try {
    return JSON.parse(readFileSync(p, 'utf8')).model_type === REWARD_MODEL_TYPE;
  } catch {
    return false;
  }
}

/** A reward model checkpoint with its tokenizer and chat template. */
export function loadRewardModel(dir: string): { model: RewardModel; chat: ChatTemplate; config: Record<string, unknown> } {
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath)) throw new FileFormatError(dir, 'no config.json: not a reward model directory', 'train one with gptkit rm');
  const config = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  if (config.model_type !== REWARD_MODEL_TYPE) throw new FileFormatError(cfgPath, `model_type is '${config.model_type}', expected '${REWARD_MODEL_TYPE}'`, 'train a reward model with gptkit rm');
  const model = new RewardModel(gptConfig(config.gpt as GptConfig));
  const wp = join(dir, 'model.safetensors');
  const { tensors } = readSafetensors(wp);
  for (const [name, p] of model.namedParameters()) {
    const t = tensors.get(name);
    if (!t) throw new FileFormatError(wp, `missing tensor '${name}'`);
    if (t.shape.reduce((a, b) => a * b, 1) !== p.size) throw new FileFormatError(wp, `tensor '${name}' has shape [${t.shape}], the config needs [${p.shape}]`);
    p.data.set(toFloat32(t));
  }
  model.eval();
  return { model, chat: new ChatTemplate(loadTokenizer(dir), readChatTemplate(dir).template), config };
}

// ---------------------------------------------------------------------------------------------
// Data: a prompt and its K responses as token ids.

export interface RankedExample {
  /** prompt + response + end-of-turn, one per response, cut to the last blockSize tokens. */
  sequences: Int32Array[];
  ranking: number[];
}

export function encodeRanked(records: readonly PreferenceRecord[], chat: ChatTemplate, blockSize: number): { examples: RankedExample[]; truncated: number } {
  let truncated = 0;
  const examples = records.map((r) => {
    const prompt = chat.encodePrompt(r.prompt);
    return {
      sequences: r.responses.map((text) => {
        const ids = [...prompt, ...chat.encodeCompletion(text)];
        if (ids.length > blockSize) truncated++;
        return Int32Array.from(ids.length > blockSize ? ids.slice(ids.length - blockSize) : ids);
      }),
      ranking: r.ranking,
    };
  });
  return { examples, truncated };
}

/** A batch of ranked groups: ids (B, T) of every response of every prompt, their lengths, the groups. */
export interface RankedBatch extends Batch {
  lengths: Int32Array;
  groups: { offset: number; ranking: number[] }[];
}

export function rankedBatch(examples: readonly RankedExample[], blockSize: number): RankedBatch {
  const seqs = examples.flatMap((e) => e.sequences);
  const B = seqs.length;
  const T = Math.min(blockSize, Math.ceil(Math.max(...seqs.map((s) => s.length)) / 8) * 8);
  const ids = new Int32Array(B * T), lengths = new Int32Array(B);
  seqs.forEach((s, b) => { ids.set(s, b * T); lengths[b] = s.length; });
  const groups: RankedBatch['groups'] = [];
  let offset = 0;
  for (const e of examples) { groups.push({ offset, ranking: e.ranking }); offset += e.sequences.length; }
  return { ids, targets: new Int32Array(0), B, T, lengths, groups };
}

export function rewardLoss(model: RewardModel, batch: Batch): Tensor {
  const b = batch as RankedBatch;
  return rankingLoss(model.rewards(b.ids, b.B, b.T, b.lengths), b.groups).loss;
}

/** Rewards of sequences (no gradient), `batch` at a time. */
export function scoreSequences(model: RewardModel, seqs: readonly Int32Array[], blockSize: number, batch = 32): Float32Array {
  const out = new Float32Array(seqs.length);
  const was = model.training;
  model.eval();
  for (let i = 0; i < seqs.length; i += batch) {
    const part = seqs.slice(i, i + batch);
    const b = rankedBatch([{ sequences: part, ranking: [] }], blockSize);
    noGrad(() => scope(() => out.set(model.rewards(b.ids, b.B, b.T, b.lengths).data, i)));
  }
  model.train(was);
  return out;
}

/** Held-out metrics: pairwise accuracy (ties count half) and the mean ranking loss per prompt. */
export function evaluateRanking(model: RewardModel, examples: readonly RankedExample[], blockSize: number): { accuracy: number; loss: number; pairs: number } {
  let right = 0, pairs = 0, loss = 0;
  for (const e of examples) {
    const r = scoreSequences(model, e.sequences, blockSize);
    const ps = rankingPairs(e.ranking);
    let l = 0;
    for (const [w, lo] of ps) {
      right += r[w] > r[lo] ? 1 : r[w] === r[lo] ? 0.5 : 0;
      const d = r[w] - r[lo];
      l += d >= 0 ? Math.log1p(Math.exp(-d)) : -d + Math.log1p(Math.exp(d));
    }
    loss += l / ps.length;
    pairs += ps.length;
  }
  return { accuracy: right / Math.max(1, pairs), loss: loss / Math.max(1, examples.length), pairs };
}

/** The mean reward of demonstrations (prompt → answer), the offset the bias removes. */
export function meanDemoReward(model: RewardModel, chat: ChatTemplate, demos: readonly { prompt: ChatMessage[]; answer: string }[], blockSize: number): number {
  const seqs = demos.map((d) => {
    const ids = [...chat.encodePrompt(d.prompt), ...chat.encodeCompletion(d.answer)];
    return Int32Array.from(ids.length > blockSize ? ids.slice(ids.length - blockSize) : ids);
  });
  const r = scoreSequences(model, seqs, blockSize);
  let s = 0;
  for (const x of r) s += x;
  return s / Math.max(1, r.length);
}
