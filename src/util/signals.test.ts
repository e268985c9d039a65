import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stopOnSignal } from './signals.ts';

test('the first Ctrl-C asks to stop and removes the handlers, so a second one gets the default action (exit at once)', () => {
  const before = process.listenerCount('SIGINT');
  const stop = stopOnSignal();
  assert.equal(process.listenerCount('SIGINT'), before + 1);
  assert.equal(stop.signal, null);
  process.emit('SIGINT', 'SIGINT');
  assert.equal(stop.signal, 'SIGINT');
  assert.equal(process.listenerCount('SIGINT'), before, 'no handler of ours is left for the second signal');
  assert.equal(process.listenerCount('SIGTERM'), 0);
  stop.dispose(); // harmless after the signal
});

test('work that ends normally removes its handlers', () => {
  const before = process.listenerCount('SIGTERM');
  const stop = stopOnSignal();
  stop.dispose();
  assert.equal(process.listenerCount('SIGTERM'), before);
  assert.equal(stop.signal, null);
});
