// pretrain_cli: tokens/s of `gptkit pretrain` run as a user runs it (CLI, data loading, metrics,
// progress) against the bare training step of the same config measured in the same run: the
// pipeline around the engine should cost under 10%.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { emit, log, median } from './harness.ts';
import { configs } from './train_step_worker.ts';
import { trainBpe } from '../src/tokenizer/index.ts';
import { generateWorld } from '../src/world/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-bench-pretrain-'));
  const docs = [...generateWorld({ seed: 1, size: 'medium' }).reference(6_000_000)].map((d) => d.text);
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, docs.map((t) => JSON.stringify({ text: t })).join('\n') + '\n');
  const name = 'small';
  const c = configs[name];
  const tok = await trainBpe(docs, { vocabSize: c.vocabSize, specialTokens: ['<|endoftext|>'], minFrequency: 1 });
  tok.save(join(dir, 'tok'));
  if (tok.vocabSize !== c.vocabSize) log(`note: the tokenizer has ${tok.vocabSize} tokens, the bench config ${c.vocabSize}`);
  const steps = 8;
  const r = spawnSync(process.execPath, [join(root, 'bin', 'gptkit.mjs'), 'pretrain', '--json', '--data', corpus, '--tokenizer', join(dir, 'tok'), '--out', join(dir, 'run'),
    '--preset', 'small', '--n-layer', String(c.nLayer), '--n-head', String(c.nHead), '--n-embd', String(c.nEmbd), '--block-size', String(c.blockSize),
    '--dropout', '0', '--batch-size', String(c.batch), '--steps', String(steps), '--eval-every', '0', '--warmup-steps', '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) { log('pretrain_cli: the CLI run failed'); return; }
  const stepEvents = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'step');
  // Wall-clock tokens/s from step to step: includes everything the pipeline does between steps.
  const perStep = c.batch * c.blockSize;
  const cli = median(stepEvents.slice(2).map((e, i) => perStep / (e.wallSec - stepEvents[i + 1].wallSec)));
  const w = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'train_step_worker.ts'), name, String(steps - 2)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const bare = w.status === 0 ? JSON.parse(w.stdout.trim().split('\n').pop()!).tokens_per_sec : null;
  emit({ name: 'pretrain_cli', config: name, value: Number(cli.toFixed(1)), unit: 'tokens/s', ref: bare ? 'gptkit-bare-train-step' : null, ref_value: bare ? Number(bare.toFixed(1)) : null });
}
