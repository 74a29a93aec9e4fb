// ensureStream against a recording stand-in for the JetStream API: what is sent to the server for
// persist_mode (the real servers are in test/integration/persist-mode.test.ts).
import { describe, expect, it } from "vitest";
import { JetStreamApiError, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import { resolveConfig } from "../../src/config.ts";
import { statusText } from "../../src/status-text.ts";
import type { EnabledStatus } from "../../src/status.ts";
import { desiredStream, ensureStream, persistModeUnsupported } from "../../workers/stream-setup.ts";

const config = (extra: Record<string, unknown> = {}) => {
  const r = resolveConfig({ streamName: "ev", subjectPrefix: "ev", ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.config;
};

/** A JetStreamManager whose stream `existing` (or none) answers info, and which records add/update. */
function fakeJsm(existing: Partial<StreamConfig> | undefined, echo: (c: Partial<StreamConfig>) => object = (c) => c) {
  const sent: { add: Partial<StreamConfig>[]; update: Partial<StreamConfig>[] } = { add: [], update: [] };
  const state = { messages: 0, bytes: 0 };
  const jsm = {
    streams: {
      async info() {
        if (!existing) throw new JetStreamApiError({ code: 404, err_code: 10059, description: "stream not found" });
        return { config: existing, state };
      },
      async add(c: Partial<StreamConfig>) {
        sent.add.push(c);
        return { config: echo(c), state };
      },
      async update(_name: string, c: Partial<StreamConfig>) {
        sent.update.push(c);
        // What the server requires: persist_mode unchanged (an update without it asks for the default).
        if ((c.persist_mode ?? "default") !== (existing?.persist_mode ?? "default")) {
          throw new JetStreamApiError({
            code: 500,
            err_code: 10052,
            description: "stream configuration update can not change persist mode",
          });
        }
        return { config: { ...existing, ...c }, state };
      },
    },
  };
  return { jsm: jsm as unknown as JetStreamManager, sent };
}

const NEW = { version: "2.15.3", api_lvl: 5 };
const OLD = { version: "2.9.10" };

describe("persistModeUnsupported", () => {
  it.each([
    [{ version: "2.12.0", api_lvl: 2 }, undefined],
    [NEW, undefined],
    [{ version: "2.11.9" }, /nats-server 2\.11\.9 reports no JetStream API level/],
    [{ version: "2.11.0", api_lvl: 1 }, /nats-server 2\.11\.0 reports JetStream API level 1/],
    [undefined, /the server reports no JetStream API level/],
  ])("%j -> %s", (server, why) => {
    const r = persistModeUnsupported(server);
    if (why === undefined) expect(r).toBeUndefined();
    else expect(r).toMatch(why);
  });
});

describe("ensureStream and persist_mode", () => {
  it("creates the stream with persist_mode async only when asked and the server has it", async () => {
    expect(desiredStream(config())).not.toHaveProperty("persist_mode");
    for (const [extra, server, sent] of [
      [{ persistMode: "async" }, NEW, "async"],
      [{ persistMode: "async" }, OLD, undefined],
      [{}, NEW, undefined],
    ] as const) {
      const { jsm, sent: calls } = fakeJsm(undefined);
      const r = await ensureStream(jsm, config(extra), server);
      expect(calls.add[0].persist_mode).toBe(sent);
      expect(r.action).toBe("created");
      expect(r.persistMode).toBe(sent ?? "default");
    }
  });

  it("a created stream that comes back without persist_mode says so", async () => {
    const { jsm } = fakeJsm(undefined, ({ persist_mode: _, ...rest }) => rest);
    const r = await ensureStream(jsm, config({ persistMode: "async" }), NEW);
    expect(r.persistMode).toBe("default");
    expect(r.warning).toMatch(/stream ev was created with the default persist mode: the server did not keep/);
  });

  it("an update of an async stream carries persist_mode, whatever persistMode says", async () => {
    const have = { ...desiredStream(config()), max_msgs: 5, persist_mode: "async" };
    for (const persistMode of ["async", "default"]) {
      const { jsm, sent } = fakeJsm(have);
      const r = await ensureStream(jsm, config({ persistMode }), NEW);
      expect(sent.update).toHaveLength(1);
      expect(sent.update[0].persist_mode).toBe("async");
      expect(r.action).toBe("updated");
      expect(r.persistMode).toBe("async");
      if (persistMode === "async") expect(r.warning).toBeUndefined();
      else expect(r.warning).toMatch(/uses persist_mode "async" .* set persistMode to "async"/);
    }
  });

  it("an update of a default stream sends no persist_mode (servers before 2.12 may not know the field)", async () => {
    const { jsm, sent } = fakeJsm({ ...desiredStream(config()), max_msgs: 5 });
    const r = await ensureStream(jsm, config(), OLD);
    expect(sent.update[0]).not.toHaveProperty("persist_mode");
    expect(r).toMatchObject({ action: "updated", persistMode: "default", warning: undefined });
  });

  it("an unchanged stream whose persist mode differs is reported, not updated", async () => {
    const { jsm, sent } = fakeJsm(desiredStream(config()));
    const r = await ensureStream(jsm, config({ persistMode: "async" }), NEW);
    expect(sent.update).toHaveLength(0);
    expect(r.action).toBe("unchanged");
    expect(r.warning).toMatch(/^stream ev: it uses the default persist mode but persistMode is "async"; NATS cannot/);
    const old = await ensureStream(fakeJsm(desiredStream(config())).jsm, config({ persistMode: "async" }), OLD);
    expect(old.warning).toMatch(/^stream ev: persistMode "async" needs nats-server 2\.12 or later/);
  });

  it("/eventstatus names the persist mode when it is async, and only then", () => {
    const status = (persistMode?: "async" | "default") =>
      ({
        state: "running",
        hints: [],
        connection: { state: "connected", server: "127.0.0.1:4222" },
        stream: { name: "ev", action: "created", persistMode },
        counters: {
          captured: 0,
          acked: 0,
          pending: 0,
          retried: 0,
          reconnects: 0,
          workerCrashes: 0,
          workerStalls: 0,
          truncated: 0,
          redactions: 0,
          dropped: { total: 0 },
          spool: { spooled: 0, bytes: 0, recovered: 0, damaged: { segments: 0 } },
        },
        rates: { capturedPerSec: 0, ackedPerSec: 0, windowSec: 60 },
        latency: { captureToAck: { count: 0 } },
        ring: { usedBytes: 0, capacityBytes: 1, highWaterBytes: 0 },
        host: { costNsPerCall: 0 },
      }) as unknown as EnabledStatus;
    const first = (s: EnabledStatus) => statusText(s).split("\n")[0];
    expect(first(status("async"))).toBe(
      "NATS event store: connected to 127.0.0.1:4222, stream ev (persist mode async)",
    );
    expect(first(status("default"))).toBe("NATS event store: connected to 127.0.0.1:4222, stream ev");
    expect(first(status())).toBe("NATS event store: connected to 127.0.0.1:4222, stream ev");
  });
});
