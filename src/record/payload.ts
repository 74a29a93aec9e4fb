// Turns a hook's payload object into the bytes that travel in the ring: JSON text (the default)
// or MessagePack. Runs on the host thread, whatever the payload holds: every field of every hook
// comes from the host or from users, so every payload gets the same bounded look first (at most
// NODE_BUDGET values and maxBytes characters, cut short at the first excess), and then either one
// plain JSON.stringify (the common case) or a bounded copy that cuts and marks what does not fit.
import { Packr } from "msgpackr";
import type { Encoding } from "./format.ts";

export interface EncodedPayload {
  /** JSON text (json) or MessagePack bytes (msgpack). */
  body: string | Uint8Array;
  /** Values plain encoding could not carry (cycles, BigInt, functions, Buffers...) became markers. */
  sanitized: boolean;
  /** Cut to fit maxBytes or the node budget; the payload carries `_truncated`. */
  truncated: boolean;
  /**
   * Only with `measure: false`: a JSON body of at most maxBytes UTF-16 units whose UTF-8 size was
   * not measured (it may be up to 3 times that). The caller learns it by writing the body out and,
   * when it is over maxBytes, encodes the payload again with encodeOversized().
   */
  unmeasured?: true;
}

const TRUNCATED_KEY = "_truncated";
const MAX_DEPTH = 32;
/** Most values (objects, array items, strings, numbers...) one look at a payload visits. */
const NODE_BUDGET = 4096;

/**
 * The plugin's MessagePack encoder: standard MessagePack (no msgpackr records or extensions for
 * undefined) so any MessagePack reader can decode the payload; undefined properties are left out, as
 * JSON does. Exported for bench/host-cost.ts, which must pack exactly as the plugin does. A new
 * options object each time: msgpackr's constructor writes into the one it is given.
 * (skipValues is a msgpackr option its type declarations do not list yet.)
 */
export function payloadPackr(): Packr {
  return new Packr({
    useRecords: false,
    moreTypes: false,
    encodeUndefinedAsNil: true,
    skipValues: [undefined],
  } as ConstructorParameters<typeof Packr>[0]);
}

const packr = payloadPackr();

// ---------------------------------------------------------------------------------------------
// The look: is the payload small and plain enough for the plain encoder? The host thread runs one
// payload at a time, so the walk keeps its state here instead of in a closure per call.

// What the look found, when it found the payload fit for the plain encoder (else: the bounded copy).
const PLAIN = 0;
const NEEDS_REPLACER = 1; // Map, Set, BigInt, function, symbol: the encoder needs hostValues

let chars = 0;
let nodes = 0;
let limitChars = 0;
let shape = PLAIN;
/**
 * Plain objects with more keys than the budget. V8 lists all keys of an object before handing out
 * the first one (for-in, Object.keys and JSON.stringify alike: ~10 ms for 50,000 keys here), so
 * such an object is listed once, by the look, and the copy shows a marker instead of listing it again.
 */
const bigObjects = new Set<object>();

const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;
const MAP_PROTO = Map.prototype;
const SET_PROTO = Set.prototype;
const DATE_PROTO = Date.prototype;

/**
 * False as soon as `v` needs the bounded copy; sets `shape` to NEEDS_REPLACER where that is
 * enough. Plain objects and arrays (what the host sends nearly always) take the fast path; any
 * other kind of object goes to the copy, which knows how to show it. Strings and numbers are
 * looked at in the loops: a call per value would cost a typical payload a third more.
 */
function look(v: object, depth: number): boolean {
  if (++nodes > NODE_BUDGET || depth >= MAX_DEPTH) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === ARRAY_PROTO) {
    const a = v as unknown[];
    const n = a.length;
    if ((nodes += n) > NODE_BUDGET) return false;
    for (let i = 0; i < n; i++) if (!lookAt(a[i], depth)) return false;
    return true;
  }
  if (proto === OBJECT_PROTO || proto === null) {
    for (const k in v) {
      if (++nodes > NODE_BUDGET) {
        bigObjects.add(v);
        return false;
      }
      // A toJSON runs code and returns anything: only the copy keeps it in bounds. (Comparing
      // keys costs less than looking the property up on every object.)
      if (k === "toJSON") return false;
      chars += k.length;
      const x = (v as Record<string, unknown>)[k];
      if (typeof x === "string") {
        if ((chars += x.length) > limitChars) return false;
      } else if (!lookAt(x, depth)) return false;
    }
    return true;
  }
  if (proto === MAP_PROTO || proto === SET_PROTO) {
    const m = v as Map<unknown, unknown> | Set<unknown>;
    if ((nodes += m.size) > NODE_BUDGET) return false;
    shape = NEEDS_REPLACER;
    for (const [k, x] of m.entries()) if (!lookAt(k, depth) || !lookAt(x, depth)) return false;
    return true;
  }
  return proto === DATE_PROTO;
}

/** One value inside an object, an array or a Map at `depth`. */
function lookAt(x: unknown, depth: number): boolean {
  switch (typeof x) {
    case "string":
      return (chars += x.length) <= limitChars;
    case "object":
      return x === null || look(x, depth + 1);
    case "bigint":
    case "function":
    case "symbol":
      shape = NEEDS_REPLACER;
      return true;
    default:
      return true;
  }
}

/**
 * For payloads with values plain JSON would drop or empty without a trace (Map, Set, BigInt,
 * functions, symbols): they become visible. Costs about 0.3 us per typical payload, so it runs
 * only when the look found such a value.
 */
function hostValues(this: unknown, _key: string, v: unknown): unknown {
  switch (typeof v) {
    case "object":
      if (v instanceof Map) return Object.fromEntries(v);
      if (v instanceof Set) return [...v];
      return v;
    case "bigint":
      return v.toString();
    case "function":
      return `[Function ${v.name || "anonymous"}]`;
    case "symbol":
      return `[Symbol ${v.description ?? ""}]`;
    default:
      return v;
  }
}

function encodeRaw(value: unknown, encoding: Encoding, replacer = false): string | Uint8Array {
  if (encoding === "json") return (replacer ? JSON.stringify(value, hostValues) : JSON.stringify(value)) ?? "null";
  return packr.pack(value);
}

function byteLength(body: string | Uint8Array): number {
  return typeof body === "string" ? Buffer.byteLength(body) : body.length;
}

/**
 * Encodes a payload within `maxBytes`. The cost is bounded by NODE_BUDGET values and `maxBytes`
 * characters whatever the payload holds (the one exception V8 imposes: listing the keys of an
 * object once, about 0.2 us per key). Throws only if even the safe fallback cannot be encoded.
 * `measure: false` leaves the UTF-8 size of a long JSON body to the caller (see `unmeasured`):
 * measuring it reads the whole body once more, and the capture path writes it out anyway.
 */
export function encodePayload(payload: unknown, encoding: Encoding, maxBytes: number, measure = true): EncodedPayload {
  chars = 0;
  nodes = 0;
  limitChars = maxBytes;
  shape = PLAIN;
  try {
    let body: string | Uint8Array | undefined;
    try {
      // A toJSON on Object.prototype would run for every plain object: then all go to the copy.
      if ((OBJECT_PROTO as { toJSON?: unknown }).toJSON !== undefined) throw new Error("Object.prototype.toJSON");
      // A throwing getter or Proxy trap, or one that changed its mind between the look and the
      // encoder, sends the payload to the copy, which marks just that value.
      if (lookAt(payload, -1)) body = encodeRaw(payload, encoding, shape === NEEDS_REPLACER);
    } catch {
      body = undefined;
    }
    let size: number | undefined;
    if (body !== undefined) {
      // Cheap bound first: a JSON string of n UTF-16 units has at most 3n UTF-8 bytes.
      const bound = typeof body === "string" ? body.length * 3 : body.length;
      if (bound <= maxBytes) return { body, sanitized: false, truncated: false };
      if (!measure && body.length <= maxBytes) return { body, sanitized: false, truncated: false, unmeasured: true };
      size = byteLength(body);
      if (size <= maxBytes) return { body, sanitized: false, truncated: false };
    }
    return encodeCopy(payload, encoding, maxBytes, size);
  } finally {
    // (clear() allocates a new table even when empty: only when there is something to drop)
    if (bigObjects.size > 0) bigObjects.clear();
    if (bigKeys.size > 0) bigKeys.clear();
  }
}

/**
 * The payload of an `unmeasured` body that turned out to be `size` UTF-8 bytes, over maxBytes:
 * what encodePayload() would have returned had it measured the body itself.
 */
export function encodeOversized(payload: unknown, encoding: Encoding, maxBytes: number, size: number): EncodedPayload {
  try {
    return encodeCopy(payload, encoding, maxBytes, size);
  } finally {
    if (bigKeys.size > 0) bigKeys.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// The bounded copy: what any encoder can carry, within a budget of values and characters.

interface Budget {
  /** Longest string kept, in UTF-16 units. */
  maxStringChars: number;
  /** Characters (a rough byte estimate) and values still allowed. */
  chars: number;
  nodes: number;
  /** Something was cut (strings, items, keys): the payload gets `_truncated`. */
  cut: boolean;
  /** Something was replaced by a marker ([Circular], [Function f], [Buffer n bytes]...). */
  odd: boolean;
}

const OMITTED = Symbol("omitted");
/** Key lists of big objects the copy listed itself: the next attempt of encodeCopy reuses them. */
const bigKeys = new Map<object, string[]>();

/**
 * A copy of `value` that JSON.stringify and MessagePack can always encode: cycles, BigInt,
 * functions, symbols, throwing getters, Buffers and excessive depth become visible markers, and
 * the copy stops growing when the budget is spent (long strings cut, further items and keys left
 * out).
 */
function toSafeValue(
  value: unknown,
  maxStringChars = Infinity,
  maxChars = Infinity,
  maxNodes = Infinity,
): { value: unknown; cut: boolean; odd: boolean } {
  const b: Budget = { maxStringChars, chars: maxChars, nodes: maxNodes, cut: false, odd: false };
  const v = copy(value, 0, b, new Set());
  return { value: v === OMITTED ? undefined : v, cut: b.cut, odd: b.odd };
}

function copy(v: unknown, depth: number, b: Budget, seen: Set<object>): unknown {
  if (--b.nodes < 0) {
    b.cut = true;
    return OMITTED;
  }
  switch (typeof v) {
    case "string": {
      const keep = Math.max(0, Math.min(v.length, b.maxStringChars, b.chars));
      b.chars -= keep + 2;
      if (keep === v.length) return v;
      b.cut = true;
      return `${v.slice(0, keep)}…[truncated ${v.length - keep} chars]`;
    }
    case "number":
      b.chars -= 8;
      return Number.isFinite(v) ? v : null;
    case "boolean":
    case "undefined":
      b.chars -= 5;
      return v;
    case "bigint":
      b.odd = true;
      return v.toString();
    case "symbol":
      b.odd = true;
      return `[Symbol ${v.description ?? ""}]`;
    case "function":
      b.odd = true;
      return `[Function ${v.name || "anonymous"}]`;
  }
  if (v === null) return null;
  const o = v as object;
  if (seen.has(o)) {
    b.odd = true;
    return "[Circular]";
  }
  if (depth >= MAX_DEPTH) {
    b.odd = true;
    return "[MaxDepth]";
  }
  seen.add(o);
  // Everything that can run hostile code (instanceof asks a Proxy's getPrototypeOf trap; a
  // revoked Proxy throws on any of them) stays inside the try, so only this value is marked.
  try {
    if (o instanceof Date) return Number.isNaN(o.getTime()) ? null : o.toISOString();
    if (ArrayBuffer.isView(o)) {
      b.odd = true;
      return `[${o.constructor.name} ${o.byteLength} bytes]`;
    }
    if (o instanceof ArrayBuffer || o instanceof SharedArrayBuffer) {
      b.odd = true;
      return `[${o.constructor.name} ${o.byteLength} bytes]`;
    }
    if (o instanceof String) return copy(o.valueOf(), depth, b, seen);
    if (o instanceof Number || o instanceof Boolean) return copy(o.valueOf(), depth, b, seen);
    if (Array.isArray(o)) return copyItems(o.length, (i) => o[i], depth, b, seen);
    if (o instanceof Map) return copyEntries(o.entries(), o.size, depth, b, seen);
    if (o instanceof Set) {
      const it = o.values();
      return copyItems(o.size, () => it.next().value, depth, b, seen);
    }
    if (bigObjects.has(o)) {
      b.cut = true;
      return `[Object with more than ${NODE_BUDGET} keys]`;
    }
    let keys = bigKeys.get(o);
    if (keys === undefined) {
      keys = Object.keys(o);
      if (keys.length > 64) bigKeys.set(o, keys); // the next attempt of encodeCopy needs it again
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      if (b.nodes <= 0 || b.chars <= 0) {
        b.cut = true;
        break;
      }
      b.chars -= k.length + 4;
      let x: unknown;
      try {
        x = (o as Record<string, unknown>)[k];
      } catch {
        b.odd = true;
        x = "[Unreadable]";
      }
      const w = copy(x, depth + 1, b, seen);
      if (w === undefined || w === OMITTED) continue;
      // `out["__proto__"] = w` would set the copy's prototype and lose the key: define it instead.
      if (k === "__proto__")
        Object.defineProperty(out, k, { value: w, enumerable: true, writable: true, configurable: true });
      else out[k] = w;
    }
    return out;
  } catch {
    b.odd = true;
    return "[Unreadable]";
  } finally {
    seen.delete(o);
  }
}

/** Items of an array or a Set, in order, until the budget is spent; then a marker item. */
function copyItems(n: number, at: (i: number) => unknown, depth: number, b: Budget, seen: Set<object>): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  for (; i < n && b.nodes > 0 && b.chars > 0; i++) {
    const w = copy(at(i), depth + 1, b, seen);
    out.push(w === undefined || w === OMITTED ? null : w);
  }
  if (i < n) {
    b.cut = true;
    out.push(`…[${n - i} more items]`);
  }
  return out;
}

/** A Map as an object (what hostValues makes of it), within the budget. */
function copyEntries(
  entries: Iterator<[unknown, unknown]>,
  n: number,
  depth: number,
  b: Budget,
  seen: Set<object>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let i = 0;
  for (; i < n && b.nodes > 0 && b.chars > 0; i++) {
    const [k, x] = entries.next().value as [unknown, unknown];
    let key: string;
    try {
      key = String(k);
    } catch {
      b.odd = true;
      key = "[Unreadable]";
    }
    if (key.length > b.maxStringChars) key = `${key.slice(0, b.maxStringChars)}…`;
    b.chars -= key.length + 4;
    const w = copy(x, depth + 1, b, seen);
    if (w === undefined || w === OMITTED) continue;
    Object.defineProperty(out, key, { value: w, enumerable: true, writable: true, configurable: true });
  }
  if (i < n) b.cut = true;
  return out;
}

/**
 * The bounded copy, encoded: long strings cut first; if the payload is still too large, only its
 * top-level numbers, booleans and short strings (the ids an auditor needs) and the marker
 * `_truncated: {limitBytes, originalBytes}` stay, where originalBytes (the encoded size) is left
 * out when it was not measured.
 */
function encodeCopy(payload: unknown, encoding: Encoding, maxBytes: number, size?: number): EncodedPayload {
  const marker = size === undefined ? { limitBytes: maxBytes } : { limitBytes: maxBytes, originalBytes: size };
  let odd = false;
  for (const chars of [Math.floor(maxBytes / 8), 256, 32]) {
    const c = toSafeValue(payload, chars, maxBytes - 128, NODE_BUDGET);
    odd ||= c.odd;
    const cut = c.cut || size !== undefined;
    const v = c.value;
    const isObject = v !== null && typeof v === "object" && !Array.isArray(v);
    const marked = !cut ? v : isObject ? { ...v, [TRUNCATED_KEY]: marker } : { value: v, [TRUNCATED_KEY]: marker };
    const body = encodeRaw(marked, encoding);
    if (byteLength(body) <= maxBytes) return { body, sanitized: odd, truncated: cut };
  }
  const scalars: Record<string, unknown> = {};
  const top = toSafeValue(payload, 64, maxBytes >>> 1, 256).value;
  if (top !== null && typeof top === "object" && !Array.isArray(top)) {
    for (const [k, v] of Object.entries(top)) if (typeof v !== "object" && k.length <= 64) scalars[k] = v;
  }
  const body = encodeRaw({ ...scalars, [TRUNCATED_KEY]: marker }, encoding);
  const fits = byteLength(body) <= maxBytes;
  return { body: fits ? body : encodeRaw({ [TRUNCATED_KEY]: marker }, encoding), sanitized: odd, truncated: true };
}
