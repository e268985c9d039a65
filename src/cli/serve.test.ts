// `gptkit chat` driven through piped stdin (commands, /save in the SFT format, history dropped to
// fit the context, Ctrl-C stopping an answer but not the program), and `gptkit serve` as a process:
// SIGTERM lets the stream in flight finish, then the process exits 0.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestModel, type TestModel } from '../serve/test-model.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'gptkit.mjs');
let model: TestModel;
let longModel: TestModel;

before(async () => {
  model = await makeTestModel();
  longModel = await makeTestModel({ blockSize: 1024 });
});

after(() => {
  model?.remove();
  longModel?.remove();
});

interface Proc {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
  /** Resolves once stdout (or stderr) matches. */
  until(re: RegExp, stream?: 'out' | 'err'): Promise<void>;
}

function run(args: string[]): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: 'pipe', env: { ...process.env, GPTKIT_THREADS: '1' } });
  let out = '', err = '';
  const waiters: (() => void)[] = [];
  const poke = () => waiters.splice(0).forEach((w) => w());
  child.stdout.on('data', (d) => { out += d; poke(); });
  child.stderr.on('data', (d) => { err += d; poke(); });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => { poke(); r(code); }));
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000); // bounded, whatever happens
  void exit.then(() => clearTimeout(kill));
  return {
    child, out: () => out, err: () => err, exit,
    until(re, stream = 'out') {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(stream === 'out' ? out : err)) resolve();
          else if (child.exitCode !== null) reject(new Error(`exited (${child.exitCode}) before ${re}: ${out}\n${err}`));
          else waiters.push(check);
        };
        check();
      });
    },
  };
}

test('gptkit chat with piped stdin: one answer per line, /system, /save in the SFT format, /reset, /exit', async () => {
  const save = join(model.dir, '..', 'chat.jsonl');
  const p = run(['chat', '--model', model.dir, '--temperature', '0', '--max-tokens', '6']);
  p.child.stdin.end(['hello there', '/system Be brief.', 'what is a cat?', `/save ${save}`, '/reset', '/bogus', '/exit', 'never read'].join('\n') + '\n');
  assert.equal(await p.exit, 0, p.err());
  const answers = p.out().split('\n').filter(Boolean);
  assert.equal(answers.length, 2, p.out());
  assert.match(p.err(), /\[system prompt set; conversation cleared\]/);
  assert.match(p.err(), /\[saved 3 messages to /);
  assert.match(p.err(), /\[conversation cleared\]/);
  assert.match(p.err(), /unknown command \/bogus/);
  const saved = JSON.parse(readFileSync(save, 'utf8').trim());
  assert.deepEqual(saved.messages.map((m: { role: string }) => m.role), ['system', 'user', 'assistant']);
  assert.equal(saved.messages[0].content, 'Be brief.');
  assert.equal(saved.messages[1].content, 'what is a cat?');
  assert.equal(saved.messages[2].content, answers[1]);
});

test('gptkit chat drops the oldest turns when the history outgrows the context, and says so', async () => {
  const p = run(['chat', '--model', model.dir, '--temperature', '0', '--max-tokens', '100']);
  const line = 'the cat sat on the mat and the dog sat on the log while a bird sang in the tree';
  p.child.stdin.end([line, line, line].join('\n') + '\n');
  assert.equal(await p.exit, 0, p.err());
  assert.match(p.err(), /\[history: the \d+ oldest messages were dropped to fit the context of 256 tokens\]/);
});

test('Ctrl-C stops the answer, not the program', async () => {
  const p = run(['chat', '--model', longModel.dir, '--temperature', '0', '--max-tokens', '1000']);
  p.child.stdin.write('tell me a long story\n');
  await p.until(/\S/); // the answer is streaming
  p.child.kill('SIGINT');
  await p.until(/\[stopped\]/, 'err');
  p.child.stdin.end('and another\n');
  assert.equal(await p.exit, 0, p.err());
  assert.equal(p.out().split('\n').filter(Boolean).length, 2, 'the second message was answered');
});

test('gptkit serve: SIGTERM lets the stream in flight finish, then exits 0', async () => {
  const p = run(['serve', '--model', longModel.dir, '--port', '0', '--max-batch', '2']);
  await p.until(/at (http:\/\/127\.0\.0\.1:\d+)\/v1/);
  const url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(p.out())![1];
  const r = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'once', max_tokens: 600, temperature: 0, stream: true, stream_options: { include_usage: true } }) });
  assert.equal(r.status, 200);
  const reader = r.body!.getReader();
  const decoder = new TextDecoder();
  let raw = decoder.decode((await reader.read()).value, { stream: true });
  p.child.kill('SIGTERM');
  for (let c = await reader.read(); !c.done; c = await reader.read()) raw += decoder.decode(c.value, { stream: true });
  const events = raw.split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
  assert.equal(events.at(-1), '[DONE]');
  assert.equal(JSON.parse(events.at(-2)!).usage.completion_tokens, 600, 'the stream ran to its end');
  assert.equal(await p.exit, 0, p.err());
  assert.match(p.out(), /SIGTERM: draining \(1 generations in flight/);
  assert.match(p.out(), /stopped/);
  await assert.rejects(fetch(`${url}/health`), 'no longer listening');
});

test('gptkit serve refuses bad limits before loading anything; gptkit ui serves a run\'s metrics until SIGTERM', async () => {
  const bad = run(['serve', '--model', model.dir, '--max-batch', '0']);
  assert.equal(await bad.exit, 1);
  assert.match(bad.err(), /--max-batch must be an integer ≥ 1, got 0/);
  const runDir = join(model.dir, '..', 'ui-run');
  mkdirSync(runDir);
  writeFileSync(join(runDir, 'metrics.jsonl'), JSON.stringify({ step: 1, loss: 3 }) + '\n');
  const ui = run(['ui', '--run', runDir, '--port', '0']);
  await ui.until(/dashboard of .* at (http:\/\/127\.0\.0\.1:\d+)\/dashboard/);
  const url = /at (http:\/\/127\.0\.0\.1:\d+)\/dashboard/.exec(ui.out())![1];
  const r = (await (await fetch(`${url}/ui/api/metrics`)).json()) as { records: unknown[] };
  assert.deepEqual(r.records, [{ step: 1, loss: 3 }]);
  ui.child.kill('SIGTERM');
  assert.equal(await ui.exit, 0, ui.err());
});

test('gptkit chat with a model that never had the chat tokens: they are added, and the user is told', async () => {
  const base = await makeTestModel({}, { chatTokens: false });
  try {
    const p = run(['chat', '--model', base.dir, '--temperature', '0', '--max-tokens', '3']);
    p.child.stdin.end('hi\n');
    assert.equal(await p.exit, 0, p.err());
    assert.match(p.err(), /note: the model had no <\|im_start\|> \/ <\|im_end\|>; they were added as new ids \(\d+, \d+\)/);
    assert.equal(p.out().split('\n').filter(Boolean).length <= 1, true);
  } finally {
    base.remove();
  }
});
