import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mixSources, type MixSource, type MixSourceStats } from './mix.ts';
import { JsonlWriter, KeySet } from './jsonl.ts';
import type { Doc } from './readers.ts';
import { Rng } from '../util/rng.ts';

function source(name: string, weight: number, docs: Doc[]): MixSource {
  return {
    name, weight, docs: docs.length, units: docs.reduce((s, d) => s + d.text.length, 0),
    open: async function* () { yield* docs; },
  };
}

function docs(prefix: string, n: number, len: number): Doc[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, text: `${prefix}${i} `.padEnd(len, 'x') }));
}

async function run(sources: MixSource[], budget: number, seed: number) {
  const stats: MixSourceStats[] = [];
  const out: { source: string; doc: Doc }[] = [];
  for await (const x of mixSources(sources, { budget, measure: (d) => d.text.length, seed }, stats)) out.push(x);
  return { out, stats };
}

test('sources get their weight of the budget whatever their size; epochs are reported', async () => {
  // A small high-quality source (10k chars) weighted up and a big one (200k chars) weighted down.
  const small = source('books', 0.4, docs('b', 100, 100));
  const big = source('crawl', 0.6, docs('c', 2000, 100));
  const { out, stats } = await run([small, big], 50000, 3);
  const [s, b] = stats;
  assert.equal(s.target_units, 20000);
  assert.equal(s.target_epochs, 2);
  assert.equal(s.emitted_units, 20000); // exactly two whole passes
  assert.equal(s.epochs, 2);
  assert.ok(Math.abs(b.target_epochs - 0.15) < 1e-12);
  assert.ok(Math.abs(b.epochs - 0.15) < 0.03, `crawl epochs ${b.epochs}`);
  assert.equal(out.length, s.emitted_docs + b.emitted_docs);
  // Every book appears exactly twice; crawl documents at most once.
  const seen = new Map<string, number>();
  for (const x of out) seen.set(x.doc.id, (seen.get(x.doc.id) ?? 0) + 1);
  assert.ok(docs('b', 100, 100).every((d) => seen.get(d.id) === 2));
  assert.ok([...seen].filter(([id]) => id.startsWith('c')).every(([, n]) => n === 1));
  // Interleaved through the stream, not one source after the other: the first and the second half both hold ~40% books.
  const half = out.length >> 1;
  for (const part of [out.slice(0, half), out.slice(half)]) {
    const frac = part.filter((x) => x.source === 'books').length / part.length;
    assert.ok(Math.abs(frac - 20000 / (20000 + b.emitted_units)) < 0.1, `book fraction ${frac}`);
  }
  // Deterministic for a seed, different for another.
  assert.deepEqual((await run([small, big], 50000, 3)).out, out);
  assert.notDeepEqual((await run([small, big], 50000, 4)).out.map((x) => x.doc.id), out.map((x) => x.doc.id));
});

test('bad weights, empty sources and budgets are errors naming the source', async () => {
  await assert.rejects(run([source('a', 0, docs('a', 2, 5))], 10, 0), /weight of source 'a' must be positive/);
  await assert.rejects(run([source('empty', 1, [])], 10, 0), /source 'empty' is empty/);
  await assert.rejects(run([source('a', 1, docs('a', 2, 5))], 0, 0), /budget must be positive/);
  await assert.rejects(run([], 10, 0), /at least one source/);
});

test('JsonlWriter appears under its name only when closed; abort leaves nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-jsonl-'));
  const w = new JsonlWriter(join(dir, 'out.jsonl'));
  for (let i = 0; i < 30000; i++) await w.write({ id: i, text: 'ü'.repeat(50) });
  assert.deepEqual(readdirSync(dir).filter((f) => f === 'out.jsonl'), []);
  await w.close();
  const lines = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 30000);
  assert.deepEqual(JSON.parse(lines[29999]), { id: 29999, text: 'ü'.repeat(50) });
  const a = new JsonlWriter(join(dir, 'aborted.jsonl'));
  await a.write({ x: 1 });
  a.abort();
  assert.deepEqual(readdirSync(dir), ['out.jsonl']);
});

test('KeySet: membership of 64-bit keys across rehashes', () => {
  const set = new KeySet(4);
  const rng = new Rng(1);
  const keys = Array.from({ length: 5000 }, () => [rng.nextU32(), rng.nextU32()] as const);
  for (const [h, l] of keys) assert.equal(set.add(h, l), true);
  for (const [h, l] of keys) assert.equal(set.add(h, l), false);
  assert.equal(set.add(keys[0][0], keys[0][1] ^ 1), true);
  assert.equal(set.size, 5001);
});
