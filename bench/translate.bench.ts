// translate: sentences/s of the Transformer decoding at beam 4 (length penalty 0.6) against the same
// model decoding greedily, batches of 16 sources of 12 tokens, 32 output tokens each (EOS banned so
// both decode the same length: a throughput figure, not a quality one), transformer-world-tiny,
// random weights. Both use the encoder output and cross-attention K/V computed once and the decoder
// KV cache; beam search decodes 4× the rows.
import { readFileSync } from 'node:fs';
import { emit, timeIt } from './harness.ts';
import { backend } from '../src/backend/index.ts';
import { Transformer, transformerConfig, greedyDecode, beamSearch } from '../src/models/transformer.ts';
import { Rng } from '../src/util/rng.ts';

function cpuModel(): string {
  try { return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown'; } catch { return 'unknown'; }
}

export async function run(): Promise<void> {
  const model = new Transformer(transformerConfig('transformer-world-tiny', { vocabSize: 1024, dropout: 0 }), 1).eval();
  const rng = new Rng(2), B = 16, S = 12, L = 32;
  const src = Int32Array.from({ length: B * S }, () => 3 + rng.int(1000));
  const srcLen = new Int32Array(B).fill(S);
  const dec = { bos: 1, eos: 2, banned: [0, 1, 2], maxLen: L };
  const greedy = timeIt(() => greedyDecode(model, model.encodeSource(src, B, S, srcLen), dec), 5, 1);
  const beam = timeIt(() => beamSearch(model, model.encodeSource(src, B, S, srcLen), { ...dec, beam: 4, alpha: 0.6 }), 5, 1);
  emit({
    name: 'translate', config: 'transformer-world-tiny', value: Number((B / beam).toFixed(1)), unit: 'sentences/s', ref: 'greedy (same model)',
    ref_value: Number((B / greedy).toFixed(1)), beam: 4, batch: B, src_tokens: S, out_tokens: L, threads: backend().threads(), backend: backend().name, cpu: cpuModel(),
  });
}
