#!/usr/bin/env python3
"""Golden ids for src/tokenizer/wordpiece.test.ts, from Hugging Face `tokenizers`' BertWordPieceTokenizer.

Run with the reference venv:  .venv-ref/bin/python tests/golden/wordpiece/make_goldens.py
Trains a small WordPiece vocabulary with `tokenizers` (vocab.txt), then encodes varied text (accents,
Chinese, punctuation, control characters, long words, unknown characters) single and as pairs with BERT's
post-processor, uncased and cased, and writes goldens.json plus the tokenizer.json `tokenizers` saves.
"""
import json, os
import tokenizers
from tokenizers import BertWordPieceTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
corpus = [
    "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs!",
    "Héllo wörld: café, naïve, résumé, Ångström and Øresund are spelled with accents.",
    "In Dorvale lives Mira Tesk, who keeps a cat named Pim and a lamp of brass.",
    "你好世界。我们喜欢学习语言。中文字符被分开。",
    "Don't stop believing; it's what we've always done, isn't it? They're here.",
    "Numbers like 3.14159, 2,718 and 1e-9 appear; emails like a.b@c.org too.",
    "unbelievable unbelievably believer believing believes relieve relieving",
    "Transformers transform transformed transforming transformation transformations",
] * 4
tok = BertWordPieceTokenizer(lowercase=True)
tok.train_from_iterator(corpus, vocab_size=300, min_frequency=2, limit_alphabet=200)
tok.save_model(HERE)  # vocab.txt
uncased = BertWordPieceTokenizer(os.path.join(HERE, 'vocab.txt'), lowercase=True)
uncased.save(os.path.join(HERE, 'tokenizer.json'))
cased = BertWordPieceTokenizer(os.path.join(HERE, 'vocab.txt'), lowercase=False, strip_accents=False)

texts = [
    "The quick brown fox jumps over the lazy dog.",
    "HÉLLO Wörld!! Café naïve RÉSUMÉ Ångström",
    "你好，世界！中文字符 mixed with English",
    "Don't stop: it's what we've done... isn't it?",
    "unbelievably transformational believers",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em-space",
    "control\u0000chars\u0007here\u200bzero\ufffdwidth",
    "a" * 120 + " short",
    "emoji 😀 and symbols ∑ € ¥ — “quotes” «guillemets»",
    "Mira Tesk keeps Pim; Dorvale's lamp is brass.",
    "",
    "   ",
    "ﬁne ligature and Ⅻ numeral and ＦＵＬＬ width",
]
pairs = [("The cat sat.", "The dog ran!"), ("你好", "Héllo wörld"), ("", "only b")]
out = {'tokenizers': tokenizers.__version__, 'single': [], 'pairs': []}
for name, t in (('uncased', uncased), ('cased', cased)):
    for s in texts:
        e = t.encode(s)
        out['single'].append({'model': name, 'text': s, 'ids': e.ids, 'tokens': e.tokens, 'decoded': t.decode(e.ids)})
for a, b in pairs:
    e = uncased.encode(a, b)
    out['pairs'].append({'a': a, 'b': b, 'ids': e.ids, 'type_ids': e.type_ids})
with open(os.path.join(HERE, 'goldens.json'), 'w', encoding='utf-8') as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
print('vocab', uncased.get_vocab_size(), 'cases', len(out['single']) + len(out['pairs']))
