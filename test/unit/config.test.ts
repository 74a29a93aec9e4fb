import { describe, expect, it } from "vitest";
import { DEFAULTS, resolveConfig } from "../../src/config.ts";

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
    const r = resolveConfig({
      natsUrl: "nats://a:4222,nats://b:4222",
      retention: { maxAgeHours: 24 },
      encoding: "msgpack",
    });
    expect(r.ok && r.config.retention).toEqual({ maxMessages: -1, maxBytes: -1, maxAgeHours: 24 });
    expect(r.ok && r.config.encoding).toBe("msgpack");
  });

  it("publishes with a PubAck per event unless fast batches are asked for", () => {
    expect(DEFAULTS.publishMode).toBe("inbox");
    const r = resolveConfig({ publishMode: "fast-batch" });
    expect(r.ok && r.config.publishMode).toBe("fast-batch");
  });

  it.each([
    [{ natsUrl: "" }, /natsUrl: must name at least one server/],
    [{ natsUrl: "http://x:1" }, /natsUrl: the server URL uses http:\/\/; use nats:\/\/ or tls:\/\//],
    [{ streamName: "a.b" }, /streamName must be a JetStream stream name/],
    [{ subjectPrefix: "a.*" }, /subjectPrefix must be dot-separated/],
    [{ subjectPrefix: "a..b" }, /subjectPrefix/],
    [{ publishTimeoutMs: -1 }, /publishTimeoutMs must be an integer from 100/],
    [{ ringBytes: 100_000 }, /ringBytes must be a power of two/],
    [{ encoding: "xml" }, /encoding must be one of "json", "msgpack"/],
    [{ publishMode: "fast" }, /publishMode must be one of "inbox", "fast-batch"/],
    [{ publishMode: true }, /publishMode must be one of/],
    [{ includeHooks: "gateway_start" }, /includeHooks must be a list/],
    [{ retention: { maxAgeHours: -2 } }, /retention.maxAgeHours must be a number of hours/],
    [{ retention: { maxMessages: 0 } }, /retention.maxMessages/],
    [{ retention: { colour: 1 } }, /retention.colour is not a known setting/],
    [{ natsURL: "x" }, /natsURL is not a known setting/],
    [
      { retention: { maxAgeHours: 0.001 }, duplicateWindowMs: 120_000 },
      /duplicateWindowMs .* must not exceed retention.maxAgeHours/,
    ],
    [{ ringBytes: 65536, maxPayloadBytes: 65536 }, /ringBytes .* at least 4 x maxPayloadBytes/],
    ["yes", /must be an object/],
  ])("refuses %j with a message naming the key", (raw, message) => {
    expect(err(raw)).toMatch(message);
  });

  it("persistMode: default unless set; async needs file storage and one replica", () => {
    expect(DEFAULTS.persistMode).toBe("default");
    const r = resolveConfig({ persistMode: "async" });
    expect(r.ok && r.config.persistMode).toBe("async");
    expect(resolveConfig({ persistMode: "default", storage: "memory", replicas: 3 }).ok).toBe(true);
    expect(err({ persistMode: "sync" })).toBe('persistMode must be one of "default", "async", got "sync"');
    expect(err({ persistMode: "async", storage: "memory" })).toBe(
      'persistMode "async" needs storage "file" (NATS allows it on file storage only)',
    );
    expect(err({ persistMode: "async", replicas: 3 })).toBe(
      'persistMode "async" needs replicas 1, got 3 (NATS does not allow it on replicated streams)',
    );
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
    expect(err({ password: 12345678 })).toBe(
      "password must be a string of at most 4096 characters without control characters",
    );
    expect(err({ token: "s3cret-token", user: "u", password: "s3cret-pw" })).not.toMatch(/s3cret/);
  });

  it("never puts credentials in an error or a log line", () => {
    expect(err({ natsUrl: "http://user:secret@host:4222" })).not.toContain("secret");
    const urls = ["nats://nats-a:4222,ops:Tr0ub4dor@nats-b:99999", "alice:Tr0ub4dor@host:notaport"];
    for (const natsUrl of [...urls, "nats://alice:Tr0ub4dor/x@h", "nats://u:Tr0ub4dor%@h"]) {
      expect(err({ natsUrl })).toMatch(/^natsUrl: /);
      expect(err({ natsUrl })).not.toContain("Tr0ub4dor");
    }
  });

  it("refuses ws:// and wss://: the publisher dials plain TCP", () => {
    expect(err({ natsUrl: "ws://h:8080" })).toMatch(/ws:\/\/.*plain TCP/);
    expect(err({ natsUrl: "nats://a:1,wss://h" })).toMatch(/server 2 of 2 uses wss:\/\//);
  });

  // These keys exist on Object.prototype: looking them up in the table of settings found its
  // methods, and register() threw instead of reporting an unknown setting.
  const PROTO_KEYS = ["hasOwnProperty", "__proto__", "valueOf", "constructor", "toString"];
  it.each(PROTO_KEYS)("an own key %s, at the top or under retention, is an unknown setting, not a throw", (k) => {
    const top = JSON.parse(`{"${k}": 1}`);
    expect(Object.hasOwn(top, k)).toBe(true);
    expect(err(top)).toBe(`${k} is not a known setting`);
    expect(err(JSON.parse(`{"retention": {"${k}": 1}}`))).toBe(`retention.${k} is not a known setting`);
  });

  it("a config no JSON file can produce is an error, never a throw", () => {
    expect(err({ maxInFlight: 10n })).toMatch(/maxInFlight must be an integer .* got 10/);
    const hostile = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error("trap");
        },
      },
    );
    expect(err(hostile)).toMatch(/could not be read/);
    const getter = Object.defineProperty({}, "natsUrl", {
      enumerable: true,
      get: () => {
        throw new Error("getter");
      },
    });
    expect(err(getter)).toMatch(/could not be read/);
  });

  it.each([
    [{ subjectPrefix: "a.b\u0000c" }, /subjectPrefix must be dot-separated .* control characters/],
    [{ subjectPrefix: "a\u007f" }, /subjectPrefix/],
    [{ subjectPrefix: "x".repeat(300) }, /at most 256 characters/],
    [{ streamName: "ev\u0001ents" }, /streamName must be a JetStream stream name/],
    [{ streamName: "ev\tents" }, /streamName/],
    [{ retention: { maxAgeHours: 1e9 } }, /retention.maxAgeHours must be a number of hours from 0 to 87600/],
    [{ retention: { maxAgeHours: Infinity } }, /retention.maxAgeHours/],
    [{ spoolDir: "/tmp/a\u0000b" }, /spoolDir must be a string of at most 4096 characters without control characters/],
    [{ includeHooks: ["x".repeat(10_000)] }, /names unknown hook\(s\) "x{50,}…;/],
    [{ ["k".repeat(500)]: 1 }, /^k{60}… is not a known setting$/],
  ])("refuses case %# (control characters, absurd sizes) with a short message", (raw, message) => {
    const e = err(raw);
    expect(e).toMatch(message);
    expect(e.length).toBeLessThan(600);
  });
});
