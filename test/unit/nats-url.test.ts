import { describe, expect, it } from "vitest";
import { NatsUrlError, parseNatsUrl, redactUrl, secretsOf } from "../../src/nats-url.ts";

const reject = (url: string): string => {
  try {
    parseNatsUrl(url);
  } catch (e) {
    expect(e).toBeInstanceOf(NatsUrlError);
    return (e as Error).message;
  }
  throw new Error(`expected ${url} to be refused`);
};

describe("parseNatsUrl", () => {
  it("takes one URL or a list, with or without a scheme, credentials apart from the servers", () => {
    expect(parseNatsUrl("nats://127.0.0.1:4222")).toEqual({ servers: ["127.0.0.1:4222"], tls: false });
    expect(parseNatsUrl(" a , nats://b:5000 ,tls://c")).toEqual({ servers: ["a:4222", "b:5000", "c:4222"], tls: true });
    expect(parseNatsUrl("nats://alice:s3cret@h:1,nats://alice:s3cret@g:2,k:3")).toEqual({
      servers: ["h:1", "g:2", "k:3"],
      tls: false,
      user: "alice",
      pass: "s3cret",
    });
    expect(parseNatsUrl("nats://T0KEN@h")).toEqual({ servers: ["h:4222"], tls: false, token: "T0KEN" });
    expect(parseNatsUrl("nats://[::1]:4222,[fe80::1]")).toMatchObject({ servers: ["[::1]:4222", "[fe80::1]:4222"] });
  });

  it("decodes percent-encoded credentials (an @ or a / or a % in a password)", () => {
    expect(parseNatsUrl("nats://u:p%40ss%2Fw%25rd@h")).toMatchObject({ user: "u", pass: "p@ss/w%rd" });
    // the last @ ends the credentials
    expect(parseNatsUrl("nats://u:p@ss@h")).toMatchObject({ user: "u", pass: "p@ss", servers: ["h:4222"] });
  });

  // Each of these once leaked the password into the gateway log, /eventstatus and eventstore.status,
  // or (a raw % in a password) passed validation and crash-looped the worker with "URI malformed".
  it.each([
    ["nats://nats-a:4222,ops:Tr0ub4dor@nats-b:99999", "Tr0ub4dor", /server 2 of 2 has an invalid port/],
    ["alice:s3cret@host:notaport", "s3cret", /invalid port/],
    ["nats://alice:pa/ss@host", "pa/ss", /not a valid URL.*percent-encoded/],
    ["nats://user:50%off@host", "50%off", /not valid percent-encoding \(write a literal % as %25\)/],
    ["nats://alice:s3cret", "s3cret", /invalid port/], // no "@": the password reads as a port
    ["ws://alice:s3cret@host:80", "s3cret", /ws:\/\/.*plain TCP: use nats:\/\/ or tls:\/\//],
    ["wss://alice:s3cret@host", "s3cret", /wss:\/\//],
    ["http://alice:s3cret@host", "s3cret", /uses http:\/\/; use nats:\/\/ or tls:\/\//],
    ["nats://alice:s3 cret@host", "cret", /spaces or control characters/],
    ["nats://a:1,,nats://alice:s3cret@b", "s3cret", /server 2 of 3 is empty/],
    ["nats://alice:s3cret@a,nats://bob:other@b", "s3cret", /server 2 of 2 has other credentials than server 1/],
    ["nats://:s3cret@a", "s3cret", /password but no user name/],
    ["nats://alice:s3cret@a:4222/path?q=1", "s3cret", /path, query or fragment/],
    ["nats://alice:s3cret@a:0", "s3cret", /invalid port/],
  ])("refuses %s with a clear error that does not quote it", (url, secret, why) => {
    const msg = reject(url);
    expect(msg).toMatch(why);
    expect(msg).not.toContain(secret);
  });

  it("bounds what it accepts", () => {
    expect(reject("")).toMatch(/at least one server/);
    expect(reject(Array.from({ length: 65 }, (_, i) => `h${i}`).join(","))).toMatch(/more than 64 servers/);
    expect(reject(`nats://${"x".repeat(20_000)}`)).toMatch(/longer than/);
  });
});

describe("redactUrl", () => {
  it("masks everything before the last @ of each server entry, scheme kept", () => {
    expect(redactUrl("nats://user:secret@host:4222")).toBe("nats://***@host:4222");
    const list = "nats://a:1,nats://ops:Tr0ub4dor@nats-b:99,tls://t0k@c";
    expect(redactUrl(list)).toBe("nats://a:1,nats://***@nats-b:99,tls://***@c");
    expect(redactUrl("alice:s3cret@host:notaport")).toBe("***@host:notaport");
    expect(redactUrl("nats://alice:pa/ss@host")).toBe("nats://***@host");
    expect(redactUrl("nats://u:p@ss@h")).toBe("nats://***@h");
    expect(redactUrl("connect to (nats://u:pw@h:1) failed")).toBe("connect to (nats://***@h:1) failed");
  });

  it("masks the known credentials wherever they appear, decoded or as written", () => {
    const s = parseNatsUrl("nats://alice:50%25off@h");
    expect(secretsOf(s)).toEqual(["50%off", "50%25off"]);
    const text = "auth failed for password 50%off (50%25off)";
    expect(redactUrl(text, secretsOf(s))).toBe("auth failed for password *** (***)");
    expect(redactUrl("token T0KEN refused", secretsOf(parseNatsUrl("T0KEN@h")))).toBe("token *** refused");
  });
});
