// Never lose a user's files or a run's settings: each case a user met with a real mistake, replayed
// through the CLI. Output folders, resume that keeps its promise, and every flag checked before work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from './test-cli.ts';
import { trainBpe } from '../tokenizer/index.ts';
import { Rng } from '../util/rng.ts';

const dir = mkdtempSync(join(tmpdir(), 'gptkit-safety-'));
const corpus = join(dir, 'corpus.jsonl');
const rng = new Rng(5);
const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'far', 'away', 'home'];
writeFileSync(corpus, Array.from({ length: 150 }, () => JSON.stringify({ text: Array.from({ length: 12 }, () => rng.pick(words)).join(' ') + '.' })).join('\n') + '\n');
const tokDir = join(dir, 'tok');
const small = ['--preset', 'nano', '--block-size', '16', '--batch-size', '4', '--eval-every', '0', '--tokenizer', tokDir];


const cli = runCli;

/** The one-line error a user sees: exit 1, the message, no stack trace. */
async function refused(args: string[], re: RegExp): Promise<void> {
  const r = await cli(args);
  assert.equal(r.code, 1, `${args.join(' ')} should fail:\n${r.out}\n${r.err}`);
  assert.match(r.err, re);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
}

const gptkitBin = resolve('bin/gptkit.mjs');
function child(args: string[], cwd = process.cwd()): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [gptkitBin, ...args], { encoding: 'utf8', cwd, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('setup: a throwaway tokenizer', async () => {
  const tok = await trainBpe([readFileSync(corpus, 'utf8')], { vocabSize: 280, specialTokens: ['<|endoftext|>'] });
  tok.save(tokDir);
});

test('world generate never deletes a folder of the user’s, nor turns a file into a folder', async () => {
  const mydocs = join(dir, 'mydocs');
  mkdirSync(mydocs);
  writeFileSync(join(mydocs, 'thesis.txt'), 'years of work');
  await refused(['world', 'generate', '--out', mydocs], /holds files gptkit did not write \(thesis\.txt\)/);
  await refused(['world', 'generate', '--out', mydocs, '--force'], /gptkit did not write/);
  assert.equal(readFileSync(join(mydocs, 'thesis.txt'), 'utf8'), 'years of work');
  const world = join(dir, 'world');
  assert.equal((await cli(['world', 'generate', '--out', world])).code, 0);
  await refused(['world', 'generate', '--out', join(world, 'manifest.json')], /manifest\.json is a file; gptkit writes a folder there/);
  assert.ok(JSON.parse(readFileSync(join(world, 'manifest.json'), 'utf8')).generator);
  await refused(['world', 'generate', '--out', world], /already holds a gptkit world[\s\S]*--force/);
  writeFileSync(join(world, 'my-notes.txt'), 'kept');
  assert.equal((await cli(['world', 'generate', '--out', world, '--force'])).code, 0);
  assert.equal(readFileSync(join(world, 'my-notes.txt'), 'utf8'), 'kept', '--force replaces only what gptkit wrote');
});

test('pretrain refuses a project folder (.git, .env) and "." before training; export never overwrites --model', async () => {
  const proj = join(dir, 'proj');
  mkdirSync(join(proj, '.git'), { recursive: true });
  writeFileSync(join(proj, '.env'), 'KEY=1');
  await refused(['pretrain', '--data', corpus, '--out', proj, ...small, '--steps', '2'], /holds files gptkit did not write \((\.git, \.env|\.env, \.git)\)/);
  assert.deepEqual(readdirSync(proj).sort(), ['.env', '.git']);
  const dot = child(['pretrain', '--data', corpus, '--out', '.', ...small, '--steps', '2'], proj);
  assert.equal(dot.code, 1);
  assert.match(dot.stderr, /--out \. holds files gptkit did not write/);
  assert.doesNotMatch(dot.stdout, /^step /m, 'refused before any training');

  const ck = join(dir, 'ck');
  assert.equal((await cli(['pretrain', '--data', corpus, '--out', ck, ...small, '--steps', '2'])).code, 0);
  await refused(['export', '--model', ck, '--out', ck], /--out .*ck is --model .*ck: writing there would destroy the input/);
  await refused(['export', '--model', ck, '--out', dir], /contains --model/);
  assert.equal((await cli(['pretrain', '--out', ck, '--steps', '3', '--resume'])).code, 0, 'the checkpoint still resumes');
  const hf = join(ck, 'hf');
  assert.equal((await cli(['export', '--model', ck, '--out', hf])).code, 0);
  assert.ok(existsSync(join(hf, 'model.safetensors')));
  await refused(['pretrain', '--data', corpus, '--out', ck, ...small, '--steps', '2'], /already holds a gptkit checkpoint[\s\S]*--resume[\s\S]*--force/);
  await refused(['pretrain', '--data', corpus, '--out', join(dir, 'world'), ...small, '--steps', '2'], /holds a gptkit world, not a checkpoint/);
});

test('a file as --out, or under one, is one line for every command', async () => {
  const f = join(dir, 'a-file.txt');
  writeFileSync(f, 'x');
  const cfg = join(dir, 'curate-file.json');
  writeFileSync(cfg, JSON.stringify({ inputs: { crawl: { paths: [corpus] } }, stages: [{ stage: 'exact_dedup' }], output: f }));
  for (const args of [
    ['world', 'generate', '--out', f],
    ['tokenizer', 'train', '--data', corpus, '--vocab-size', '270', '--out', f],
    ['data', 'shards', '--data', corpus, '--out', join(f, 'sub')],
    ['data', 'curate', '--config', cfg],
    ['export', '--model', join(dir, 'ck'), '--out', f],
    ['ladder', '--out', join(f, 'run')],
    ['pretrain', '--data', corpus, '--out', f, ...small],
  ]) {
    await refused(args, /a-file\.txt is a file/);
  }
  assert.equal(readFileSync(f, 'utf8'), 'x');
});

test('re-sharding removes its own orphaned shard files, keeps the user’s; shards remember their tokenizer', async () => {
  const out = join(dir, 'shards');
  assert.equal((await cli(['data', 'shards', '--data', corpus, '--tokenizer', tokDir, '--out', out, '--shard-tokens', '1000'])).code, 0);
  const many = readdirSync(out).filter((n) => n.startsWith('shard_'));
  assert.ok(many.length >= 3, `several shards: ${many}`);
  writeFileSync(join(out, 'README.txt'), 'mine');
  assert.equal((await cli(['data', 'shards', '--data', corpus, '--tokenizer', tokDir, '--out', out, '--force'])).code, 0);
  assert.deepEqual(readdirSync(out).filter((n) => !n.startsWith('.')).sort(), ['README.txt', 'index.json', 'shard_00000.bin']);
  const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
  assert.match(index.tokenizer_sha256, /^[0-9a-f]{64}$/);
  // Training them with another tokenizer of the same size is an error naming both.
  const other = await trainBpe(['zebra quartz fjord 1234567890 '.repeat(200)], { vocabSize: 280, specialTokens: ['<|endoftext|>'], minFrequency: 1 });
  other.save(join(dir, 'tok-other'));
  await refused(['pretrain', '--data', join(out, 'index.json'), '--tokenizer', join(dir, 'tok-other'), '--out', join(dir, 'ck-other'), '--preset', 'nano', '--block-size', '16', '--steps', '1'], /were made with tokenizer .* not with this run's tokenizer/);
  assert.ok(!existsSync(join(dir, 'ck-other')), 'a failed run leaves no empty folder');
  await refused(['pretrain', '--data', join(out, 'index.json'), corpus, '--out', join(dir, 'ck-mixed'), ...small], /a token-shard index must be the only --data/);
});

test('--resume restores the run’s own settings; a differing flag is an error naming both values', async () => {
  const flags = ['--data', corpus, ...small, '--lr', '0.001', '--warmup-steps', '5', '--batch-size', '8', '--steps', '6', '--seed', '3'];
  const full = join(dir, 'full');
  assert.equal((await cli(['pretrain', ...flags, '--out', full])).code, 0);
  const part = join(dir, 'part');
  assert.equal((await cli(['pretrain', ...flags.slice(0, -4), '--steps', '3', '--seed', '3', '--out', part])).code, 0);
  // The README's short form: no --lr, --warmup-steps or --batch-size; --steps may change (with a notice).
  const r = await cli(['pretrain', '--out', part, '--data', corpus, '--steps', '6', '--resume']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /--steps changed from 3 to 6/);
  const lrs = (d: string) => readFileSync(join(d, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => 'lr' in m).map((m) => m.lr);
  assert.ok(Math.max(...lrs(part)) <= 0.001 + 1e-12, 'the saved lr, not the default 6e-4 schedule… nor above it');
  assert.equal(lrs(part).length, 6);
  const saved = JSON.parse(readFileSync(join(part, 'config.json'), 'utf8')).training;
  assert.equal(saved.batchSize, 8);
  assert.equal(saved.warmupSteps, 5);
  await refused(['pretrain', '--out', part, '--lr', '0.01', '--resume'], /--resume: --lr 0\.01 differs from the checkpoint's 0\.001/);
  await refused(['pretrain', '--out', part, '--n-layer', '3', '--resume'], /--n-layer 3 differs from the checkpoint's 2/);
  await refused(['pretrain', '--out', part, '--preset', 'tiny', '--resume'], /--preset "tiny" differs from the checkpoint's "nano"/);
  await refused(['pretrain', '--out', part, '--tokenizer', 'gpt2', '--resume'], /--tokenizer "gpt2" differs/);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await refused(['pretrain', '--out', empty, '--resume'], /--resume: .*empty holds no checkpoint to resume/);
});

test('every numeric flag is checked before work, with its flag, value and range', async () => {
  const out = join(dir, 'never');
  const base = ['pretrain', '--data', corpus, '--out', out, ...small];
  const cases: [string[], RegExp][] = [
    [['--min-lr', '1', '--lr', '0.001'], /minLr \(1\) must not exceed lr \(0\.001\)/],
    [['--beta1', '1.5'], /--beta1 must be a number in \[0, 1\), got 1\.5/],
    [['--weight-decay', '-1'], /--weight-decay must be a number ≥ 0, got -1/],
    [['--grad-clip', '-1'], /--grad-clip must be a number ≥ 0, got -1/],
    [['--warmup-steps', '-5'], /--warmup-steps must be an integer ≥ 0, got -5/],
    [['--eps', '0'], /--eps must be a number > 0, got 0/],
    [['--seed', '1.5'], /--seed must be an integer in \[0, 4294967295\], got 1\.5/],
    [['--eval-batches', '0'], /--eval-batches must be an integer ≥ 1, got 0/],
    [['--batch-size', '0'], /--batch-size must be an integer ≥ 1, got 0/],
    [['--lr', '-1'], /--lr must be a number in \(0, 10\], got -1/],
    [['--norm', 'side'], /--norm must be one of pre, post, got 'side'/],
  ];
  for (const [extra, re] of cases) await refused([...base, ...extra], re);
  assert.ok(!existsSync(out), 'no folder made for a refused run');
  await refused(['sample', '--model', join(dir, 'ck'), '--num', '0'], /--num must be an integer in \[1, 256\], got 0/);
  const cfg = join(dir, 'c.json');
  writeFileSync(cfg, JSON.stringify({ inputs: { crawl: { paths: [corpus] } }, stages: [{ stage: 'exact_dedup' }] }));
  await refused(['data', 'curate', '--config', cfg, '--threads', '100'], /--threads must be an integer in \[0, 64\], got 100/);
  await refused(['ladder', '--gpt-preset', 'bogus', '--out', join(dir, 'ladder-never')], /unknown preset 'bogus'/);
  await refused(['ladder', '--preset', 'huge', '--out', join(dir, 'ladder-never')], /--preset must be one of toy, quick, full, got 'huge'/);
  assert.ok(!existsSync(join(dir, 'ladder-never')), 'the ladder checked its preset before building the world');
  // The same ranges hold in a config file.
  writeFileSync(join(dir, 'p.json'), JSON.stringify({ beta2: 2 }));
  await refused([...base, '--config', join(dir, 'p.json')], /--beta2 must be a number in \[0, 1\), got 2/);
});

test('smaller fixes: --stop "\\n", config paths, tokenizer on folders, all-unusable curate, decode --json, help, version, short corpora', async () => {
  const ck = join(dir, 'ck');
  // --stop "\n" as a shell passes it (backslash, n) stops at a newline.
  const s = await cli(['sample', '--model', ck, '--prompt', 'the', '--max-tokens', '40', '--stop', '\\n', '--seed', '1', '--json']);
  assert.equal(s.code, 0, s.err);
  assert.doesNotMatch(JSON.parse(s.out).samples[0].text, /\n/);
  // --max-tokens past the context is said.
  const long = await cli(['sample', '--model', ck, '--prompt', 'the cat', '--max-tokens', '100']);
  assert.match(long.err, /the model's context of 16 tokens filled up/);
  // A config file's relative paths are relative to its folder.
  const sub = join(dir, 'other', 'dir');
  mkdirSync(sub, { recursive: true });
  writeFileSync(join(sub, 'corpus.jsonl'), readFileSync(corpus));
  writeFileSync(join(sub, 'cfg.json'), JSON.stringify({ data: ['corpus.jsonl'], out: 'run', tokenizer: '../../tok', preset: 'nano', 'block-size': 16, steps: 1, 'batch-size': 2, 'eval-every': 0 }));
  const c = await cli(['pretrain', '--config', join(sub, 'cfg.json')]);
  assert.equal(c.code, 0, c.err);
  assert.ok(existsSync(join(sub, 'run', 'model.safetensors')));
  // tokenizer train reads folders as pretrain does, with --text-field.
  const folder = join(dir, 'texts');
  mkdirSync(folder);
  writeFileSync(join(folder, 'a.jsonl'), readFileSync(corpus, 'utf8').replace(/"text"/g, '"body"'));
  const t = await cli(['tokenizer', 'train', '--data', folder, '--text-field', 'body', '--vocab-size', '270', '--out', join(dir, 'tok2')]);
  assert.equal(t.code, 0, t.err);
  // A curation where every record is unusable fails, naming why.
  writeFileSync(join(dir, 'junk.jsonl'), '{"text": 1}\n{"nope": "x"}\n');
  writeFileSync(join(dir, 'junk.json'), JSON.stringify({ onError: 'skip', inputs: { crawl: { paths: ['junk.jsonl'] } }, stages: [{ stage: 'exact_dedup' }], output: 'junk-out' }));
  await refused(['data', 'curate', '--config', join(dir, 'junk.json')], /no usable documents in input 'crawl' .*all 2 records were malformed, the first .*junk\.jsonl:1/);
  assert.ok(!existsSync(join(dir, 'junk-out')));
  // tokenize --decode --json prints a JSON string.
  const dec = spawnSync(process.execPath, [gptkitBin, 'tokenize', '--decode', '--json'], { input: '[15496, 995]', encoding: 'utf8' });
  assert.equal(dec.stdout.trim(), '"Hello world"');
  // help CMD, --version.
  const h = await cli(['help', 'pretrain']);
  assert.equal(h.code, 0);
  assert.match(h.out, /usage: gptkit pretrain/);
  const v = await cli(['--version']);
  assert.match(v.out, /^gptkit \d+\.\d+\.\d+$/);
  // A corpus too short for one training window says how many tokens it has and where they went.
  writeFileSync(join(dir, 'tiny.txt'), 'the cat sat');
  await refused(['pretrain', '--data', join(dir, 'tiny.txt'), '--out', join(dir, 'ck-tiny'), ...small], /the data has \d+ tokens: 17 held out for validation .* leaves 0 to train on, fewer than the 18 one training window needs/);
});

test('gptkit info | head -1 exits quietly', () => {
  const r = spawnSync('bash', ['-c', `set -o pipefail; node ${gptkitBin} info | head -1`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE|Error/);
  assert.match(r.stdout, /preset/);
});
