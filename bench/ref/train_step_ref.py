#!/usr/bin/python3
"""PyTorch CPU reference for the train_step benchmark: the same pre-LN GPT with tied embeddings,
random tokens, fp32, AdamW, no dropout. Prints one JSON line: tokens/s (median of timed steps),
peak RSS, the torch version, its BLAS and the mode. Runs on Debian's PyTorch 1.13 (explicit attention)
and on PyTorch 2.x (F.scaled_dot_product_attention; with mode 'compile', torch.compile).
With precision 'bf16', the forward pass (model and loss) runs under torch.autocast('cpu', torch.bfloat16):
the matrix products in bf16, weights, optimizer and the loss's reduction in float32 (train_step_bf16).
Usage: train_step_ref.py n_layer n_head n_embd block vocab batch threads steps [eager|compile] [f32|bf16]"""
import json, math, re, resource, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

L, H, C, T, V, B, threads, steps = map(int, sys.argv[1:9])
mode = sys.argv[9] if len(sys.argv) > 9 else 'eager'
precision = sys.argv[10] if len(sys.argv) > 10 else 'f32'
SDPA = hasattr(F, 'scaled_dot_product_attention')
torch.set_num_threads(threads)
torch.manual_seed(0)

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C); self.c_attn = nn.Linear(C, 3 * C); self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C); self.c_fc = nn.Linear(C, 4 * C); self.mlp_proj = nn.Linear(4 * C, C)
        self.register_buffer('mask', torch.tril(torch.ones(T, T)).view(1, 1, T, T))
    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q = q.view(b, t, H, c // H).transpose(1, 2); k = k.view(b, t, H, c // H).transpose(1, 2); v = v.view(b, t, H, c // H).transpose(1, 2)
        if SDPA:  # PyTorch 2: the fused kernel
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # Debian's torch (1.13) predates it: nanoGPT's explicit form
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = F.softmax(att.masked_fill(self.mask[:, :, :t, :t] == 0, float('-inf')), dim=-1)
            y = att @ v
        y = y.transpose(1, 2).contiguous().view(b, t, c)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))

class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, C); self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList([Block() for _ in range(L)]); self.ln_f = nn.LayerNorm(C)
    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for blk in self.h: x = blk(x)
        logits = F.linear(self.ln_f(x), self.wte.weight)
        return F.cross_entropy(logits.view(-1, V), targets.view(-1))

model = GPT()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)
fwd = torch.compile(model) if mode == 'compile' else model
x = torch.randint(0, V, (B, T)); y = torch.randint(0, V, (B, T))
def step():
    opt.zero_grad(set_to_none=True)
    if precision == 'bf16':
        with torch.autocast('cpu', dtype=torch.bfloat16):
            loss = fwd(x, y)
    else:
        loss = fwd(x, y)
    loss.backward(); opt.step()
for _ in range(3 if mode == 'compile' else 2): step()
times = []
for _ in range(steps):
    t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
times.sort()
med = times[len(times) // 2]
def peak_rss_mb():
    """VmHWM (this program's own peak RSS); getrusage's maxrss starts at the parent's RSS at fork."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def blas():
    m = re.search(r'BLAS_INFO=(\w+)', torch.__config__.show())
    return m.group(1) if m else 'unknown'

print(json.dumps({"tokens_per_sec": B * T / med, "rss_mb": peak_rss_mb(), "threads": threads, "torch": torch.__version__, "blas": blas(), "mode": mode, "sdpa": SDPA, "precision": precision}))
