// What the hooks read: the event and context objects OpenClaw hands a hook, and the payloads built
// from them, are bags of named fields whose values may be anything (they come from the host and
// from users).

export type Bag = Record<string, unknown>;

/** The value if it is a string, the empty string included (a field copied as the host gave it). */
export function ifString(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** The value if it is a non-empty string: an empty agent id or session key is no id, the next source is asked. */
export function ifNonEmptyString(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v : undefined;
}
