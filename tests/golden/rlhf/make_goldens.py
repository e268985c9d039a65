"""Goldens for src/rlhf/golden.test.ts, made with TRL's own code (TRL 1.13, transformers 5.18, PyTorch 2.13).

Run from the repository root:  .venv-ref/bin/python tests/golden/rlhf/make_goldens.py
Writes tests/golden/rlhf/tiny-gpt2/ (a random 1-layer GPT-2, Hugging Face layout), tiny-gpt2-ref/ (the
DPO reference: the same model, perturbed) and goldens.json:
  sft  — labels built by SFTTrainer's rule (assistant_masks → −100), padded by TRL's
         DataCollatorForLanguageModeling; the model's loss and d loss / d wte
  rm   — RewardTrainer.compute_loss on fixed chosen/rejected rewards (a stub model returns them)
  dpo  — DPOTrainer._compute_loss (sigmoid, β = 0.1) on chosen/rejected completions, policy vs reference
TRL's trainers are not constructed (that needs datasets, accelerate state, an output dir): their loss
methods run on a bare instance carrying just the attributes those methods read, with an accelerator
stub whose gathers are identities (one process).
"""
import json, os, types, collections
import torch
from transformers import GPT2Config, GPT2LMHeadModel
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling
from trl.trainer.reward_trainer import RewardTrainer
from trl.trainer.dpo_trainer import DPOTrainer

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
cfg = GPT2Config(vocab_size=32, n_positions=16, n_embd=8, n_layer=1, n_head=2, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)
model = GPT2LMHeadModel(cfg).eval()
with torch.no_grad():  # LayerNorm and biases away from their 1/0 init, so the golden exercises them
    for n, p in model.named_parameters():
        if 'ln' in n or 'bias' in n:
            p.add_(0.1 * torch.randn_like(p))
model.save_pretrained(os.path.join(HERE, 'tiny-gpt2'), safe_serialization=True)
ref = GPT2LMHeadModel(cfg).eval()
ref.load_state_dict(model.state_dict())
with torch.no_grad():
    for p in ref.parameters():
        p.add_(0.05 * torch.randn_like(p))
ref.save_pretrained(os.path.join(HERE, 'tiny-gpt2-ref'), safe_serialization=True)


class Acc:
    device = torch.device('cpu')
    def gather_for_metrics(self, x): return x
    def gather(self, x): return x
    def unwrap_model(self, m): return m


def bare(cls, **attrs):
    obj = object.__new__(cls)
    obj.accelerator = Acc()
    obj._metrics = {'train': collections.defaultdict(list), 'eval': collections.defaultdict(list)}
    obj._total_train_tokens = 0
    obj._tp_size = 1
    for k, v in attrs.items():
        setattr(obj, k, v)
    return obj


out = {}

# SFT: two conversations as ids with assistant masks (SFTTrainer's build_labels rule), TRL's collator.
examples = [
    {'input_ids': [1, 5, 6, 7, 2, 1, 9, 10, 11, 2], 'assistant_masks': [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]},
    {'input_ids': [1, 3, 4, 2, 1, 12, 13, 2, 1, 14, 15, 16, 2], 'assistant_masks': [0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0]},
]
for ex in examples:  # sft_trainer.build_labels with mask_columns = ["assistant_masks"]
    ex['labels'] = [t if m else -100 for t, m in zip(ex['input_ids'], ex['assistant_masks'])]
collate = DataCollatorForLanguageModeling(pad_token_id=0)
batch = collate([{'input_ids': e['input_ids'], 'labels': e['labels']} for e in examples])
model.zero_grad()
res = model(input_ids=batch['input_ids'], attention_mask=batch['attention_mask'], labels=batch['labels'])
res.loss.backward()
out['sft'] = {
    'examples': [{'input_ids': e['input_ids'], 'assistant_masks': e['assistant_masks']} for e in examples],
    'labels': batch['labels'].tolist(),
    'loss': res.loss.item(),
    'wte_grad': model.transformer.wte.weight.grad.flatten().tolist(),
}

# RM: RewardTrainer.compute_loss on rewards a stub model returns ([chosen…, rejected…]).
chosen, rejected = [0.5, -1.0, 2.0], [0.1, 0.3, -0.5]
stub = types.SimpleNamespace(training=True)
def stub_forward(**inputs):
    return types.SimpleNamespace(logits=torch.tensor(chosen + rejected).unsqueeze(-1))
rt = bare(RewardTrainer, model=stub, args=types.SimpleNamespace(center_rewards_coefficient=None))
loss = rt.compute_loss(stub_forward, {'input_ids': torch.zeros(6, 2, dtype=torch.long), 'attention_mask': torch.ones(6, 2, dtype=torch.long)})
out['rm'] = {'chosen': chosen, 'rejected': rejected, 'loss': loss.item()}

# DPO: [chosen; rejected] rows of prompt + completion, completion_mask marking the completion.
prompt = [1, 5, 6, 2, 1]
comps = [([7, 8, 2], [9, 2]), ([10, 2], [11, 12, 13, 2])]
rows, masks = [], []
for side in (0, 1):
    for c in comps:
        rows.append(prompt + c[side]); masks.append([0] * len(prompt) + [1] * len(c[side]))
L = max(map(len, rows))
ids = torch.tensor([r + [0] * (L - len(r)) for r in rows])
cm = torch.tensor([m + [0] * (L - len(m)) for m in masks])
am = torch.tensor([[1] * len(r) + [0] * (L - len(r)) for r in rows])
model.train(); ref.eval()
dt = bare(DPOTrainer, model=model, ref_model=ref, precompute_ref_logps=False, ld_alpha=None, f_divergence_type='reverse_kl',
          loss_types=['sigmoid'], loss_weights=[1.0], beta=0.1, aux_loss_enabled=False, use_weighting=False,
          args=types.SimpleNamespace(gradient_checkpointing_kwargs=None, use_liger_kernel=False))
dpo_loss = dt._compute_loss(model, {'input_ids': ids, 'attention_mask': am, 'completion_mask': cm}, False)
out['dpo'] = {'prompt': prompt, 'completions': comps, 'beta': 0.1, 'loss': dpo_loss.item(),
              'rewards_chosen': dt._metrics['train']['rewards/chosen'], 'rewards_rejected': dt._metrics['train']['rewards/rejected']}
out['versions'] = {'torch': torch.__version__, 'trl': __import__('trl').__version__, 'transformers': __import__('transformers').__version__}
with open(os.path.join(HERE, 'goldens.json'), 'w') as f:
    json.dump(out, f, indent=1)
print(json.dumps({k: (v['loss'] if isinstance(v, dict) and 'loss' in v else v) for k, v in out.items()}))
