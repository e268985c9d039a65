#!/usr/bin/env python3
"""Golden values for src/models/transformer.test.ts: the 2017 Transformer built from torch.nn layers.

Run with the reference venv:  .venv-ref/bin/python tests/golden/transformer/make_goldens.py
nn.TransformerEncoderLayer / nn.TransformerDecoderLayer (post-LN, ReLU, batch_first, dropout 0), no final
LayerNorm (the paper has none), one nn.Embedding shared by source, target and the output projection,
embeddings scaled by sqrt(d) plus sinusoidal positions, label-smoothed (0.1) cross-entropy over the
target tokens, source padding masked in the encoder and in the decoder's attention over it. float64.
Tensors are written under gptkit's names (torch's in_proj is gptkit's fused c_attn; the cross-attention's
in_proj splits into q_proj and kv_proj), with every parameter's gradient.
"""
import json, math, os
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

def sinusoids(T, C):
    pe = torch.zeros(T, C, dtype=torch.float64)
    pos = torch.arange(T, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(0, C, 2, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos / 10000 ** (i / C))
    pe[:, 1::2] = torch.cos(pos / 10000 ** (i / C))
    return pe

def case(name, cfg, src_lens, tgt_lens, seed):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    C, V, L, H, Ff = cfg['nEmbd'], cfg['vocabSize'], cfg['nLayer'], cfg['nHead'], cfg['dFf']
    emb = nn.Embedding(V, C).double()
    enc = nn.ModuleList([nn.TransformerEncoderLayer(C, H, Ff, dropout=0.0, activation='relu', batch_first=True, norm_first=False, layer_norm_eps=cfg['layerNormEps']) for _ in range(L)]).double()
    dec = nn.ModuleList([nn.TransformerDecoderLayer(C, H, Ff, dropout=0.0, activation='relu', batch_first=True, norm_first=False, layer_norm_eps=cfg['layerNormEps']) for _ in range(L)]).double()
    with torch.no_grad():
        for m in [emb, enc, dec]:
            for n, p in m.named_parameters():
                scale = 0.1 if ('bias' in n or 'norm' in n) else 0.2
                p.copy_((p if 'norm' in n and 'weight' in n else 0) + scale * torch.randn(p.shape, generator=g, dtype=torch.float64))
                p.copy_(p.float().double())
    B, S, T = len(src_lens), max(src_lens), max(tgt_lens)
    src = torch.randint(3, V, (B, S), generator=g); tgt_in = torch.randint(3, V, (B, T), generator=g); tgt_out = torch.randint(3, V, (B, T), generator=g)
    for b in range(B):
        src[b, src_lens[b]:] = 0; tgt_in[b, 0] = 1; tgt_in[b, tgt_lens[b]:] = 0; tgt_out[b, tgt_lens[b]:] = -100
    pad = torch.arange(S).unsqueeze(0) >= torch.tensor(src_lens).unsqueeze(1)  # True = padding
    pe = sinusoids(64, C)
    x = emb(src) * math.sqrt(C) + pe[:S]
    for l in enc:
        x = l(x, src_key_padding_mask=pad)
    y = emb(tgt_in) * math.sqrt(C) + pe[:T]
    causal = torch.triu(torch.full((T, T), float('-inf'), dtype=torch.float64), 1)
    for l in dec:
        y = l(y, x, tgt_mask=causal, memory_key_padding_mask=pad)
    logits = y @ emb.weight.T
    loss = F.cross_entropy(logits.reshape(-1, V), tgt_out.reshape(-1), ignore_index=-100, label_smoothing=cfg['labelSmoothing'])
    loss.backward()
    named = {'embed.weight': emb.weight}
    def attn(prefix, m, cross):
        if cross:
            named[prefix + 'q_proj.weight'] = (m.in_proj_weight, slice(0, C)); named[prefix + 'q_proj.bias'] = (m.in_proj_bias, slice(0, C))
            named[prefix + 'kv_proj.weight'] = (m.in_proj_weight, slice(C, 3 * C)); named[prefix + 'kv_proj.bias'] = (m.in_proj_bias, slice(C, 3 * C))
        else:
            named[prefix + 'c_attn.weight'] = m.in_proj_weight; named[prefix + 'c_attn.bias'] = m.in_proj_bias
        named[prefix + 'c_proj.weight'] = m.out_proj.weight; named[prefix + 'c_proj.bias'] = m.out_proj.bias
    def ffn(prefix, l):
        named[prefix + 'c_fc.weight'] = l.linear1.weight; named[prefix + 'c_fc.bias'] = l.linear1.bias
        named[prefix + 'c_proj.weight'] = l.linear2.weight; named[prefix + 'c_proj.bias'] = l.linear2.bias
    for i, l in enumerate(enc):
        p = f'encoder.{i}.'
        attn(p + 'self_attn.', l.self_attn, False); ffn(p + 'ffn.', l)
        for k in ('norm1', 'norm2'):
            named[p + k + '.weight'] = getattr(l, k).weight; named[p + k + '.bias'] = getattr(l, k).bias
    for i, l in enumerate(dec):
        p = f'decoder.{i}.'
        attn(p + 'self_attn.', l.self_attn, False); attn(p + 'cross_attn.', l.multihead_attn, True); ffn(p + 'ffn.', l)
        for k in ('norm1', 'norm2', 'norm3'):
            named[p + k + '.weight'] = getattr(l, k).weight; named[p + k + '.bias'] = getattr(l, k).bias
    tensors = []
    for n, v in named.items():
        t, sl = (v if isinstance(v, tuple) else (v, slice(None)))
        tensors.append((n, t.detach()[sl])); tensors.append(('grad.' + n, t.grad[sl]))
    tensors += [('logits', logits.detach()), ('loss', loss.detach().reshape(1))]
    index, blobs, off = [], [], 0
    for k, v in tensors:
        index.append({'name': k, 'shape': list(v.shape), 'offset': off, 'length': v.numel()})
        blobs.append(v.float().contiguous().numpy().astype('<f4').tobytes()); off += v.numel()
    with open(os.path.join(HERE, name + '.bin'), 'wb') as f: f.write(b''.join(blobs))
    with open(os.path.join(HERE, name + '.json'), 'w') as f:
        json.dump({'config': cfg, 'B': B, 'S': S, 'T': T, 'src': src.flatten().tolist(), 'src_lens': src_lens, 'tgt_in': tgt_in.flatten().tolist(),
                   'tgt_out': tgt_out.flatten().tolist(), 'tgt_lens': tgt_lens, 'tensors': index, 'torch': torch.__version__}, f, indent=1)
    print(name, 'loss', loss.item(), 'params', len(named))

cfg = dict(vocabSize=31, blockSize=64, nLayer=2, nHead=2, nEmbd=16, dFf=24, dropout=0.0, labelSmoothing=0.1, layerNormEps=1e-5)
case('transformer_tiny', cfg, [7, 4, 6], [5, 6, 3], 1)
