// Fuzz: thousands of hostile hook events through the real plugin handlers (register() on a fake
// API, then api.fire). A hook handler runs on the gateway's event loop, so whatever it is given it
// must return undefined synchronously, count the outcome, and leave a record that the worker can
// turn into a valid envelope. The PRNG is seeded: a failure prints its seed and replays with
// FUZZ_SEED=<seed>.
import { afterEach, describe, expect, it } from "vitest";
import plugin, { collectStatus } from "../../src/index.ts";
import { HOOK_NAMES } from "../../src/hooks/table.ts";
import { pluginState } from "../../src/plugin-state.ts";
import { CTL_I32_RELEASE, CTL_I32_WRITE } from "../../src/ring/layout.ts";
import type { EventPipeline } from "../../src/pipeline.ts";
import type { Counters } from "../../src/status.ts";
import { fakeApi, resetPluginState, ringEvents, type DecodedEvent, type FakeApi } from "../helpers/fake-api.ts";
import { BIG_STRING, CTX_FIELDS, DEEP_ARRAY, DEEP_OBJECT, EVENT_FIELDS, Fuzzer } from "../helpers/hostile.ts";
import { GIANTS, keyListingMs } from "../helpers/hostile.ts";

const MAX_PAYLOAD = 16_384;
const RING = 1 << 24; // 16 MiB, drained as we go
/** Envelope bytes around the payload: id, ts, type, and agent/session at worst 6 bytes per kept UTF-16 unit (\u00XX). */
const ENVELOPE_OVERHEAD = 256 + 6 * 256 + 6 * 1024;
/**
 * The longest one hook call may take on the gateway's thread, whatever it is given (before the
 * bounded look, single calls took 45-600 ms). Loose on purpose: the CPU is shared. A call whose
 * input holds a plain object with tens of thousands of keys may take one listing of its keys
 * longer, which V8 cannot shorten (see keyListingMs); the README gives the figures measured.
 */
const HOOK_CALL_BOUND_MS = Number(process.env.HOOK_CALL_BOUND_MS ?? 15);
/**
 * For calls with a huge plain object: the listing itself, and the garbage collection its 400 KB
 * key array sets off (measured on this VM: 1-5 listings' time, in a fresh process too).
 */
const LISTINGS = 6;
const listingBound = () => HOOK_CALL_BOUND_MS + LISTINGS * keyListingMs();

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
  Atomics.store(p.views.ctl, CTL_I32_RELEASE, Atomics.load(p.views.ctl, CTL_I32_WRITE));
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
    const markers = {
      circular: 0,
      truncatedKey: 0,
      truncatedChars: 0,
      unreadable: 0,
      maxDepth: 0,
      symbol: 0,
      fn: 0,
      bytes: 0,
    };
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
        if (env.payload !== null && typeof env.payload === "object" && "_truncated" in env.payload)
          markers.truncatedKey++;
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
    /** Calls slower than the bound: timed again at the end (a GC pause of this heap is not the handler's cost). */
    const slow: { ms: number; i: number; hook: string; event: unknown; ctx: unknown }[] = [];
    let slowest = { ms: 0, i: -1, hook: "" };

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
      if (ms >= HOOK_CALL_BOUND_MS) slow.push({ ms, i, hook, event, ctx });
      p ??= pluginState().pipeline;
      if (
        p &&
        (i % 64 === 63 ||
          (Atomics.load(p.views.ctl, CTL_I32_WRITE) - Atomics.load(p.views.ctl, CTL_I32_RELEASE)) >>> 0 > RING / 4)
      ) {
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
    const slowestCall = `#${slowest.i} ${slowest.hook} ${slowest.ms.toFixed(1)} ms`;
    const seen = `counters ${JSON.stringify(c)}, markers ${JSON.stringify(markers)}`;
    console.log(`hostile-input fuzz: ${calls} calls, ${seen}, slowest call ${slowestCall}`);
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

    // The bound on a single call: a call that took longer is timed twice more, its least time counts.
    for (const s of slow) {
      for (let k = 0; k < 2; k++) {
        const t0 = performance.now();
        api.fire(s.hook, s.event, s.ctx);
        s.ms = Math.min(s.ms, performance.now() - t0);
      }
      drain(p!);
    }
    const worst = slow.sort((a, b) => b.ms - a.ms)[0];
    const bound = listingBound();
    if (worst) {
      const again = `#${worst.i} ${worst.hook} ${worst.ms.toFixed(1)} ms (bound ${bound.toFixed(1)} ms)`;
      const over = `${slow.length} calls took ${HOOK_CALL_BOUND_MS} ms or more once`;
      console.log(`hostile-input fuzz: ${over}; the slowest, timed again: ${again}`);
    }
    expect(worst?.ms ?? 0, `call #${worst?.i} ${worst?.hook}, seed ${seed}`).toBeLessThan(bound);
  }, 180_000);
});

// ---------------------------------------------------------------------------------------------
// Every field of every hook, each giant value, both privacy modes: the cost of a hook call is
// bounded whatever a field holds (not only the fields meant for host content).

/** The event and ctx fields a hook's handler reads, found by handing it recording proxies. */
function fieldsRead(api: FakeApi, hook: string): { event: string[]; ctx: string[] } {
  const read = (into: Set<string>) =>
    new Proxy({}, { get: (_t, k) => (typeof k === "string" && into.add(k), undefined) });
  const event = new Set<string>();
  const ctx = new Set<string>();
  api.fire(hook, read(event), read(ctx));
  return { event: [...event], ctx: [...ctx] };
}

describe("bounded host cost", () => {
  it("every field of every hook, each giant value, both privacy modes: each call within the bound", async () => {
    const times: { ms: number; what: string }[] = [];
    for (const privacy of ["full", "metadata"]) {
      const api = setup({ privacy });
      const p = () => pluginState().pipeline!;
      for (const hook of HOOK_NAMES) {
        const f = fieldsRead(api, hook);
        type Case = [string, () => [object, object]];
        const cases: Case[] = [
          ...f.event.map((k): Case => [`event.${k}`, () => [{}, { agentId: "main" }]]),
          ...f.ctx.filter((k) => k !== "agentId").map((k): Case => [`ctx.${k}`, () => [{}, {}]]),
        ];
        for (const [field, base] of cases) {
          for (const [name, giant] of Object.entries(GIANTS)) {
            const [event, ctx] = base();
            const [where, key] = field.split(".");
            (where === "event" ? event : ctx)[key as keyof object] = giant as never;
            // The least of three calls: a garbage collection of this test's giant heap can land in
            // any one call, and it is not the handler's cost.
            let ms = Infinity;
            for (let k = 0; k < 3; k++) {
              const t0 = performance.now();
              expect(api.fire(hook, event, ctx)).toBeUndefined();
              ms = Math.min(ms, performance.now() - t0);
            }
            times.push({ ms, what: `${privacy} ${hook} ${field} = ${name}` });
            drain(p());
          }
        }
      }
      const c = await counters();
      expect(c.captured).toBe(c.acked + c.dropped.total + c.pending);
      expect(c.dropped.tooLarge + c.dropped.ringFull).toBe(0);
      await p().stop();
    }
    times.sort((a, b) => b.ms - a.ms);
    const median = times[times.length >> 1].ms;
    const slowestFor = (g: string) => times.find((t) => t.what.endsWith(`= ${g}`))!.ms.toFixed(1);
    const byGiant = Object.keys(GIANTS).map((g) => `${g} ${slowestFor(g)}`);
    const listing = keyListingMs();
    console.log(
      `bounded host cost: ${times.length} calls, median ${median.toFixed(3)} ms; ` +
        `slowest per value (ms): ${byGiant.join(", ")}; listing the 50,000 keys alone: ${listing.toFixed(1)} ms; ` +
        `slowest: ${times
          .slice(0, 3)
          .map((t) => `${t.ms.toFixed(1)} ms (${t.what})`)
          .join("; ")}`,
    );
    const isManyKeys = (t: { what: string }) => t.what.endsWith("= 50,000-key object");
    const [manyKeys, rest] = [times.filter(isManyKeys), times.filter((t) => !isManyKeys(t))];
    expect(rest[0].ms, rest[0].what).toBeLessThan(HOOK_CALL_BOUND_MS);
    expect(manyKeys[0].ms, manyKeys[0].what).toBeLessThan(HOOK_CALL_BOUND_MS + LISTINGS * listing);
  }, 300_000);
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
    [
      "a throwing getter",
      () =>
        Object.defineProperty({ ok: 1 }, "bad", {
          enumerable: true,
          get: () => {
            throw new Error("x");
          },
        }),
      /"ok":1,"bad":"\[Unreadable\]"/,
    ],
    ["100,000-deep nesting", () => DEEP_OBJECT, /\[MaxDepth\]/],
    ["a 100,000-deep array", () => DEEP_ARRAY, /\[MaxDepth\]/],
    [
      "a multi-megabyte string",
      () => ({ big: BIG_STRING }),
      /…\[truncated \d+ chars\]".*"_truncated":\{"limitBytes":\d+(,"originalBytes":\d+)?\}/,
    ],
    ["a Buffer among a cycle", () => cyclic({ b: Buffer.alloc(10) }), /"b":"\[Buffer 10 bytes\]"/],
    [
      "a Map containing itself",
      () => {
        const m = new Map<string, unknown>([["k", 1]]);
        m.set("me", m);
        return { m };
      },
      /"m":\{"k":1,"me":"\[Circular\]"\}/,
    ],
    [
      "a Set containing itself",
      () => {
        const s = new Set<unknown>([1]);
        s.add(s);
        return { s };
      },
      /"s":\[1,"\[Circular\]"\]/,
    ],

    [
      "an invalid Date among a cycle",
      () => cyclic({ d: new Date(NaN), ok: new Date(0) }),
      /"d":null,"ok":"1970-01-01T00:00:00.000Z"/,
    ],
    [
      "a prototype-less object with a cycle",
      () => {
        const o = Object.create(null);
        o.x = 1;
        o.o = o;
        return o;
      },
      /\{"x":1,"o":"\[Circular\]"\}/,
    ],
    [
      "a Proxy with a throwing ownKeys trap",
      () =>
        cyclic({
          p: new Proxy(
            {},
            {
              ownKeys: () => {
                throw new Error("t");
              },
            },
          ),
        }),
      /"p":"\[Unreadable\]"/,
    ],
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
    expect(e.env.payload).toMatchObject({
      toolName: "t",
      toolCallId: "c1",
      runId: "r1",
      params: { ok: 1, gone: "[Unreadable]" },
    });
  });

  it("a Proxy with a throwing getPrototypeOf trap nested in params is marked [Unreadable] and its siblings survive", () => {
    const p = new Proxy(
      {},
      {
        getPrototypeOf: () => {
          throw new Error("gpo");
        },
      },
    );
    const e = toolCall(cyclic({ ok: 1, bad: p })); // the cycle sends it down the sanitizing path
    expect(e.env.payload).toMatchObject({
      toolName: "t",
      runId: "r1",
      params: { ok: 1, self: "[Circular]", bad: "[Unreadable]" },
    });
  });

  // An own "__proto__" key (JSON.parse makes one from untrusted text, e.g. tool params an LLM wrote)
  // must be defined, not assigned: assignment calls the __proto__ setter and the key vanishes.
  it("an own __proto__ key survives the sanitizing path", () => {
    const params = JSON.parse('{"__proto__":{"x":1},"y":2}') as Record<string, unknown>;
    params.self = params; // the cycle forces the sanitizing path
    const e = toolCall(params);
    expect(JSON.stringify(e.env.payload)).toContain('"__proto__":{"x":1}');
  });

  // A million-slot sparse array is cut to the budget, never walked to its end: the payload keeps
  // its ids, the first items and a marker saying how many were left out.
  it("a giant sparse array: cut to the budget with a visible count of what was left out", () => {
    const e = toolCall(cyclic({ sparse: new Array(1_000_000) }));
    expect(e.env.type).toBe("tool.call");
    const _truncated = { limitBytes: expect.any(Number) };
    expect(e.env.payload).toMatchObject({ toolName: "t", toolCallId: "c1", runId: "r1", _truncated });
    const sparse = (e.env.payload.params as { sparse: unknown[] }).sparse;
    expect(sparse.length).toBeLessThan(5000);
    expect(sparse.at(-1)).toMatch(/^…\[\d+ more items\]$/);
  });

  it("an event that cannot be read at all is one counted rejection, and the handler still returns undefined", async () => {
    const api = setup();
    const r = Proxy.revocable({}, {});
    r.revoke();
    expect(api.fire("before_tool_call", r.proxy, r.proxy)).toBeUndefined();
    expect(
      api.fire(
        "session_start",
        new Proxy(
          {},
          {
            get: () => {
              throw new Error("trap");
            },
          },
        ),
        {},
      ),
    ).toBeUndefined();
    const c = await counters();
    expect(c.captured).toBe(2);
    expect(c.dropped.rejected).toBe(2);
    expect(c.captured).toBe(c.acked + c.dropped.total + c.pending);
  });
});
