// DPO (Rafailov et al., 2023) on the same preferences as the reward model: each K-wise ranking
// expands into its C(K,2) (chosen, rejected) pairs; the policy starts as the SFT model and a frozen
// copy of it is the reference. The reference's log-probabilities do not change during training, so
// they are computed once up front (TRL's precompute_ref_log_probs) and travel with each pair.
import type { GPT } from '../models/gpt.ts';
import { Tensor, noGrad, scope } from '../tensor/tensor.ts';
import * as op from '../tensor/ops.ts';
import type { Batch } from '../train/batches.ts';
import type { ChatTemplate } from './chat-template.ts';
import { rankingPairs, type PreferenceRecord } from './records.ts';
import { toExample, IGNORE, type SftExample } from './sft.ts';
import { dpoLoss, sequenceLogprobs, logSigmoid } from './losses.ts';

export interface PreferencePair {
  chosen: SftExample;
  rejected: SftExample;
  /** log π_ref of each completion (set by attachReference). */
  refChosen: number;
  refRejected: number;
}

/** Prompt + completion as an example whose targets are the completion's tokens (end-of-turn included). */
function completionExample(prompt: number[], completion: number[], blockSize: number): SftExample {
  let ids = [...prompt, ...completion];
  let mask = [...prompt.map(() => 0), ...completion.map(() => 1)];
  if (ids.length > blockSize + 1) {
    ids = ids.slice(ids.length - blockSize - 1);
    mask = mask.slice(mask.length - blockSize - 1);
  }
  return toExample(ids, mask);
}

/** Every (better, worse) pair of every ranking, encoded. */
export function encodePairs(records: readonly PreferenceRecord[], chat: ChatTemplate, blockSize: number): PreferencePair[] {
  const out: PreferencePair[] = [];
  for (const r of records) {
    const prompt = chat.encodePrompt(r.prompt);
    const completions = r.responses.map((t) => chat.encodeCompletion(t));
    for (const [w, l] of rankingPairs(r.ranking)) {
      out.push({ chosen: completionExample(prompt, completions[w], blockSize), rejected: completionExample(prompt, completions[l], blockSize), refChosen: 0, refRejected: 0 });
    }
  }
  return out;
}

/** A batch of P pairs: rows 0…P−1 the chosen sequences, P…2P−1 the rejected ones. */
export interface PairBatch extends Batch {
  refChosen: Float32Array;
  refRejected: Float32Array;
}

export function pairBatch(pairs: readonly PreferencePair[], blockSize: number): PairBatch {
  const seqs = [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)];
  const B = seqs.length;
  const T = Math.min(blockSize, Math.ceil(Math.max(...seqs.map((s) => s.ids.length)) / 8) * 8);
  const ids = new Int32Array(B * T), targets = new Int32Array(B * T).fill(IGNORE);
  seqs.forEach((s, b) => { ids.set(s.ids, b * T); targets.set(s.targets, b * T); });
  return { ids, targets, B, T, refChosen: Float32Array.from(pairs, (p) => p.refChosen), refRejected: Float32Array.from(pairs, (p) => p.refRejected) };
}

/** log π(completion) of chosen (P) and rejected (P) sequences, differentiable. */
export function pairLogprobs(model: GPT, b: Batch): { chosen: Tensor; rejected: Tensor } {
  const P = b.B / 2;
  const { logits } = model.forward(b.ids, b.B, b.T);
  const lp = op.reshape(sequenceLogprobs(logits, b.targets, b.B), [b.B, 1]); // (2P, 1)
  const rows = (from: number) => Int32Array.from({ length: P }, (_, i) => from + i);
  return { chosen: op.reshape(op.gatherRows(lp, rows(0)), [P]), rejected: op.reshape(op.gatherRows(lp, rows(P)), [P]) };
}

/** Fill in the reference model's log-probabilities, `batch` pairs at a time. */
export function attachReference(ref: GPT, pairs: PreferencePair[], blockSize: number, batch = 16): void {
  const was = ref.training;
  ref.eval();
  for (let i = 0; i < pairs.length; i += batch) {
    const part = pairs.slice(i, i + batch);
    noGrad(() => scope(() => {
      const { chosen, rejected } = pairLogprobs(ref, pairBatch(part, blockSize));
      part.forEach((p, k) => { p.refChosen = chosen.data[k]; p.refRejected = rejected.data[k]; });
    }));
  }
  ref.train(was);
}

export function dpoBatchLoss(model: GPT, batch: Batch, beta: number): Tensor {
  const b = batch as PairBatch;
  const { chosen, rejected } = pairLogprobs(model, b);
  return dpoLoss(chosen, rejected, b.refChosen, b.refRejected, beta).loss;
}

/** Held-out DPO loss, how often the implicit reward prefers the chosen answer, and the mean margin. */
export function evaluatePairs(model: GPT, pairs: readonly PreferencePair[], blockSize: number, beta: number, batch = 16): { loss: number; accuracy: number; margin: number } {
  let loss = 0, right = 0, margin = 0;
  const was = model.training;
  model.eval();
  for (let i = 0; i < pairs.length; i += batch) {
    const part = pairs.slice(i, i + batch);
    noGrad(() => scope(() => {
      const { chosen, rejected } = pairLogprobs(model, pairBatch(part, blockSize));
      part.forEach((p, k) => {
        const m = beta * ((chosen.data[k] - p.refChosen) - (rejected.data[k] - p.refRejected));
        loss += -logSigmoid(m);
        margin += m;
        right += m > 0 ? 1 : m === 0 ? 0.5 : 0;
      });
    }));
  }
  model.train(was);
  const n = Math.max(1, pairs.length);
  return { loss: loss / n, accuracy: right / n, margin: margin / n };
}
