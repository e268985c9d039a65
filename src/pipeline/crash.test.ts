// Real crashes: gptkit processes killed with SIGKILL at random moments (seeded, so a failure replays),
// then run again as a user would. Training resumed with the README's short form ends with the same
// weights as a run that never stopped; curation and the ladder end with the same files; no temporary
// file or half-written output is left. Ctrl-C saves a checkpoint and exits 130. Bounded in time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trainBpe } from '../tokenizer/index.ts';
import { readSafetensors } from '../interop/safetensors.ts';
import { Rng } from '../util/rng.ts';

const dir = mkdtempSync(join(tmpdir(), 'gptkit-crash-'));
const bin = resolve('bin/gptkit.mjs');
// One thread: kernels are deterministic for a thread count, and every process here uses the same.
const env = { ...process.env, GPTKIT_THREADS: '1' };
const corpus = join(dir, 'corpus.jsonl');
const rng = new Rng(8);
const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'far', 'away', 'home', 'old', 'tree'];
writeFileSync(corpus, Array.from({ length: 300 }, () => JSON.stringify({ text: Array.from({ length: 14 }, () => rng.pick(words)).join(' ') + '.' })).join('\n') + '\n');
const tokDir = join(dir, 'tok');

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Start `args`; once `ready` matches its output, SIGKILL it after a random delay (up to maxDelayMs).
 * Returns how it ended: 'killed', or its exit code if it finished first.
 */
function runAndKill(args: string[], ready: RegExp, delayMs: number): Promise<{ killed: boolean; code: number | null; out: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let armed = false;
    const onData = (b: Buffer) => {
      out += b.toString();
      if (!armed && ready.test(out)) {
        armed = true;
        setTimeout(() => p.kill('SIGKILL'), delayMs);
      }
    };
    p.stdout.on('data', onData);
    p.stderr.on('data', onData);
    const guard = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('exit', (code, signal) => {
      clearTimeout(guard);
      done({ killed: signal === 'SIGKILL', code, out });
    });
  });
}

/** Nothing half-written or temporary is left anywhere under `root`. */
function assertClean(root: string): void {
  const walk = (d: string): string[] => readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    return statSync(p).isDirectory() ? [p, ...walk(p)] : [p];
  });
  const stray = walk(root).filter((p) => /\.tmp-\d+|\.gptkit-pending|\.gptkit-lock|\.curate-tmp-|\.previous$/.test(p));
  assert.deepEqual(stray, [], 'no temporaries, pending transactions or locks left');
}

function sameWeights(a: string, b: string): void {
  const ta = readSafetensors(join(a, 'model.safetensors')).tensors;
  const tb = readSafetensors(join(b, 'model.safetensors')).tensors;
  assert.deepEqual([...ta.keys()].sort(), [...tb.keys()].sort());
  for (const [name, t] of ta) assert.ok(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(tb.get(name)!.data.buffer, tb.get(name)!.data.byteOffset, tb.get(name)!.data.byteLength)), `${name} differs`);
}

test('setup: a throwaway tokenizer', async () => {
  const tok = await trainBpe([readFileSync(corpus, 'utf8')], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
  tok.save(tokDir);
});

const train = ['--data', corpus, '--tokenizer', tokDir, '--preset', 'nano', '--block-size', '16', '--batch-size', '4', '--eval-every', '0', '--dropout', '0.1', '--seed', '5'];

test('pretraining SIGKILLed 20 times and resumed with the short form ends with the uninterrupted weights', async () => {
  const steps = '120';
  const ref = join(dir, 'ref');
  const r = run(['pretrain', ...train, '--steps', steps, '--out', ref]);
  assert.equal(r.code, 0, r.stderr);
  const out = join(dir, 'crashy');
  const kills = new Rng(21);
  let killed = 0, finished = false;
  for (let attempt = 0; attempt < 40 && !finished; attempt++) {
    // The first run is the full command; every later one the README's short form.
    const args = attempt === 0 ? ['pretrain', ...train, '--steps', steps, '--checkpoint-every', '1', '--out', out] : ['pretrain', '--out', out, '--resume'];
    const ready = attempt === 0 ? /checkpoint: / : /resuming from step/;
    if (killed < 20) {
      const res = await runAndKill(args, ready, kills.int(120));
      if (res.killed) killed++;
      else {
        assert.equal(res.code, 0, res.out);
        finished = true;
      }
    } else {
      const res = run(args);
      assert.equal(res.code, 0, res.stderr);
      finished = true;
    }
  }
  assert.equal(killed, 20, 'killed 20 times');
  assert.ok(finished);
  sameWeights(ref, out);
  const losses = (d: string) => readFileSync(join(d, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => 'loss' in m).map((m) => m.loss);
  assert.deepEqual(losses(out), losses(ref), 'the metrics log holds each step once, with the uninterrupted losses');
  assertClean(out);
});

test('Ctrl-C saves a checkpoint at the step boundary, says where, exits 130; --checkpoint-every 0 loses nothing', async () => {
  const out = join(dir, 'ctrl-c');
  const p = spawn(process.execPath, [bin, 'pretrain', ...train, '--steps', '100000', '--checkpoint-every', '0', '--out', out], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const code = await new Promise<number | null>((done) => {
    const onData = (b: Buffer) => {
      const first = !/^step /m.test(text);
      text += b.toString();
      if (first && /^step /m.test(text)) p.kill('SIGINT');
    };
    p.stdout.on('data', onData);
    p.stderr.on('data', onData);
    p.on('exit', (c) => done(c));
  });
  assert.equal(code, 130, text);
  const m = /SIGINT: stopped at step (\d+); checkpoint saved in (.+)/.exec(text);
  assert.ok(m, text);
  assert.match(text, /continue with: gptkit pretrain --out .* --resume/);
  const state = JSON.parse(readFileSync(join(out, 'trainer_state', 'state.json'), 'utf8'));
  assert.equal(state.step, Number(m![1]));
  const again = run(['pretrain', '--out', out, '--resume', '--steps', String(state.step + 2)]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`resuming from step ${state.step}`));
  assertClean(out);
});

test('curation SIGKILLed at random moments and run again ends with the files of an uninterrupted run', async () => {
  const world = join(dir, 'world');
  assert.equal(run(['world', 'generate', '--out', world]).code, 0);
  const config = (output: string) => {
    const p = join(dir, `${output}.json`);
    writeFileSync(p, JSON.stringify({
      seed: 1, threads: 1,
      inputs: { crawl: { paths: [join(world, 'crawl', 'crawl.jsonl')] }, reference: { paths: [join(world, 'corpus', 'reference.jsonl')] } },
      stages: [{ stage: 'exact_dedup' }, { stage: 'classifier', train: { positive: ['reference'], negative: ['crawl'], maxDocs: 500 } }, { stage: 'fuzzy_dedup' },
        { stage: 'mix', sources: { crawl: 0.6, reference: 0.4 }, budgetChars: 400000 }, { stage: 'shards', tokenizer: tokDir }],
      output: join(dir, output),
    }));
    return p;
  };
  assert.equal(run(['data', 'curate', '--config', config('cur-ref')]).code, 0);
  const kills = new Rng(4);
  let killed = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    const res = await runAndKill(['data', 'curate', '--config', config('cur'), '--force'], /data curate:/, kills.int(1500));
    if (res.killed) killed++;
    else assert.equal(res.code, 0, res.out);
  }
  assert.ok(killed >= 10, `most attempts were cut short (${killed} of 20)`);
  const last = run(['data', 'curate', '--config', config('cur'), '--force']);
  assert.equal(last.code, 0, last.stderr);
  for (const f of ['curated.jsonl', 'mix.jsonl', 'shards/index.json', 'shards/shard_00000.bin', 'classifier.bin']) {
    assert.ok(readFileSync(join(dir, 'cur', f)).equals(readFileSync(join(dir, 'cur-ref', f))), `${f} equals the uninterrupted run's`);
  }
  assertClean(join(dir, 'cur'));
});

test('the ladder SIGKILLed at random moments and run again ends with the uninterrupted model', async () => {
  const flags = ['--preset', 'toy', '--until', 'pretrain', '--steps', '40'];
  const ref = join(dir, 'ladder-ref');
  const r = run(['ladder', ...flags, '--out', ref]);
  assert.equal(r.code, 0, r.stderr);
  const out = join(dir, 'ladder');
  const kills = new Rng(9);
  let killed = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    const res = await runAndKill(['ladder', ...flags, '--out', out], /== \[1\//, kills.int(3000));
    if (res.killed) killed++;
    else {
      assert.equal(res.code, 0, res.out);
      break;
    }
  }
  assert.ok(killed >= 5, `several runs were cut short (${killed})`);
  const last = run(['ladder', ...flags, '--out', out]);
  assert.equal(last.code, 0, last.stderr);
  sameWeights(join(ref, 'gpt'), join(out, 'gpt'));
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.stages.pretrain.figures.steps, 40);
  assert.equal(typeof summary.stages.pretrain.figures.val_loss, 'number', 'the measured validation loss is kept');
  assertClean(out);
  assert.ok(existsSync(join(out, 'world', 'manifest.json')));
});
