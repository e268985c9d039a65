#!/usr/bin/env python3
"""PyTorch 2 reference for the bert_train_step benchmark: transformers' BertForPreTraining on the same
config (random tokens, no padding, 15% MLM labels, NSP labels, dropout 0, fp32, AdamW). Prints one JSON
line: tokens/s (median of timed steps), peak RSS, torch version.
Usage: bert_train_step_ref.py n_layer n_head n_embd seq vocab batch threads steps"""
import json, resource, sys, time
import torch
from transformers import BertConfig, BertForPreTraining

L, H, C, T, V, B, threads, steps = map(int, sys.argv[1:9])
torch.set_num_threads(threads)
torch.manual_seed(0)
cfg = BertConfig(vocab_size=V, hidden_size=C, num_hidden_layers=L, num_attention_heads=H, intermediate_size=4 * C,
                 max_position_embeddings=max(512, T), hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
model = BertForPreTraining(cfg)
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
g = torch.Generator().manual_seed(1)
ids = torch.randint(5, V, (B, T), generator=g)
types = torch.zeros(B, T, dtype=torch.long); types[:, T // 2:] = 1
labels = torch.full((B, T), -100); sel = torch.rand(B, T, generator=g) < 0.15
labels[sel] = ids[sel]
nsp = torch.randint(0, 2, (B,), generator=g)
mask = torch.ones(B, T, dtype=torch.long)
def step():
    opt.zero_grad(set_to_none=True)
    out = model(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=labels, next_sentence_label=nsp)
    out.loss.backward(); opt.step()
for _ in range(2): step()
times = []
for _ in range(steps):
    t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
times.sort()
def peak_rss_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'): return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({'tokens_per_sec': B * T / times[len(times) // 2], 'rss_mb': peak_rss_mb(), 'threads': threads, 'torch': torch.__version__}))
