"""The Python side of `npm run check:interop` (scripts/check-interop.ts writes WORK/gptkit.json first).
With transformers' and tokenizers' own classes:
  1. WORK/hf (written by `gptkit export`) loads as GPT2LMHeadModel; its logits are compared with gptkit's.
  2. WORK/hf/tokenizer.json loads in `tokenizers`; every text encodes to gptkit's ids.
  3. A GPT-2 made and saved by transformers (WORK/hf2, save_pretrained) with its logits on the same ids,
     for gptkit to load and compare (WORK/hf2.json).
  4. WORK/model.gguf (`gptkit export --format gguf`) reads in the gguf package: architecture and
     hyperparameters, the vocabulary in id order, and every tensor equal to the HF export's.
Prints one JSON object with the measured differences.
"""
import json, shutil, sys, os
import torch
import transformers
import tokenizers
import gguf
import numpy as np
from transformers import GPT2LMHeadModel, GPT2Config

work = sys.argv[1]
g = json.load(open(os.path.join(work, 'gptkit.json')))
ids = torch.tensor([g['ids']])
out = {'torch': torch.__version__, 'transformers': transformers.__version__, 'tokenizers': tokenizers.__version__}

model = GPT2LMHeadModel.from_pretrained(os.path.join(work, 'hf')).eval()
with torch.no_grad():
    logits = model(ids).logits[0].double()
ref = torch.tensor(g['logits'], dtype=torch.float64).view_as(logits)
out['export_max_abs_diff'] = (logits - ref).abs().max().item()

tok = tokenizers.Tokenizer.from_file(os.path.join(work, 'hf', 'tokenizer.json'))
mismatches = []
for text, want in zip(g['texts'], g['text_ids']):
    got = tok.encode(text, add_special_tokens=False).ids
    if got != want:
        mismatches.append({'text': text, 'tokenizers': got[:20], 'gptkit': want[:20]})
out['tokenizer_texts'] = len(g['texts'])
out['tokenizer_mismatches'] = mismatches

# 4. The GGUF export, read by llama.cpp's own Python package.
problems = []
reader = gguf.GGUFReader(os.path.join(work, 'model.gguf'))
fields = reader.fields
def field(key):
    f = fields.get(key)
    if f is None:
        problems.append(f'missing metadata {key}')
        return None
    return f.contents()
if field('general.architecture') != 'gpt2':
    problems.append(f"general.architecture is {field('general.architecture')!r}")
cfg_hf = model.config
for key, want in [('gpt2.embedding_length', cfg_hf.n_embd), ('gpt2.block_count', cfg_hf.n_layer), ('gpt2.attention.head_count', cfg_hf.n_head), ('gpt2.context_length', cfg_hf.n_positions)]:
    if field(key) != want:
        problems.append(f'{key} is {field(key)}, the HF config says {want}')
vocab = json.load(open(os.path.join(work, 'hf', 'tokenizer.json')))
by_id = sorted({i: s for s, i in list(vocab['model']['vocab'].items()) + [(t['content'], t['id']) for t in vocab['added_tokens']]}.items())
by_id = [(s, i) for i, s in by_id]
if field('tokenizer.ggml.tokens') != [s for s, _ in by_id]:
    problems.append('tokenizer.ggml.tokens differs from tokenizer.json in id order')
merges = vocab['model']['merges']
merges = [m if isinstance(m, str) else ' '.join(m) for m in merges]
if field('tokenizer.ggml.merges') != merges:
    problems.append('tokenizer.ggml.merges differs from tokenizer.json')
sd = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
names = {'token_embd.weight': ('transformer.wte.weight', False), 'output.weight': ('transformer.wte.weight', False), 'position_embd.weight': ('transformer.wpe.weight', False),
         'output_norm.weight': ('transformer.ln_f.weight', False), 'output_norm.bias': ('transformer.ln_f.bias', False)}
for i in range(cfg_hf.n_layer):
    for g_name, h_name, conv in [('attn_norm.weight', 'ln_1.weight', False), ('attn_norm.bias', 'ln_1.bias', False), ('attn_qkv.weight', 'attn.c_attn.weight', True),
                                 ('attn_qkv.bias', 'attn.c_attn.bias', False), ('attn_output.weight', 'attn.c_proj.weight', True), ('attn_output.bias', 'attn.c_proj.bias', False),
                                 ('ffn_norm.weight', 'ln_2.weight', False), ('ffn_norm.bias', 'ln_2.bias', False), ('ffn_up.weight', 'mlp.c_fc.weight', True),
                                 ('ffn_up.bias', 'mlp.c_fc.bias', False), ('ffn_down.weight', 'mlp.c_proj.weight', True), ('ffn_down.bias', 'mlp.c_proj.bias', False)]:
        names[f'blk.{i}.{g_name}'] = (f'transformer.h.{i}.{h_name}', conv)
worst = 0.0
seen = set()
for t in reader.tensors:
    seen.add(t.name)
    if t.name not in names:
        problems.append(f'unexpected tensor {t.name}')
        continue
    h_name, conv = names[t.name]
    want = sd[h_name].T if conv else sd[h_name]  # Conv1D (in, out) → (out, in): llama.cpp's layout
    got = np.asarray(t.data, dtype=np.float64).reshape(want.shape)
    worst = max(worst, float(np.abs(got - want).max()))
for n in names:
    if n not in seen:
        problems.append(f'missing tensor {n}')
out['gguf'] = gguf.__version__ if hasattr(gguf, '__version__') else 'installed'
out['gguf_problems'] = problems
out['gguf_max_abs_diff'] = worst

torch.manual_seed(0)
cfg = GPT2Config(vocab_size=g['vocab_size'], n_positions=64, n_embd=32, n_layer=2, n_head=2)
hf2 = GPT2LMHeadModel(cfg).eval()
with torch.no_grad():  # larger than the init's 0.02 so the logits are not all near zero
    for p in hf2.parameters():
        p.add_(torch.randn_like(p) * 0.1)
d2 = os.path.join(work, 'hf2')
hf2.save_pretrained(d2)
shutil.copy(os.path.join(work, 'hf', 'tokenizer.json'), os.path.join(d2, 'tokenizer.json'))
with torch.no_grad():
    l2 = hf2(ids).logits[0]
json.dump({'ids': g['ids'], 'logits': l2.flatten().tolist()}, open(os.path.join(work, 'hf2.json'), 'w'))
print(json.dumps(out))
