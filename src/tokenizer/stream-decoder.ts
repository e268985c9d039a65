// Incremental decoding for streamed generation: tokens arrive one by one, and a token may end in
// the middle of a UTF-8 character (GPT-2 splits emoji and CJK characters across tokens). push()
// returns only complete characters and keeps the bytes of an unfinished one for the next call;
// flush() ends the stream (an unfinished character there becomes U+FFFD). The concatenation of
// everything returned equals tokenizer.decode(all ids).
import type { Tokenizer } from './bpe.ts';

export class StreamDecoder {
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly tokenizer: Tokenizer) {}

  /** Text completed by these tokens (possibly ''). */
  push(ids: number | ArrayLike<number>): string {
    const list = typeof ids === 'number' ? [ids] : ids;
    return this.decoder.decode(this.tokenizer.decodeBytes(list), { stream: true });
  }

  /** End of stream: whatever is left (U+FFFD for a cut character), and reset for reuse. */
  flush(): string {
    return this.decoder.decode();
  }
}
