// Wraps the addon's KV-cache kernels (attentionDecode, kvStore in native/src/attention.cc). They run
// once per layer and decoding step, so the checks are the addon's own (every count, length and
// position before any memory is touched), their RangeError/TypeError turned into the ShapeError the
// reference throws.
import type { AttentionDecode, Backend, KvStore } from '../backend.ts';
import { ShapeError } from '../../util/errors.ts';
import type { Addon } from './index.ts';

function call(fn: (...args: unknown[]) => unknown, args: unknown[]): void {
  try {
    fn(...args);
  } catch (e) {
    throw e instanceof RangeError || e instanceof TypeError ? new ShapeError(e.message) : e;
  }
}

export function nativeKvCache(addon: Addon): Pick<Backend, 'attentionDecode' | 'kvStore'> {
  for (const name of ['attentionDecode', 'kvStore']) {
    if (typeof addon[name] !== 'function') throw new Error(`native addon has no '${name}' kernel (rebuild with npm run build:native)`);
  }
  return {
    attentionDecode(p: AttentionDecode): void {
      call(addon.attentionDecode, [p.batch, p.heads, p.headDim, p.capacity, p.qkv, p.k, p.v, p.lengths, p.window, p.scale, p.out]);
    },
    kvStore(p: KvStore): void {
      call(addon.kvStore, [p.batch, p.tokens, p.heads, p.headDim, p.capacity, p.src, p.srcOffset, p.srcStrideB, p.srcStrideT, p.cache, p.firstSlot, p.start]);
    },
  };
}
