// Fuzz: thousands of hostile hook events through the real plugin handlers (register() on a fake
// API, then api.fire). A hook handler runs on the gateway's event loop, so whatever it is given it
// must return undefined synchronously, count the outcome, and leave a record that the worker can
// turn into a valid envelope. The PRNG is seeded: a failure prints its seed and replays with
// FUZZ_SEED=<seed>.
import { afterEach, describe, expect, it } from "vitest";
import plugin, { collectStatus } from "../../src/index.ts";
import { HOOK_NAMES } from "../../src/hooks/table.ts";
import { pluginState } from "../../src/plugin-state.ts";
import { CTL_RELEASE, CTL_WRITE } from "../../src/ring/layout.ts";
import type { EventPipeline } from "../../src/pipeline.ts";
import type { Counters } from "../../src/status.ts";
import { fakeApi, resetPluginState, ringEvents, type DecodedEvent, type FakeApi } from "../helpers/fake-api.ts";

const MAX_PAYLOAD = 16_384;
const RING = 1 << 24; // 16 MiB, drained as we go
/** Envelope bytes around the payload: id, ts, type, and agent/session at worst 6 bytes per kept UTF-16 unit (\u00XX). */
const ENVELOPE_OVERHEAD = 256 + 6 * 256 + 6 * 1024;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

const DEEP_OBJECT = deepObject(100_000);
const DEEP_ARRAY = deepArray(100_000);
const BIG_STRING = "x".repeat(3 * 1024 * 1024 - 7) + "\ud83d\ude00end"; // ~3 MiB, ends in a surrogate pair
const BIG_SURROGATES = "\ud800a\udfff".repeat(200_000); // lone surrogates, 600k units
const BIG_MULTIBYTE = "é漢".repeat(600_000); // 2- and 3-byte UTF-8
const LONG_ARRAY = Array.from({ length: 200_000 }, (_, i) => i);
const MEDIUM_ARRAY = Array.from({ length: 2_000 }, (_, i) => (i % 3 === 0 ? NaN : i));
const LONG_STRINGS = Array.from({ length: 2_000 }, (_, i) => `s${i}`.padEnd(500, "z"));
const MANY_KEYS = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]));
const BIG_BUFFER = Buffer.alloc(1 << 20, 7);

// Known field names of every hook's event and ctx, so hostile values reach what extract() reads.
const EVENT_FIELDS = [
  "from", "timestamp", "messageId", "senderId", "threadId", "metadata", "content", "to", "replyToId", "success", "error",
  "toolName", "toolCallId", "runId", "params", "result", "durationMs", "prompt", "messages", "sessionId", "provider", "model",
  "systemPrompt", "historyMessages", "imagesCount", "tools", "assistantTexts", "usage", "messageCount", "compactingCount",
  "tokenCount", "compactedCount", "reason", "resumedFrom", "nextSessionId", "port", "callId", "api", "transport", "outcome",
  "errorCategory", "timeToFirstByteMs", "requestPayloadBytes", "responseStreamBytes", "childSessionKey", "agentId", "label",
  "mode", "resolvedModel", "targetSessionKey", "targetKind", "action", "jobId", "nextRunAtMs", "source", "after", "before",
  "targetType", "targetName", "origin", "sourcePathKind", "sessionKey",
];
const CTX_FIELDS = [
  "agentId", "sessionKey", "sessionId", "requesterSessionKey", "conversationId", "childSessionKey", "channelId", "channel",
  "messageId", "senderId", "toolName", "toolCallId", "runId", "trigger", "modelProviderId", "modelId",
];

class Fuzzer {
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
        return "\u0000\u0001\n\r\t\"\\\u2028\u2029\u007f";
      case 4:
        return "agent:" + this.pick(["main", "", "a.b*c>", "\ud83d", " ", "x".repeat(300)]) + ":" + this.pick(["s", "\udc00"]);
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
        for (let i = this.int(5); i > 0; i--) m.set(this.chance(0.5) ? this.key() : this.value(depth + 1), this.value(depth + 1));
        m.set({ toString: () => { throw new Error("hostile key"); } }, 1);
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
        if (this.chance(0.5)) Object.defineProperty(e, "message", { get: () => { throw new Error("message getter"); } });
        (e as { cause?: unknown }).cause = this.value(depth + 1);
        return e;
      }
      case 12:
        return this.pick([
          { toJSON: () => { throw new Error("toJSON throws"); } },
          { toJSON: () => 10n },
          { toJSON: () => undefined },
          { toJSON() { return this; } },
          { toJSON: () => DEEP_OBJECT },
        ]);
      case 13:
        return this.pick([new String("boxed"), new Number(NaN), Object(1n), Object(Symbol("boxed")), /re(g)ex/gi, new WeakMap(), Promise.resolve(1)]);
      case 14: {
        // a getter that works once, then throws (the handler may read a field twice)
        let reads = 0;
        const o: Record<string, unknown> = {};
        Object.defineProperty(o, "flaky", { enumerable: true, get: () => (reads++ === 0 ? 1 : (() => { throw new Error("second read"); })()) });
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
      if (k === "__proto__") Object.defineProperty(o, k, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true });
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
    return this.pick<unknown>([BIG_STRING, BIG_SURROGATES, BIG_MULTIBYTE, LONG_ARRAY, LONG_STRINGS, MANY_KEYS, BIG_BUFFER]);
  }

  /** A hook event or context: usually an object with known fields, sometimes not an object at all. */
  bag(fields: string[]): unknown {
    if (this.chance(0.08)) {
      return this.pick<unknown>([null, undefined, 0, NaN, "event", Symbol("ev"), 10n, () => 1, true, this.proxy(0), DEEP_OBJECT, []]);
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
    if (this.chance(0.05)) Object.defineProperty(o, this.pick(fields), { enumerable: true, get: () => { throw new Error("field getter"); } });
    if (this.chance(0.05)) return new Proxy(o, { get: (t, k) => (this.chance(0.5) ? (() => { throw new Error("random trap"); })() : Reflect.get(t, k)) });
    return o;
  }
}

// ---------------------------------------------------------------------------------------------

function setup(config: Record<string, unknown> = {}): FakeApi {
  resetPluginState();
  const api = fakeApi({ ringBytes: RING, maxPayloadBytes: MAX_PAYLOAD, subjectPrefix: "t", ...config }, true);
  plugin.register(api);
  return api;
}

/** Reads every record in the ring as an envelope, then frees the ring (no worker runs in these tests). */
function drain(p: EventPipeline): DecodedEvent[] {
  const evs = ringEvents(p);
  Atomics.store(p.views.ctl, CTL_RELEASE, Atomics.load(p.views.ctl, CTL_WRITE));
  return evs;
}

async function counters(): Promise<Counters> {
  const s = await collectStatus();
  if (!("counters" in s)) throw new Error(`no status: ${JSON.stringify(s)}`);
  return s.counters;
}

afterEach(async () => {
  await pluginState().pipeline?.stop();
  resetPluginState();
});

describe("hostile hook events (fuzz)", () => {
  it("10,000+ random hostile events: nothing escapes, every outcome is counted, every record is a valid bounded envelope", async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 0x5eed1234);
    const N = Number(process.env.FUZZ_EVENTS ?? 10_000);
    console.log(`hostile-input fuzz: seed ${seed} (replay with FUZZ_SEED=${seed}), ${N} events`);
    const f = new Fuzzer(seed);
    const api = setup();
    const hooks = [...api.hooks.keys()];
    expect(hooks.sort()).toEqual([...HOOK_NAMES].sort());

    const escaped: string[] = [];
    const fired = new Map<string, number>();
    let calls = 0;
    let p: EventPipeline | undefined;
    const markers = { circular: 0, truncatedKey: 0, truncatedChars: 0, unreadable: 0, maxDepth: 0, symbol: 0, fn: 0, bytes: 0 };
    const check = (evs: DecodedEvent[]) => {
      for (const e of evs) {
        const { env } = e;
        expect(Object.keys(env)).toEqual(["id", "ts", "agent", "session", "type", "payload"]);
        expect(env.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(typeof env.agent).toBe("string");
        expect(typeof env.session).toBe("string");
        expect(e.subject).toMatch(/^t\.[^\s.*>]+\.[a-z_]+$/);
        const payloadText = JSON.stringify(env.payload) ?? "";
        expect(Buffer.byteLength(payloadText)).toBeLessThanOrEqual(MAX_PAYLOAD);
        expect(Buffer.byteLength(JSON.stringify(env))).toBeLessThanOrEqual(MAX_PAYLOAD + ENVELOPE_OVERHEAD);
        if (env.payload !== null && typeof env.payload === "object" && "_truncated" in env.payload) markers.truncatedKey++;
        if (payloadText.includes("[Circular]")) markers.circular++;
        if (/…\[truncated \d+ chars\]/.test(payloadText)) markers.truncatedChars++;
        if (payloadText.includes("[Unreadable]")) markers.unreadable++;
        if (payloadText.includes("[MaxDepth]")) markers.maxDepth++;
        if (payloadText.includes("[Symbol ")) markers.symbol++;
        if (payloadText.includes("[Function ")) markers.fn++;
        if (/\[\w+ \d+ bytes\]/.test(payloadText)) markers.bytes++;
      }
    };
    let decoded = 0;
    let slowest = { ms: 0, i: -1, hook: "" }; // reported, not asserted (shared CPU)

    for (let i = 0; i < N; i++) {
      f.reset();
      const hook = f.pick(hooks);
      const event = f.bag(EVENT_FIELDS);
      const ctx = f.bag(CTX_FIELDS);
      fired.set(hook, (fired.get(hook) ?? 0) + 1);
      calls++;
      const t0 = performance.now();
      try {
        const r = api.fire(hook, event, ctx);
        if (r !== undefined) escaped.push(`#${i} ${hook}: returned ${typeof r}`);
      } catch (e) {
        escaped.push(`#${i} ${hook}: threw ${e instanceof Error ? e.message : String(e)}`);
      }
      const ms = performance.now() - t0;
      if (ms > slowest.ms) slowest = { ms, i, hook };
      p ??= pluginState().pipeline;
      if (p && (i % 64 === 63 || (Atomics.load(p.views.ctl, CTL_WRITE) - Atomics.load(p.views.ctl, CTL_RELEASE)) >>> 0 > RING / 4)) {
        const evs = drain(p);
        decoded += evs.length;
        check(evs);
      }
    }
    expect(p).toBeDefined();
    const last = drain(p!);
    decoded += last.length;
    check(last);

    expect(escaped, `seed ${seed}`).toEqual([]);
    const c = await counters();
    console.log(`hostile-input fuzz: ${calls} calls, counters ${JSON.stringify(c)}, markers ${JSON.stringify(markers)}, slowest call #${slowest.i} ${slowest.hook} ${slowest.ms.toFixed(0)} ms`);
    // Every outcome is counted.
    expect(c.captured).toBe(c.acked + c.dropped.total + c.pending);
    expect(c.acked).toBe(0); // no worker in this test: everything written is still pending
    expect(c.written).toBe(decoded); // every record written decoded into an envelope
    expect(c.pending).toBe(decoded);
    expect(c.dropped.ringFull).toBe(0);
    expect(c.dropped.tooLarge).toBe(0);
    // A call captures one event, or two (agent_end: run.end + run.error), or is one counted rejection.
    expect(c.captured).toBeGreaterThanOrEqual(calls);
    expect(c.captured - calls).toBeLessThanOrEqual(fired.get("agent_end") ?? 0);
    const host = (await collectStatus()) as { host: { hookCalls: number } };
    expect(host.host.hookCalls).toBeLessThanOrEqual(calls);
    expect(calls - host.host.hookCalls).toBeLessThanOrEqual(c.dropped.rejected);
    // The fuzz reached the interesting paths, and what was cut or replaced is visibly marked.
    expect(c.sanitized).toBeGreaterThan(0);
    expect(c.truncated).toBeGreaterThan(0);
    expect(c.dropped.rejected).toBeGreaterThan(0);
    expect(markers.truncatedKey).toBe(c.truncated); // every truncated payload says so in _truncated
    expect(markers.circular).toBeGreaterThan(0);
    expect(markers.truncatedChars).toBeGreaterThan(0);
    expect(markers.unreadable).toBeGreaterThan(0);
    expect(markers.maxDepth).toBeGreaterThan(0);
    expect(markers.symbol).toBeGreaterThan(0);
    expect(markers.fn).toBeGreaterThan(0);
    expect(markers.bytes).toBeGreaterThan(0);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// Deterministic cases: one hazard at a time inside a tool call's params (full privacy carries
// them as they are), next to ordinary fields that must survive.

const CTX = { agentId: "main", sessionKey: "agent:main:s", runId: "r1" };

function toolCall(params: unknown): DecodedEvent {
  const api = setup();
  expect(api.fire("before_tool_call", { toolName: "t", toolCallId: "c1", params }, CTX)).toBeUndefined();
  const evs = drain(pluginState().pipeline!);
  expect(evs).toHaveLength(1);
  return evs[0];
}

function cyclic(extra: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = { ...extra };
  o.self = o;
  return o;
}

describe("hostile values become visible markers, and the rest of the event survives", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["a cycle", () => cyclic({}), /"self":"\[Circular\]"/],
    ["a BigInt", () => cyclic({ n: 12345678901234567890n }), /"n":"12345678901234567890"/],
    ["a Symbol value", () => cyclic({ s: Symbol("sym") }), /"s":"\[Symbol sym\]"/],
    ["a function", () => cyclic({ f: function callback() {} }), /"f":"\[Function callback\]"/],
    ["a throwing getter", () => Object.defineProperty({ ok: 1 }, "bad", { enumerable: true, get: () => { throw new Error("x"); } }), /"ok":1,"bad":"\[Unreadable\]"/],
    ["100,000-deep nesting", () => DEEP_OBJECT, /\[MaxDepth\]/],
    ["a 100,000-deep array", () => DEEP_ARRAY, /\[MaxDepth\]/],
    ["a multi-megabyte string", () => ({ big: BIG_STRING }), /…\[truncated \d+ chars\]".*"_truncated":\{"limitBytes":\d+(,"originalBytes":\d+)?\}/],
    ["a Buffer among a cycle", () => cyclic({ b: Buffer.alloc(10) }), /"b":"\[Buffer 10 bytes\]"/],
    ["a Map containing itself", () => { const m = new Map<string, unknown>([["k", 1]]); m.set("me", m); return { m }; }, /"m":\{"k":1,"me":"\[Circular\]"\}/],
    ["a Set containing itself", () => { const s = new Set<unknown>([1]); s.add(s); return { s }; }, /"s":\[1,"\[Circular\]"\]/],

    ["an invalid Date among a cycle", () => cyclic({ d: new Date(NaN), ok: new Date(0) }), /"d":null,"ok":"1970-01-01T00:00:00.000Z"/],
    ["a prototype-less object with a cycle", () => { const o = Object.create(null); o.x = 1; o.o = o; return o; }, /\{"x":1,"o":"\[Circular\]"\}/],
    ["a Proxy with a throwing ownKeys trap", () => cyclic({ p: new Proxy({}, { ownKeys: () => { throw new Error("t"); } }) }), /"p":"\[Unreadable\]"/],
    ["NaN and Infinity", () => ({ a: NaN, b: -Infinity }), /"a":null,"b":null/],
    ["lone surrogates in a string and a key", () => ({ "\ud800k": "v\udfff" }), /"\\ud800k":"v\\udfff"/],
  ];
  for (const [name, make, marker] of cases) {
    it(name, () => {
      const e = toolCall(make());
      const text = JSON.stringify(e.env.payload);
      expect(e.env.type).toBe("tool.call");
      expect(e.env.payload).toMatchObject({ toolName: "t", toolCallId: "c1", runId: "r1" });
      expect(text).toMatch(marker);
    });
  }

  // instanceof asks a Proxy's getPrototypeOf trap (and throws on a revoked Proxy): only the bad
  // value may be marked, never its parent (which once took toolName, toolCallId and runId with it).
  it("a revoked Proxy nested in params is marked [Unreadable] and its siblings survive", () => {
    const r = Proxy.revocable({}, {});
    r.revoke();
    const e = toolCall({ ok: 1, gone: r.proxy });
    expect(e.env.payload).toMatchObject({ toolName: "t", toolCallId: "c1", runId: "r1", params: { ok: 1, gone: "[Unreadable]" } });
  });

  it("a Proxy with a throwing getPrototypeOf trap nested in params is marked [Unreadable] and its siblings survive", () => {
    const p = new Proxy({}, { getPrototypeOf: () => { throw new Error("gpo"); } });
    const e = toolCall(cyclic({ ok: 1, bad: p })); // the cycle sends it down the sanitizing path
    expect(e.env.payload).toMatchObject({ toolName: "t", runId: "r1", params: { ok: 1, self: "[Circular]", bad: "[Unreadable]" } });
  });

  // An own "__proto__" key (JSON.parse makes one from untrusted text, e.g. tool params an LLM wrote)
  // must be defined, not assigned: assignment calls the __proto__ setter and the key vanishes.
  it("an own __proto__ key survives the sanitizing path", () => {
    const params = JSON.parse('{"__proto__":{"x":1},"y":2}') as Record<string, unknown>;
    params.self = params; // the cycle forces the sanitizing path
    const e = toolCall(params);
    expect(JSON.stringify(e.env.payload)).toContain('"__proto__":{"x":1}');
  });

  // Not a bug, the documented last resort of truncate(): when cutting strings is not enough (a
  // million-element array), only the marker is kept, and the event's other fields go with it.
  it("a giant sparse array: the payload keeps its ids and the _truncated marker", () => {
    const e = toolCall(cyclic({ sparse: new Array(1_000_000) }));
    expect(e.env.type).toBe("tool.call");
    expect(e.env.payload).toEqual({ toolName: "t", toolCallId: "c1", runId: "r1", _truncated: { limitBytes: expect.any(Number) } });
  });

  it("an event that cannot be read at all is one counted rejection, and the handler still returns undefined", async () => {
    const api = setup();
    const r = Proxy.revocable({}, {});
    r.revoke();
    expect(api.fire("before_tool_call", r.proxy, r.proxy)).toBeUndefined();
    expect(api.fire("session_start", new Proxy({}, { get: () => { throw new Error("trap"); } }), {})).toBeUndefined();
    const c = await counters();
    expect(c.captured).toBe(2);
    expect(c.dropped.rejected).toBe(2);
    expect(c.captured).toBe(c.acked + c.dropped.total + c.pending);
  });
});
