"""The Python side of `npm run check:interop` (scripts/check-interop.ts writes WORK/gptkit.json first).
With transformers' and tokenizers' own classes:
  1. WORK/hf (written by `gptkit export`) loads as GPT2LMHeadModel; its logits are compared with gptkit's.
  2. WORK/hf/tokenizer.json loads in `tokenizers`; every text encodes to gptkit's ids.
  3. A GPT-2 made and saved by transformers (WORK/hf2, save_pretrained) with its logits on the same ids,
     for gptkit to load and compare (WORK/hf2.json).
Prints one JSON object with the measured differences.
"""
import json, shutil, sys, os
import torch
import transformers
import tokenizers
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
