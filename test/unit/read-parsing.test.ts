// The read side's pure parts: times, type globs and subject filters, the JSON check and envelope
// decoding, command-line parsing and settings, query parameters, bounded tool output.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "msgpackr";
import { afterAll, describe, expect, it } from "vitest";
import { EVENT_TYPES } from "../../src/event-types.ts";
import { parseCommandLine, UsageError } from "../../src/cli/args.ts";
import { resolveSettings } from "../../src/cli/settings.ts";
import { decodeEnvelope, framedTs, MalformedEvent } from "../../src/read/decode.ts";
import {
  envelopeMatches,
  prefilterNeedles,
  resolveTypes,
  sessionMatcher,
  subjectPlan,
  FilterError,
} from "../../src/read/filter.ts";
import { isJson } from "../../src/read/json-check.ts";
import { parseDuration, parseTime, TimeSpecError } from "../../src/read/time.ts";
import { parseQuery, QueryError, QUERY_MAX_LIMIT } from "../../src/read/query.ts";
import { boundedText } from "../../src/read/agent-tool.ts";
import { readerPlan } from "../../src/read/connect.ts";
import { natsContextPath } from "../../workers/nats-auth.ts";
import { eventLine, summary } from "../../src/read/format.ts";
import { parseAckSubject } from "../../src/read/ordered-reader.ts";

const scratch = mkdtempSync(join(tmpdir(), "read-parsing-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("times", () => {
  it("reads durations, ISO times and epoch ms", () => {
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("2d")).toBe(172_800_000);
    expect(parseDuration("1.5h")).toBe(5_400_000);
    expect(parseDuration("h")).toBeUndefined();
    expect(parseTime("15m", 1_000_000_000)).toBe(1_000_000_000 - 900_000);
    expect(parseTime("2026-11-30T10:00:00Z")).toBe(Date.parse("2026-11-30T10:00:00Z"));
    expect(parseTime("1796049641382")).toBe(1796049641382);
    expect(parseTime(1796049641382)).toBe(1796049641382);
    expect(() => parseTime("yesterday")).toThrow(TimeSpecError);
    expect(() => parseTime("2026-13-45")).toThrow(TimeSpecError);
  });
});

describe("filters", () => {
  it("turns type globs into the concrete types they match", () => {
    expect(resolveTypes(["tool.*"])).toEqual(["tool.call", "tool.result"]);
    expect(resolveTypes(["msg.*"]).sort()).toEqual(["msg.in", "msg.out", "msg.sending"]);
    expect(resolveTypes(["*.end"]).sort()).toEqual(
      ["run.end", "session.end", "subagent.ended"].filter((t) => t.endsWith(".end")),
    );
    expect(resolveTypes(["run.start,tool.call"])).toEqual(["run.start", "tool.call"]);
    expect(resolveTypes(["future.type"])).toEqual(["future.type"]); // exact names pass (a newer plugin)
    expect(() => resolveTypes(["nothing.*"])).toThrow(FilterError);
    expect(() => resolveTypes(["a b"])).toThrow(FilterError);
  });

  it("builds consumer filter subjects: one exact subject, several on NATS 2.10, a wider one on 2.9", () => {
    expect(subjectPlan("p", {}, false)).toEqual({ filters: ["p.>"] });
    expect(subjectPlan("p", { agents: ["main"] }, false)).toEqual({ filters: ["p.main.*"] });
    expect(subjectPlan("p", { types: ["tool.call"] }, false)).toEqual({ filters: ["p.*.tool_call"] });
    expect(subjectPlan("p", { agents: ["my.bot"], types: ["msg.in"] }, false).filters[0]).toMatch(
      /^p\.my_bot-[0-9a-f]{16}\.msg_in$/,
    );
    const two = { agents: ["main"], types: ["tool.call", "tool.result"] };
    expect(subjectPlan("p", two, true)).toEqual({ filters: ["p.main.tool_call", "p.main.tool_result"] });
    const narrow = subjectPlan("p", two, false);
    expect(narrow.filters).toEqual(["p.main.*"]);
    expect(["p.main.tool_call", "p.main.tool_result", "p.main.msg_in"].map(narrow.accept!)).toEqual([
      true,
      true,
      false,
    ]);
    const wide = subjectPlan("p", { agents: ["a", "b"], types: ["x", "y"] }, false);
    expect(wide.filters).toEqual(["p.>"]);
    expect(["p.a.x", "p.b.y", "p.c.x", "p.a.z", "q.a.x", "p.a"].map(wide.accept!)).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
    const types = subjectPlan("p", { types: ["tool.call", "tool.result"] }, false);
    expect(types.filters).toEqual(["p.>"]);
    expect(["p.x.tool_call", "p.y.tool_result", "p.x.msg_in"].map(types.accept!)).toEqual([true, true, false]);
  });

  it("matches session keys exactly, or by their last part when given without a colon", () => {
    expect(sessionMatcher("agent:main:x")("agent:main:x")).toBe(true);
    expect(sessionMatcher("agent:main:x")("agent:other:x")).toBe(false);
    const m = sessionMatcher("x");
    expect([m("agent:main:x"), m("agent:viola:x"), m("x"), m("agent:main:y:x"), m("agent:main:xx")]).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it("pre-filters bodies only with needles every matching body contains", () => {
    const env = {
      id: "i",
      ts: 5,
      agent: "main",
      session: "agent:main:x",
      type: "tool.call",
      payload: { runId: "r-1" },
    };
    const json = Buffer.from(JSON.stringify(env));
    const mp = Buffer.from(pack(env));
    for (const f of [{ session: "agent:main:x" }, { session: "x" }, { runId: "r-1" }, { session: "x", runId: "r-1" }]) {
      const n = prefilterNeedles(f);
      expect(n.json.every((x) => json.includes(x))).toBe(true);
      expect(n.raw.every((x) => mp.includes(x))).toBe(true);
      expect(envelopeMatches(env, f)).toBe(true);
    }
    expect(prefilterNeedles({ session: 'with"quote' }).json).toEqual([]); // no needle: JSON escapes it
    expect(envelopeMatches(env, { runId: "r-2" })).toBe(false);
    expect(envelopeMatches(env, { since: 6 })).toBe(false);
  });
});

describe("JSON check and envelopes", () => {
  it("agrees with JSON.parse on valid and broken JSON", () => {
    const samples = [
      '{"a":1}',
      "[]",
      "{}",
      '"s"',
      "0",
      "-1.5e+3",
      "true",
      "null",
      '{"a":[1,{"b":"\\u00e9\\n"}],"c":false}',
      " { } ",
      "{",
      '{"a":}',
      '{"a" 1}',
      "[1,]",
      '{"a":1,}',
      "01",
      "1.",
      '"\\x"',
      '"a\nb"',
      "tru",
      "{}{}",
      '{"a":1}x',
      "",
      "[1 2]",
      '{"a":"\\ud83d\\ude00"}',
      "-",
      "1e",
      '{"a":-0.0}',
    ];
    for (const s of samples) {
      let valid = true;
      try {
        JSON.parse(s);
      } catch {
        valid = false;
      }
      expect(isJson(Buffer.from(s)), s).toBe(valid);
    }
    // Random cuts and byte flips of a real envelope.
    const env = Buffer.from(
      JSON.stringify({
        id: "x",
        ts: 1,
        agent: "a",
        session: "s",
        type: "t",
        payload: { q: [1, "two", { three: null }], é: "ü\t" },
      }),
    );
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(env);
      if (i % 2) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 128);
      const cut = i % 3 === 0 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
      let valid = true;
      try {
        JSON.parse(cut.toString("utf8"));
      } catch {
        valid = false;
      }
      expect(isJson(cut), cut.toString()).toBe(valid);
    }
  });

  it("reads the ts of the plugin's JSON layout without parsing, and nothing else", () => {
    const env = {
      id: "01a22ce6-9fa6-7f3d-a86a-0c0000000001",
      ts: 1796049641382,
      agent: "main",
      session: "agent:main:s0",
      type: "tool.call",
      payload: { a: 'x"y' },
    };
    expect(framedTs(Buffer.from(JSON.stringify(env)))).toBe(env.ts);
    expect(framedTs(Buffer.from(JSON.stringify({ ...env, payload: [] })))).toBe(-1);
    expect(framedTs(Buffer.from(JSON.stringify(env, null, 1)))).toBe(-1);
    const { id, ...rest } = env;
    expect(framedTs(Buffer.from(JSON.stringify({ ...rest, id })))).toBe(-1); // other key order: decoded instead
    expect(framedTs(Buffer.from(JSON.stringify(env).replace('"x', '"\u0001')))).toBe(-1); // a raw control char
    expect(decodeEnvelope(Buffer.from(JSON.stringify({ ...rest, id })))).toEqual(env);
  });

  it("decodes JSON and MessagePack envelopes and names what is wrong with anything else", () => {
    const env = { id: "i", ts: 1, agent: "a", session: "s", type: "t", payload: { n: 1 } };
    expect(decodeEnvelope(Buffer.from(JSON.stringify(env)))).toEqual(env);
    expect(decodeEnvelope(pack(env))).toEqual(env);
    const bad: [Uint8Array, RegExp][] = [
      [Buffer.from(""), /empty/],
      [Buffer.from("hello"), /neither/],
      [Buffer.from("{not json"), /invalid JSON/],
      [Buffer.from(JSON.stringify({ ...env, ts: "1" })), /ts/],
      [Buffer.from(JSON.stringify({ ...env, payload: null })), /payload/],
      [Buffer.from(JSON.stringify([env])), /neither/],
      [pack({ ...env, agent: 5 }), /agent/],
      [Buffer.from([0x85, 0xa1]), /MessagePack/],
    ];
    for (const [b, why] of bad) {
      expect(() => decodeEnvelope(b)).toThrow(MalformedEvent);
      expect(() => decodeEnvelope(b)).toThrow(why);
    }
  });

  it("shows each type's key fields on one line", () => {
    const line = eventLine({
      id: "i",
      ts: Date.parse("2026-11-30T14:28:44.261Z"),
      agent: "main",
      session: "agent:main:e2e",
      type: "tool.result",
      payload: { toolName: "ls", durationMs: 27, error: "boom" },
    });
    expect(line).toMatch(/main {8}tool\.result\s+e2e {2}ls {2}27 ms {2}error: "boom"$/);
    const ok = {
      id: "i",
      ts: 0,
      agent: "a",
      session: "s",
      type: "tool.result",
      payload: { toolName: "ls", result: { content: [{ type: "text", text: "a\nb" }] } },
    };
    expect(summary(ok)).toBe("ls  → a b"); // OpenClaw's {content: [{type: "text", text}]} shows as its text
    expect(
      summary({
        id: "i",
        ts: 0,
        agent: "a",
        session: "s",
        type: "llm.output",
        payload: { model: "m", assistantTextCount: 1, usage: { input: 30, output: 8 } },
      }),
    ).toBe("m  1 texts  tokens in 30 out 8");
    expect(
      summary(
        { id: "i", ts: 0, agent: "a", session: "s", type: "msg.in", payload: { from: "u", content: "x".repeat(500) } },
        50,
      ).length,
    ).toBeLessThan(70);
  });
});

describe("delivery info", () => {
  it("reads sequences, store time and pending count from both forms of the ack subject", () => {
    const out = { seq: 0, dseq: 0, storedMs: 0, pending: 0 };
    const ts = "1796049641382123456";
    expect(parseAckSubject(Buffer.from(`$JS.ACK.rs-events.rAbc_-12x.1.4012.17.${ts}.250`), out)).toBe(true);
    expect(out).toEqual({ seq: 4012, dseq: 17, storedMs: 1796049641382, pending: 250 });
    expect(parseAckSubject(Buffer.from(`$JS.ACK._.ACCHASH.rs-events.rAbc.1.9.3.${ts}.0.RaNd0m`), out)).toBe(true);
    expect(out).toEqual({ seq: 9, dseq: 3, storedMs: 1796049641382, pending: 0 });
    for (const bad of ["$JS.ACK.s.c.1.x.3.1.0", "$JS.ACK.too.short", "$JS.ACK.s.c.1.0.0.1.0"]) {
      expect(parseAckSubject(Buffer.from(bad), out), bad).toBe(false);
    }
  });
});

describe("command line", () => {
  it("parses commands, options and positionals; usage errors are UsageErrors", () => {
    const r = parseCommandLine(["replay", "--agent", "a,b", "--type", "tool.*", "--since", "2h", "--json"]);
    expect(r).toMatchObject({
      command: "replay",
      values: { agent: ["a,b"], type: ["tool.*"], since: "2h", json: true },
    });
    expect(parseCommandLine(["session", "agent:main:x"])).toMatchObject({
      command: "session",
      positionals: ["agent:main:x"],
    });
    expect(parseCommandLine([])).toEqual({ help: "main" });
    expect(parseCommandLine(["tail", "--help"])).toEqual({ help: "tail" });
    expect(parseCommandLine(["help", "stats"])).toEqual({ help: "stats" });
    for (const bad of [["nope"], ["tail", "--nope"], ["session"], ["tail", "extra"], ["replay", "--since"]]) {
      expect(() => parseCommandLine(bad), bad.join(" ")).toThrow(UsageError);
    }
  });

  it("takes the server from --server, then a nats context, then the plugin config, then NATS_URL", () => {
    const home = join(scratch, "home");
    mkdirSync(join(home, ".config", "nats", "context"), { recursive: true });
    const ctxFile = join(home, ".config", "nats", "context", "dev.json");
    writeFileSync(ctxFile, JSON.stringify({ url: "nats://10.0.0.1:4222", user: "u", password: "p", description: "d" }));
    const env = { HOME: home, NATS_URL: "nats://env:4222" };
    expect(natsContextPath("dev", env)).toBe(ctxFile);
    expect(natsContextPath("dev", { ...env, XDG_CONFIG_HOME: "/xdg" })).toBe("/xdg/nats/context/dev.json");
    const conf = join(scratch, "openclaw.json");
    writeFileSync(
      conf,
      JSON.stringify({
        plugins: {
          entries: {
            "nats-eventstore": {
              config: { natsUrl: "nats://conf:4222", streamName: "s1", subjectPrefix: "a.b", token: "conf-token" },
            },
          },
        },
      }),
    );
    // What a reader connects to, and how: the same connection plan as the publisher's.
    const plan = (values: Record<string, string>, e: NodeJS.ProcessEnv = env, host?: Record<string, unknown>) => {
      const o = readerPlan(resolveSettings(values, e, host).connection, e).options;
      return { servers: o.servers, user: o.user, pass: o.pass, token: o.token };
    };
    expect(resolveSettings({}, env)).toMatchObject({ stream: "openclaw-events", prefix: "openclaw.events" });
    expect(plan({})).toEqual({ servers: ["env:4222"], user: undefined, pass: undefined, token: undefined });
    expect(plan({}, {}).servers).toEqual(["localhost:4222"]);
    expect(resolveSettings({ config: conf }, env)).toMatchObject({ stream: "s1", prefix: "a.b" });
    expect(plan({ config: conf })).toMatchObject({ servers: ["conf:4222"], token: "conf-token" });
    // A context replaces the configured connection as a whole (url and credentials).
    expect(plan({ config: conf, context: "dev" })).toEqual({
      servers: ["10.0.0.1:4222"],
      user: "u",
      pass: "p",
      token: undefined,
    });
    expect(resolveSettings({ config: conf, context: "dev", stream: "s2", prefix: "c" }, env)).toMatchObject({
      stream: "s2",
      prefix: "c",
    });
    // --server keeps the credentials that apply, unless it carries its own.
    expect(plan({ config: conf, context: "dev", server: "nats://flag:1" })).toMatchObject({
      servers: ["flag:1"],
      user: "u",
      pass: "p",
    });
    expect(plan({ config: conf, server: "nats://a:b@flag:1" })).toEqual({
      servers: ["flag:1"],
      user: "a",
      pass: "b",
      token: undefined,
    });
    // The gateway's own plugin config (openclaw eventstore ...), credentials included.
    expect(plan({}, env, { natsUrl: "nats://host-config:4222", user: "hu", password: "hp" })).toMatchObject({
      servers: ["host-config:4222"],
      user: "hu",
      pass: "hp",
    });
    expect(() => resolveSettings({ server: "nats://u:topsecret@h:99999" }, env)).toThrow(/--server.*port/);
    expect(() => resolveSettings({ server: "nats://u:topsecret@h:99999" }, env)).not.toThrow(/topsecret/);
    expect(() => readerPlan(resolveSettings({ context: "nope" }, env).connection, env)).toThrow(/natsContext "nope"/);
    expect(() => resolveSettings({ config: join(scratch, "missing.json") }, env)).toThrow(UsageError);
    expect(() => resolveSettings({ prefix: "a.*" }, env)).toThrow(UsageError);
    expect(() => resolveSettings({}, env, { natsUrl: 5 })).toThrow(/natsUrl/);
  });
});

describe("query parameters and tool output", () => {
  it("validates parameters and caps the limit", () => {
    const q = parseQuery({ agent: "main,viola", type: ["tool.*"], session: "s", runId: "r", since: "1h", limit: 5 });
    expect(q.filter).toMatchObject({
      agents: ["main", "viola"],
      types: ["tool.call", "tool.result"],
      session: "s",
      runId: "r",
    });
    expect(q.limit).toBe(5);
    expect(parseQuery({ limit: 10 ** 6 })).toMatchObject({ limit: QUERY_MAX_LIMIT, capped: true });
    expect(parseQuery({}, 50, 20).limit).toBe(20);
    for (const bad of [
      { limit: 0 },
      { limit: "5" },
      { since: "soon" },
      { type: "zz.*" },
      { agent: 3 },
      { session: "" },
      { bogus: 1 },
    ]) {
      expect(() => parseQuery(bad), JSON.stringify(bad)).toThrow(QueryError);
    }
  });

  it("keeps the newest lines that fit and says how many were left out", () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i} ${"x".repeat(i === 99 ? 1000 : 50)}`);
    const text = boundedText(lines, 2000);
    expect(text.length).toBeLessThanOrEqual(2000);
    expect(text).toMatch(/^\(\d+ older events left out\)\n/);
    expect(text).toMatch(/line 99 x+…$/);
    expect(text.split("\n").every((l) => l.length <= 300)).toBe(true);
    expect(boundedText(["a", "b"], 2000)).toBe("a\nb");
  });
});

it("knows every event type the plugin publishes", () => {
  expect(resolveTypes(["*.*"]).sort()).toEqual([...EVENT_TYPES].sort());
});
