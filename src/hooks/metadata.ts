// Privacy "metadata": nothing the user, the model or a tool wrote is published, only names, kinds,
// lengths, counts and ids. Content fields become summaries here (textSummary, shapeSummary,
// errorSummary); every payload then passes metadataOnly, which keeps short single-token strings
// (ids, names, enums), numbers and booleans, and reduces any other value to its length or kind.
// Each step is O(1) per field: no key of a host object is ever listed (a 50,000-key object would
// cost ~10 ms) and no long string is read.

import type { Bag } from "./fields.ts";

/** A string kept as is: an id, a name or an enum value has no whitespace and is short. */
const MAX_TOKEN_CHARS = 256;
const TOKEN = /^[^\s\u0000-\u001f\u007f]+$/;
/** Error codes such as ENOENT, ETIMEDOUT or ERR_INVALID_ARG_TYPE are kinds, not text. */
const ERROR_CODE = /^[A-Z][A-Z0-9_]{1,47}$/;
const BUILTIN_ERRORS = new Set([
  "Error",
  "TypeError",
  "RangeError",
  "SyntaxError",
  "ReferenceError",
  "EvalError",
  "URIError",
  "AggregateError",
]);

/** Objects the summaries built (their fields are names, kinds and numbers): metadataOnly keeps them. */
const built = new WeakSet<object>();

export function summary<T extends object>(fields: T): T {
  built.add(fields);
  return fields;
}

function isToken(v: string): boolean {
  return v.length === 0 || (v.length <= MAX_TOKEN_CHARS && TOKEN.test(v));
}

/** What a value is, in one word; never reads more than its type. */
function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (typeof v !== "object") return typeof v;
  if (Array.isArray(v)) return "array";
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return "bytes";
  if (v instanceof Error) return "error";
  if (v instanceof Map) return "map";
  if (v instanceof Set) return "set";
  return "object";
}

/** Text (a message, a prompt): its length; a list of parts: their count; anything else: its kind. */
export function textSummary(out: Bag, key: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v === "string") out[`${key}Length`] = v.length;
  else if (Array.isArray(v)) out[`${key}Count`] = v.length;
  else out[`${key}Kind`] = kindOf(v);
}

/**
 * Structured data (tool params, a tool result): its kind, length or count, and which of the
 * `knownKeys` (fields the host defines, e.g. a tool result's content and details) it has.
 */
export function shapeSummary(out: Bag, key: string, v: unknown, knownKeys: readonly string[] = []): void {
  if (v === undefined) return;
  out[`${key}Kind`] = kindOf(v);
  if (typeof v === "string" || Array.isArray(v)) out[`${key}${typeof v === "string" ? "Length" : "Count"}`] = v.length;
  else if (v !== null && typeof v === "object" && knownKeys.length > 0) {
    const present = knownKeys.filter((k) => Object.hasOwn(v, k));
    if (present.length > 0) out[`${key}Keys`] = summary(present);
    const content = (v as Bag).content;
    if (Array.isArray(content)) out[`${key}ContentCount`] = content.length;
  }
}

/** An error (text or object): errorKind, errorLength (of its message) and errorCode (ENOENT...). */
export function errorSummary(out: Bag, v: unknown): void {
  if (v === undefined || v === null) return;
  if (typeof v === "string") {
    out.errorKind = "string";
    out.errorLength = v.length;
    return;
  }
  try {
    if (v instanceof Error) {
      const name = v.constructor?.name;
      out.errorKind = typeof name === "string" && BUILTIN_ERRORS.has(name) ? name : "error";
      if (typeof v.message === "string") out.errorLength = v.message.length;
    } else out.errorKind = kindOf(v);
    const code = typeof v === "object" ? (v as { code?: unknown }).code : undefined;
    if (typeof code === "string" ? ERROR_CODE.test(code) : typeof code === "number" && Number.isFinite(code)) {
      out.errorCode = code;
    }
  } catch {
    out.errorKind = "unreadable";
  }
}

/** Only the known numeric fields of an object (token usage): no other key or value leaves. */
export function numbers(v: unknown, fields: readonly string[]): Bag | undefined {
  if (v === null || typeof v !== "object") return undefined;
  const out: Bag = {};
  for (const k of fields) {
    const x = (v as Bag)[k];
    if (typeof x === "number" && Number.isFinite(x)) out[k] = x;
  }
  return summary(out);
}

/**
 * The final filter of every payload in metadata mode: numbers, booleans and null stay; a string
 * stays if it is a short single token, else only `<key>Length`; a summary this module built is
 * filtered the same way; any other value becomes `<key>Kind`.
 */
export function metadataOnly(payload: Bag): Bag {
  const out: Bag = {};
  for (const k of Object.keys(payload)) {
    const v = payload[k];
    switch (typeof v) {
      case "undefined":
        break;
      case "number":
      case "boolean":
        out[k] = v;
        break;
      case "string":
        if (isToken(v)) out[k] = v;
        else out[`${k}Length`] = v.length;
        break;
      case "object":
        if (v === null) out[k] = null;
        else if (!built.has(v)) out[`${k}Kind`] = kindOf(v);
        else if (Array.isArray(v)) out[k] = v.filter((x) => typeof x === "string" && isToken(x));
        else out[k] = metadataOnly(v as Bag);
        break;
      default:
        out[`${k}Kind`] = typeof v;
    }
  }
  return out;
}
