// The web UI in a real headless Chromium (Debian's, driven by playwright-core): a chat message gets
// its streamed answer; K answers ranked by clicks become one preference line in the rankings
// file; the dashboard draws curves from a metrics.jsonl and adds records appended while it is open.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { makeTestModel, type TestModel } from './test-model.ts';
import { startServer, type RunningServer } from './server.ts';
import { startUiServer } from './ui.ts';

const CHROMIUM = '/usr/bin/chromium';
let model: TestModel;
let server: RunningServer;
let browser: Browser;
let rankings: string;
let runDir: string;

before(async () => {
  assert.ok(existsSync(CHROMIUM), 'the browser tests need Debian\'s chromium: apt-get install chromium');
  model = await makeTestModel();
  rankings = join(model.dir, '..', 'rankings.jsonl');
  runDir = join(model.dir, '..', 'run');
  mkdirSync(runDir);
  const metrics = Array.from({ length: 20 }, (_, i) => ({ step: i + 1, loss: 5 - i * 0.1, lr: 1e-3, grad_norm: 1, tokens: 512 * (i + 1), tokens_per_sec: 1000 + i, elapsed_sec: i }));
  writeFileSync(join(runDir, 'metrics.jsonl'), metrics.map((m) => JSON.stringify(m)).join('\n') + '\n' + JSON.stringify({ step: 10, val_loss: 4.2 }) + '\n');
  const prompts = join(model.dir, '..', 'prompts.jsonl');
  writeFileSync(prompts, JSON.stringify({ messages: [{ role: 'user', content: 'Where does the cat sit?' }] }) + '\n');
  server = await startServer({ modelDir: model.dir, host: '127.0.0.1', port: 0, apiKey: null, limits: { maxBatch: 4 }, ui: { rankingsFile: rankings, promptsFile: prompts, runDir } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await server?.drain();
  model?.remove();
});

test('chat page: a message gets a streamed answer', async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
  try {
    await page.goto(`${server.url}/`);
    await page.fill('#system', 'You are brief.');
    await page.fill('#max_tokens', '24');
    await page.fill('#seed', '3');
    await page.fill('#input', 'Where does the cat sit?');
    await page.click('#send');
    const answer = page.locator('.msg.assistant[data-done="true"]');
    await answer.waitFor({ timeout: 30_000 });
    const text = await answer.textContent();
    assert.ok(text && text.length > 0, 'an answer was shown');
    // The page streams what the API gives for the same request.
    const r = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'system', content: 'You are brief.' }, { role: 'user', content: 'Where does the cat sit?' }], max_tokens: 24, seed: 3, temperature: 0.7, top_p: 1 }),
    });
    assert.equal(text, ((await r.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content);
    assert.equal(await page.locator('.msg.user').textContent(), 'Where does the cat sit?');
    if (process.env.GPTKIT_SCREENSHOT) await page.screenshot({ path: process.env.GPTKIT_SCREENSHOT });
  } finally {
    await page.close();
  }
});

test('chat page: when the conversation outgrows the context, the oldest turns are dropped and the page says so', async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${server.url}/`);
    await page.fill('#max_tokens', '200');
    for (const [i, text] of ['the cat sat on the mat', 'and then the dog sat on the log'].entries()) {
      await page.fill('#input', text);
      await page.click('#send');
      await page.locator('.msg.assistant[data-done="true"]').nth(i).waitFor({ timeout: 30_000 });
    }
    assert.match((await page.locator('.msg.note').allTextContents()).join('\n'), /the 2 oldest messages were dropped to fit the context of 256 tokens/);
    assert.ok((await page.locator('.msg.assistant').nth(1).textContent())!.length > 0);
  } finally {
    await page.close();
  }
});

test('ranking page: K answers ranked by clicks become one K-wise preference line', async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${server.url}/rank`);
    await page.waitForFunction("document.getElementById('prompt').value !== ''"); // (page code: no DOM types here)
    assert.equal(await page.inputValue('#prompt'), 'Where does the cat sit?', 'the first prompt of --prompts');
    await page.fill('#k', '3');
    await page.fill('#max_tokens', '8');
    await page.click('#sample');
    await page.locator('.answer').nth(2).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.answer').count(), 3);
    const shown = await page.locator('.answer').allTextContents();
    // Best to worst: the third answer, then the first, then the second.
    for (const i of [2, 0, 1]) await page.locator('.answer').nth(i).click();
    await page.click('#submit');
    await page.waitForFunction("document.getElementById('status').textContent.startsWith('saved')");
    const lines = readFileSync(rankings, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1);
    const rec = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(rec), ['prompt', 'responses', 'ranking']);
    assert.deepEqual(rec.prompt, [{ role: 'user', content: 'Where does the cat sit?' }]);
    assert.equal(rec.responses.length, 3);
    assert.deepEqual(rec.responses.map((r: string) => r || '(empty answer)'), shown.map((s) => s.replace(/#\d$/, '')));
    assert.deepEqual(rec.ranking, [2, 0, 1]);
  } finally {
    await page.close();
  }
});

test('a ranking that is not a permutation is refused with a 400', async () => {
  const r = await fetch(`${server.url}/ui/api/rankings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: [{ role: 'user', content: 'x' }], responses: ['a', 'b'], ranking: [0, 0] }) });
  assert.equal(r.status, 400);
  assert.equal(((await r.json()) as { error: { param: string } }).error.param, 'ranking');
});

test('dashboard: curves drawn from metrics.jsonl, and records appended later appear live', async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${server.url}/dashboard`);
    await page.locator('[data-chart="loss"] path[data-field="loss"]').waitFor({ timeout: 15_000 });
    const d = await page.locator('[data-chart="loss"] path[data-field="loss"]').getAttribute('d');
    assert.equal(d!.split('L').length, 20, 'one vertex per loss record');
    assert.equal(await page.locator('[data-chart="loss"] path[data-field="val_loss"]').count(), 1);
    for (const name of ['lr', 'tokens_per_sec', 'grad_norm']) assert.equal(await page.locator(`[data-chart="${name}"] svg`).count(), 1, name);
    appendFileSync(join(runDir, 'metrics.jsonl'), JSON.stringify({ step: 21, loss: 2.5, lr: 1e-3, grad_norm: 1, tokens: 1, tokens_per_sec: 1, elapsed_sec: 21 }) + '\n' + JSON.stringify({ step: 21, reward: 0.3, kl: 0.01 }) + '\n');
    await page.waitForFunction(`document.querySelector('[data-chart="loss"] path[data-field="loss"]').getAttribute('d').split('L').length === 21`, undefined, { timeout: 15_000 });
    await page.locator('[data-chart="reward"] svg').waitFor({ timeout: 5_000 });
    assert.match((await page.textContent('#status'))!, /up to step 21/);
  } finally {
    await page.close();
  }
});

test('gptkit ui alone serves the dashboard without a model', async () => {
  const ui = await startUiServer({ host: '127.0.0.1', port: 0, runDir });
  const page = await browser.newPage();
  try {
    await page.goto(`${ui.url}/`);
    assert.ok(page.url().endsWith('/dashboard'));
    await page.locator('[data-chart="loss"] svg').waitFor({ timeout: 15_000 });
    assert.equal((await fetch(`${ui.url}/v1/models`)).status, 404);
  } finally {
    await page.close();
    await ui.close();
  }
});
