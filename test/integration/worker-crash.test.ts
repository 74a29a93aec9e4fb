import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NatsServer } from "../helpers/nats-server.ts";
import { expectEachEventOnce, waitFor } from "../helpers/stream-reader.ts";
import { killWorker, testPipeline } from "../helpers/pipeline.ts";
import { eventTypeIndex } from "../../src/event-types.ts";

describe("publisher worker crashes", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("killed several times at random points mid-stream: every event is stored exactly once", async () => {
    const p = testPipeline(server.url, { streamName: "crash", subjectPrefix: "crash" });
    p.start();
    const N = 40_000;
    const type = eventTypeIndex("llm.output");
    // Kill points drawn at random, logged so a failure can be replayed.
    const kills = new Set(Array.from({ length: 4 }, () => 2000 + Math.floor(Math.random() * (N - 4000))));
    console.log(`killing the worker after events ${[...kills].sort((a, b) => a - b).join(", ")}`);
    for (let i = 0; i < N; i++) {
      expect(p.capture(type, "main", "agent:main:crash", { i })).toBe("ok");
      if (kills.has(i)) {
        // Kill a worker that is up and publishing, not one still in its restart backoff.
        await waitFor(() => p.supervisor.running && p.supervisor.connection === "connected", 20_000, "worker up");
        await killWorker(p);
      }
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    await waitFor(async () => (await p.status()).counters.acked === N, 60_000, "all acks after crashes");
    const status = await p.status();
    await p.stop();
    expect(status.counters.workerCrashes).toBe(kills.size);
    expect(status.counters.workerStarts).toBe(kills.size + 1);
    expect(status.counters.pending).toBe(0);
    expect(status.counters.published).toBe(N); // re-publishes by successors count as retried

    await expectEachEventOnce(server.url, "crash", N);
  }, 120_000);
});
