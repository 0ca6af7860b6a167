/**
 * A JSON reader that fails the way Go's encoding/json does, because etcd's gateway (grpc-gateway
 * v1 on jsonpb) answers malformed bodies with Go's own error text. Numbers are kept as their
 * literal text so 64-bit ids survive exactly. Pure.
 */

/** A JSON number, kept as written (Go's jsonpb converts it only once the target type is known). */
export class JsonNumber {
  constructor(readonly literal: string) {}
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
/** Later duplicates replace earlier ones, as in Go's map decoding. */
export type JsonObject = Map<string, JsonValue>;

/** An error whose message is exactly Go's. */
export class GoJsonError extends Error {}

/** Go's encoding/json nesting limit. */
const MAX_DEPTH = 10_000;

type Mode = 'stream' | 'complete';

/**
 * Reads successive top-level values from a request body the way a Go `json.Decoder` does:
 * each call returns the next value and where it ended, or `undefined` at the end of the body.
 * Trailing bytes after a value are not looked at until the next call.
 */
export function decodeNext(text: string, from: number): { value: JsonValue; end: number } | undefined {
  const p = new Parser(text, 'stream');
  p.pos = from;
  p.skipSpace();
  if (p.pos >= text.length) return undefined;
  const value = guardDepth(() => p.value(0));
  return { value, end: p.pos };
}

/** `json.Unmarshal`: the whole text must be one value (what jsonpb does with a quoted number). */
export function unmarshalComplete(text: string): JsonValue {
  const p = new Parser(text, 'complete');
  p.skipSpace();
  const value = guardDepth(() => p.value(0));
  p.skipSpace();
  if (p.pos < text.length) throw p.invalid('after top-level value');
  return value;
}

/** Deep nesting may exhaust the JS stack before Go's depth limit: report it as Go does. */
function guardDepth<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof RangeError) throw new GoJsonError('exceeded max depth');
    throw e;
  }
}

class Parser {
  pos = 0;
  constructor(
    private readonly text: string,
    private readonly mode: Mode,
  ) {}

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  value(depth: number): JsonValue {
    this.skipSpace();
    const c = this.peek();
    switch (c) {
      case '{':
        return this.object(depth + 1);
      case '[':
        return this.array(depth + 1);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.number();
        throw this.invalid('looking for beginning of value');
    }
  }

  private object(depth: number): JsonObject {
    if (depth > MAX_DEPTH) throw new GoJsonError('exceeded max depth');
    const out: JsonObject = new Map();
    this.pos++; // '{'
    this.skipSpace();
    if (this.peek() === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.peek() !== '"') throw this.invalid('looking for beginning of object key string');
      const key = this.string();
      this.skipSpace();
      if (this.peek() !== ':') throw this.invalid('after object key');
      this.pos++;
      out.set(key, this.value(depth));
      this.skipSpace();
      const next = this.peek();
      this.pos++;
      if (next === '}') return out;
      if (next !== ',') {
        this.pos--;
        throw this.invalid('after object key:value pair');
      }
    }
  }

  private array(depth: number): JsonValue[] {
    if (depth > MAX_DEPTH) throw new GoJsonError('exceeded max depth');
    const out: JsonValue[] = [];
    this.pos++; // '['
    this.skipSpace();
    if (this.peek() === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.skipSpace();
      const next = this.peek();
      this.pos++;
      if (next === ']') return out;
      if (next !== ',') {
        this.pos--;
        throw this.invalid('after array element');
      }
    }
  }

  private string(): string {
    const t = this.text;
    this.pos++; // opening quote
    let out = '';
    let run = this.pos;
    for (;;) {
      if (this.pos >= t.length) throw this.eof();
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(run, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) throw this.invalid('in string literal');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += t.slice(run, this.pos);
      this.pos++;
      if (this.pos >= t.length) throw this.eof();
      const e = t[this.pos]!;
      const simple = ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
        this.pos++;
      } else if (e === 'u') {
        this.pos++;
        for (let i = 0; i < 4; i++) {
          if (this.pos + i >= t.length) {
            this.pos = t.length;
            throw this.eof();
          }
          if (!/[0-9a-fA-F]/.test(t[this.pos + i]!)) {
            this.pos += i;
            throw this.invalid('in \\u hexadecimal character escape');
          }
        }
        // Lone surrogates stay as they are; they become U+FFFD when encoded to UTF-8, as in Go.
        out += String.fromCharCode(parseInt(t.slice(this.pos, this.pos + 4), 16));
        this.pos += 4;
      } else {
        throw this.invalid('in string escape code');
      }
      run = this.pos;
    }
  }

  private number(): JsonNumber {
    const t = this.text;
    const start = this.pos;
    const digits = (): number => {
      const s = this.pos;
      while (this.pos < t.length && t[this.pos]! >= '0' && t[this.pos]! <= '9') this.pos++;
      return this.pos - s;
    };
    // Go reports an incomplete number at the end only when the input ends there.
    const need = (context: string): void => {
      if (this.pos >= t.length) throw this.eof();
      throw this.invalid(context);
    };
    if (t[this.pos] === '-') {
      this.pos++;
      if (this.pos >= t.length || !(t[this.pos]! >= '0' && t[this.pos]! <= '9')) need('in numeric literal');
    }
    if (t[this.pos] === '0') this.pos++;
    else digits();
    if (t[this.pos] === '.') {
      this.pos++;
      if (digits() === 0) need('after decimal point in numeric literal');
    }
    if (t[this.pos] === 'e' || t[this.pos] === 'E') {
      this.pos++;
      if (t[this.pos] === '+' || t[this.pos] === '-') this.pos++;
      if (digits() === 0) need('in exponent of numeric literal');
    }
    return new JsonNumber(t.slice(start, this.pos));
  }

  private literal<T>(word: string, result: T): T {
    for (let i = 0; i < word.length; i++) {
      if (this.pos >= this.text.length) throw this.eof();
      if (this.text[this.pos] !== word[i]) throw this.invalid(`in literal ${word} (expecting ${quoteChar(word[i]!)})`);
      this.pos++;
    }
    return result;
  }

  /** The next character; at the end of input, Go's end-of-input error. */
  private peek(): string {
    if (this.pos >= this.text.length) throw this.eof();
    return this.text[this.pos]!;
  }

  private eof(): GoJsonError {
    return new GoJsonError(this.mode === 'stream' ? 'unexpected EOF' : 'unexpected end of JSON input');
  }

  invalid(context: string): GoJsonError {
    return new GoJsonError(`invalid character ${quoteChar(this.text[this.pos] ?? '')} ${context}`);
  }
}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Go's quoteChar: the scanner sees bytes, so a non-ASCII character shows as its first UTF-8
 * byte read as a Latin-1 rune ('é' shows as 'Ã'), quoted like strconv.Quote with single quotes.
 */
export function quoteChar(ch: string): string {
  if (ch === "'") return "'\\''";
  if (ch === '"') return '\'"\'';
  let code = ch.codePointAt(0) ?? 0;
  if (code >= 0x80) code = Buffer.from(ch, 'utf8')[0]!;
  return `'${goQuoteRune(code)}'`;
}

function goQuoteRune(code: number): string {
  switch (code) {
    case 0x07: return '\\a';
    case 0x08: return '\\b';
    case 0x0c: return '\\f';
    case 0x0a: return '\\n';
    case 0x0d: return '\\r';
    case 0x09: return '\\t';
    case 0x0b: return '\\v';
    case 0x5c: return '\\\\';
  }
  if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
  // Latin-1 controls and the non-printing spaces Go's strconv.IsPrint rejects.
  if ((code >= 0x80 && code <= 0xa0) || code === 0xad) return `\\u${code.toString(16).padStart(4, '0')}`;
  return String.fromCharCode(code);
}

/** The JSON kind Go names in "cannot unmarshal <kind> into Go value of type T". */
export function goKind(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  if (v instanceof JsonNumber) return 'number';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

/** Go's UnmarshalTypeError text. */
export function typeError(what: string, goType: string): GoJsonError {
  return new GoJsonError(`json: cannot unmarshal ${what} into Go value of type ${goType}`);
}

/**
 * Writes a value as Go's encoding/json does: strings escape <, >, & and U+2028/U+2029, and
 * control characters other than \n \r \t as \u00XX. Object keys keep insertion order.
 */
export function goStringify(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goQuoteString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goStringify).join(',')}]`;
  const parts: string[] = [];
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (val !== undefined) parts.push(`${goQuoteString(k)}:${goStringify(val)}`);
  }
  return `{${parts.join(',')}}`;
}

function goQuoteString(s: string): string {
  let out = '"';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = '\\\\';
    else if (c === 0x0a) esc = '\\n';
    else if (c === 0x0d) esc = '\\r';
    else if (c === 0x09) esc = '\\t';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      esc = `\\u${c.toString(16).padStart(4, '0')}`;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A lone surrogate is invalid UTF-8 to Go: written as U+FFFD.
      const pair = c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff;
      if (pair) {
        i++;
        continue;
      }
      esc = '\ufffd';
    }
    if (esc !== undefined) {
      out += s.slice(run, i) + esc;
      run = i + 1;
    }
  }
  return `${out}${s.slice(run)}"`;
}
