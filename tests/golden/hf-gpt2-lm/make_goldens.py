#!/usr/bin/env python3
"""Goldens for src/interop/load.test.ts: a tiny Hugging Face GPT-2 directory with random weights
(HF layout: Conv1D (in, out) weights, `transformer.` names, causal-mask buffers), a byte-level
tokenizer (vocab.json + merges.txt with no merges, so ids are UTF-8 bytes and <|endoftext|> = 256),
and, computed by transformers' own GPT2LMHeadModel (loaded from that directory, float64), the per-token log-probabilities of a text and a 12-token greedy continuation.
Run: .venv-ref/bin/python tests/golden/hf-gpt2-lm/make_goldens.py   (torch 2.13, transformers 5.18)
"""
import json, math, os, struct
import torch
import torch.nn.functional as F
import transformers
from transformers import GPT2LMHeadModel

HERE = os.path.dirname(os.path.abspath(__file__))
g = torch.Generator().manual_seed(5)
V, NPOS, L, H, C = 257, 32, 2, 2, 16

def rnd(*shape, std=0.6):
    return (torch.randn(*shape, generator=g) * std).float()

w = {'transformer.wte.weight': rnd(V, C, std=1.0), 'transformer.wpe.weight': rnd(NPOS, C, std=0.3)}
for i in range(L):
    p = f'transformer.h.{i}.'
    w[p + 'ln_1.weight'] = 1 + rnd(C, std=0.1); w[p + 'ln_1.bias'] = rnd(C, std=0.1)
    w[p + 'attn.c_attn.weight'] = rnd(C, 3 * C); w[p + 'attn.c_attn.bias'] = rnd(3 * C, std=0.1)
    w[p + 'attn.c_proj.weight'] = rnd(C, C); w[p + 'attn.c_proj.bias'] = rnd(C, std=0.1)
    w[p + 'ln_2.weight'] = 1 + rnd(C, std=0.1); w[p + 'ln_2.bias'] = rnd(C, std=0.1)
    w[p + 'mlp.c_fc.weight'] = rnd(C, 4 * C); w[p + 'mlp.c_fc.bias'] = rnd(4 * C, std=0.1)
    w[p + 'mlp.c_proj.weight'] = rnd(4 * C, C); w[p + 'mlp.c_proj.bias'] = rnd(C, std=0.1)
w['transformer.ln_f.weight'] = 1 + rnd(C, std=0.1); w['transformer.ln_f.bias'] = rnd(C, std=0.1)
buffers = {}
for i in range(L):  # what older transformers versions saved beside the weights
    buffers[f'transformer.h.{i}.attn.bias'] = torch.tril(torch.ones(NPOS, NPOS)).view(1, 1, NPOS, NPOS)

def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        b = t.numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b); off += len(b)
    header['__metadata__'] = {'format': 'pt'}
    hb = json.dumps(header, separators=(',', ':')).encode()
    hb += b' ' * ((8 - len(hb) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hb))); f.write(hb); f.write(b''.join(blobs))

def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, [chr(c) for c in cs]))

d = os.path.join(HERE, 'model')
os.makedirs(d, exist_ok=True)
save_safetensors(os.path.join(d, 'model.safetensors'), {**w, **buffers})
with open(os.path.join(d, 'config.json'), 'w') as f:
    json.dump({'activation_function': 'gelu_new', 'architectures': ['GPT2LMHeadModel'], 'attn_pdrop': 0.1, 'bos_token_id': 256,
               'embd_pdrop': 0.1, 'eos_token_id': 256, 'initializer_range': 0.02, 'layer_norm_epsilon': 1e-05, 'model_type': 'gpt2',
               'n_ctx': NPOS, 'n_embd': C, 'n_head': H, 'n_layer': L, 'n_positions': NPOS, 'resid_pdrop': 0.1, 'vocab_size': V}, f, indent=2)
b2u = bytes_to_unicode()
vocab = {b2u[b]: b for b in range(256)}
vocab['<|endoftext|>'] = 256
with open(os.path.join(d, 'vocab.json'), 'w', encoding='utf-8') as f:
    json.dump(vocab, f, ensure_ascii=False)
with open(os.path.join(d, 'merges.txt'), 'w', encoding='utf-8') as f:
    f.write('#version: 0.2\n')

model = GPT2LMHeadModel.from_pretrained(d, dtype=torch.float64).eval()
text = 'Hello, world! héllo'
ids = [256] + list(text.encode('utf-8'))  # the vocabulary is the 256 bytes: ids are the UTF-8 bytes
with torch.no_grad():
    lp = F.log_softmax(model(torch.tensor([ids])).logits[0], dim=-1)
logprobs = [lp[i, ids[i + 1]].item() for i in range(len(ids) - 1)]
prompt = [256] + list('The cat'.encode())
with torch.no_grad():
    x = torch.tensor([prompt])  # an explicit mask: the leading <|endoftext|> is no padding
    out = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=12, do_sample=False, pad_token_id=256, eos_token_id=None)
greedy = out[0, len(prompt):].tolist()
with open(os.path.join(HERE, 'goldens.json'), 'w') as f:
    json.dump({'text': text, 'ids': ids, 'logprobs': logprobs, 'prompt': prompt, 'greedy': greedy, 'torch': torch.__version__, 'transformers': transformers.__version__}, f, indent=1)
print('total logprob', sum(logprobs), 'greedy', greedy)
