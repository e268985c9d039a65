// Byte-level helpers shared by the encoder, the trainer and the file formats.
//
// GPT-2's files (vocab.json, merges.txt, tokenizer.json) spell every byte as one printable unicode
// character (`bytes_to_unicode` in GPT-2's encoder.py): the 188 printable Latin-1 bytes stand for
// themselves, the other 68 map to U+0100.. in byte order. `byteToChar` / `charToByte` are that
// table; `bytesToSymbol` / `symbolToBytes` convert a whole token.
//
// `utf8Encode` writes JS string code units as UTF-8 exactly as TextEncoder does (a lone surrogate
// becomes U+FFFD, EF BF BD), straight into a scratch buffer without allocating.

function buildByteToChar(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Array<string>(256);
  const isPrintable = new Set(printable);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(isPrintable.has(b) ? b : 256 + next++);
  }
  return table;
}

/** byte → its printable stand-in character (GPT-2's bytes_to_unicode). */
export const byteToChar: readonly string[] = buildByteToChar();

/** stand-in character code → byte, -1 for characters that stand for no byte. */
export const charToByte: Int16Array = (() => {
  const t = new Int16Array(324).fill(-1);
  byteToChar.forEach((ch, b) => { t[ch.charCodeAt(0)] = b; });
  return t;
})();

/** Token bytes → the byte-level string used in vocab.json / merges.txt / tokenizer.json. */
export function bytesToSymbol(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += byteToChar[bytes[i]];
  return s;
}

/** Byte-level string → token bytes, or null when a character stands for no byte. */
export function symbolToBytes(symbol: string): Uint8Array | null {
  const out = new Uint8Array(symbol.length);
  for (let i = 0; i < symbol.length; i++) {
    const c = symbol.charCodeAt(i);
    const b = c < charToByte.length ? charToByte[c] : -1;
    if (b < 0) return null;
    out[i] = b;
  }
  return out;
}

/** Bytes as a string of one char per byte, for use as a Map key (a loop beats Buffer#toString by far for short tokens). */
export function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/**
 * UTF-8 encode text[start, end) into buf (which must hold 3 bytes per code unit); returns the byte
 * count. Surrogate pairs become 4 bytes; lone surrogates become U+FFFD, as TextEncoder does.
 */
export function utf8Encode(text: string, start: number, end: number, buf: Uint8Array): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      buf[n++] = c;
    } else if (c < 0x800) {
      buf[n++] = 0xc0 | (c >> 6);
      buf[n++] = 0x80 | (c & 63);
    } else if ((c & 0xf800) !== 0xd800) {
      buf[n++] = 0xe0 | (c >> 12);
      buf[n++] = 0x80 | ((c >> 6) & 63);
      buf[n++] = 0x80 | (c & 63);
    } else {
      const d = i + 1 < end ? text.charCodeAt(i + 1) : 0;
      if (c < 0xdc00 && (d & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        buf[n++] = 0xf0 | (c >> 18);
        buf[n++] = 0x80 | ((c >> 12) & 63);
        buf[n++] = 0x80 | ((c >> 6) & 63);
        buf[n++] = 0x80 | (c & 63);
      } else {
        buf[n++] = 0xef; // lone surrogate → U+FFFD
        buf[n++] = 0xbf;
        buf[n++] = 0xbd;
      }
    }
  }
  return n;
}
