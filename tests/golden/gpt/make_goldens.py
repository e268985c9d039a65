#!/usr/bin/python3
"""Golden values for src/models/gpt.test.ts, computed with PyTorch (Debian's python3-torch).

Run with Debian's python3:  /usr/bin/python3 tests/golden/gpt/make_goldens.py
For each case it writes NAME.json (config, token ids, targets, and an index of tensors) and
NAME.bin (the float32 tensors, little-endian, concatenated): the initial weights, the logits, the
loss, and the gradient of the loss with respect to every parameter. The model is written here
independently of gptkit, from the papers' definitions, with gptkit's parameter names and
torch.nn.Linear's (out, in) weight layout.
"""
import json, math, os, sys
import torch
import torch.nn.functional as F

torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))

def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))

def make_params(cfg, g):
    C, V, T, L = cfg['nEmbd'], cfg['vocabSize'], cfg['blockSize'], cfg['nLayer']
    p = {}
    def rn(*shape, std=0.02):
        return (torch.randn(*shape, generator=g) * std).double()
    def rb(*shape):  # non-trivial biases and LN params so their gradients are exercised
        return (torch.randn(*shape, generator=g) * 0.1).double()
    p['transformer.wte.weight'] = rn(V, C, std=0.1)
    p['transformer.wpe.weight'] = rn(T, C, std=0.1)
    for i in range(L):
        h = f'transformer.h.{i}.'
        p[h + 'ln_1.weight'] = 1 + rb(C); p[h + 'ln_1.bias'] = rb(C)
        p[h + 'attn.c_attn.weight'] = rn(3 * C, C, std=0.1); p[h + 'attn.c_attn.bias'] = rb(3 * C)
        p[h + 'attn.c_proj.weight'] = rn(C, C, std=0.1); p[h + 'attn.c_proj.bias'] = rb(C)
        p[h + 'ln_2.weight'] = 1 + rb(C); p[h + 'ln_2.bias'] = rb(C)
        p[h + 'mlp.c_fc.weight'] = rn(4 * C, C, std=0.1); p[h + 'mlp.c_fc.bias'] = rb(4 * C)
        p[h + 'mlp.c_proj.weight'] = rn(C, 4 * C, std=0.1); p[h + 'mlp.c_proj.bias'] = rb(C)
    if cfg['norm'] == 'pre':
        p['transformer.ln_f.weight'] = 1 + rb(C); p['transformer.ln_f.bias'] = rb(C)
    # Round to float32 so gptkit starts from exactly these weights; the math below stays float64.
    return {k: v.float().double() for k, v in p.items()}

def attention(x, p, h, cfg, layer):
    B, T, C = x.shape
    H = cfg['nHead']; D = C // H
    qkv = F.linear(x, p[h + 'attn.c_attn.weight'], p[h + 'attn.c_attn.bias'])
    q, k, v = qkv.split(C, dim=2)
    q = q.view(B, T, H, D).transpose(1, 2)
    k = k.view(B, T, H, D).transpose(1, 2)
    v = v.view(B, T, H, D).transpose(1, 2)
    att = (q @ k.transpose(-2, -1)) / math.sqrt(D)
    i = torch.arange(T).view(T, 1); j = torch.arange(T).view(1, T)
    visible = j <= i
    if cfg['attention'] == 'alternating' and layer % 2 == 1:
        visible = visible & (j > i - cfg['window'])
    att = att.masked_fill(~visible, float('-inf'))
    att = F.softmax(att, dim=-1)
    y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
    return F.linear(y, p[h + 'attn.c_proj.weight'], p[h + 'attn.c_proj.bias'])

def mlp(x, p, h):
    return F.linear(gelu_tanh(F.linear(x, p[h + 'mlp.c_fc.weight'], p[h + 'mlp.c_fc.bias'])), p[h + 'mlp.c_proj.weight'], p[h + 'mlp.c_proj.bias'])

def forward(p, cfg, ids, targets):
    B, T = ids.shape
    eps = cfg['layerNormEps']
    ln = lambda x, n: F.layer_norm(x, (x.shape[-1],), p[n + '.weight'], p[n + '.bias'], eps)
    x = p['transformer.wte.weight'][ids] + p['transformer.wpe.weight'][:T]
    for i in range(cfg['nLayer']):
        h = f'transformer.h.{i}.'
        if cfg['norm'] == 'pre':
            x = x + attention(ln(x, h + 'ln_1'), p, h, cfg, i)
            x = x + mlp(ln(x, h + 'ln_2'), p, h)
        else:
            x = ln(x + attention(x, p, h, cfg, i), h + 'ln_1')
            x = ln(x + mlp(x, p, h), h + 'ln_2')
    if cfg['norm'] == 'pre':
        x = ln(x, 'transformer.ln_f')
    logits = F.linear(x, p['transformer.wte.weight'])
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-100)
    return logits, loss

def case(name, cfg, B, T, seed):
    g = torch.Generator().manual_seed(seed)
    params = make_params(cfg, g)
    for t in params.values():
        t.requires_grad_(True)
    ids = torch.randint(0, cfg['vocabSize'], (B, T), generator=g)
    targets = torch.randint(0, cfg['vocabSize'], (B, T), generator=g)
    targets[0, 0] = -100  # exercise the ignore index
    # float64 throughout: the goldens are the exact answer; gptkit's float32 is compared to them.
    logits, loss = forward(params, cfg, ids, targets)
    loss.backward()
    tensors = [(k, v.detach()) for k, v in params.items()]
    tensors.append(('logits', logits.detach()))
    tensors.append(('loss', loss.detach().reshape(1)))
    tensors += [('grad.' + k, v.grad) for k, v in params.items()]
    index, blobs, off = [], [], 0
    for k, v in tensors:
        a = v.float().contiguous().numpy().astype('<f4').tobytes()
        index.append({'name': k, 'shape': list(v.shape), 'offset': off, 'length': v.numel()})
        blobs.append(a); off += v.numel()
    with open(os.path.join(HERE, name + '.bin'), 'wb') as f:
        f.write(b''.join(blobs))
    with open(os.path.join(HERE, name + '.json'), 'w') as f:
        json.dump({'config': cfg, 'B': B, 'T': T, 'ids': ids.flatten().tolist(), 'targets': targets.flatten().tolist(),
                   'tensors': index, 'torch': torch.__version__}, f, indent=1)
    print(name, 'loss', loss.item())

base = dict(vocabSize=67, blockSize=16, nLayer=2, nHead=2, nEmbd=24, tieEmbeddings=True, dropout=0.0, bias=True,
            layerNormEps=1e-5, window=3, scaledResidInit=True)
case('gpt2_alternating', dict(base, norm='pre', attention='alternating'), B=2, T=11, seed=1)
case('gpt1_post_ln', dict(base, norm='post', attention='dense', nHead=3, scaledResidInit=False), B=3, T=7, seed=2)
