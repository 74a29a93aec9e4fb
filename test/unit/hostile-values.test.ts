// Hostile values, one at a time inside a tool call's params (full privacy carries them as they
// are): each becomes a visible marker, and the ordinary fields next to it survive. An event that
// cannot be read at all is one counted rejection.
import { afterEach, describe, expect, it } from "vitest";
import { pluginState } from "../../src/plugin-state.ts";
import { collectStatus } from "../../src/status.ts";
import { type DecodedEvent, registerPlugin, resetPluginState, takeRingEvents } from "../helpers/fake-api.ts";
import { BIG_STRING, DEEP_ARRAY, DEEP_OBJECT } from "../helpers/hostile.ts";

const setup = () => registerPlugin({ ringBytes: 1 << 24, maxPayloadBytes: 16_384, subjectPrefix: "t" });

afterEach(async () => {
  await pluginState().pipeline?.stop();
  resetPluginState();
});

const CTX = { agentId: "main", sessionKey: "agent:main:s", runId: "r1" };

function toolCall(params: unknown): DecodedEvent {
  const api = setup();
  expect(api.fire("before_tool_call", { toolName: "t", toolCallId: "c1", params }, CTX)).toBeUndefined();
  const evs = takeRingEvents(pluginState().pipeline!);
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
    const s = await collectStatus();
    if (s.state === "disabled") throw new Error("disabled");
    const c = s.counters;
    expect(c.captured).toBe(2);
    expect(c.dropped.rejected).toBe(2);
    expect(c.captured).toBe(c.acked + c.dropped.total + c.pending);
  });
});
