// Data-parallel training under MPI (train/distributed.ts): two ranks on loopback against one process
// accumulating over the same two micro-batches, resume with the same ranks, and a rank killed mid-run.
// Needs OpenMPI (apt-get install openmpi-bin libopenmpi-dev; .ci/run installs it) and the MPI addon
// npm install builds beside the main one: without them the tests fail saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trainBpe } from '../tokenizer/index.ts';
import { mpiAddonPath, launchedRanks } from './distributed.ts';
import { readSafetensors } from '../interop/safetensors.ts';
import { makeRlhfFixture } from '../pipeline/rlhf-fixture.ts';

const root = resolve(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'gptkit.mjs');
const dir = mkdtempSync(join(tmpdir(), 'gptkit-dp-'));
const corpus = join(dir, 'corpus.txt');
writeFileSync(corpus, Array.from({ length: 300 }, (_, i) => `Line ${i}: the fox ${i % 7 ? 'runs' : 'sleeps'} near the river of ${['Dorvale', 'Merholm', 'Ponwick'][i % 3]}.`).join('\n'));
(await trainBpe([readFileSync(corpus, 'utf8')], { vocabSize: 320, specialTokens: ['<|endoftext|>'] })).save(join(dir, 'tok'));
const common = ['--data', corpus, '--tokenizer', join(dir, 'tok'), '--preset', 'nano', '--n-layer', '2', '--n-embd', '32', '--n-head', '2', '--block-size', '32',
  '--batch-size', '4', '--dropout', '0', '--eval-every', '0', '--sample-every', '0', '--checkpoint-every', '0', '--lr', '3e-3', '--warmup-steps', '2', '--json'];
const env = { ...process.env, GPTKIT_THREADS: '1', OMPI_MCA_btl: 'self,tcp', OMPI_MCA_btl_vader_single_copy_mechanism: 'none' };

function gptkit(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [bin, 'pretrain', ...args], { encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
const losses = (out: string) => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => 'loss' in m).map((m) => m.loss as number);
const weights = (out: string) => Buffer.concat([...readSafetensors(join(out, 'model.safetensors')).tensors.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, t]) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)));

test('MPI is here: mpirun and the addon built beside the main one', () => {
  assert.equal(spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status, 0, 'mpirun not found: apt-get install openmpi-bin libopenmpi-dev, then npm run build:native');
  assert.ok(existsSync(mpiAddonPath), `${mpiAddonPath} not built: npm run build:native (needs mpicxx)`);
  assert.equal(launchedRanks({}), null);
  assert.equal(launchedRanks({ OMPI_COMM_WORLD_SIZE: '4' }), 4);
});

test('two ranks give the losses and weights of one process accumulating over the same two micro-batches, bit for bit', () => {
  const one = join(dir, 'one'), two = join(dir, 'two');
  const a = gptkit([...common, '--out', one, '--steps', '6', '--grad-accum', '2']);
  assert.equal(a.code, 0, a.out);
  const b = gptkit([...common, '--out', two, '--steps', '6', '--ranks', '2']);
  assert.equal(b.code, 0, b.out);
  assert.match(b.out, /"ranks":2/);
  assert.deepEqual(losses(two), losses(one));
  assert.equal(losses(two).length, 6);
  assert.ok(weights(two).equals(weights(one)), 'the same final weights');
  // Only rank 0 wrote: one metrics file, one checkpoint.
  assert.deepEqual(readdirSync(two).filter((f) => f.startsWith('metrics')), ['metrics.jsonl']);
});

test('resume with the same ranks continues exactly', () => {
  const full = join(dir, 'two'), part = join(dir, 'part');
  assert.equal(gptkit([...common, '--out', part, '--steps', '3', '--ranks', '2']).code, 0);
  const r = gptkit(['--out', part, '--resume', '--steps', '6', '--ranks', '2', '--json']);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(losses(part), losses(full));
  assert.ok(weights(part).equals(weights(full)));
});

test('a rank killed mid-run ends the run with an error naming it, no rank left hanging', async () => {
  const out = join(dir, 'killed');
  const child = spawn(process.execPath, [bin, 'pretrain', ...common, '--out', out, '--steps', '100000', '--ranks', '2'], { env });
  let text = '';
  child.stdout.on('data', (d) => { text += d; });
  child.stderr.on('data', (d) => { text += d; });
  const t0 = Date.now();
  // Wait for training to run, then SIGKILL rank 1 (found by its MPI rank in its environment).
  while (!/"type":"step"/.test(text) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 100));
  const victim = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).find((p) => {
    try {
      return readFileSync(`/proc/${p}/environ`, 'utf8').includes('OMPI_COMM_WORLD_RANK=1') && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(out);
    } catch { return false; }
  });
  assert.ok(victim, `rank 1 not found; output so far:\n${text}`);
  const killedAt = Date.now();
  process.kill(Number(victim), 'SIGKILL');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.notEqual(code, 0);
  assert.ok(Date.now() - killedAt < 30_000, 'the other rank did not hang');
  assert.match(text, /signal 9|killed/i, text.slice(-2000));
  const left = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => { try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(out); } catch { return false; } });
  assert.deepEqual(left, [], 'no rank left running');
});

test('SFT, the reward model and DPO take --ranks too: two ranks = one process with --grad-accum 2', async () => {
  const f = await makeRlhfFixture(3);
  const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 120_000 });
  const steps = ['--steps', '4', '--batch-size', '3', '--eval-every', '2', '--json'];
  const sftArgs = (out: string) => ['sft', '--model', f.model, '--data', f.sft, '--val-data', f.sftVal, '--dropout', '0', '--out', out, ...steps];
  const a = run([...sftArgs(join(f.dir, 'sft1')), '--grad-accum', '2']), b = run([...sftArgs(join(f.dir, 'sft2')), '--ranks', '2']);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.deepEqual(losses(join(f.dir, 'sft2')), losses(join(f.dir, 'sft1')));
  assert.ok(weights(join(f.dir, 'sft2')).equals(weights(join(f.dir, 'sft1'))), 'SFT: the same best model');
  for (const stage of ['rm', 'dpo']) {
    const args = (out: string) => [stage, '--model', join(f.dir, 'sft1'), '--data', f.prefs, '--val-data', f.prefsVal, '--out', out, ...steps];
    const c = run([...args(join(f.dir, `${stage}1`)), '--grad-accum', '2']), d = run([...args(join(f.dir, `${stage}2`)), '--ranks', '2']);
    assert.equal(c.status, 0, c.stderr);
    assert.equal(d.status, 0, d.stderr);
    assert.deepEqual(losses(join(f.dir, `${stage}2`)), losses(join(f.dir, `${stage}1`)), stage);
  }
});

const column = (out: string, key: string) => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => key in m).map((m) => m[key] as number | null);

test('GPT-1 finetuning takes --ranks too: two ranks = one process with --grad-accum 2 (losses, both parts, final weights)', async () => {
  const f = await makeRlhfFixture(5);
  const task = join(f.dir, 'task');
  const words = ['the', 'inn', 'was', 'very', 'food', 'room'];
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ text: `${words[i % 6]} ${i % 2 ? 'bad' : 'good'} ${words[(i * 5) % 6]}`, label: i % 2 ? 'negative' : 'positive' }));
  mkdirSync(task);
  for (const [split, n] of [['train', 32], ['validation', 8], ['test', 8]] as const) writeFileSync(join(task, `${split}.jsonl`), rows(n).map((r) => JSON.stringify(r)).join('\n') + '\n');
  const run = (args: string[]) => spawnSync(process.execPath, [bin, 'finetune', '--model', f.model, '--task', task, '--batch-size', '4', '--epochs', '2', '--lr', '3e-3', '--warmup', '0.1',
    '--dropout', '0', '--classifier-dropout', '0', '--json', ...args], { encoding: 'utf8', env, timeout: 120_000 });
  const one = join(f.dir, 'ft1'), two = join(f.dir, 'ft2');
  const a = run(['--out', one, '--grad-accum', '2']), b = run(['--out', two, '--ranks', '2']);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /"ranks":2/);
  // 32 examples in batches of 4, two batches a step: 4 steps an epoch either way.
  assert.equal(losses(one).length, 8);
  assert.deepEqual(losses(two), losses(one));
  assert.deepEqual(column(two, 'task_loss'), column(one, 'task_loss'));
  assert.deepEqual(column(two, 'lm_loss'), column(one, 'lm_loss'));
  assert.deepEqual(column(two, 'val_acc'), column(one, 'val_acc'));
  assert.ok(weights(two).equals(weights(one)), 'the same final weights');
  assert.equal(b.stdout.trim().split('\n').filter((l) => l.includes('"type":"done"')).length, 1, 'rank 0 alone reports');
});

test('PPO takes --ranks: every rank samples the same episodes, the minibatch updates split; two ranks = one process with --grad-accum 2; resume on two ranks exact', async () => {
  const f = await makeRlhfFixture(7);
  const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 180_000 });
  const sft = join(f.dir, 'sft'), rm = join(f.dir, 'rm'), ptx = join(f.dir, 'ptx.txt');
  writeFileSync(ptx, Array.from({ length: 40 }, (_, i) => `Ada lives in Dorvale. Bo lives in Kest. Where does Cy live? Cy lives in Umber, line ${i}.`).join('\n'));
  const s = run(['sft', '--model', f.model, '--data', f.sft, '--val-data', f.sftVal, '--out', sft, '--steps', '2', '--batch-size', '4', '--json']);
  assert.equal(s.status, 0, s.stderr);
  const r = run(['rm', '--model', sft, '--data', f.prefs, '--val-data', f.prefsVal, '--out', rm, '--steps', '2', '--batch-size', '3', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const ppo = (out: string, extra: string[]) => run(['ppo', '--policy', sft, '--reward', rm, '--prompts', f.prompts, '--ptx', ptx, '--out', out, '--iterations', '3',
    '--batch-size', '8', '--minibatch', '4', '--max-new-tokens', '8', '--ptx-per-episode', '2', '--warmup-iterations', '1', '--lr', '1e-3', '--value-lr', '1e-3', '--json', ...extra]);
  const one = join(f.dir, 'ppo1'), two = join(f.dir, 'ppo2');
  const a = ppo(one, ['--grad-accum', '2']), b = ppo(two, ['--ranks', '2']);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /"ranks":2/);
  // Every figure of every iteration but its timings.
  const iters = (out: string) => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => { const m = JSON.parse(l); for (const k of Object.keys(m)) if (k.endsWith('_sec')) delete m[k]; return m; });
  assert.equal(iters(one).length, 3);
  assert.deepEqual(iters(two), iters(one));
  assert.ok(Number.isFinite(iters(one)[2].ptx_loss), 'PPO-ptx ran');
  for (const sub of ['', 'last', 'value']) assert.ok(weights(join(two, sub)).equals(weights(join(one, sub))), `the same weights in out/${sub}`);
  assert.equal(b.stdout.trim().split('\n').filter((l) => l.includes('"type":"done"')).length, 1, 'rank 0 alone reports');
  // Resumed on two ranks after 2 of the 3 iterations: the same run.
  const part = join(f.dir, 'ppo-part');
  assert.equal(ppo(part, ['--ranks', '2', '--iterations', '2']).status, 0);
  const res = run(['ppo', '--policy', sft, '--reward', rm, '--out', part, '--resume', '--iterations', '3', '--ranks', '2', '--json']);
  assert.equal(res.status, 0, res.stderr);
  assert.deepEqual(iters(part), iters(two));
  for (const sub of ['', 'last', 'value']) assert.ok(weights(join(part, sub)).equals(weights(join(two, sub))), `resumed: the same weights in out/${sub}`);
  // Pieces must be equal: a minibatch of 4 cannot be cut for 3 ranks × grad-accum 1.
  const c = run(['ppo', '--policy', sft, '--reward', rm, '--prompts', f.prompts, '--out', join(f.dir, 'ppo3'), '--minibatch', '4', '--batch-size', '8', '--grad-accum', '3', '--ptx-coef', '0']);
  assert.notEqual(c.status, 0);
  assert.match(c.stderr, /multiples of --grad-accum × ranks \(3\)/);
});

test('an epoch is an epoch under --ranks: SFT, RM and DPO by --epochs take as many steps with two ranks as one process with --grad-accum 2', async () => {
  const f = await makeRlhfFixture(11);
  const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 120_000 });
  const stepsOf = (stdout: string) => JSON.parse(stdout.split('\n').find((l) => l.includes('"type":"start"'))!).steps as number;
  const sft = (out: string, extra: string[]) => run(['sft', '--model', f.model, '--data', f.sft, '--val-data', f.sftVal, '--out', out, '--epochs', '1', '--batch-size', '3', '--dropout', '0', '--json', ...extra]);
  const a = sft(join(f.dir, 'e1'), ['--grad-accum', '2']), b = sft(join(f.dir, 'e2'), ['--ranks', '2']);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(stepsOf(a.stdout), 4, '24 demonstrations in batches of 3, two a step');
  assert.equal(stepsOf(b.stdout), 4);
  assert.deepEqual(losses(join(f.dir, 'e2')), losses(join(f.dir, 'e1')));
  for (const stage of ['rm', 'dpo']) {
    const args = (out: string) => [stage, '--model', join(f.dir, 'e1'), '--data', f.prefs, '--val-data', f.prefsVal, '--out', out, '--epochs', '1', '--batch-size', '3', '--json'];
    const c = run([...args(join(f.dir, `${stage}-e1`)), '--grad-accum', '2']), d = run([...args(join(f.dir, `${stage}-e2`)), '--ranks', '2']);
    assert.equal(c.status, 0, c.stderr);
    assert.equal(d.status, 0, d.stderr);
    assert.equal(stepsOf(d.stdout), stepsOf(c.stdout), stage);
  }
});
