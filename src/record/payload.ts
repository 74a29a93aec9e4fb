// Turns a hook's payload object into the bytes that travel in the ring: JSON text (the default)
// or MessagePack. Runs on the host thread, so the common case is one JSON.stringify; the slow
// paths (unserialisable values, oversize payloads) only run when they are needed.
import { Packr } from "msgpackr";

export type PayloadEncoding = "json" | "msgpack";

export interface EncodedPayload {
  /** JSON text (json) or MessagePack bytes (msgpack). */
  body: string | Uint8Array;
  sanitized: boolean;
  truncated: boolean;
}

const TRUNCATED_KEY = "_truncated";
const MAX_DEPTH = 32;

// Standard MessagePack (no msgpackr records or extensions for undefined) so any MessagePack
// reader can decode the payload; undefined properties are left out, as JSON does.
// (skipValues is a msgpackr option its type declarations do not list yet.)
const packr = new Packr({ useRecords: false, moreTypes: false, encodeUndefinedAsNil: true, skipValues: [undefined] } as ConstructorParameters<typeof Packr>[0]);

/**
 * A copy of `value` that JSON.stringify and MessagePack can always encode: cycles, BigInt,
 * functions, symbols, throwing getters and excessive depth become visible markers.
 */
export function toSafeValue(value: unknown, maxStringChars = Infinity): unknown {
  const seen = new Set<object>();
  const walk = (v: unknown, depth: number): unknown => {
    switch (typeof v) {
      case "string":
        return v.length > maxStringChars ? `${v.slice(0, maxStringChars)}…[truncated ${v.length - maxStringChars} chars]` : v;
      case "number":
        return Number.isFinite(v) ? v : String(v);
      case "boolean":
        return v;
      case "bigint":
        return v.toString();
      case "undefined":
        return undefined;
      case "symbol":
        return `[Symbol ${v.description ?? ""}]`;
      case "function":
        return `[Function ${v.name || "anonymous"}]`;
    }
    if (v === null) return null;
    const o = v as object;
    if (seen.has(o)) return "[Circular]";
    if (depth >= MAX_DEPTH) return "[MaxDepth]";
    seen.add(o);
    // Everything that can run hostile code (instanceof asks a Proxy's getPrototypeOf trap; a
    // revoked Proxy throws on any of them) stays inside the try, so only this value is marked.
    try {
      if (o instanceof Date) return Number.isNaN(o.getTime()) ? null : o.toISOString();
      if (ArrayBuffer.isView(o)) return `[${o.constructor.name} ${o.byteLength} bytes]`;
      if (Array.isArray(o)) return o.map((x) => walk(x, depth + 1) ?? null);
      if (o instanceof Map) return walk(Object.fromEntries(o), depth + 1);
      if (o instanceof Set) return walk([...o], depth + 1);
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(o)) {
        let x: unknown;
        try {
          x = (o as Record<string, unknown>)[k];
        } catch {
          x = "[Unreadable]";
        }
        const w = walk(x, depth + 1);
        if (w === undefined) continue;
        // `out["__proto__"] = w` would set the copy's prototype and lose the key: define it instead.
        if (k === "__proto__") Object.defineProperty(out, k, { value: w, enumerable: true, writable: true, configurable: true });
        else out[k] = w;
      }
      return out;
    } catch {
      return "[Unreadable]";
    } finally {
      seen.delete(o);
    }
  };
  return walk(value, 0);
}

/**
 * For payloads that carry objects handed over by the host (tool params and results, message
 * metadata): values plain JSON would drop or empty without a trace become visible. Costs about
 * 0.3 us per typical payload, so it is used only where such objects can appear.
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

function encodeRaw(value: unknown, encoding: PayloadEncoding, hostObjects = false): string | Uint8Array {
  if (encoding === "json") return (hostObjects ? JSON.stringify(value, hostValues) : JSON.stringify(value)) ?? "null";
  return packr.pack(value);
}

function byteLength(body: string | Uint8Array): number {
  return typeof body === "string" ? Buffer.byteLength(body) : body.length;
}

const WALK_NODES = 4096;
const PLAIN = 0;
const NEEDS_REPLACER = 1;
const OVERSIZED = 2;

/**
 * One bounded walk over a payload from the host. OVERSIZED when it is certainly too big (its
 * strings alone pass `maxBytes`) or too big or odd to look at cheaply (over WALK_NODES values, a
 * cycle, a property that throws): such payloads skip the plain encoder, whose time grows with
 * their size, and are cut first, so a multi-megabyte tool result costs the host a bounded walk
 * instead of a full JSON encoding. NEEDS_REPLACER when it holds values plain JSON would empty or
 * drop (Map, Set, BigInt, functions, symbols); PLAIN otherwise, and then the encoder runs without
 * a replacer, which halves its cost.
 */
function inspect(value: unknown, maxBytes: number): number {
  const stack: unknown[] = [value];
  let chars = 0;
  let nodes = 0;
  let result = PLAIN;
  try {
    while (stack.length > 0) {
      const v = stack.pop();
      switch (typeof v) {
        case "string":
          if ((chars += v.length) > maxBytes) return OVERSIZED;
          break;
        case "object":
          if (v === null) break;
          if (++nodes > WALK_NODES) return OVERSIZED;
          if (Array.isArray(v)) {
            if (v.length > WALK_NODES) return OVERSIZED;
            for (let i = 0; i < v.length; i++) stack.push(v[i]);
          } else if (v instanceof Map || v instanceof Set) {
            result = NEEDS_REPLACER;
          } else {
            for (const k in v) {
              chars += k.length;
              stack.push((v as Record<string, unknown>)[k]);
            }
          }
          break;
        case "bigint":
        case "function":
        case "symbol":
          result = NEEDS_REPLACER;
          break;
      }
    }
  } catch {
    return OVERSIZED;
  }
  return chars > maxBytes ? OVERSIZED : result;
}

/**
 * Encodes a payload within `maxBytes`; `hostObjects` when it may hold objects or text from the
 * host of any size and shape (see inspect and hostValues). Throws only if even the safe fallback
 * cannot be encoded.
 */
export function encodePayload(payload: unknown, encoding: PayloadEncoding, maxBytes: number, hostObjects = false): EncodedPayload {
  let replacer = false;
  if (hostObjects) {
    const shape = inspect(payload, maxBytes);
    if (shape === OVERSIZED) return { body: truncate(payload, encoding, maxBytes, undefined), sanitized: false, truncated: true };
    replacer = shape === NEEDS_REPLACER;
  }
  let sanitized = false;
  let body: string | Uint8Array;
  try {
    body = encodeRaw(payload, encoding, replacer);
  } catch {
    sanitized = true;
    body = encodeRaw(toSafeValue(payload), encoding);
  }
  // Cheap bound first: a JSON string of n UTF-16 units has at most 3n UTF-8 bytes.
  const bound = typeof body === "string" ? body.length * 3 : body.length;
  if (bound <= maxBytes) return { body, sanitized, truncated: false };
  const size = byteLength(body);
  if (size <= maxBytes) return { body, sanitized, truncated: false };
  return { body: truncate(payload, encoding, maxBytes, size), sanitized, truncated: true };
}

/**
 * Cuts long strings first; if the payload is still too large, keeps its top-level numbers,
 * booleans and short strings (the ids an auditor needs) and a marker: `_truncated: {limitBytes,
 * originalBytes}`, where originalBytes (the encoded size) is left out when it was not measured.
 */
function truncate(payload: unknown, encoding: PayloadEncoding, maxBytes: number, size: number | undefined): string | Uint8Array {
  const marker = size === undefined ? { limitBytes: maxBytes } : { limitBytes: maxBytes, originalBytes: size };
  for (const chars of [Math.floor(maxBytes / 8), 256, 32]) {
    const cut = toSafeValue(payload, chars);
    const marked =
      cut !== null && typeof cut === "object" && !Array.isArray(cut)
        ? { ...(cut as Record<string, unknown>), [TRUNCATED_KEY]: marker }
        : { value: cut, [TRUNCATED_KEY]: marker };
    const body = encodeRaw(marked, encoding);
    if (byteLength(body) <= maxBytes) return body;
  }
  const scalars: Record<string, unknown> = {};
  const top = toSafeValue(payload, 64);
  if (top !== null && typeof top === "object" && !Array.isArray(top)) {
    for (const [k, v] of Object.entries(top)) if (typeof v !== "object" && k.length <= 64) scalars[k] = v;
  }
  const body = encodeRaw({ ...scalars, [TRUNCATED_KEY]: marker }, encoding);
  return byteLength(body) <= maxBytes ? body : encodeRaw({ [TRUNCATED_KEY]: marker }, encoding);
}
