// generate_dtype: decoding tokens/s per weight type (f32, bf16, q8_0: models/quantize.ts) at batch 1
// and 16, for `small` and the GPT-2 124M shape, against llama.cpp at the same type and thread count
// (node-llama-cpp's prebuilt CPU binary from .llama-check/, loading gptkit's own GGUF export of the
// same weights at the same type; batch 16 as 16 sequences of one context stepping together, which
// node-llama-cpp batches into one llama_decode per step), in the same run. And quant_ppl: perplexity of a
// briefly trained `tiny` on held-out world text with each type (Q8_0's target: within 1% of f32).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { emit, log, timeIt } from './harness.ts';
import { cpuModel } from './train_step.bench.ts';
import { GPT, gptConfig } from '../src/models/gpt.ts';
import { quantizeModel, type ModelDtype } from '../src/models/quantize.ts';
import { generate } from '../src/generate/generate.ts';
import { argmax } from '../src/generate/sampling.ts';
import { backend } from '../src/backend/index.ts';
import { exportGguf } from '../src/interop/gguf-gpt2.ts';
import { Tokenizer } from '../src/tokenizer/index.ts';
import { generateWorld } from '../src/world/index.ts';
import { trainBpe } from '../src/tokenizer/index.ts';
import { Trainer } from '../src/train/trainer.ts';
import { RandomWindows } from '../src/train/batches.ts';
import { noGrad, scope } from '../src/tensor/tensor.ts';

const configs = {
  small: { nLayer: 6, nHead: 6, nEmbd: 384, blockSize: 256, vocabSize: 4096 },
  'gpt2-124m': { nLayer: 12, nHead: 12, nEmbd: 768, blockSize: 1024, vocabSize: 50257 },
};
const PROMPT = 16, NEW = 32;
const DTYPES: ModelDtype[] = ['f32', 'bf16', 'q8_0'];
const GGUF_TYPE = { f32: 'F32', bf16: 'BF16', q8_0: 'Q8_0' } as const;

/** A byte-level tokenizer of exactly `vocab` tokens: the 256 bytes, then two-byte merges (ids only matter here). */
function idTokenizer(vocab: number): Tokenizer {
  const tokens: Uint8Array[] = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
  const merges: [number, number][] = [];
  for (let k = 0; 256 + k < vocab; k++) {
    const [a, b] = [k >> 8, k & 255];
    tokens.push(Uint8Array.of(a, b));
    merges.push([a, b]);
  }
  return new Tokenizer({ tokens, merges, specialTokens: {} });
}

async function llamaRef(): Promise<{ getLlama: (o: object) => Promise<any> } | null> {
  const pkg = resolve(import.meta.dirname, '..', '.llama-check', 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
  if (!existsSync(pkg)) { log('generate_dtype: no llama.cpp reference (run `npm run check:llama` once to install node-llama-cpp into .llama-check/)'); return null; }
  return import(pathToFileURL(pkg).href);
}

export async function run(): Promise<void> {
  const threads = backend().threads();
  const lib = await llamaRef();
  const llama = lib ? await lib.getLlama({ gpu: false, build: 'never', logLevel: 'error' }) : null;
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-bench-dtype-'));
  try {
    for (const [name, c] of Object.entries(configs)) {
      const model = new GPT(gptConfig('tiny', { ...c, dropout: 0 })).eval();
      const tok = idTokenizer(c.vocabSize);
      for (const dtype of DTYPES) {
        const rep = quantizeModel(model, dtype);
        for (const batch of [1, 16]) {
          const prompts = Array.from({ length: batch }, (_, b) => Array.from({ length: PROMPT }, (_, i) => (b * 131 + i * 17) % c.vocabSize));
          const full = timeIt(() => generate(model, prompts, (l) => argmax(l), { maxTokens: NEW }), 3, 1);
          const prefill = timeIt(() => generate(model, prompts, (l) => argmax(l), { maxTokens: 1 }), 3, 1);
          const tps = (batch * (NEW - 1)) / (full - prefill);
          let ref: number | null = null;
          const ggufType = GGUF_TYPE[dtype];
          if (llama && ggufType) {
            const file = join(dir, `${name}-${dtype}.gguf`);
            quantizeModel(model, 'f32');
            exportGguf(model, tok, file, { dtype: ggufType });
            quantizeModel(model, dtype);
            const m = await llama.loadModel({ modelPath: file });
            const ctx = await m.createContext({ contextSize: PROMPT + NEW + 8, sequences: batch, threads, batchSize: PROMPT * batch });
            const seqs = Array.from({ length: batch }, () => ctx.getSequence());
            // One greedy step of every sequence: evaluated concurrently, so node-llama-cpp decodes them as one batch.
            const step = (inputs: number[][]) => Promise.all(seqs.map(async (seq, b) => {
              const input = inputs[b];
              const r = await seq.controlledEvaluate(input.map((t: number, i: number) => (i === input.length - 1 ? [t, { generateNext: { token: true, options: { temperature: 0 } } }] : t)));
              return [r[input.length - 1].next.token as number];
            }));
            const decode = async () => {
              await Promise.all(seqs.map((s) => s.clearHistory()));
              let inputs: number[][] = prompts;
              let t0 = 0;
              for (let k = 0; k < NEW; k++) {
                if (k === 1) t0 = performance.now(); // after prefill and the first token, as gptkit's figure
                inputs = await step(inputs);
              }
              return (batch * (NEW - 1)) / ((performance.now() - t0) / 1000);
            };
            await decode();
            const runs = [await decode(), await decode(), await decode()].sort((a, b) => a - b);
            ref = runs[1];
            await ctx.dispose();
            await m.dispose();
          }
          emit({
            name: 'generate_dtype', config: name, dtype, batch, threads, value: Number(tps.toFixed(1)), unit: 'tokens/s',
            ref: ref !== null ? `llama.cpp-${ggufType}` : null, ref_value: ref !== null ? Number(ref.toFixed(1)) : null, ratio: ref !== null ? Number((tps / ref).toFixed(3)) : null,
            weight_mb: Number((rep.bytes / 1e6).toFixed(1)), cpu: cpuModel(),
          });
        }
      }
    }
    // Quality: a briefly trained tiny model's held-out perplexity with each weight type.
    const docs = [...generateWorld({ seed: 2, size: 'small' }).reference(1_200_000)].map((d) => d.text);
    const tok = await trainBpe(docs.slice(0, 2000), { vocabSize: 2048, specialTokens: ['<|endoftext|>'] });
    const ids = Int32Array.from(docs.flatMap((d) => [...tok.encode(d), 0]));
    const split = Math.floor(ids.length * 0.95);
    const tiny = new GPT(gptConfig('tiny', { vocabSize: 2048, blockSize: 128, dropout: 0 }), 1);
    const trainer = new Trainer(tiny, (b) => tiny.forward(b.ids, b.B, b.T, b.targets).loss!, { train: new RandomWindows(ids.subarray(0, split), 32, 128, 1) }, { steps: 400, lr: 2e-3, minLr: 2e-4, warmupSteps: 40, evalEvery: 0 });
    for (let s = 0; s < 400; s++) trainer.runStep();
    tiny.eval();
    const held = ids.subarray(split, split + 128 * 64);
    const ppl = (dtype: ModelDtype) => {
      quantizeModel(tiny, dtype);
      let nll = 0, n = 0;
      for (let o = 0; o + 129 <= held.length; o += 128) {
        const x = held.subarray(o, o + 128), y = held.subarray(o + 1, o + 129);
        nll += noGrad(() => scope(() => tiny.forward(x, 1, 128, y).loss!.item())) * 128;
        n += 128;
      }
      return Math.exp(nll / n);
    };
    const base = ppl('f32');
    for (const dtype of DTYPES) {
      const p = dtype === 'f32' ? base : ppl(dtype);
      emit({ name: 'quant_ppl', config: 'tiny-400-steps', dtype, value: Number(p.toFixed(4)), unit: 'perplexity', ref: 'f32', ref_value: Number(base.toFixed(4)), held_out_tokens: held.length });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
