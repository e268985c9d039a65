#!/usr/bin/env python3
"""Golden values for src/models/bert.test.ts from Hugging Face transformers' BertForPreTraining.

Run with the reference venv:  .venv-ref/bin/python tests/golden/bert/make_goldens.py
A tiny BERT (float64, dropout 0, random LayerNorm and bias values so every gradient is exercised)
on a right-padded batch of sentence pairs with an attention mask, MLM labels (-100 elsewhere) and
NSP labels. Writes NAME.json (config, inputs, tensor index) and NAME.bin (float32 little-endian):
the weights by Hugging Face name, the MLM and NSP logits, the losses, and every parameter's gradient.
The same weights are also written as a Hugging Face directory (hf/) for the loader test.
"""
import json, os
import torch
import transformers
from transformers import BertConfig, BertForPreTraining

HERE = os.path.dirname(os.path.abspath(__file__))

def case(name, cfg, lengths, seed, act):
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=cfg['vocabSize'], hidden_size=cfg['nEmbd'], num_hidden_layers=cfg['nLayer'],
                        num_attention_heads=cfg['nHead'], intermediate_size=cfg['intermediateSize'],
                        max_position_embeddings=cfg['blockSize'], type_vocab_size=2, hidden_act=act,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=cfg['layerNormEps'])
    model = BertForPreTraining(config).double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if 'LayerNorm.weight' in n:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif n.endswith('bias'):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            p.copy_(p.float().double())  # gptkit starts from exactly these float32 values
    B, T = len(lengths), max(lengths)
    ids = torch.randint(5, cfg['vocabSize'], (B, T), generator=g)
    types = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.long)
    labels = torch.full((B, T), -100, dtype=torch.long)
    for b, L in enumerate(lengths):
        ids[b, 0] = 2; ids[b, L - 1] = 3; ids[b, L:] = 0
        types[b, L // 2:L] = 1
        mask[b, :L] = 1
        for t in range(1, L - 1):
            if torch.rand(1, generator=g).item() < 0.4:
                labels[b, t] = torch.randint(5, cfg['vocabSize'], (1,), generator=g).item()
    nsp = torch.tensor([b % 2 for b in range(B)])
    out = model(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=labels, next_sentence_label=nsp)
    mlm_loss = torch.nn.functional.cross_entropy(out.prediction_logits.view(-1, cfg['vocabSize']), labels.view(-1))
    nsp_loss = torch.nn.functional.cross_entropy(out.seq_relationship_logits, nsp)
    assert torch.allclose(out.loss, mlm_loss + nsp_loss)
    out.loss.backward()
    tensors = [(n, p.detach()) for n, p in model.named_parameters()]
    tensors += [('mlm_logits', out.prediction_logits.detach()), ('nsp_logits', out.seq_relationship_logits.detach()),
                ('loss', out.loss.detach().reshape(1)), ('mlm_loss', mlm_loss.detach().reshape(1)), ('nsp_loss', nsp_loss.detach().reshape(1))]
    tensors += [('grad.' + n, p.grad) for n, p in model.named_parameters()]
    index, blobs, off = [], [], 0
    for k, v in tensors:
        index.append({'name': k, 'shape': list(v.shape), 'offset': off, 'length': v.numel()})
        blobs.append(v.float().contiguous().numpy().astype('<f4').tobytes()); off += v.numel()
    with open(os.path.join(HERE, name + '.bin'), 'wb') as f:
        f.write(b''.join(blobs))
    with open(os.path.join(HERE, name + '.json'), 'w') as f:
        json.dump({'config': cfg, 'hidden_act': act, 'B': B, 'T': T, 'lengths': lengths, 'ids': ids.flatten().tolist(),
                   'type_ids': types.flatten().tolist(), 'mlm_labels': labels.flatten().tolist(), 'nsp_labels': nsp.tolist(),
                   'tensors': index, 'torch': torch.__version__, 'transformers': transformers.__version__}, f, indent=1)
    print(name, 'loss', out.loss.item(), 'params', len(list(model.named_parameters())))
    return model

cfg = dict(vocabSize=50, blockSize=16, nLayer=2, nHead=3, nEmbd=24, intermediateSize=37, typeVocabSize=2, dropout=0.0, layerNormEps=1e-12)
m = case('bert_tiny', dict(cfg, hiddenAct='gelu'), [9, 6, 4], 1, 'gelu')
case('bert_tiny_gelu_new', dict(cfg, nHead=2, hiddenAct='gelu_new', layerNormEps=1e-5), [7, 7], 2, 'gelu_new')
# A Hugging Face directory (float32) of the first model, with a WordPiece vocab.txt, for the loader test.
hf = os.path.join(HERE, 'hf')
m.float().save_pretrained(hf)
with open(os.path.join(hf, 'vocab.txt'), 'w') as f:
    f.write('\n'.join(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] + [f'w{i}' for i in range(45)]) + '\n')
