// eval: 4-choice multiple-choice scoring, examples/s, on the `small` config (6 layers, 384 wide,
// context 256, vocabulary 4096): the context run once into a KV cache shared by the four choices
// (eval/score.ts) against lm-evaluation-harness's way, every context + choice a sequence of its
// own (one batch of four). Contexts of 160 tokens (a few-shot prompt), choices of 4–10 tokens.
import { readFileSync } from 'node:fs';
import { emit, log, timeIt } from './harness.ts';
import { GPT, gptConfig } from '../src/models/gpt.ts';
import { scoreContinuations, scoreContinuationsSeparately } from '../src/eval/score.ts';
import { backend } from '../src/backend/index.ts';

const CONTEXT = 160;
const EXAMPLES = 8;

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function run(): Promise<void> {
  const V = 4096;
  const model = new GPT(gptConfig('small', { vocabSize: V, dropout: 0 }), 1).eval();
  const examples = Array.from({ length: EXAMPLES }, (_, e) => ({
    context: Array.from({ length: CONTEXT }, (_, i) => (e * 977 + i * 131) % V),
    choices: Array.from({ length: 4 }, (_, c) => Array.from({ length: 4 + ((e + c * 3) % 7) }, (_, i) => (e * 31 + c * 101 + i * 7) % V)),
  }));
  // Same answers both ways before timing anything.
  for (const ex of examples.slice(0, 2)) {
    const a = scoreContinuations(model, ex.context, ex.choices), b = scoreContinuationsSeparately(model, ex.context, ex.choices);
    a.forEach((s, i) => { if (Math.abs(s.logprob - b[i].logprob) > 1e-3) throw new Error(`shared-prefix score ${s.logprob} differs from ${b[i].logprob}`); });
  }
  const all = (f: typeof scoreContinuations) => () => { for (const ex of examples) f(model, ex.context, ex.choices); };
  // Interleaved repetitions, so drift on a shared machine hits both alike.
  const shared: number[] = [], separate: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    shared.push(timeIt(all(scoreContinuations), 1, rep === 0 ? 1 : 0));
    separate.push(timeIt(all(scoreContinuationsSeparately), 1, rep === 0 ? 1 : 0));
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const value = EXAMPLES / med(shared), ref = EXAMPLES / med(separate);
  log(`eval: shared prefix ${value.toFixed(1)} examples/s, separate ${ref.toFixed(1)} examples/s`);
  emit({
    name: 'eval', config: 'small', choices: 4, context_tokens: CONTEXT, threads: backend().threads(), cpu: cpuModel(),
    value: Number(value.toFixed(2)), unit: 'examples/s', ref: 'no-shared-prefix', ref_value: Number(ref.toFixed(2)),
  });
}
