// The built-in GPT-2 vocabulary (`--tokenizer gpt2`), without a download: js-tiktoken ships GPT-2's
// published ranks (r50k_base) as base64 tokens in rank order. Rank = token id; 0…255 are the single
// bytes, 50256 is <|endoftext|>. GPT-2's merges are not shipped but are recoverable: the token of
// rank r is made by the last merge of tiktoken's own `bpe` run on its bytes with only the ranks
// below r allowed, which must leave exactly two parts. gpt2.test.ts checks that every token
// round-trips and that encodings match js-tiktoken token for token.
import ranksFile from 'js-tiktoken/ranks/gpt2';
import { TokenizerError, Tokenizer, type TokenizerSpec } from './bpe.ts';
import { latin1 } from './bytes.ts';

export const GPT2_EOT = '<|endoftext|>';

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const base64Value = new Int8Array(128).fill(-1);
for (let k = 0; k < 64; k++) base64Value[BASE64.charCodeAt(k)] = k;

/**
 * Token bytes by rank, from js-tiktoken's compact format ("! offset tok64 tok64 …" lines). All
 * tokens are decoded into one buffer (50k small Buffers would take 20× longer).
 */
export function decodeTiktokenRanks(bpeRanks: string): Uint8Array[] {
  const pool = new Uint8Array(Math.ceil(bpeRanks.length * 0.75));
  let used = 0;
  const tokens: Uint8Array[] = [];
  for (const line of bpeRanks.split('\n')) {
    if (!line) continue;
    const [, offsetText, ...tokens64] = line.split(' ');
    const offset = Number.parseInt(offsetText, 10);
    for (let k = 0; k < tokens64.length; k++) {
      const t = tokens64[k];
      const start = used;
      let bits = 0;
      let nbits = 0;
      for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i);
        if (c === 61) break; // '=' padding
        const v = c < 128 ? base64Value[c] : -1;
        if (v < 0) throw new TokenizerError(`GPT-2 ranks: token ${offset + k} is not base64 (${JSON.stringify(t)})`);
        bits = ((bits << 6) | v) & 0xffffff;
        nbits += 6;
        if (nbits >= 8) {
          nbits -= 8;
          pool[used++] = (bits >> nbits) & 0xff;
        }
      }
      tokens[offset + k] = pool.subarray(start, used);
    }
  }
  return tokens;
}

/**
 * Recover the merge list from tiktoken ranks: for each multi-byte token, in rank order, the two
 * parts that tiktoken's bpe (lowest-ranked byte span first, leftmost on ties) ends with.
 */
export function recoverMerges(tokens: readonly Uint8Array[]): [number, number][] {
  // Byte strings as latin1 strings: one char per byte, so spans are substrings and Map keys.
  const text = tokens.map(latin1);
  const rankOf = new Map<string, number>();
  text.forEach((t, r) => rankOf.set(t, r));
  const merges: [number, number][] = [];
  const starts: number[] = [];
  const ranks: number[] = []; // ranks[k]: rank of parts k and k+1 joined (Infinity: none below r)
  for (let r = 0; r < tokens.length; r++) {
    const t = text[r];
    if (t.length === 1) continue;
    const spanRank = (k: number): number => {
      if (k + 2 >= starts.length) return Infinity;
      const rank = rankOf.get(t.slice(starts[k], starts[k + 2]));
      return rank !== undefined && rank < r ? rank : Infinity;
    };
    starts.length = 0;
    for (let i = 0; i <= t.length; i++) starts.push(i);
    ranks.length = 0;
    for (let k = 0; k + 1 < starts.length; k++) ranks.push(spanRank(k));
    while (starts.length > 3) {
      let best = Infinity;
      let at = -1;
      for (let k = 0; k + 2 < starts.length; k++) {
        if (ranks[k] < best) { best = ranks[k]; at = k; }
      }
      if (at < 0) break;
      starts.splice(at + 1, 1);
      ranks.splice(at + 1, 1);
      ranks[at] = spanRank(at);
      if (at > 0) ranks[at - 1] = spanRank(at - 1);
    }
    if (starts.length !== 3) throw new TokenizerError(`GPT-2 rank ${r}: its bytes do not reduce to two earlier tokens (${starts.length - 1} parts)`);
    merges.push([rankOf.get(t.slice(0, starts[1]))!, rankOf.get(t.slice(starts[1]))!]);
  }
  return merges;
}

/** GPT-2's tokenizer spec, built from the ranks js-tiktoken ships. */
export function gpt2Spec(): TokenizerSpec {
  const tokens = decodeTiktokenRanks(ranksFile.bpe_ranks);
  return { tokens, merges: recoverMerges(tokens), specialTokens: { ...ranksFile.special_tokens } };
}

let gpt2: Tokenizer | undefined;

/** GPT-2's tokenizer (built once per process; tokenizers are immutable). */
export function gpt2Tokenizer(): Tokenizer {
  gpt2 ??= new Tokenizer(gpt2Spec());
  return gpt2;
}
