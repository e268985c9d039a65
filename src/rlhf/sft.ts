// Supervised fine-tuning data: conversations → token ids with the loss on assistant tokens only.
// A sequence's targets are its ids shifted by one, −100 wherever the target is not an assistant
// token (system and user text, the template's markup, padding), so those positions contribute
// nothing to the loss and send no gradient. Batches are padded to a common length (a multiple of
// 8, to keep the number of distinct shapes small); epochs visit every example once, in an order
// fixed by the seed and the epoch, so the data position is two integers and resume is exact.
import type { Batch, BatchSource } from '../train/batches.ts';
import type { GPT } from '../models/gpt.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';
import type { ChatTemplate } from './chat-template.ts';
import type { SftRecord } from './records.ts';

export const IGNORE = -100;

/** One training sequence: ids and, per position, the target (−100 = no loss). */
export interface SftExample { ids: Int32Array; targets: Int32Array }

export interface EncodeStats { examples: number; truncated: number; dropped: number; assistantTokens: number }

/**
 * Encode conversations for a model of context `blockSize`. A conversation longer than blockSize+1
 * tokens keeps its end (where the answer is); one left with no assistant token is dropped.
 */
export function encodeSft(records: readonly SftRecord[], chat: ChatTemplate, blockSize: number): { examples: SftExample[]; stats: EncodeStats } {
  const examples: SftExample[] = [];
  const stats: EncodeStats = { examples: 0, truncated: 0, dropped: 0, assistantTokens: 0 };
  for (const r of records) {
    let { ids, mask } = chat.encodeConversation(r.messages);
    if (ids.length > blockSize + 1) {
      stats.truncated++;
      ids = ids.slice(ids.length - blockSize - 1);
      mask = mask.slice(mask.length - blockSize - 1);
    }
    const ex = toExample(ids, mask);
    let n = 0;
    for (const t of ex.targets) if (t !== IGNORE) n++;
    if (n === 0) { stats.dropped++; continue; }
    stats.assistantTokens += n;
    examples.push(ex);
  }
  stats.examples = examples.length;
  return { examples, stats };
}

/** ids[0…n−2] as input, ids[1…] as targets where the mask is set. */
export function toExample(ids: readonly number[], mask: ArrayLike<number>): SftExample {
  const n = ids.length - 1;
  const input = new Int32Array(n), targets = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    input[t] = ids[t];
    targets[t] = mask[t + 1] ? ids[t + 1] : IGNORE;
  }
  return { ids: input, targets };
}

/** Stack examples into one (B, T) batch, right-padded with id 0 and target −100. */
export function padBatch(examples: readonly SftExample[], blockSize: number): Batch {
  const B = examples.length;
  const longest = Math.max(...examples.map((e) => e.ids.length));
  const T = Math.min(blockSize, Math.ceil(longest / 8) * 8);
  const ids = new Int32Array(B * T), targets = new Int32Array(B * T).fill(IGNORE);
  examples.forEach((e, b) => {
    ids.set(e.ids, b * T);
    targets.set(e.targets, b * T);
  });
  return { ids, targets, B, T };
}

/** Shuffled epochs of padded batches; the last batch of an epoch may be smaller. */
export class EpochBatches<E> implements BatchSource {
  epoch = 0;
  private index = 0;
  private order: Int32Array;
  constructor(readonly items: readonly E[], readonly batchSize: number, private readonly seed: number, private readonly make: (items: E[]) => Batch, private readonly shuffle = true) {
    if (!items.length) throw new ConfigError('no training examples');
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new ConfigError(`batch size must be a positive integer, got ${batchSize}`);
    this.order = this.orderOf(0);
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.items.length / this.batchSize);
  }

  private orderOf(epoch: number): Int32Array {
    const idx = Int32Array.from(this.items, (_, i) => i);
    if (this.shuffle) {
      const rng = new Rng(this.seed).fork(`epoch:${epoch}`);
      for (let i = idx.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [idx[i], idx[j]] = [idx[j], idx[i]];
      }
    }
    return idx;
  }

  next(): Batch {
    if (this.index >= this.items.length) {
      this.epoch++;
      this.index = 0;
      this.order = this.orderOf(this.epoch);
    }
    const end = Math.min(this.items.length, this.index + this.batchSize);
    const chosen: E[] = [];
    for (let i = this.index; i < end; i++) chosen.push(this.items[this.order[i]]);
    this.index = end;
    return this.make(chosen);
  }

  state(): unknown {
    return { epoch: this.epoch, index: this.index };
  }

  restore(state: unknown): void {
    const s = state as { epoch: number; index: number };
    if (!s || !Number.isInteger(s.epoch) || !Number.isInteger(s.index)) throw new ConfigError(`bad data position in the trainer state: ${JSON.stringify(state)}`);
    this.epoch = s.epoch;
    this.index = s.index;
    this.order = this.orderOf(s.epoch);
  }
}

/** Mean cross-entropy over the assistant tokens of the batch. */
export function sftLoss(model: GPT, batch: Batch): Tensor {
  return model.forward(batch.ids, batch.B, batch.T, batch.targets).loss!;
}
