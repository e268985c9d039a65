// deploy/nginx.conf as committed, on loopback: two `gptkit serve` processes behind nginx, the
// official openai client talking to nginx — chat with and without streaming — and both servers
// taking requests. Needs nginx (apt-get install nginx; .ci/run installs it): without it the test
// fails saying so.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { makeTestModel } from './test-model.ts';

const root = resolve(import.meta.dirname, '..', '..');
const procs: ChildProcess[] = [];
after(() => { for (const p of procs) p.kill('SIGTERM'); });

const freePort = () => new Promise<number>((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
});

async function waitFor(url: string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try { if ((await fetch(url)).ok) return; } catch { /* not up yet */ }
    if (Date.now() - t0 > ms) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('two gptkit servers behind deploy/nginx.conf: one address, streams pass through, both servers serve', async () => {
  assert.equal(spawnSync('nginx', ['-v'], { stdio: 'ignore' }).status, 0, 'nginx not found: apt-get install nginx');
  const model = await makeTestModel({}, { chatTokens: true });
  const [front, a, b] = [await freePort(), await freePort(), await freePort()];
  for (const port of [a, b]) {
    const p = spawn(process.execPath, [join(root, 'bin', 'gptkit.mjs'), 'serve', '--model', model.dir, '--port', String(port), '--api-key', 'k'], { env: { ...process.env, GPTKIT_THREADS: '1' }, stdio: 'ignore' });
    procs.push(p);
  }
  const prefix = mkdtempSync(join(tmpdir(), 'gptkit-nginx-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, d));
  // The committed file, with its three ports replaced by free ones.
  const conf = readFileSync(join(root, 'deploy', 'nginx.conf'), 'utf8').replace('listen 127.0.0.1:8080;', `listen 127.0.0.1:${front};`).replace('server 127.0.0.1:8081;', `server 127.0.0.1:${a};`).replace('server 127.0.0.1:8082;', `server 127.0.0.1:${b};`);
  assert.ok(conf.includes(`listen 127.0.0.1:${front};`) && conf.includes(`server 127.0.0.1:${b};`), 'the committed file still has its three ports');
  writeFileSync(join(prefix, 'nginx.conf'), conf);
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  const nginx = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', `daemon off; ${user}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let nginxErr = '';
  nginx.stderr!.on('data', (d) => { nginxErr += d; });
  procs.push(nginx);
  await waitFor(`http://127.0.0.1:${a}/health`);
  await waitFor(`http://127.0.0.1:${b}/health`);
  await waitFor(`http://127.0.0.1:${front}/health`).catch((e) => { throw new Error(`${e.message}: ${nginxErr}`); });

  const client = new OpenAI({ baseURL: `http://127.0.0.1:${front}/v1`, apiKey: 'k', maxRetries: 0 });
  const messages = [{ role: 'user' as const, content: 'Hi there' }];
  const whole = await client.chat.completions.create({ model: 'test-model', messages, max_tokens: 8, temperature: 0 });
  let streamed = '', chunks = 0;
  for await (const c of await client.chat.completions.create({ model: 'test-model', messages, max_tokens: 8, temperature: 0, stream: true })) {
    streamed += c.choices[0]?.delta?.content ?? '';
    chunks++;
  }
  assert.equal(streamed, whole.choices[0].message.content, 'the stream through nginx carries the same text');
  assert.ok(chunks >= 2, `${chunks} chunks: events pass through one by one`);
  await Promise.all(Array.from({ length: 8 }, () => client.chat.completions.create({ model: 'test-model', messages, max_tokens: 16, temperature: 0 })));
  const served = async (port: number) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return [...text.matchAll(/^gptkit_requests_total\{[^}]*endpoint="\/v1\/chat\/completions"[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
  };
  const [na, nb] = [await served(a), await served(b)];
  assert.equal(na + nb, 10);
  assert.ok(na > 0 && nb > 0, `both servers took requests (${na} and ${nb})`);
  model.remove();
});
