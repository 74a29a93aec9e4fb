// The gateway's shared reader connection (eventstore.query, the agent tool) is keyed by the connection
// settings alone: its callers pass the whole config, and a change elsewhere in it (stream, privacy,
// agent tool...) must not reopen the connection, while a changed connection setting must.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULTS, type EventStoreConfig } from "../../src/config.ts";
import { closeReader, withReader } from "../../src/read/gateway-reader.ts";
import { NatsServer } from "../helpers/nats-server.ts";

describe("the gateway's shared reader connection", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await closeReader();
    await server?.dispose();
  });

  it("is shared by configs that differ outside the connection settings; a changed one opens a new one", async () => {
    const connectionOf = (config: EventStoreConfig) => withReader(config, async (c) => c.nc);
    const config: EventStoreConfig = { ...DEFAULTS, natsUrl: server.url };
    const first = await connectionOf(config);
    const elsewhere = await connectionOf({
      ...config,
      streamName: "other-events",
      subjectPrefix: "other.events",
      retention: { ...config.retention, maxAgeHours: 24 },
      privacy: "metadata",
      agentTool: true,
      spoolDir: "/elsewhere",
    });
    expect(elsewhere).toBe(first);
    expect(first.isClosed()).toBe(false);

    const changed = await connectionOf({ ...config, connectTimeoutMs: config.connectTimeoutMs + 1 });
    expect(changed).not.toBe(first);
    await first.closed(); // the one it replaced is closed
    expect(await connectionOf({ ...config, connectTimeoutMs: config.connectTimeoutMs + 1 })).toBe(changed);
  });
});
