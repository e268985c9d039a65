// `npm run check:interop`: gptkit checked against the Python ecosystem itself (transformers 5.18,
// tokenizers, PyTorch 2.13 in the .venv-ref venv, made from local wheels when missing):
//   - `gptkit export` → GPT2LMHeadModel.from_pretrained gives gptkit's logits (within 1e-4);
//   - the exported tokenizer.json loads in `tokenizers` and encodes varied text to gptkit's ids
//     (`tokenizers` matches added tokens written in text, so gptkit encodes with allowedSpecial 'all'
//     here; by default gptkit keeps such text plain, on purpose);
//   - a GPT-2 saved by transformers' save_pretrained loads in gptkit with transformers' logits (1e-4);
//   - `gptkit export --format gguf` reads in the `gguf` package (llama.cpp's own Python reader): the
//     gpt2 metadata, the vocabulary in id order, and tensors equal to the HF export's (transposed as
//     llama.cpp's converter does);
//   - recipes/torch_ddp_continue.py under `torchrun --nproc_per_node 2` (DDP, Gloo on loopback)
//     continues the exported model on `gptkit data shards` output: its first step's loss equals
//     gptkit's on the same global batch (1e-4), training goes on, and the result loads back in
//     gptkit with PyTorch's log-probabilities (1e-4).
// Where the venv cannot be made it says so loudly and exits 0 (CI on a machine without the wheels);
// GPTKIT_REQUIRE_INTEROP=1 makes that a failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trainBpe } from '../src/tokenizer/index.ts';
import { GPT, gptConfig } from '../src/models/gpt.ts';
import { saveCheckpoint } from '../src/interop/checkpoint.ts';
import { loadModel } from '../src/interop/load.ts';
import { tokenizerJsonText } from '../src/tokenizer/formats.ts';
import { main } from '../src/cli/main.ts';
import { noGrad, scope } from '../src/tensor/tensor.ts';

const root = resolve(import.meta.dirname, '..');
const py = join(root, '.venv-ref', 'bin', 'python');

function skip(why: string): never {
  const bar = '!'.repeat(78);
  console.error(`${bar}\ncheck:interop SKIPPED: ${why}\n  make it with: python3.11 -m venv .venv-ref && .venv-ref/bin/pip install torch==2.13.0 transformers==5.18.0 tokenizers numpy gguf\n${bar}`);
  process.exit(process.env.GPTKIT_REQUIRE_INTEROP === '1' ? 1 : 0);
}

function ensureVenv(): void {
  const ok = () => existsSync(py) && spawnSync(py, ['-c', 'import torch, transformers, tokenizers, gguf'], { stdio: 'ignore' }).status === 0;
  if (ok()) return;
  console.error('check:interop: making the Python venv .venv-ref from local wheels (torch 2.13, transformers 5.18)…');
  const mk = spawnSync('python3.11', ['-m', 'venv', join(root, '.venv-ref')], { stdio: 'inherit' });
  if (mk.status !== 0) skip('python3.11 could not make a venv');
  // Where the machine keeps a local package index, pip uses it instead of retrying an unreachable PyPI
  // for every dependency (minutes of timeouts on a machine without network).
  const env = { ...process.env };
  if (!env.PIP_INDEX_URL && existsSync('/opt/pypi/simple')) env.PIP_INDEX_URL = 'file:///opt/pypi/simple';
  const pip = spawnSync(join(root, '.venv-ref', 'bin', 'pip'), ['install', '-q', 'torch==2.13.0', 'transformers==5.18.0', 'tokenizers', 'numpy', 'gguf'], { stdio: 'inherit', env });
  if (pip.status !== 0 || !ok()) skip('pip could not install torch 2.13 / transformers 5.18 offline');
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

ensureVenv();
const work = mkdtempSync(join(tmpdir(), 'gptkit-interop-'));
const texts = [
  'Hello world! The quick brown fox jumps over the lazy dog.', "It's 2026: 3.14159, 1e-9 and 1,000,000 — we've got 'em.",
  'def f(x):\n    return x ** 2  # squares\n\n\tindented\ttabs   and   spaces', 'Emoji 🦊🚀👩‍👩‍👧 and CJK 你好，世界 and Arabic مرحبا بالعالم',
  'café naïve Zürich Ångström ﬁ ligature', '<|endoftext|> is plain text here', '   leading and trailing spaces   ', 'a\n\n\nb\r\nc',
];
const corpus = texts.join('\n').repeat(20) + ' the of and to in that is was he for it with as his on be at by';
const tok = await trainBpe([corpus], { vocabSize: 400, specialTokens: ['<|endoftext|>'] });
const model = new GPT(gptConfig('nano', { vocabSize: tok.vocabSize, blockSize: 64, nEmbd: 32 }), 3).eval();
for (const [, p] of model.namedParameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += Math.sin(i * 12.9898 + p.data.length) * 0.1;
saveCheckpoint(join(work, 'ck'), model, { tokenizerJson: { text: tokenizerJsonText(tok.toSpec()) } });
const log = console.log;
console.log = () => {};
const code = await main(['export', '--model', join(work, 'ck'), '--out', join(work, 'hf')]);
const ggufCode = await main(['export', '--model', join(work, 'ck'), '--format', 'gguf', '--out', join(work, 'model.gguf')]);
console.log = log;
if (code !== 0 || ggufCode !== 0) throw new Error('gptkit export failed');
const ids = [tok.tokenId('<|endoftext|>'), ...tok.encode('The quick brown fox, 你好 🦊 — café.')].slice(0, 64);
const logits = noGrad(() => scope(() => model.forward(Int32Array.from(ids), 1, ids.length).logits.data.slice()));
writeFileSync(join(work, 'gptkit.json'), JSON.stringify({ ids, logits: Array.from(logits), vocab_size: tok.vocabSize, texts, text_ids: texts.map((t) => tok.encode(t, { allowedSpecial: 'all' })) }));

const r = spawnSync(py, [join(root, 'scripts', 'check_interop.py'), work], { encoding: 'utf8' });
if (r.status !== 0) {
  console.error(r.stderr);
  throw new Error('check_interop.py failed');
}
const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
const hf2 = JSON.parse(readFileSync(join(work, 'hf2.json'), 'utf8')) as { ids: number[]; logits: number[] };
const loaded = loadModel(join(work, 'hf2'));
const l2 = noGrad(() => scope(() => loaded.model.forward(Int32Array.from(hf2.ids), 1, hf2.ids.length).logits.data.slice()));
const importDiff = maxDiff(l2, hf2.logits);

// The PyTorch DDP handoff: shards by gptkit, two ranks under torchrun, the result read back.
writeFileSync(join(work, 'corpus.jsonl'), Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: texts[i % texts.length] })).join('\n') + '\n');
console.log = () => {};
const shardCode = await main(['data', 'shards', '--tokenizer', join(work, 'ck'), '--data', join(work, 'corpus.jsonl'), '--out', join(work, 'shards')]);
console.log = log;
if (shardCode !== 0) throw new Error('gptkit data shards failed');
const scoreIds = tok.encode('The quick brown fox jumps over the lazy dog. 你好 🦊');
writeFileSync(join(work, 'score-ids.json'), JSON.stringify(scoreIds));
const ddp = spawnSync(join(root, '.venv-ref', 'bin', 'torchrun'), ['--standalone', '--nproc_per_node', '2', join(root, 'recipes', 'torch_ddp_continue.py'),
  '--model', join(work, 'hf'), '--shards', join(work, 'shards', 'index.json'), '--out', join(work, 'ddp'), '--steps', '6', '--batch-size', '3', '--block-size', '32',
  '--lr', '1e-3', '--dump-first-batch', join(work, 'first-batch.json'), '--score-ids', join(work, 'score-ids.json')], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
if (ddp.status !== 0) {
  console.error(ddp.stdout, ddp.stderr);
  throw new Error('torchrun recipes/torch_ddp_continue.py failed');
}
const first = JSON.parse(readFileSync(join(work, 'first-batch.json'), 'utf8')) as { windows: number[][]; loss: number; ranks: number };
const hfModel = loadModel(join(work, 'hf')).model;
const B = first.windows.length, T = first.windows[0].length - 1;
const firstLoss = scope(() => noGrad(() => hfModel.forward(Int32Array.from(first.windows.flatMap((w) => w.slice(0, T))), B, T, Int32Array.from(first.windows.flatMap((w) => w.slice(1)))).loss!.item()));
const ddpLosses = readFileSync(join(work, 'ddp', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss as number);
const back = loadModel(join(work, 'ddp')).model;
const backLogits = noGrad(() => scope(() => back.forward(Int32Array.from(scoreIds), 1, scoreIds.length).logits.data.slice()));
const torchLp = JSON.parse(readFileSync(join(work, 'ddp', 'score.json'), 'utf8')) as number[];
let scoreDiff = 0;
for (let t = 0; t + 1 < scoreIds.length; t++) {
  const row = backLogits.subarray(t * tok.vocabSize, (t + 1) * tok.vocabSize);
  let m = -Infinity;
  for (const x of row) m = Math.max(m, x);
  let z = 0;
  for (const x of row) z += Math.exp(x - m);
  scoreDiff = Math.max(scoreDiff, Math.abs(row[scoreIds[t + 1]] - m - Math.log(z) - torchLp[t]));
}

const checks = [
  { name: 'gptkit export → GPT2LMHeadModel logits', value: res.export_max_abs_diff, ok: res.export_max_abs_diff < 1e-4 },
  { name: `tokenizer.json in tokenizers: ${res.tokenizer_texts} texts, same ids`, value: res.tokenizer_mismatches.length, ok: res.tokenizer_mismatches.length === 0 },
  { name: 'transformers save_pretrained → gptkit logits', value: importDiff, ok: importDiff < 1e-4 },
  { name: `gptkit export --format gguf in gguf ${res.gguf}: metadata and vocabulary`, value: res.gguf_problems.length, ok: res.gguf_problems.length === 0 },
  { name: 'gptkit export --format gguf: tensors equal the HF export\'s', value: res.gguf_max_abs_diff, ok: res.gguf_max_abs_diff === 0 },
  { name: `torchrun DDP (${first.ranks} ranks, Gloo): first step's loss = gptkit's on the same ${B}×${T} batch`, value: Math.abs(first.loss - firstLoss), ok: first.ranks === 2 && Math.abs(first.loss - firstLoss) < 1e-4 },
  { name: `torchrun DDP: ${ddpLosses.length} steps, loss ${ddpLosses[0]?.toFixed(3)} → ${ddpLosses.at(-1)?.toFixed(3)}`, value: ddpLosses.length, ok: ddpLosses.length === 6 && ddpLosses.every(Number.isFinite) && ddpLosses.at(-1)! < ddpLosses[0] },
  { name: 'the DDP result read back by gptkit: log-probs = PyTorch\'s', value: scoreDiff, ok: scoreDiff < 1e-4 },
];
for (const c of checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${typeof c.value === 'number' && c.value < 1 && c.value > 0 ? c.value.toExponential(2) : c.value}`);
console.log(`check:interop against torch ${res.torch}, transformers ${res.transformers}, tokenizers ${res.tokenizers}`);
if (res.tokenizer_mismatches.length) console.log(JSON.stringify(res.tokenizer_mismatches, null, 1));
if (res.gguf_problems.length) console.log(res.gguf_problems.join('\n'));
process.exit(checks.every((c) => c.ok) ? 0 : 1);
