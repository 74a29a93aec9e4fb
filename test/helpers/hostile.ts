// Hostile hook events for tests: a seeded generator of values a hook handler must survive
// (cycles, BigInt, symbols, throwing getters and proxies, lone surrogates, 100k-deep nesting,
// multi-megabyte strings, huge objects and arrays, Buffers...), and the giant values themselves.
// Used by test/unit/hostile-input.test.ts and hostile-values.test.ts; the PRNG is seeded so a
// failure replays. EnvelopeCheck says what every record made from such an event must be.

import { expect } from "vitest";
import type { DecodedEvent } from "./fake-api.ts";
import { mulberry32 } from "./random.ts";

// ---------------------------------------------------------------------------------------------
// Expensive hostile values, built once and reused (iteratively: no recursion to build them).

function deepObject(depth: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let cur = root;
  for (let i = 0; i < depth; i++) {
    const next: Record<string, unknown> = {};
    cur.d = next;
    cur = next;
  }
  cur.bottom = true;
  return root;
}

function deepArray(depth: number): unknown[] {
  const root: unknown[] = [];
  let cur = root;
  for (let i = 0; i < depth; i++) {
    const next: unknown[] = [];
    cur.push(i, next);
    cur = next;
  }
  return root;
}

export const DEEP_OBJECT = deepObject(100_000);
export const DEEP_ARRAY = deepArray(100_000);
export const BIG_STRING = `${"x".repeat(3 * 1024 * 1024 - 7)}\ud83d\ude00end`; // ~3 MiB, ends in a surrogate pair
export const BIG_SURROGATES = "\ud800a\udfff".repeat(200_000); // lone surrogates, 600k units
export const BIG_MULTIBYTE = "é漢".repeat(600_000); // 2- and 3-byte UTF-8
export const LONG_ARRAY = Array.from({ length: 200_000 }, (_, i) => i);
export const MEDIUM_ARRAY = Array.from({ length: 2_000 }, (_, i) => (i % 3 === 0 ? NaN : i));
export const LONG_STRINGS = Array.from({ length: 2_000 }, (_, i) => `s${i}`.padEnd(500, "z"));
export const MANY_KEYS = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]));
export const BIG_BUFFER = Buffer.alloc(1 << 20, 7);

/**
 * What listing the keys of the 50,000-key giant costs here, once (the least of five tries). No
 * handler can do with less: V8 lists all keys of an object before the first one can be used
 * (Object.keys, for-in and JSON.stringify alike), ~0.2 us per key on this project's VM.
 */
export function keyListingMs(): number {
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    Object.keys(GIANTS["50,000-key object"] as object);
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** A flat copy (as text read from a file or a socket is), not the rope that repeat() builds. */
const flat = (s: string) => Buffer.from(s, "utf8").toString("utf8");

/**
 * The values an independent review found stalling the gateway's thread for 45-600 ms per hook
 * call, in fields that were not treated as host content: each must cost a bounded time anywhere.
 */
export const GIANTS: Record<string, unknown> = {
  "5 MB multibyte string": flat("é漢".repeat(1_000_000)),
  "5 MB ASCII string": flat("a".repeat(5 * 1024 * 1024)),
  "50,000-key object": Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`key${i}`, i])),
  "200 KB Buffer": Buffer.alloc(200 * 1024, 1),
  "200,000-slot sparse array": new Array(200_000),
  "300,000 small objects": Array.from({ length: 300_000 }, (_, i) => ({ i, ok: true })),
  "100,000-deep object": DEEP_OBJECT,
  "5 MB boxed string": new String(flat("b".repeat(5 * 1024 * 1024))),
  "50,000-entry Map": new Map(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, { i }])),
  "50,000-item Set": new Set(Array.from({ length: 50_000 }, (_, i) => `s${i}`)),
  "an Error with a 5 MB message and a 5 MB stderr": Object.assign(new Error(flat("m".repeat(5 * 1024 * 1024))), {
    stderr: flat("e".repeat(5 * 1024 * 1024)),
  }),
};

// Known field names of every hook's event and ctx, so hostile values reach what extract() reads.
export const EVENT_FIELDS = [
  "from",
  "timestamp",
  "messageId",
  "senderId",
  "threadId",
  "metadata",
  "content",
  "to",
  "replyToId",
  "success",
  "error",
  "toolName",
  "toolCallId",
  "runId",
  "params",
  "result",
  "durationMs",
  "prompt",
  "messages",
  "sessionId",
  "provider",
  "model",
  "systemPrompt",
  "historyMessages",
  "imagesCount",
  "tools",
  "assistantTexts",
  "usage",
  "messageCount",
  "compactingCount",
  "tokenCount",
  "compactedCount",
  "reason",
  "resumedFrom",
  "nextSessionId",
  "port",
  "callId",
  "api",
  "transport",
  "outcome",
  "errorCategory",
  "timeToFirstByteMs",
  "requestPayloadBytes",
  "responseStreamBytes",
  "childSessionKey",
  "agentId",
  "label",
  "mode",
  "resolvedModel",
  "targetSessionKey",
  "targetKind",
  "action",
  "jobId",
  "nextRunAtMs",
  "source",
  "after",
  "before",
  "targetType",
  "targetName",
  "origin",
  "sourcePathKind",
  "sessionKey",
];
export const CTX_FIELDS = [
  "agentId",
  "sessionKey",
  "sessionId",
  "requesterSessionKey",
  "conversationId",
  "childSessionKey",
  "channelId",
  "channel",
  "messageId",
  "senderId",
  "toolName",
  "toolCallId",
  "runId",
  "trigger",
  "modelProviderId",
  "modelId",
];

export class Fuzzer {
  readonly rnd: () => number;
  /** Containers built for the current event: cycles point back into them. */
  private pool: object[] = [];

  constructor(seed: number) {
    this.rnd = mulberry32(seed);
  }

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  reset(): void {
    this.pool = [];
  }

  string(): string {
    switch (this.int(12)) {
      case 0:
        return "";
      case 1:
        return "\ud800"; // lone high surrogate
      case 2:
        return `tail\udfff`; // lone low surrogate
      case 3:
        return '\u0000\u0001\n\r\t"\\\u2028\u2029\u007f';
      case 4:
        return (
          "agent:" +
          this.pick(["main", "", "a.b*c>", "\ud83d", " ", "x".repeat(300)]) +
          ":" +
          this.pick(["s", "\udc00"])
        );
      case 5:
        return "😀".repeat(1 + this.int(300)); // surrogate pairs; cutting them in half makes lone ones
      case 6:
        return BIG_STRING.slice(0, 1 + this.int(40_000));
      case 7:
        return (this.chance(0.5) ? BIG_SURROGATES : BIG_MULTIBYTE).slice(0, this.int(30_000));
      case 8:
        return "é".repeat(this.int(20_000));
      case 9:
        return "__proto__";
      default: {
        let s = "";
        const n = this.int(40);
        for (let i = 0; i < n; i++) s += String.fromCharCode(this.int(0x10000)); // any UTF-16 unit, surrogates included
        return s;
      }
    }
  }

  key(): string | symbol {
    switch (this.int(8)) {
      case 0:
        return Symbol(this.pick(["k", "", "\ud800"]));
      case 1:
        return "__proto__";
      case 2:
        return this.pick(["constructor", "toJSON", "toString", "valueOf", "length", "then"]);
      case 3:
        return "\udc00key\ud800";
      case 4:
        return this.pick(["", "0", "-1", "4294967295", "1e21"]);
      default:
        return this.pick(EVENT_FIELDS.concat(CTX_FIELDS, ["x", "y", "z"]));
    }
  }

  primitive(): unknown {
    switch (this.int(14)) {
      case 0:
        return NaN;
      case 1:
        return this.pick([Infinity, -Infinity, -0, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 1]);
      case 2:
        return BigInt(this.int(1000)) ** 20n * (this.chance(0.5) ? -1n : 1n);
      case 3:
        return Symbol(this.pick(["s", "", "\ud800"]));
      case 4:
        return undefined;
      case 5:
        return null;
      case 6:
        return this.chance(0.5);
      case 7:
        return this.int(1e9) - 5e8;
      case 8:
        return this.pick([function named() {}, () => 1, async () => 2, class K {}, function* gen() {}, Math.max]);
      case 9:
        return this.chance(0.5) ? new Date(this.int(2 ** 40)) : new Date(NaN);
      default:
        return this.string();
    }
  }

  /** A hostile value; `depth` bounds the random recursion (deep values come from the prebuilt ones). */
  value(depth = 0): unknown {
    if (depth > 4 || this.chance(0.35)) return this.primitive();
    switch (this.int(26)) {
      case 0:
      case 1:
        return this.pool.length > 0 ? this.pick(this.pool) : this.object(depth); // a cycle (or a shared reference)
      case 2:
        // 100k-deep values cost ~10 ms each to refuse: keep them to about 1 event in 100
        return this.chance(0.1) ? this.pick([DEEP_OBJECT, DEEP_ARRAY]) : this.object(depth);
      case 3:
        return MEDIUM_ARRAY;
      case 4:
        return this.pick([
          Buffer.from("buf\u0000"),
          new Uint8Array(this.int(64)),
          new Float64Array([NaN, Infinity, -0]),
          new BigInt64Array([1n, -1n]),
          new DataView(new ArrayBuffer(8)),
          new ArrayBuffer(16),
          new SharedArrayBuffer(8),
        ]);
      case 5: {
        const m = new Map<unknown, unknown>();
        this.pool.push(m);
        for (let i = this.int(5); i > 0; i--)
          m.set(this.chance(0.5) ? this.key() : this.value(depth + 1), this.value(depth + 1));
        m.set(
          {
            toString: () => {
              throw new Error("hostile key");
            },
          },
          1,
        );
        return m;
      }
      case 6: {
        const s = new Set<unknown>();
        this.pool.push(s);
        for (let i = this.int(5); i > 0; i--) s.add(this.value(depth + 1));
        return s;
      }
      case 7:
        return this.throwingGetter(depth);
      case 8: {
        const o = Object.create(null) as Record<string | symbol, unknown>;
        this.pool.push(o);
        for (let i = this.int(5); i > 0; i--) o[this.key()] = this.value(depth + 1);
        return o;
      }
      case 9:
        return this.proxy(depth);
      case 10: {
        const r = Proxy.revocable({ a: 1 }, {});
        r.revoke();
        return r.proxy;
      }
      case 11: {
        const e = new Error(this.string());
        this.pool.push(e);
        if (this.chance(0.5))
          Object.defineProperty(e, "message", {
            get: () => {
              throw new Error("message getter");
            },
          });
        (e as { cause?: unknown }).cause = this.value(depth + 1);
        return e;
      }
      case 12:
        return this.pick([
          {
            toJSON: () => {
              throw new Error("toJSON throws");
            },
          },
          { toJSON: () => 10n },
          { toJSON: () => undefined },
          {
            toJSON() {
              return this;
            },
          },
          { toJSON: () => DEEP_OBJECT },
        ]);
      case 13:
        return this.pick([
          new String("boxed"),
          new Number(NaN),
          Object(1n),
          Object(Symbol("boxed")),
          /re(g)ex/gi,
          new WeakMap(),
          Promise.resolve(1),
        ]);
      case 14: {
        // a getter that works once, then throws (the handler may read a field twice)
        let reads = 0;
        const o: Record<string, unknown> = {};
        Object.defineProperty(o, "flaky", {
          enumerable: true,
          get: () =>
            reads++ === 0
              ? 1
              : (() => {
                  throw new Error("second read");
                })(),
        });
        return o;
      }
      case 15: {
        const a: unknown[] = [];
        this.pool.push(a);
        a.length = this.int(8);
        for (let i = 0; i < a.length; i++) if (this.chance(0.7)) a[i] = this.value(depth + 1);
        if (this.chance(0.2)) (a as unknown as Record<string, unknown>).extra = this.value(depth + 1);
        return a;
      }
      default:
        return this.object(depth);
    }
  }

  object(depth: number): Record<string | symbol, unknown> {
    const o: Record<string | symbol, unknown> = {};
    this.pool.push(o);
    for (let i = this.int(6); i > 0; i--) {
      const k = this.key();
      if (k === "__proto__")
        Object.defineProperty(o, k, {
          value: this.value(depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else o[k] = this.value(depth + 1);
    }
    return o;
  }

  throwingGetter(depth: number): object {
    const o: Record<string, unknown> = { before: this.value(depth + 1) };
    this.pool.push(o);
    Object.defineProperty(o, this.pick(["boom", "content", "params", "toJSON"]), {
      enumerable: true,
      get: () => {
        throw this.pick([new Error("getter"), "a string", undefined, 42n]);
      },
    });
    return o;
  }

  proxy(depth: number): object {
    const target: Record<string, unknown> = this.chance(0.5) ? this.object(depth + 1) : { a: 1 };
    const thrower = () => {
      throw new Error("trap");
    };
    const traps: ProxyHandler<object>[] = [
      { get: thrower },
      { ownKeys: thrower },
      { getOwnPropertyDescriptor: thrower },
      { getPrototypeOf: thrower },
      { has: thrower },
      { ownKeys: () => ["a", "a"] as string[] }, // invalid trap result: throws TypeError
      { get: (_t, k) => (k === "toJSON" ? undefined : new Proxy({}, { get: thrower })) },
    ];
    return new Proxy(target, this.pick(traps));
  }

  /**
   * A multi-megabyte value. Each costs the host thread 50 ms to over a second to encode (V8's
   * JSON.stringify is slow to give up on a cycle after a long string), so only a few events get one.
   */
  giant(): unknown {
    return this.pick<unknown>([
      BIG_STRING,
      BIG_SURROGATES,
      BIG_MULTIBYTE,
      LONG_ARRAY,
      LONG_STRINGS,
      MANY_KEYS,
      BIG_BUFFER,
      ...Object.values(GIANTS),
    ]);
  }

  /** A hook event or context: usually an object with known fields, sometimes not an object at all. */
  bag(fields: string[]): unknown {
    if (this.chance(0.08)) {
      return this.pick<unknown>([
        null,
        undefined,
        0,
        NaN,
        "event",
        Symbol("ev"),
        10n,
        () => 1,
        true,
        this.proxy(0),
        DEEP_OBJECT,
        [],
      ]);
    }
    const o: Record<string | symbol, unknown> = {};
    this.pool.push(o);
    for (const f of fields) {
      if (!this.chance(0.4)) continue;
      // identity fields mostly get strings, so identity code sees hostile strings, not only junk
      o[f] = this.chance(0.5) ? this.string() : this.value(0);
    }
    if (this.chance(0.1)) o[Symbol("sym")] = this.value(0);
    if (this.chance(0.003)) o[this.pick(fields)] = this.giant();
    if (this.chance(0.05))
      Object.defineProperty(o, this.pick(fields), {
        enumerable: true,
        get: () => {
          throw new Error("field getter");
        },
      });
    if (this.chance(0.05))
      return new Proxy(o, {
        get: (t, k) =>
          this.chance(0.5)
            ? (() => {
                throw new Error("random trap");
              })()
            : Reflect.get(t, k),
      });
    return o;
  }
}

// ---------------------------------------------------------------------------------------------
// What every record made from a hostile event must be.

/**
 * Checks that each event is a valid envelope within the size bounds, and counts the visible
 * markers of what was cut or replaced (so a fuzz run can show that it reached those paths).
 */
export class EnvelopeCheck {
  readonly markers = {
    circular: 0,
    truncatedKey: 0,
    truncatedChars: 0,
    unreadable: 0,
    maxDepth: 0,
    symbol: 0,
    fn: 0,
    bytes: 0,
  };
  checked = 0;
  private readonly maxPayloadBytes: number;
  private readonly maxEnvelopeBytes: number;

  /** `envelopeOverhead`: the most bytes id, ts, type, agent and session may add around the payload. */
  constructor(maxPayloadBytes: number, envelopeOverhead: number) {
    this.maxPayloadBytes = maxPayloadBytes;
    this.maxEnvelopeBytes = maxPayloadBytes + envelopeOverhead;
  }

  check(evs: DecodedEvent[]): void {
    const m = this.markers;
    for (const { env, subject } of evs) {
      expect(Object.keys(env)).toEqual(["id", "ts", "agent", "session", "type", "payload"]);
      expect(env.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(typeof env.agent).toBe("string");
      expect(typeof env.session).toBe("string");
      expect(subject).toMatch(/^t\.[^\s.*>]+\.[a-z_]+$/);
      const payloadText = JSON.stringify(env.payload) ?? "";
      expect(Buffer.byteLength(payloadText)).toBeLessThanOrEqual(this.maxPayloadBytes);
      expect(Buffer.byteLength(JSON.stringify(env))).toBeLessThanOrEqual(this.maxEnvelopeBytes);
      if (env.payload !== null && typeof env.payload === "object" && "_truncated" in env.payload) m.truncatedKey++;
      if (payloadText.includes("[Circular]")) m.circular++;
      if (/…\[truncated \d+ chars\]/.test(payloadText)) m.truncatedChars++;
      if (payloadText.includes("[Unreadable]")) m.unreadable++;
      if (payloadText.includes("[MaxDepth]")) m.maxDepth++;
      if (payloadText.includes("[Symbol ")) m.symbol++;
      if (payloadText.includes("[Function ")) m.fn++;
      if (/\[\w+ \d+ bytes\]/.test(payloadText)) m.bytes++;
    }
    this.checked += evs.length;
  }
}
