#!/usr/bin/env python3
"""BLEU goldens for src/eval/bleu.test.ts from sacreBLEU (corpus_bleu: 13a tokenisation, exp smoothing).

Run with the reference venv:  .venv-ref/bin/python tests/golden/bleu/make_goldens.py
"""
import json, os
import sacrebleu

HERE = os.path.dirname(os.path.abspath(__file__))
cases = [
    (["The cat sat on the mat.", "It is raining today!"], [["The cat sat on the mat.", "It rains today."]]),
    (["the the the the", "a quick brown fox"], [["the cat is on the mat", "the quick brown fox jumps"]]),
    (["Hello, world: 3.14 and 1,000 apples-2-3 (yes) & \"quotes\" &amp; <tags>"], [["Hello world: 3.14 and 1,000 apples - 2 - 3 (yes) & \"quotes\" & <tags>"]]),
    (["short"], [["a much longer reference sentence here"]]),
    (["completely different words"], [["nothing shared at all"]]),
    (["Mira lives in Dorvale with her cat Pim.", "Tesk keeps a brass lamp."],
     [["Mira lives in Dorvale with her cat Pim.", "Tesk has a lamp of brass."], ["Mira lives in Dorvale.", "Tesk keeps a brass lamp at home."]]),
    (["", "one two three four five"], [["something", "one two three four five six"]]),
    (["zéro œuf naïve — ok", "x y"], [["zéro œuf naïve - ok", "x y z"]]),
]
out = []
for hyps, refs in cases:
    b = sacrebleu.corpus_bleu(hyps, refs)
    out.append({'hyps': hyps, 'refs': refs, 'score': b.score, 'bp': b.bp, 'sys_len': b.sys_len, 'ref_len': b.ref_len,
                'precisions': b.precisions, 'counts': b.counts, 'totals': b.totals})
with open(os.path.join(HERE, 'goldens.json'), 'w', encoding='utf-8') as f:
    json.dump({'sacrebleu': sacrebleu.__version__, 'cases': out}, f, ensure_ascii=False, indent=1)
for c in out: print(round(c['score'], 4), c['sys_len'], c['ref_len'])
