// Events captured at any moment of the plugin's lifecycle end in the stream or the spool, or are
// logged with their count: a stop while the worker waits out its restart backoff, a plugin
// replacement (OpenClaw's order: old service stop, old gateway_stop hooks, new register, new
// start), and events that arrive after the final stop.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import plugin from "../../src/index.ts";
import { pluginState } from "../../src/plugin-state.ts";
import { Counter } from "../../src/ring/layout.ts";
import { eventTypeIndex } from "../../src/event-types.ts";
import { fakeApi, resetPluginState } from "../helpers/fake-api.ts";
import { freePort, NatsServer } from "../helpers/nats-server.ts";
import { expectEachEventOnce, readStream, waitFor } from "../helpers/stream-reader.ts";
import { MemoryLogger, testPipeline } from "../helpers/pipeline.ts";

const T = eventTypeIndex("tool.result");
const segments = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".seg"));

describe("lifecycle gaps", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "lifecycle-gaps-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe("a graceful stop while the worker waits out its restart backoff (wrong password)", () => {
    let storeDir: string;
    let port: number;
    let secured: NatsServer;
    beforeAll(async () => {
      storeDir = mkdtempSync(join(tmpdir(), "nats-js-"));
      port = await freePort();
      secured = await NatsServer.start({ port, storeDir, args: ["--user", "alice", "--pass", "s3cret-pw"] });
    });
    afterAll(async () => {
      await secured?.dispose();
      rmSync(storeDir, { recursive: true, force: true });
    });

    /** A pipeline whose worker is refused and restarted, caught between two attempts. */
    async function inBackoff(spoolDir: string, log: MemoryLogger) {
      const url = `nats://alice:wrong-pw@127.0.0.1:${port}`;
      const p = testPipeline(url, { streamName: "backoff", subjectPrefix: "bo", connectTimeoutMs: 500 }, log);
      p.start(spoolDir);
      for (let i = 0; i < 500; i++) expect(p.capture(T, "main", "agent:main:bo", { i })).toBe("ok");
      // From the third crash on the backoff is >= 400 ms: stop() below runs inside it.
      const inBackoff = () => p.views.counters[Counter.workerCrashes] >= 3 && !p.supervisor.running;
      await waitFor(inBackoff, 30_000, "worker in its restart backoff");
      return p;
    }

    it("spools the ring, and the next process with the right password stores every event once", async () => {
      const spoolDir = join(dir, "backoff");
      const log = new MemoryLogger();
      const p = await inBackoff(spoolDir, log);
      const left = await p.stop();
      expect(left).toBe(0);
      expect(p.views.counters[Counter.spooled]).toBe(500);
      expect(segments(spoolDir).length).toBeGreaterThan(0);
      expect(log.lines.join("\n")).not.toContain("wrong-pw");

      // The next gateway process, with the password fixed (the server now open, to read the stream back).
      await secured.stop();
      const open = await NatsServer.start({ port, storeDir });
      try {
        const next = testPipeline(open.url, { streamName: "backoff", subjectPrefix: "bo" });
        next.start(spoolDir);
        // An earlier process's events count as recovered, apart from this process's own acked.
        const replayed = async () =>
          (await next.status()).counters.spool.recovered === 500 && segments(spoolDir).length === 0;
        await waitFor(replayed, 30_000, "spool replay");
        await next.stop();
        await expectEachEventOnce(open.url, "backoff", 500);
      } finally {
        await open.stop();
        await secured.restart();
      }
    }, 90_000);

    it("without a spool, reports how many events and bytes could not be stored", async () => {
      const log = new MemoryLogger();
      const p = await inBackoff("", log);
      const used = p.status().then((s) => s.ring.usedBytes);
      const left = await p.stop();
      expect(left).toBe(await used);
      expect(left).toBeGreaterThan(0);
      const reported = `500 events (${left} bytes) could not be stored`;
      expect(log.lines.some((l) => l.startsWith("warn") && l.includes(reported))).toBe(true);
    }, 60_000);
  });

  describe("with a NATS server", () => {
    let server: NatsServer;
    beforeAll(async () => {
      server = await NatsServer.start();
    });
    afterAll(async () => {
      await server?.dispose();
    });

    it("keeps what is captured between a replaced registration's stop and its successor's start", async () => {
      resetPluginState();
      const spoolDir = join(dir, "replaced");
      const cfg = { natsUrl: server.url, streamName: "replaced", subjectPrefix: "rp", spoolDir, ringBytes: 1 << 20 };
      const registration = (extra: Record<string, unknown> = {}) => {
        const api = fakeApi({ ...cfg, ...extra });
        plugin.register(api);
        return api;
      };
      // Generation 1 runs, then is replaced with the same settings.
      const g1 = registration();
      await g1.services[0].start({});
      g1.fire("gateway_start", { port: 1 }, {});
      await g1.services[0].stop?.({});
      g1.fire("gateway_stop", { reason: "plugin replacement" }, { port: 1 });
      const g2 = registration();
      await g2.services[0].start({});
      g2.fire("session_start", { sessionId: "s1", sessionKey: "agent:main:a" }, { agentId: "main" });
      // Generation 2 is replaced by one with other engine settings (a new ring and worker).
      await g2.services[0].stop?.({});
      g2.fire("gateway_stop", { reason: "plugin replacement" }, { port: 1 });
      const g3 = registration({ drainTimeoutMs: 4000 });
      await g3.services[0].start({});
      g3.fire("session_end", { sessionId: "s1", sessionKey: "agent:main:a", reason: "shutdown" }, { agentId: "main" });
      g3.fire("gateway_stop", { reason: "gateway stopping" }, { port: 1 });
      const p = pluginState().pipeline!;
      // The spool is <spoolDir>/<stream>.
      const delivered = async () =>
        (await p.status()).counters.pending === 0 && segments(join(spoolDir, "replaced")).length === 0;
      await waitFor(delivered, 30_000, "delivery");
      await g3.services[0].stop?.({});
      resetPluginState();

      const events = (await readStream(server.url, "replaced")).map((m) => JSON.parse(Buffer.from(m.data).toString()));
      expect(events.map((e) => `${e.type} ${e.payload.reason ?? ""}`.trim())).toEqual([
        "gateway.start",
        "gateway.stop plugin replacement",
        "session.start",
        "gateway.stop plugin replacement",
        "session.end shutdown",
        "gateway.stop gateway stopping",
      ]);
    }, 60_000);

    it("events captured after the final stop leave memory, and the next process stores them", async () => {
      const spoolDir = join(dir, "late");
      const log = new MemoryLogger();
      const p = testPipeline(server.url, { streamName: "late", subjectPrefix: "lt" }, log);
      p.start(spoolDir);
      for (let i = 0; i < 10; i++) p.capture(T, "main", "s", { i });
      await waitFor(() => p.views.counters[Counter.acked] === 10, 15_000, "acks");
      await p.stop();
      // A hook that fires after the service stopped (e.g. a session closing late in the shutdown).
      for (let i = 10; i < 15; i++) p.capture(T, "main", "s", { i });
      // Unless a start comes, a worker moves them out of memory (to the stream if it connects first,
      // else to the spool) and nothing is reported lost.
      await waitFor(async () => (await p.status()).ring.usedBytes === 0, 15_000, "late events out of the ring");
      expect(p.views.counters[Counter.acked] + p.views.counters[Counter.spooled]).toBe(15);
      expect(log.lines.filter((l) => l.startsWith("warn") || l.startsWith("error"))).toEqual([]);

      const next = testPipeline(server.url, { streamName: "late", subjectPrefix: "lt" });
      next.start(spoolDir);
      const replayed = async () => (await next.status()).counters.pending === 0 && segments(spoolDir).length === 0;
      await waitFor(replayed, 30_000, "spool replay");
      await next.stop();
      await expectEachEventOnce(server.url, "late", 15);
    }, 60_000);
  });
});
