// Checks JSON bytes without building objects: replaying a stream to NDJSON passes the stored JSON
// through as it is, and this is what keeps a malformed message out of the output at a fraction of
// what JSON.parse would cost per event.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const MAX_DEPTH = 1000;

function ws(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** End of the string starting at the quote at b[i], or -1 when it is not a valid JSON string. */
export function skipString(b: Uint8Array, i: number, end: number): number {
  for (let j = i + 1; j < end; j++) {
    const c = b[j];
    if (c === QUOTE) return j + 1;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const e = b[++j];
      if (e === 0x75) {
        // \uXXXX
        if (j + 4 >= end || !isHex(b[j + 1]) || !isHex(b[j + 2]) || !isHex(b[j + 3]) || !isHex(b[j + 4])) return -1;
        j += 4;
      } else if (
        e !== QUOTE &&
        e !== BACKSLASH &&
        e !== 0x2f &&
        e !== 0x62 &&
        e !== 0x66 &&
        e !== 0x6e &&
        e !== 0x72 &&
        e !== 0x74
      ) {
        return -1;
      }
    }
  }
  return -1;
}

const digit = (c: number) => c >= 0x30 && c <= 0x39;

function skipNumber(b: Uint8Array, i: number, end: number): number {
  if (b[i] === 0x2d) i++;
  if (i >= end) return -1;
  if (b[i] === 0x30) i++;
  else if (digit(b[i])) while (i < end && digit(b[i])) i++;
  else return -1;
  if (b[i] === 0x2e) {
    i++;
    if (!digit(b[i])) return -1;
    while (i < end && digit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!digit(b[i])) return -1;
    while (i < end && digit(b[i])) i++;
  }
  return i;
}

function literal(b: Uint8Array, i: number, end: number, word: string): number {
  if (i + word.length > end) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}

/** True when b[start, end) is exactly one JSON value (RFC 8259 grammar; UTF-8 is not checked). */
export function isJson(b: Uint8Array, start = 0, end = b.length): boolean {
  const stack: number[] = []; // OPEN_OBJ or OPEN_ARR per open container
  let i = ws(b, start, end);
  for (;;) {
    // A value at i.
    if (i >= end) return false;
    const c = b[i];
    if (c === OPEN_OBJ || c === OPEN_ARR) {
      const close = c === OPEN_OBJ ? CLOSE_OBJ : CLOSE_ARR;
      i = ws(b, i + 1, end);
      if (b[i] === close) i++;
      else {
        if (stack.length >= MAX_DEPTH) return false;
        stack.push(c);
        if (c === OPEN_OBJ) {
          i = key(b, i, end);
          if (i < 0) return false;
        }
        continue;
      }
    } else if (c === QUOTE) i = skipString(b, i, end);
    else if (c === 0x2d || digit(c)) i = skipNumber(b, i, end);
    else if (c === 0x74) i = literal(b, i, end, "true");
    else if (c === 0x66) i = literal(b, i, end, "false");
    else if (c === 0x6e) i = literal(b, i, end, "null");
    else return false;
    if (i < 0) return false;
    // After a value: a comma (next member) or the end of containers.
    for (;;) {
      i = ws(b, i, end);
      if (stack.length === 0) return i === end;
      const top = stack[stack.length - 1];
      const d = b[i];
      if (d === COMMA) {
        i = ws(b, i + 1, end);
        if (top === OPEN_OBJ) {
          i = key(b, i, end);
          if (i < 0) return false;
        }
        break;
      }
      if (d !== (top === OPEN_OBJ ? CLOSE_OBJ : CLOSE_ARR)) return false;
      stack.pop();
      i++;
    }
  }
}

/** `"key":` at i (after whitespace); returns where its value starts, or -1. */
function key(b: Uint8Array, i: number, end: number): number {
  if (b[i] !== QUOTE) return -1;
  i = skipString(b, i, end);
  if (i < 0) return -1;
  i = ws(b, i, end);
  if (b[i] !== COLON) return -1;
  return ws(b, i + 1, end);
}
