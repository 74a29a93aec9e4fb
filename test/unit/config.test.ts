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

  it("takes connection security settings; natsUrl left out with a natsContext comes from the context", () => {
    const r = resolveConfig({ user: "u", password: "p", tls: { caFile: "/ca.pem", handshakeFirst: true } });
    expect(r.ok && r.config.tls).toEqual({ caFile: "/ca.pem", certFile: "", keyFile: "", handshakeFirst: true });
    expect(r.ok && r.config.natsUrl).toBe(DEFAULTS.natsUrl);
    const ctx = resolveConfig({ natsContext: "prod" });
    expect(ctx.ok && ctx.config.natsUrl).toBe("");
    const both = resolveConfig({ natsContext: "prod", natsUrl: "nats://h:4222" });
    expect(both.ok && both.config.natsUrl).toBe("nats://h:4222");
  });

  it.each([
    [{ user: "u", password: "p", token: "t" }, "user/password and token are both set: configure one authentication"],
    [{ natsUrl: "nats://u:p@h:4222", credsFile: "/c" }, "natsUrl (credentials in the URL) and credsFile are both set"],
    [{ natsUrl: "nats://a:4222,tok@b:4222", token: "t" }, "natsUrl (credentials in the URL) and token are both set"],
    [{ nkeySeedFile: "/s", credsFile: "/c" }, "nkeySeedFile and credsFile are both set"],
    [{ user: "u" }, "user and password must be set together"],
    [{ tls: { certFile: "/c.pem" } }, "tls.certFile and tls.keyFile must be set together"],
    [{ tls: { caFile: 1 } }, "tls.caFile must be a string"],
    [{ tls: { verify: true } }, "tls.verify is not a known setting"],
    [{ tls: "on" }, "tls must be an object"],
  ])("refuses %j with a message naming the keys", (raw, message) => {
    expect(err(raw)).toContain(message);
  });

  it("never echoes a password or token in a config error", () => {
    expect(err({ password: 12345678 })).toBe("password must be a string");
    expect(err({ token: "s3cret-token", user: "u", password: "s3cret-pw" })).not.toMatch(/s3cret/);
  });

  it("never puts credentials in an error or a log line", () => {
    expect(redactUrl("nats://user:secret@host:4222")).toBe("nats://***@host:4222");
    expect(err({ natsUrl: "http://user:secret@host:4222" })).not.toContain("secret");
  });
});
