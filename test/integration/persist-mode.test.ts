// persistMode "async": the stream's persist_mode on servers that have it (2.12+), the default with one
// warning on older ones, and what NATS cannot change on an existing stream. Runs on both servers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, PersistMode, type JetStreamManager } from "@nats-io/jetstream";
import { NatsServer, serverAtLeast, natsServerRelease } from "../helpers/nats-server.ts";
import { expectEachEventOnce, waitFor } from "../helpers/stream-reader.ts";
import { MemoryLogger, testPipeline } from "../helpers/pipeline.ts";
import { eventTypeIndex } from "../../src/event-types.ts";
import { statusText } from "../../src/status-text.ts";

const T = eventTypeIndex("session.start");
const HAS_PERSIST_MODE = serverAtLeast(2, 12);
const VERSION = natsServerRelease().join(".");

describe(`persistMode on nats-server ${VERSION}`, () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  beforeAll(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  /** Runs a pipeline with `extra`, captures `n` events (payload i), stops; its status and log. */
  async function run(name: string, extra: Record<string, unknown>, n: number) {
    const log = new MemoryLogger();
    const p = testPipeline(server.url, { streamName: name, subjectPrefix: name, ...extra }, log);
    p.start();
    for (let i = 0; i < n; i++) p.capture(T, "main", "s", { i });
    await waitFor(async () => (await p.status()).counters.acked === n, 30_000, `${n} acks`);
    const status = await p.status();
    await p.stop();
    return { status, log, warnings: log.lines.filter((l) => l.startsWith("warn")) };
  }

  it(
    HAS_PERSIST_MODE
      ? "creates the stream with persist_mode async, says so in status, stores every event once"
      : "creates the stream with the default persist mode, one warning saying why, stores every event once",
    async () => {
      const { status, warnings } = await run("pmasync", { persistMode: "async" }, 3000);
      const cfg = (await jsm.streams.info("pmasync")).config;
      expect(status.stream?.action).toBe("created");
      await expectEachEventOnce(server.url, "pmasync", 3000);
      const text = statusText({ ...status, hints: [] });
      if (HAS_PERSIST_MODE) {
        expect(cfg.persist_mode).toBe(PersistMode.Async);
        expect(status.stream?.persistMode).toBe("async");
        expect(status.stream?.warning).toBeUndefined();
        expect(warnings).toEqual([]);
        expect(text).toMatch(/^NATS event store: .*, stream pmasync \(persist mode async\)$/m);
      } else {
        // persist_mode was not sent: the stream as 2.9-2.11 report it has none (default).
        expect(cfg.persist_mode).toBeUndefined();
        expect(status.stream?.persistMode).toBe("default");
        const why = new RegExp(
          `persistMode "async" needs nats-server 2.12 or later .*nats-server ${VERSION.replaceAll(".", "\\.")} ` +
            "reports no JetStream API level, so the stream uses the default persist mode",
        );
        expect(status.stream?.warning).toMatch(why);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatch(why);
        expect(text).toMatch(why);
        expect(text).not.toMatch(/persist mode async\)/);
      }
    },
  );

  it("a default stream, then persistMode async: says what NATS cannot change, and publishing goes on", async () => {
    const first = await run("pmchange", {}, 100);
    expect(first.status.stream?.persistMode).toBe("default");
    expect(first.warnings).toEqual([]);
    const { status, warnings } = await run("pmchange", { persistMode: "async" }, 100);
    const why = HAS_PERSIST_MODE
      ? /stream pmchange: it uses the default persist mode but persistMode is "async"; NATS cannot change the persist mode of a stream, so delete the stream .* or set persistMode to "default"/
      : /stream pmchange: persistMode "async" needs nats-server 2.12 or later/;
    expect(status.stream?.warning).toMatch(why);
    expect(status.stream?.action).toBe("unchanged");
    expect(status.stream?.persistMode).toBe("default");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(why);
    expect((await jsm.streams.info("pmchange")).config.persist_mode).toBeUndefined();
    // Both runs' events (payload i 0..99 twice, distinct ids) are in the stream.
    expect((await jsm.streams.info("pmchange")).state.messages).toBe(200);
  });

  it.runIf(HAS_PERSIST_MODE)(
    "an async stream is updated (limits) and keeps its persist mode; persistMode default on it says so",
    async () => {
      await jsm.streams.add({
        name: "pmkeep",
        subjects: ["pmkeep.>"],
        max_msgs: 50_000,
        persist_mode: PersistMode.Async,
      });
      const a = await run("pmkeep", { persistMode: "async", retention: { maxMessages: 60_000 } }, 100);
      expect(a.status.stream?.action).toBe("updated");
      expect(a.status.stream?.persistMode).toBe("async");
      expect(a.warnings).toEqual([]);
      let cfg = (await jsm.streams.info("pmkeep")).config;
      expect(cfg.max_msgs).toBe(60_000);
      expect(cfg.persist_mode).toBe(PersistMode.Async);

      // persistMode left at default, and another limit changed: the update still succeeds (it
      // carries async along), and the operator is told the stream acks before the disk write.
      const d = await run("pmkeep", { retention: { maxMessages: 70_000 } }, 100);
      expect(d.status.stream?.action).toBe("updated");
      expect(d.status.stream?.persistMode).toBe("async");
      const why =
        /stream pmkeep: it uses persist_mode "async" \(the server acks before the disk write, so a server crash can lose acked events\) but persistMode is "default"; NATS cannot change the persist mode of a stream, so delete the stream or set persistMode to "async"/;
      expect(d.status.stream?.warning).toMatch(why);
      expect(d.warnings).toHaveLength(1);
      expect(d.warnings[0]).toMatch(why);
      cfg = (await jsm.streams.info("pmkeep")).config;
      expect(cfg.max_msgs).toBe(70_000);
      expect(cfg.persist_mode).toBe(PersistMode.Async);
      expect((await jsm.streams.info("pmkeep")).state.messages).toBe(200);
    },
  );

  it.runIf(HAS_PERSIST_MODE)("async: a clean server shutdown loses no acked event", async () => {
    await run("pmclean", { persistMode: "async" }, 5000);
    await nc.close();
    await server.stop("SIGTERM");
    await server.restart();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info("pmclean")).config.persist_mode).toBe(PersistMode.Async);
    await expectEachEventOnce(server.url, "pmclean", 5000);
  });
});
