"""sft_step / rm_step / dpo_step references: TRL 1.13's losses on PyTorch 2.13 (CPU), one optimizer step each.

usage: rlhf_step_ref.py N_LAYER N_HEAD N_EMBD BLOCK VOCAB SEQS THREADS STEPS
Prints one JSON line: {"sft": seq/s, "rm": seq/s, "dpo": seq/s, "threads": …}. Each step is forward +
backward + AdamW on SEQS sequences of BLOCK tokens (random ids), as bench/rlhf_step.bench.ts does:
  sft — labels by SFTTrainer's rule (assistant mask → −100, the first half of each sequence masked), the
        model's causal-LM loss (what SFTTrainer.compute_loss calls)
  rm  — GPT2ForSequenceClassification (1 label) + RewardTrainer.compute_loss on SEQS/2 chosen/rejected pairs
  dpo — DPOTrainer._compute_loss (sigmoid, β 0.1, reference log-probs precomputed) on SEQS/2 pairs
TRL's loss methods run on bare trainer instances (see tests/golden/rlhf/make_goldens.py for why).
"""
import collections, json, sys, time, types
import torch
from transformers import GPT2Config, GPT2LMHeadModel, GPT2ForSequenceClassification
from trl.trainer.reward_trainer import RewardTrainer
from trl.trainer.dpo_trainer import DPOTrainer

L, H, C, T, V, S, threads, steps = map(int, sys.argv[1:9])
torch.set_num_threads(threads)
torch.manual_seed(0)
cfg = GPT2Config(vocab_size=V, n_positions=T, n_embd=C, n_layer=L, n_head=H, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, pad_token_id=0, bos_token_id=0, eos_token_id=0)
cfg._attn_implementation = 'sdpa'


class Acc:
    device = torch.device('cpu')
    def gather_for_metrics(self, x): return x
    def gather(self, x): return x


def bare(cls, **attrs):
    obj = object.__new__(cls)
    obj.accelerator = Acc()
    obj._metrics = {'train': collections.defaultdict(list), 'eval': collections.defaultdict(list)}
    obj._total_train_tokens = 0
    obj._tp_size = 1
    for k, v in attrs.items():
        setattr(obj, k, v)
    return obj


def timed(model, step_fn):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.0)
    def one():
        opt.zero_grad(set_to_none=True)
        step_fn().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    for _ in range(2):
        one()
    ts = []
    for _ in range(steps):
        t0 = time.perf_counter(); one(); ts.append(time.perf_counter() - t0)
    ts.sort()
    return S / ts[len(ts) // 2]


ids = torch.randint(1, V, (S, T))
mask = torch.ones(S, T, dtype=torch.long)

lm = GPT2LMHeadModel(cfg).train()
labels = ids.clone()
labels[:, : T // 2] = -100
sft = timed(lm, lambda: lm(input_ids=ids, attention_mask=mask, labels=labels).loss)

rmodel = GPT2ForSequenceClassification(GPT2Config(**{**cfg.to_dict(), 'num_labels': 1})).train()
rt = bare(RewardTrainer, model=rmodel, args=types.SimpleNamespace(center_rewards_coefficient=None))
rm = timed(rmodel, lambda: rt.compute_loss(rmodel, {'input_ids': ids, 'attention_mask': mask}))

policy = GPT2LMHeadModel(cfg).train()
cm = torch.zeros(S, T, dtype=torch.long)
cm[:, T // 2:] = 1
ref = torch.randn(S // 2) - 50.0
dt = bare(DPOTrainer, model=policy, ref_model=None, precompute_ref_logps=True, ld_alpha=None, f_divergence_type='reverse_kl',
          loss_types=['sigmoid'], loss_weights=[1.0], beta=0.1, aux_loss_enabled=False, use_weighting=False,
          args=types.SimpleNamespace(gradient_checkpointing_kwargs=None, use_liger_kernel=False))
dpo = timed(policy, lambda: dt._compute_loss(policy, {'input_ids': ids, 'attention_mask': mask, 'completion_mask': cm, 'ref_chosen_logps': ref, 'ref_rejected_logps': ref + 1.0}, False))
print(json.dumps({'sft': sft, 'rm': rm, 'dpo': dpo, 'threads': threads, 'torch': torch.__version__}))
