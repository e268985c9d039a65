// gptkit's SFT masking, pairwise reward loss and DPO loss against goldens made with TRL's own code
// (tests/golden/rlhf/make_goldens.py: TRL 1.13, transformers 5.18, PyTorch 2.13) on a random tiny
// GPT-2 stored in the Hugging Face layout. Tests never run Python; the goldens are committed files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GPT, gptConfig } from '../models/gpt.ts';
import { readHfGpt2Dir } from '../interop/hf-gpt2.ts';
import { Tensor, scope } from '../tensor/tensor.ts';
import { toExample, padBatch, sftLoss } from './sft.ts';
import { rankingLoss, dpoLoss } from './losses.ts';
import { attachReference, dpoBatchLoss, pairBatch, pairLogprobs, type PreferencePair } from './dpo.ts';

const dir = new URL('../../tests/golden/rlhf/', import.meta.url).pathname;
const G = JSON.parse(readFileSync(dir + 'goldens.json', 'utf8'));

function hfModel(path: string): GPT {
  const { shape, tensors } = readHfGpt2Dir(path);
  const m = new GPT(gptConfig('gpt2', { vocabSize: shape.vocabSize, blockSize: shape.blockSize, nLayer: shape.nLayer, nHead: shape.nHead, nEmbd: shape.nEmbd, layerNormEps: shape.layerNormEps, dropout: 0 }));
  for (const [n, p] of m.namedParameters()) p.data.set(tensors.get(n)!.data);
  return m;
}
const close = (a: number, b: number, tol: number, msg = '') => assert.ok(Math.abs(a - b) <= tol, `${msg} ${a} vs ${b}`);

test('SFT: assistant-only labels, loss and gradient equal TRL (SFTTrainer labels + its collator)', () => {
  const model = hfModel(dir + 'tiny-gpt2').eval();
  const examples = G.sft.examples.map((e: { input_ids: number[]; assistant_masks: number[] }) => toExample(e.input_ids, e.assistant_masks));
  // TRL's labels are the ids where the mask is set; the model shifts them, as toExample does.
  G.sft.labels.forEach((row: number[], b: number) => {
    const shifted = row.slice(1, examples[b].targets.length + 1);
    assert.deepEqual([...examples[b].targets], shifted);
  });
  const batch = padBatch(examples, 16);
  model.zeroGrad();
  const loss = scope(() => { const l = sftLoss(model, batch); l.backward(); return l.item(); });
  close(loss, G.sft.loss, 1e-5, 'loss');
  const g = model.transformer.wte.weight.gradient()!;
  G.sft.wte_grad.forEach((v: number, i: number) => close(g[i], v, 1e-6, `wte grad ${i}`));
});

test('RM: the ranking loss on K = 2 pairs equals RewardTrainer.compute_loss', () => {
  const { chosen, rejected } = G.rm as { chosen: number[]; rejected: number[] };
  const r = new Tensor(Float32Array.from(chosen.flatMap((c, i) => [c, rejected[i]])), [2 * chosen.length]);
  const groups = chosen.map((_, i) => ({ offset: 2 * i, ranking: [0, 1] }));
  close(rankingLoss(r, groups).loss.item(), G.rm.loss, 1e-6);
});

test('DPO: the loss and implicit rewards equal DPOTrainer._compute_loss (sigmoid, β = 0.1)', () => {
  const policy = hfModel(dir + 'tiny-gpt2').eval();
  const ref = hfModel(dir + 'tiny-gpt2-ref');
  const { prompt, completions, beta } = G.dpo as { prompt: number[]; completions: [number[], number[]][]; beta: number };
  const ex = (c: number[]) => toExample([...prompt, ...c], [...prompt.map(() => 0), ...c.map(() => 1)]);
  const pairs: PreferencePair[] = completions.map(([c, r]) => ({ chosen: ex(c), rejected: ex(r), refChosen: 0, refRejected: 0 }));
  attachReference(ref, pairs, 16);
  const loss = scope(() => dpoBatchLoss(policy, pairBatch(pairs, 16), beta).item());
  close(loss, G.dpo.loss, 1e-5, 'loss');
  const o = scope(() => { const lp = pairLogprobs(policy, pairBatch(pairs, 16)); const d = dpoLoss(lp.chosen, lp.rejected, pairs.map((p) => p.refChosen), pairs.map((p) => p.refRejected), beta); return { c: [...d.chosenRewards], r: [...d.rejectedRewards] }; });
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  close(mean(o.c), G.dpo.rewards_chosen[0], 1e-5, 'rewards/chosen');
  close(mean(o.r), G.dpo.rewards_rejected[0], 1e-5, 'rewards/rejected');
});
