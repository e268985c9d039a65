// `npm run check:llama`: gptkit's GGUF export checked by llama.cpp itself (node-llama-cpp 3.21.1's
// prebuilt CPU binary, no build). For a small GPT-2 exported by `gptkit export --format gguf` at F32,
// F16, BF16 and Q8_0:
//   - llama.cpp tokenizes varied text (code, emoji, CJK, whitespace runs, the special tokens' text)
//     to gptkit's ids;
//   - its log-probabilities of a text's tokens match gptkit's (F32 within 1e-2; F16, BF16 and Q8_0 are
//     reported, within 2e-2, 1e-1 and 1e-1);
//   - its greedy continuation equals gptkit's greedy decoding (F32).
// node-llama-cpp lives in .llama-check/ (installed there on first use from the npm registry with its
// install script off), not in package.json: with its CUDA, Vulkan and ARM builds it is 730 MB, which
// every `npm install` would otherwise download. Where it cannot be installed the check says so
// loudly and exits 0; GPTKIT_REQUIRE_LLAMA=1 makes that a failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { trainBpe } from '../src/tokenizer/index.ts';
import { GPT, gptConfig } from '../src/models/gpt.ts';
import { saveCheckpoint } from '../src/interop/checkpoint.ts';
import { tokenizerJsonText } from '../src/tokenizer/formats.ts';
import { main } from '../src/cli/main.ts';
import { noGrad, scope } from '../src/tensor/tensor.ts';
import { generate } from '../src/generate/generate.ts';
import { argmax } from '../src/generate/sampling.ts';

const VERSION = '3.21.1';
const root = resolve(import.meta.dirname, '..');
const home = join(root, '.llama-check');
const pkg = join(home, 'node_modules', 'node-llama-cpp');

function skip(why: string): never {
  const bar = '!'.repeat(78);
  console.error(`${bar}\ncheck:llama SKIPPED: ${why}\n  it needs: npm i --prefix .llama-check -E node-llama-cpp@${VERSION} --ignore-scripts\n${bar}`);
  process.exit(process.env.GPTKIT_REQUIRE_LLAMA === '1' ? 1 : 0);
}

function ensureInstalled(): void {
  const have = () => existsSync(join(pkg, 'package.json')) && JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version === VERSION;
  if (have()) return;
  console.error(`check:llama: installing node-llama-cpp ${VERSION} into .llama-check/ (prebuilt binaries, install script off)…`);
  mkdirSync(home, { recursive: true });
  if (!existsSync(join(home, 'package.json'))) writeFileSync(join(home, 'package.json'), JSON.stringify({ name: 'gptkit-llama-check', private: true }) + '\n');
  const r = spawnSync('npm', ['install', '--prefix', home, '-E', `node-llama-cpp@${VERSION}`, '--ignore-scripts', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (r.status !== 0 || !have()) skip(`npm could not install node-llama-cpp ${VERSION}`);
}

ensureInstalled();
const { getLlama } = await import(pathToFileURL(join(pkg, 'dist', 'index.js')).href);
let llama;
try {
  llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
} catch (e) {
  skip(`the prebuilt llama.cpp binary does not load here (${(e as Error).message})`);
}

const work = mkdtempSync(join(tmpdir(), 'gptkit-llama-'));
const texts = [
  'Hello world! The quick brown fox jumps over the lazy dog.', "It's 2026: 3.14159, 1e-9 and 1,000,000 — we've got 'em.",
  'def f(x):\n    return x ** 2  # squares\n\n\tindented\ttabs   and   spaces', 'Emoji 🦊🚀👩‍👩‍👧 and CJK 你好，世界 and Arabic مرحبا بالعالم',
  'café naïve Zürich Ångström ﬁ ligature', '<|endoftext|> and <|im_start|> are plain text here', '   leading and trailing spaces   ', 'a\n\n\nb\r\nc',
];
const tok = await trainBpe([texts.join('\n').repeat(20) + ' the of and to in that is was he for it with as his on be at by'], { vocabSize: 400, specialTokens: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] });
// 64 wide (Q8_0 needs multiples of 32); weights pushed off the init so the logits are not all near zero.
const model = new GPT(gptConfig('nano', { vocabSize: tok.vocabSize, blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 64 }), 3).eval();
for (const [, p] of model.namedParameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += Math.sin(i * 12.9898 + p.data.length) * 0.1;
saveCheckpoint(join(work, 'ck'), model, { tokenizerJson: { text: tokenizerJsonText(tok.toSpec()) } });

const scored = tok.encode('The quick brown fox, 你好 🦊 — café. It is 2026 and we have got them all.').slice(0, 60);
const logits = noGrad(() => scope(() => model.forward(Int32Array.from(scored), 1, scored.length).logits.data.slice()));
const V = tok.vocabSize;
const ours: number[] = [];
for (let t = 0; t + 1 < scored.length; t++) {
  const row = logits.subarray(t * V, (t + 1) * V);
  let m = -Infinity;
  for (const x of row) m = Math.max(m, x);
  let z = 0;
  for (const x of row) z += Math.exp(x - m);
  ours.push(row[scored[t + 1]] - m - Math.log(z));
}
const prompt = tok.encode('The quick brown');
const greedy = generate(model, [prompt], (l) => argmax(l), { maxTokens: 20 })[0].tokens;

const checks: { name: string; ok: boolean; detail: string }[] = [];
const log = console.log;
for (const dtype of ['F32', 'F16', 'BF16', 'Q8_0'] as const) {
  const file = join(work, `model-${dtype}.gguf`);
  console.log = () => {};
  const code = await main(['export', '--model', join(work, 'ck'), '--format', 'gguf', '--dtype', dtype, '--out', file]);
  console.log = log;
  if (code !== 0) throw new Error(`gptkit export --format gguf --dtype ${dtype} failed`);
  const m = await llama.loadModel({ modelPath: file });
  const ctx = await m.createContext({ contextSize: 64, threads: 2 });
  try {
    const bad = texts.filter((t) => JSON.stringify(m.tokenize(t, false)) !== JSON.stringify(tok.encode(t)));
    checks.push({ name: `${dtype}: llama.cpp tokenizes ${texts.length} texts to gptkit's ids`, ok: bad.length === 0, detail: bad.length ? `differs on ${JSON.stringify(bad)}` : 'same' });
    const seq = ctx.getSequence();
    const out = await seq.controlledEvaluate(scored.map((t, i) => (i + 1 < scored.length ? [t, { generateNext: { probabilities: true } }] : t)));
    let worst = 0;
    for (let i = 0; i + 1 < scored.length; i++) worst = Math.max(worst, Math.abs(Math.log(out[i].next.probabilities.get(scored[i + 1])) - ours[i]));
    const bound = { F32: 1e-2, F16: 2e-2, BF16: 1e-1, Q8_0: 1e-1 }[dtype];
    checks.push({ name: `${dtype}: log-probabilities of ${scored.length - 1} tokens`, ok: worst <= bound, detail: `max |Δ| ${worst.toExponential(2)} (bound ${bound})` });
    if (dtype === 'F32') {
      await seq.clearHistory();
      const theirs: number[] = [];
      let input: number[] = prompt;
      for (let k = 0; k < greedy.length; k++) {
        const r = await seq.controlledEvaluate(input.map((t, i) => (i === input.length - 1 ? [t, { generateNext: { token: true, options: { temperature: 0 } } }] : t)));
        const next = r[input.length - 1].next.token as number;
        theirs.push(next);
        input = [next];
      }
      checks.push({ name: 'F32: greedy continuation of 20 tokens', ok: JSON.stringify(theirs) === JSON.stringify(greedy), detail: JSON.stringify(theirs) === JSON.stringify(greedy) ? 'same' : `llama.cpp ${JSON.stringify(theirs)} vs gptkit ${JSON.stringify(greedy)}` });
    }
  } finally {
    await ctx.dispose();
    await m.dispose();
  }
}
for (const c of checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
console.log(`check:llama against node-llama-cpp ${VERSION} (its prebuilt llama.cpp, CPU)`);
process.exit(checks.every((c) => c.ok) ? 0 : 1);
