import { describe, expect, it } from "vitest";
import { DEFAULTS, redactUrl, resolveConfig } from "../../src/config.ts";

const err = (raw: unknown) => {
  const r = resolveConfig(raw);
  if (r.ok) throw new Error("expected an error");
  return r.error;
};

describe("config", () => {
  it("applies the seed's defaults when nothing is set", () => {
    const r = resolveConfig(undefined);
    expect(r.ok && r.config).toEqual(DEFAULTS);
    expect(DEFAULTS).toMatchObject({
      enabled: true,
      natsUrl: "nats://localhost:4222",
      streamName: "openclaw-events",
      subjectPrefix: "openclaw.events",
      retention: { maxMessages: -1, maxBytes: -1, maxAgeHours: 0 },
      publishTimeoutMs: 5000,
      connectTimeoutMs: 5000,
      drainTimeoutMs: 5000,
      includeHooks: [],
      excludeHooks: [],
    });
  });

  it("keeps given values and fills the rest", () => {
    const r = resolveConfig({ natsUrl: "nats://a:4222,nats://b:4222", retention: { maxAgeHours: 24 }, encoding: "msgpack" });
    expect(r.ok && r.config.retention).toEqual({ maxMessages: -1, maxBytes: -1, maxAgeHours: 24 });
    expect(r.ok && r.config.encoding).toBe("msgpack");
  });

  it.each([
    [{ natsUrl: "" }, /natsUrl must be a non-empty string/],
    [{ natsUrl: "http://x:1" }, /natsUrl must use nats:\/\//],
    [{ streamName: "a.b" }, /streamName must be a JetStream stream name/],
    [{ subjectPrefix: "a.*" }, /subjectPrefix must be dot-separated/],
    [{ subjectPrefix: "a..b" }, /subjectPrefix/],
    [{ publishTimeoutMs: -1 }, /publishTimeoutMs must be an integer from 100/],
    [{ ringBytes: 100_000 }, /ringBytes must be a power of two/],
    [{ encoding: "xml" }, /encoding must be one of "json", "msgpack"/],
    [{ includeHooks: "gateway_start" }, /includeHooks must be a list/],
    [{ retention: { maxAgeHours: -2 } }, /retention.maxAgeHours must be a number of hours/],
    [{ retention: { maxMessages: 0 } }, /retention.maxMessages/],
    [{ retention: { colour: 1 } }, /retention.colour is not a known setting/],
    [{ natsURL: "x" }, /natsURL is not a known setting/],
    [{ retention: { maxAgeHours: 0.001 }, duplicateWindowMs: 120_000 }, /duplicateWindowMs .* must not exceed retention.maxAgeHours/],
    [{ ringBytes: 65536, maxPayloadBytes: 65536 }, /ringBytes .* at least 4 x maxPayloadBytes/],
    ["yes", /must be an object/],
  ])("refuses %j with a message naming the key", (raw, message) => {
    expect(err(raw)).toMatch(message);
  });

  it("never puts credentials in an error or a log line", () => {
    expect(redactUrl("nats://user:secret@host:4222")).toBe("nats://***@host:4222");
    expect(err({ natsUrl: "http://user:secret@host:4222" })).not.toContain("secret");
  });
});
