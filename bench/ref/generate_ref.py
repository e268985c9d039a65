#!/usr/bin/python3
"""PyTorch CPU reference for the generate benchmark: the same pre-LN GPT, greedy decoding with a
KV cache written the same way as gptkit's (preallocated (B, T, C) caches per layer, one token per
step). Prints one JSON line: tokens/s over the decode steps (prefill excluded).
Usage: generate_ref.py n_layer n_head n_embd block vocab batch prompt_len new_tokens threads"""
import json, math, sys, time
import torch
import torch.nn.functional as F

L, H, C, T, V, B, P, N, threads = map(int, sys.argv[1:10])
torch.set_num_threads(threads)
SDPA = hasattr(F, 'scaled_dot_product_attention')
torch.manual_seed(0)
D = C // H
p = lambda *s: torch.randn(*s) * 0.02
W = dict(wte=p(V, C), wpe=p(T, C), lnf_w=torch.ones(C), lnf_b=torch.zeros(C))
layers = [dict(ln1_w=torch.ones(C), ln1_b=torch.zeros(C), attn_w=p(3 * C, C), attn_b=torch.zeros(3 * C), proj_w=p(C, C), proj_b=torch.zeros(C),
               ln2_w=torch.ones(C), ln2_b=torch.zeros(C), fc_w=p(4 * C, C), fc_b=torch.zeros(4 * C), fc2_w=p(C, 4 * C), fc2_b=torch.zeros(C)) for _ in range(L)]
kc = [torch.zeros(B, T, C) for _ in range(L)]
vc = [torch.zeros(B, T, C) for _ in range(L)]

@torch.no_grad()
def step(ids, pos):
    t = ids.shape[1]
    x = W['wte'][ids] + W['wpe'][pos:pos + t]
    for l, w in enumerate(layers):
        h = F.layer_norm(x, (C,), w['ln1_w'], w['ln1_b'])
        q, k, v = F.linear(h, w['attn_w'], w['attn_b']).split(C, dim=2)
        kc[l][:, pos:pos + t] = k; vc[l][:, pos:pos + t] = v
        K = kc[l][:, :pos + t].view(B, pos + t, H, D).transpose(1, 2)
        Vv = vc[l][:, :pos + t].view(B, pos + t, H, D).transpose(1, 2)
        qh = q.view(B, t, H, D).transpose(1, 2)
        if SDPA:  # PyTorch 2: the fused kernel (one query row needs no mask; the prefill starts at 0)
            y = F.scaled_dot_product_attention(qh, K, Vv, is_causal=t > 1).transpose(1, 2).reshape(B, t, C)
        else:
            att = (qh @ K.transpose(-1, -2)) / math.sqrt(D)
            if t > 1:
                att = att.masked_fill(torch.ones(t, pos + t).tril(pos) == 0, float('-inf'))
            y = (att.softmax(-1) @ Vv).transpose(1, 2).reshape(B, t, C)
        x = x + F.linear(y, w['proj_w'], w['proj_b'])
        h = F.layer_norm(x, (C,), w['ln2_w'], w['ln2_b'])
        x = x + F.linear(F.gelu(F.linear(h, w['fc_w'], w['fc_b']), approximate='tanh'), w['fc2_w'], w['fc2_b'])
    x = F.layer_norm(x[:, -1], (C,), W['lnf_w'], W['lnf_b'])
    return F.linear(x, W['wte'])

ids = torch.randint(0, V, (B, P))
best = None
for rep in range(2):
    logits = step(ids, 0)
    t0 = time.perf_counter()
    for i in range(N):
        nxt = logits.argmax(-1, keepdim=True)
        logits = step(nxt, P + i)
    dt = time.perf_counter() - t0
    best = dt if best is None else min(best, dt)
print(json.dumps({"tokens_per_sec": B * N / best, "threads": threads, "torch": torch.__version__, "sdpa": SDPA}))
