// generate: decoding tokens/s with the KV cache at batch 1 and 16, for the `small` preset and the
// GPT-2 124M shape, beside PyTorch CPU decoding with a KV cache written the same way (best of 1 and
// 2 threads). Batch-1 decoding reads every weight once per token, so it is bound by memory
// bandwidth: the bench measures the machine's read bandwidth and reports the fraction reached.
// Every line also gives `mfu_peak`: the decode's FLOP rate (2 per weight per token) over the CPU's
// FMA peak measured in this process (src/backend/peak.ts).
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { emit, log, runPythonRef, runVenvRef, threadEnv, timeIt } from './harness.ts';
import { cpuModel } from './train_step.bench.ts';
import { GPT, gptConfig, countParams } from '../src/models/gpt.ts';
import { generate } from '../src/generate/generate.ts';
import { argmax } from '../src/generate/sampling.ts';
import { backend } from '../src/backend/index.ts';
import { measurePeakGflops } from '../src/backend/peak.ts';

const here = dirname(fileURLToPath(import.meta.url));
const configs = {
  small: { nLayer: 6, nHead: 6, nEmbd: 384, blockSize: 256, vocabSize: 4096 },
  'gpt2-124m': { nLayer: 12, nHead: 12, nEmbd: 768, blockSize: 1024, vocabSize: 50257 },
};
const PROMPT = 16;
const NEW = 32;

/** Read bandwidth in GB/s: a reduction over 512 MB on all threads. */
function readBandwidth(): number {
  const x = new Float32Array(128 << 20).fill(1);
  const s = timeIt(() => backend().sumSquares(x, x.length), 5, 1);
  return x.byteLength / s / 1e9;
}

export async function run(): Promise<void> {
  const bw = readBandwidth();
  const peak = measurePeakGflops()?.gflops ?? null;
  log(`read bandwidth (${backend().threads()} threads): ${bw.toFixed(1)} GB/s; FMA peak ${peak?.toFixed(1) ?? 'n/a'} GFLOP/s`);
  for (const [name, c] of Object.entries(configs)) {
    const model = new GPT(gptConfig('tiny', { ...c, dropout: 0 })).eval();
    for (const batch of [1, 16]) {
      const prompts = Array.from({ length: batch }, (_, b) => Array.from({ length: PROMPT }, (_, i) => (b * 131 + i * 17) % c.vocabSize));
      // Time the decode steps only: a run of NEW tokens minus a run of 1 token (prefill + first pick).
      const full = timeIt(() => generate(model, prompts, (l) => argmax(l), { maxTokens: NEW }), 3, 1);
      const prefill = timeIt(() => generate(model, prompts, (l) => argmax(l), { maxTokens: 1 }), 3, 1);
      const tps = (batch * (NEW - 1)) / (full - prefill);
      // PyTorch 2.13 (venv, SDPA) is the reference; Debian's 1.13 a second column.
      let best: number | null = null, bestVersion = '', debian: number | null = null;
      for (const threads of [1, 2]) {
        const args = [c.nLayer, c.nHead, c.nEmbd, c.blockSize, c.vocabSize, batch, PROMPT, NEW, threads].map(String);
        const r = runVenvRef(join(here, 'ref', 'generate_ref.py'), args, threadEnv(threads));
        if (r && (best === null || r.tokens_per_sec > best)) { best = r.tokens_per_sec; bestVersion = r.torch; }
        const d = runPythonRef(join(here, 'ref', 'generate_ref.py'), args, ['torch'], threadEnv(threads));
        if (d && (debian === null || d.tokens_per_sec > debian)) debian = d.tokens_per_sec;
      }
      const weights = countParams(model.config).total - c.blockSize * c.nEmbd; // every weight but the position table
      const extra: Record<string, unknown> = { peak_gflops: peak ? Number(peak.toFixed(1)) : null, mfu_peak: peak ? Number(((2 * weights * tps) / (peak * 1e9)).toFixed(4)) : null };
      if (batch === 1) {
        const bytesPerToken = (countParams(model.config).total - c.blockSize * c.nEmbd) * 4; // every weight but unused positions
        extra.bandwidth_gbs = Number(bw.toFixed(1));
        extra.bandwidth_fraction = Number(((bytesPerToken * tps) / (bw * 1e9)).toFixed(3));
      }
      emit({
        name: 'generate', config: name, batch, threads: backend().threads(), value: Number(tps.toFixed(1)), unit: 'tokens/s',
        ref: best !== null ? `pytorch-${bestVersion}-kv-cache` : null, ref_value: best !== null ? Number(best.toFixed(1)) : null,
        ref_debian: debian !== null ? 'pytorch-1.13-kv-cache' : null, ref_debian_value: debian !== null ? Number(debian.toFixed(1)) : null,
        ratio_debian: debian !== null ? Number((tps / debian).toFixed(3)) : null, cpu: cpuModel(), ...extra,
      });
    }
  }
}
