// The bench's offloaded-async mode: the plugin with persistMode "async" makes its stream anew (the
// orchestrator's is default, and NATS cannot change the mode), stores every event, and says so when
// the server has no persist_mode. One quick run per server; no speed thresholds.
import { afterAll, describe, expect, it } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import { runOne } from "../../bench/lib/run-one.ts";
import { StreamAdmin, streamNames } from "../../bench/lib/streams.ts";
import { ASYNC_PERSIST, type RunSpec } from "../../bench/lib/types.ts";
import { scenarios } from "../../bench/scenarios/catalog.ts";
import { NatsServer, natsServerBinary } from "../helpers/nats-server.ts";
import { natsTools } from "../helpers/nats-tools.ts";

const servers: NatsServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.dispose()));
});

describe("bench mode offloaded-async", () => {
  const scenario = scenarios(true).find((s) => s.id === "payload-1KB")!;
  it("is listed where the redaction comparison is (sustained, payload-1KB)", () => {
    const listing = scenarios(false).filter((s) => s.extraModes?.includes(ASYNC_PERSIST));
    expect(listing.map((s) => s.id).sort()).toEqual(["payload-1KB", "sustained"]);
  });

  it.each([
    ["the current release", "async", () => natsTools().natsServer],
    ["Debian's 2.9.10", "absent", () => natsServerBinary()],
  ])("on %s: every event stored, the stream's persist_mode %s", async (_, mode, bin) => {
    const expected = mode === "async" ? "async" : undefined;
    const server = await NatsServer.start({ bin: bin() });
    servers.push(server);
    const names = streamNames(scenario.id, ASYNC_PERSIST);
    const spec: RunSpec = {
      scenario,
      mode: ASYNC_PERSIST,
      url: server.url,
      ...names,
      maxInFlight: 4096,
      inlineFullCallers: 1,
      settleTimeoutMs: 30_000,
    };
    const admin = await StreamAdmin.connect(server.url);
    try {
      await admin.fresh(names, server.url, spec.maxInFlight);
      const r = await runOne(spec);
      expect({ sent: r.sent, acked: r.acked, errors: r.errors, dropped: r.dropped }).toEqual({
        sent: scenario.events,
        acked: scenario.events,
        errors: 0,
        dropped: 0,
      });
      expect(await admin.count(names.stream)).toBe(scenario.events + scenario.warmup);
      const jsm = await jetstreamManager(admin.nc);
      expect((await jsm.streams.info(names.stream)).config.persist_mode).toBe(expected);
      if (expected === "async") expect(r.notes).toEqual([]);
      else expect(r.notes.join("\n")).toMatch(/stream persist mode default, not async/);
    } finally {
      await admin.close();
    }
  });
});
