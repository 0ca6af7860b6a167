/**
 * Base64 decoding with Go's base64.StdEncoding rules and error text ("illegal base64 data at
 * input byte N"): padding required, CR and LF skipped, anything else after the padding rejected.
 * etcd's gateway decodes bytes fields with it. Pure.
 */
import { GoJsonError } from './go-json.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

const corrupt = (at: number): GoJsonError => new GoJsonError(`illegal base64 data at input byte ${at}`);
const isNewline = (b: number | undefined): boolean => b === 0x0a || b === 0x0d;

/** Decodes `src` (the string's UTF-8 bytes) or throws Go's CorruptInputError text. */
export function goBase64Decode(text: string): Buffer {
  const src = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(Math.floor((src.length * 3) / 4) + 3);
  let n = 0;
  let si = 0;
  for (;;) {
    // One quantum: up to four symbols, as Go's decodeQuantum.
    const buf = [0, 0, 0, 0];
    let len = 4;
    let j = 0;
    let done = false;
    while (j < 4) {
      if (si === src.length) {
        if (j === 0) return out.subarray(0, n);
        throw corrupt(si - j);
      }
      const c = src[si]!;
      si++;
      const d = DECODE[c]!;
      if (d >= 0) {
        buf[j++] = d;
        continue;
      }
      if (isNewline(c)) continue;
      if (c !== 0x3d) throw corrupt(si - 1);
      // Padding: only after two or three symbols.
      if (j < 2) throw corrupt(si - 1);
      if (j === 2) {
        while (si < src.length && isNewline(src[si])) si++;
        if (si === src.length) throw corrupt(src.length);
        if (src[si] !== 0x3d) throw corrupt(si - 1);
        si++;
      }
      while (si < src.length && isNewline(src[si])) si++;
      if (si < src.length) throw corrupt(si);
      len = j;
      done = true;
      break;
    }
    const v = (buf[0]! << 18) | (buf[1]! << 12) | (buf[2]! << 6) | buf[3]!;
    out[n++] = (v >> 16) & 0xff;
    if (len >= 3) out[n++] = (v >> 8) & 0xff;
    if (len >= 4) out[n++] = v & 0xff;
    if (done) return out.subarray(0, n);
  }
}
