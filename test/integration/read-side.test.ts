// The read side against a real nats-server, on events the plugin's pipeline published (JSON and
// MessagePack in one stream) plus malformed messages published beside them: replay by filter and
// window, tail, session timelines, stats, eventstore.query and the agent tool through the plugin's
// registered handlers, re-publishing with the same ids, and the CLI as the package's bin.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import plugin from "../../src/index.ts";
import type { Envelope } from "../../src/envelope.ts";
import { agentToken, typeToken } from "../../src/subject.ts";
import { NatsServer } from "../helpers/nats-server.ts";
import { testPipeline } from "../helpers/pipeline.ts";
import { readStream, waitFor } from "../helpers/stream-reader.ts";
import { fakeApi, resetPluginState } from "../helpers/fake-api.ts";
import {
  batch,
  captureAll,
  cli,
  ensureBuilt,
  ids,
  ndjson,
  spawnBin,
  MemoryOut,
  type Captured,
} from "../helpers/read-fixture.ts";
import type { Timeline } from "../../src/read/timeline.ts";
import { decodeEnvelope } from "../../src/read/decode.ts";

const STREAM = "rs-events";
const PREFIX = "rs.events";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("read side against a real nats-server", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let scratch = "";
  const all: Captured[] = [];
  const batches: Captured[][] = [];
  /** Window boundaries: after batch 1 and after batch 2 (epoch ms, this process's clock). */
  let t1 = 0;
  let t2 = 0;
  let conn: string[] = [];

  const publish = async (events: Captured[], encoding: "json" | "msgpack") => {
    const p = testPipeline(server.url, { streamName: STREAM, subjectPrefix: PREFIX, encoding });
    p.start();
    captureAll(p, events);
    await waitFor(async () => (await p.status()).counters.acked === events.length, 20_000, "acks");
    await p.stop();
  };

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "read-side-"));
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
    conn = ["--server", server.url, "--stream", STREAM, "--prefix", PREFIX];
    batches.push(batch(1));
    await publish(batches[0], "json");
    // Three messages that are not envelopes, on the stream's subjects, between the batches.
    nc.publish(`${PREFIX}.main.tool_call`, "not an envelope");
    nc.publish(
      `${PREFIX}.main.tool_call`,
      JSON.stringify({ id: "x", ts: 1, agent: "main", session: "s", type: "tool.call" }),
    );
    nc.publish(`${PREFIX}.viola.msg_in`, Buffer.from([0x86, 0xa2, 0x69]));
    await nc.flush();
    await sleep(300);
    t1 = Date.now();
    await sleep(300);
    batches.push(batch(2));
    await publish(batches[1], "msgpack");
    await sleep(300);
    t2 = Date.now();
    await sleep(300);
    batches.push(batch(3));
    await publish(batches[2], "json");
    all.push(...batches.flat());
    ensureBuilt();
  }, 300_000);

  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const replay = async (...args: string[]) => {
    const r = await cli(["replay", "--json", ...conn, ...args]);
    expect(r.code, r.stderr).toBe(0);
    return ndjson(r.stdout);
  };
  const expectEnvelopes = (got: Envelope[], want: Captured[]) => {
    expect(ids(got)).toEqual(want.map((e) => e.payload.i));
    for (let k = 0; k < got.length; k++) {
      expect({ type: got[k].type, agent: got[k].agent, session: got[k].session, payload: got[k].payload }).toEqual(
        want[k],
      );
    }
    expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
  };

  it("replays every event once, in capture order, from both encodings; reports the malformed messages", async () => {
    const r = await cli(["replay", "--json", ...conn]);
    expect(r.code).toBe(0);
    expectEnvelopes(ndjson(r.stdout), all);
    const stored = await readStream(server.url, STREAM);
    expect(ndjson(r.stdout).map((e) => e.id)).toEqual(stored.filter((m) => m.msgId).map((m) => m.msgId));
    const reports = r.stderr.split("\n").filter((l) => l.startsWith("malformed message skipped"));
    expect(reports).toHaveLength(3);
    expect(reports[0]).toMatch(
      /stream seq \d+, subject rs\.events\.main\.tool_call: neither a JSON nor a MessagePack envelope/,
    );
    expect(reports[1]).toMatch(/no object "payload"/);
    expect(reports[2]).toMatch(/subject rs\.events\.viola\.msg_in: invalid MessagePack/);
    expect(r.stderr).toMatch(/3 malformed messages skipped/);
    // The readable form: one line per event.
    const text = await cli(["replay", ...conn]);
    expect(text.stdout.trim().split("\n")).toHaveLength(all.length);
    expect(text.stdout).toMatch(/ my\.bot {6}tool\.call {2}.* exec {2}\{"command":"echo"\}/);
  });

  it("finds the right events for each filter", async () => {
    const cases: [string[], (e: Captured) => boolean][] = [
      [["--agent", "main"], (e) => e.agent === "main"],
      [["--agent", "my.bot"], (e) => e.agent === "my.bot"],
      [["--agent", "viola,my.bot"], (e) => e.agent === "viola" || e.agent === "my.bot"],
      [["--type", "tool.*"], (e) => e.type.startsWith("tool.")],
      [["--type", "msg.in", "--type", "run.end"], (e) => e.type === "msg.in" || e.type === "run.end"],
      [["--agent", "main", "--type", "tool.*"], (e) => e.agent === "main" && e.type.startsWith("tool.")],
      [["--session", "agent:main:s2"], (e) => e.session === "agent:main:s2"],
      [["--session", "chat"], (e) => e.session === "agent:viola:chat"],
      [["--run", "run-3-1"], (e) => e.payload.runId === "run-3-1"],
      [["--run", "run-2-0", "--type", "tool.call"], (e) => e.payload.runId === "run-2-0" && e.type === "tool.call"],
      [["--agent", "system"], (e) => e.agent === "system"],
      [["--agent", "nobody"], () => false],
    ];
    for (const [args, keep] of cases) {
      expectEnvelopes(await replay(...args), all.filter(keep));
    }
  });

  it("finds the right events for each time window, --from-seq and --limit", async () => {
    const iso = (t: number) => new Date(t).toISOString();
    expectEnvelopes(await replay("--since", iso(t1), "--until", iso(t2)), batches[1]);
    expectEnvelopes(await replay("--since", iso(t2)), batches[2]);
    expectEnvelopes(await replay("--until", iso(t1)), batches[0]);
    expectEnvelopes(
      await replay("--since", String(t1), "--type", "tool.result"),
      [...batches[1], ...batches[2]].filter((e) => e.type === "tool.result"),
    );
    expectEnvelopes(await replay("--since", "1h"), all);
    expectEnvelopes(await replay("--limit", "5"), all.slice(0, 5));
    expectEnvelopes(
      await replay("--agent", "viola", "--limit", "2"),
      all.filter((e) => e.agent === "viola").slice(0, 2),
    );
    const stored = await readStream(server.url, STREAM);
    const third = stored.find((m) => m.msgId && decodeEnvelope(m.data).payload.i === batches[2][0].payload.i)!;
    expectEnvelopes(await replay("--from-seq", String(third.seq)), batches[2]);
    const bad = await cli(["replay", ...conn, "--since", "tomorrow"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a time/);
    expect((await cli(["replay", ...conn, "--since", iso(t2), "--until", iso(t1)])).code).toBe(2);
  });

  it("prints a session's timeline whose counts match the stream", async () => {
    for (const key of ["agent:main:s1", "agent:main:s2", "agent:viola:chat"]) {
      const r = await cli(["session", key, "--json", ...conn]);
      expect(r.code, r.stderr).toBe(0);
      const t = JSON.parse(r.stdout) as Timeline;
      const mine = all.filter((e) => e.session === key);
      const n = (type: string) => mine.filter((e) => e.type === type).length;
      expect(t.totals).toEqual({
        events: mine.length,
        runs: n("run.start"),
        failedRuns: mine.filter((e) => e.type === "run.end" && e.payload.success === false).length,
        llmCalls: n("model.call_end"),
        toolCalls: n("tool.result"),
        toolErrors: mine.filter((e) => e.type === "tool.result" && e.payload.error).length,
        toolMs: mine.filter((e) => e.type === "tool.result").reduce((s, e) => s + (e.payload.durationMs as number), 0),
        messagesIn: n("msg.in"),
        messagesSending: n("msg.sending"),
        messagesOut: n("msg.out"),
        subagents: n("subagent.spawned"),
        compactions: n("session.compaction_end"),
        tokensIn: 30 * n("llm.output"),
        tokensOut: 8 * n("llm.output"),
      });
      expect(t.runs.map((x) => x.runId)).toEqual([
        ...new Set(mine.filter((e) => e.type === "run.start").map((e) => e.payload.runId)),
      ]);
    }
    const text = await cli(["session", "s2", ...conn]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^session agent:main:s2 {2}\(agent main\)/);
    expect(text.stdout).toMatch(/run run-2-1 ended {2}failed {2}90 ms/);
    expect(text.stdout).toMatch(/^ *\S+ {4}tool ls {2}7 ms {2}error: "denied"$/m);
    expect(text.stdout).toMatch(
      /totals: 2 runs \(1 failed\), 2 LLM calls, 2 tool calls \(1 error, 14 ms\), tokens in 60 out 16/,
    );
    expect(text.stdout).toMatch(/messages 0 in, 0 sending, 0 out; 1 sub-agent spawned; 1 compaction; \d+ events/);
    const none = await cli(["session", "agent:main:nothing", ...conn]);
    expect(none.stdout).toMatch(/no events/);
  });

  it("counts by type and by agent, over the stream and over a window", async () => {
    const tally = (events: Captured[], extra: { subject: string }[] = []) => {
      const byType: Record<string, number> = {};
      const byAgent: Record<string, number> = {};
      for (const e of events) {
        byType[e.type] = (byType[e.type] ?? 0) + 1;
        const token = agentToken(e.agent, e.agent === "system"); // gateway events carry the "system" label
        byAgent[token] = (byAgent[token] ?? 0) + 1;
      }
      for (const { subject } of extra) {
        const [agent, token] = subject.slice(PREFIX.length + 1).split(".");
        const type = all.find((e) => typeToken(e.type) === token)!.type;
        byType[type]++;
        byAgent[agent]++;
      }
      return { byType, byAgent };
    };
    const r = await cli(["stats", "--json", "--no-gateway", ...conn]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    // Over the whole stream the server counts stored messages per subject (the 3 malformed ones too).
    const malformed = [
      { subject: `${PREFIX}.main.tool_call` },
      { subject: `${PREFIX}.main.tool_call` },
      { subject: `${PREFIX}.viola.msg_in` },
    ];
    expect(s.counts).toMatchObject({ method: "subjects", total: all.length + 3, ...tally(all, malformed) });
    expect(s.stream).toMatchObject({
      name: STREAM,
      messages: all.length + 3,
      subjects: [`${PREFIX}.>`],
      storage: "file",
    });
    expect(s.plugin).toEqual({ available: false, reason: "not asked (--no-gateway)" });
    const w = JSON.parse(
      (await cli(["stats", "--json", "--no-gateway", "--since", new Date(t1).toISOString(), ...conn])).stdout,
    );
    expect(w.counts).toMatchObject({
      method: "read",
      total: batches[1].length + batches[2].length,
      ...tally([...batches[1], ...batches[2]]),
    });
    const f = JSON.parse((await cli(["stats", "--json", "--no-gateway", "--type", "tool.*", ...conn])).stdout);
    expect(f.counts).toMatchObject({ total: all.filter((e) => e.type.startsWith("tool.")).length + 2 });
    const text = await cli(["stats", ...conn], {
      host: { gatewayStatus: async () => ({ enabled: false, error: "test" }) },
    });
    expect(text.stdout).toMatch(/^stream rs-events: \d+ events, [\d.]+ KiB, file storage/);
    expect(text.stdout).toMatch(/^ {2}tool\.call +\d+ {6}main +\d+$/m);
    expect(text.stdout).toMatch(/plugin status: disabled \(test\)/);
  });

  it("tails live events, filtered, until interrupted", async () => {
    const ac = new AbortController();
    const out = new MemoryOut();
    const ac2 = new AbortController();
    const out2 = new MemoryOut();
    const consumers = async () => (await (await jetstreamManager(nc)).streams.info(STREAM)).state.consumer_count;
    const before = await consumers();
    const running = cli(["tail", "--json", ...conn], { signal: ac.signal, stdout: out });
    const filtered = cli(["tail", "--json", "--type", "tool.*", "--agent", "main", ...conn], {
      signal: ac2.signal,
      stdout: out2,
    });
    await waitFor(async () => (await consumers()) === before + 2, 10_000, "the tails' consumers");
    const live = batch(4);
    await publish(live, "json");
    await waitFor(() => ndjson(out.text).length === live.length, 10_000, "tail output");
    await waitFor(
      () => ndjson(out2.text).length === live.filter((e) => e.agent === "main" && e.type.startsWith("tool.")).length,
      10_000,
      "filtered tail",
    );
    ac.abort();
    ac2.abort();
    const r = await running;
    expect(r.code).toBe(0);
    expect((await filtered).code).toBe(0);
    expectEnvelopes(ndjson(out.text), live);
    expectEnvelopes(
      ndjson(out2.text),
      live.filter((e) => e.agent === "main" && e.type.startsWith("tool.")),
    );
    all.push(...live);
    batches.push(live);
    // Nothing left on the server.
    await waitFor(async () => (await consumers()) === before, 10_000, "consumers deleted");
  });

  it("tail --last n prints the newest n first", async () => {
    const ac = new AbortController();
    const out = new MemoryOut();
    const running = cli(["tail", "--json", "-n", "3", "--agent", "viola", ...conn], { signal: ac.signal, stdout: out });
    await waitFor(() => ndjson(out.text).length === 3, 10_000, "last 3");
    ac.abort();
    expect((await running).code).toBe(0);
    expectEnvelopes(ndjson(out.text), all.filter((e) => e.agent === "viola").slice(-3));
  });

  it("answers eventstore.query and the agent tool through the registered handlers", async () => {
    resetPluginState();
    const api = fakeApi({
      natsUrl: server.url,
      streamName: STREAM,
      subjectPrefix: PREFIX,
      agentTool: true,
      enabled: false,
    });
    plugin.register(api);
    expect(api.clis).toEqual([{ commands: ["eventstore"] }]);
    const q = async (params: Record<string, unknown>) => {
      const r = await api.call("eventstore.query", params);
      expect(r.ok, JSON.stringify(r.error)).toBe(true);
      return r.payload as { events: Envelope[]; count: number; limit: number; capped: boolean; hasMore: boolean };
    };
    const newest = (keep: (e: Captured) => boolean, n: number) => all.filter(keep).slice(-n);
    let r = await q({ agent: "main", type: "tool.*", limit: 3 });
    expectEnvelopes(
      r.events,
      newest((e) => e.agent === "main" && e.type.startsWith("tool."), 3),
    );
    expect(r).toMatchObject({ count: 3, limit: 3, capped: false, hasMore: true });
    r = await q({ session: "agent:viola:chat" });
    expectEnvelopes(
      r.events,
      all.filter((e) => e.session === "agent:viola:chat"),
    );
    expect(r.hasMore).toBe(false);
    r = await q({ runId: "run-1-1" });
    expectEnvelopes(
      r.events,
      all.filter((e) => e.payload.runId === "run-1-1"),
    );
    r = await q({ since: new Date(t1).toISOString(), until: t2, type: ["run.end"] });
    expectEnvelopes(
      r.events,
      batches[1].filter((e) => e.type === "run.end"),
    );
    r = await q({ limit: 1_000_000 });
    expect(r).toMatchObject({ limit: 1000, capped: true, count: all.length });
    expectEnvelopes(r.events, all);
    const bad = await api.call("eventstore.query", { limit: -1 });
    expect(bad).toMatchObject({
      ok: false,
      error: { code: "INVALID_REQUEST", message: expect.stringMatching(/limit/) },
    });

    const tool = api.tools.get("eventstore_recent")!;
    expect(tool).toBeDefined();
    const res = await tool.execute("call-1", { agent: "viola", type: "msg.*", limit: 4 });
    const lines = res.content[0].text.split("\n");
    expect(lines[0]).toBe("4 event(s), newest last:");
    expect(lines.slice(1, 5).every((l) => / viola +msg\./.test(l))).toBe(true);
    expect(res.details).toMatchObject({ count: 4, hasMore: true });
    expect((res.details as { events: { id: string }[] }).events.map((e) => e.id)).toHaveLength(4);
    const big = await tool.execute("call-2", { limit: 500 });
    expect((big.details as { count: number }).count).toBe(50);
    expect(big.content[0].text.length).toBeLessThanOrEqual(8000);
    await expect(tool.execute("call-3", { type: "nope.*" })).rejects.toThrow(/matches no event type/);
    for (const s of api.services) await s.stop?.({});

    resetPluginState();
    const off = fakeApi({ natsUrl: server.url, streamName: STREAM, subjectPrefix: PREFIX, enabled: false });
    plugin.register(off);
    expect(off.tools.size).toBe(0);
    resetPluginState();
  });

  it("re-publishes with the same ids: into a stream that holds them they are stored once", async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "rs-copy", subjects: ["copy.>"], duplicate_window: 120_000_000_000 });
    const first = await cli(["replay", ...conn, "--to-stream", "rs-copy"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(
      new RegExp(
        `re-published ${all.length} events to stream rs-copy \\(copy\\.>\\), ` +
          `${all.length} stored, 0 already there, 0 failed`,
      ),
    );
    const again = await cli(["replay", ...conn, "--to-stream", "rs-copy", "--type", "tool.*"]);
    const tools = all.filter((e) => e.type.startsWith("tool.")).length;
    expect(again.stderr).toMatch(new RegExp(`re-published ${tools} events .* 0 stored, ${tools} already there`));
    const copy = await readStream(server.url, "rs-copy");
    const source = (await readStream(server.url, STREAM)).filter((m) => m.msgId);
    expect(copy.map((m) => m.msgId)).toEqual(source.map((m) => m.msgId));
    expect(copy.map((m) => m.subject)).toEqual(source.map((m) => m.subject.replace(PREFIX, "copy")));
    expect(copy.map((m) => m.contentType)).toEqual(source.map((m) => m.contentType));
    expect(copy.map((m) => Buffer.from(m.data).toString("base64"))).toEqual(
      source.map((m) => Buffer.from(m.data).toString("base64")),
    );
    // Core NATS (no stream): a subscriber sees each event.
    const seen: string[] = [];
    const sub = nc.subscribe("core.>", { callback: (_e, m) => void seen.push(m.headers?.get("Nats-Msg-Id") ?? "") });
    await nc.flush();
    const core = await cli(["replay", ...conn, "--to-subject", "core", "--agent", "viola"]);
    expect(core.code).toBe(0);
    await waitFor(() => seen.length === all.filter((e) => e.agent === "viola").length, 5000, "core copies");
    sub.unsubscribe();
    const same = await cli(["replay", ...conn, "--to-subject", PREFIX]);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/prefix being read/);
  });

  it("works as the package bin: output, --help, exit codes, --config and --context", async () => {
    const viaBin = await spawnBin(["replay", "--json", ...conn]).done;
    expect(viaBin.code).toBe(0);
    expectEnvelopes(ndjson(viaBin.stdout), all);
    expect(viaBin.stderr).toMatch(/3 malformed messages skipped/);
    const help = await spawnBin(["replay", "--help"]).done;
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: replay \[options\]/);
    expect((await spawnBin(["--help"]).done).stdout).toMatch(/Exit codes: 0 ok, 1 error, 2 usage/);
    const usage = await spawnBin(["tail", "--bogus"]).done;
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/error: Unknown option '--bogus'/);
    const down = await spawnBin(["stats", "--server", "nats://user:secret@127.0.0.1:1"]).done;
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot connect to nats:\/\/\*\*\*@127\.0\.0\.1:1/);
    expect(down.stderr).not.toMatch(/secret/);
    const missing = await spawnBin(["stats", "--server", server.url, "--stream", "no-such-stream"]).done;
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/stream no-such-stream .*not found/) });
    // --config openclaw.json (the plugin's entry) and NATS_URL; --context (a nats CLI context).
    const conf = join(scratch, "openclaw.json");
    writeFileSync(
      conf,
      JSON.stringify({
        plugins: { entries: { "nats-eventstore": { config: { streamName: STREAM, subjectPrefix: PREFIX } } } },
      }),
    );
    const viaConfig = await spawnBin(["replay", "--json", "--config", conf, "--agent", "viola"], {
      NATS_URL: server.url,
    }).done;
    expectEnvelopes(
      ndjson(viaConfig.stdout),
      all.filter((e) => e.agent === "viola"),
    );
    mkdirSync(join(scratch, "xdg", "nats", "context"), { recursive: true });
    writeFileSync(join(scratch, "xdg", "nats", "context", "test.json"), JSON.stringify({ url: server.url }));
    const viaContext = await spawnBin(
      ["replay", "--json", "--context", "test", "--stream", STREAM, "--prefix", PREFIX, "--type", "run.end"],
      {
        XDG_CONFIG_HOME: join(scratch, "xdg"),
      },
    ).done;
    expectEnvelopes(
      ndjson(viaContext.stdout),
      all.filter((e) => e.type === "run.end"),
    );
    // A tail ends cleanly on SIGINT.
    const t = spawnBin(["tail", "--json", ...conn]);
    await waitFor(
      async () => (await (await jetstreamManager(nc)).streams.info(STREAM)).state.consumer_count > 0,
      10_000,
      "bin tail",
    );
    const live = batch(5);
    await publish(live, "json");
    await waitFor(() => ndjson(t.stdout()).length === live.length, 10_000, "bin tail output");
    t.kill("SIGINT");
    const end = await t.done;
    expect(end.code).toBe(0);
    expectEnvelopes(ndjson(end.stdout), live);
    all.push(...live);
  });

  it("a tail goes on across a NATS restart, each event once", async () => {
    const ac = new AbortController();
    const out = new MemoryOut();
    const running = cli(["tail", "--json", ...conn], { signal: ac.signal, stdout: out });
    await waitFor(
      async () => (await (await jetstreamManager(nc)).streams.info(STREAM)).state.consumer_count > 0,
      10_000,
      "tail",
    );
    const before = batch(6);
    await publish(before, "json");
    await waitFor(() => ndjson(out.text).length === before.length, 10_000, "before restart");
    await server.stop();
    await sleep(500);
    await server.restart();
    const after = batch(7);
    await publish(after, "json");
    await waitFor(() => ndjson(out.text).length === before.length + after.length, 30_000, "after restart");
    ac.abort();
    expect((await running).code).toBe(0);
    expectEnvelopes(ndjson(out.text), [...before, ...after]);
  }, 60_000);
});
