import { describe, expect, it } from "vitest";
import { pack, unpack } from "msgpackr";
import { Redactor, TextRedactor } from "../../workers/redact.ts";
import { Counter, COUNTER_SLOTS } from "../../src/ring/layout.ts";
import { resolveConfig } from "../../src/config.ts";
import { SECRET_SAMPLES } from "../helpers/secrets.ts";

const json = (o: unknown) => Buffer.from(JSON.stringify(o));

/** Redacts an encoded payload as the worker does; returns the payload published and the counters. */
const counters = () => new Float64Array(COUNTER_SLOTS);

function publish(payload: unknown, encoding: "json" | "msgpack", seq = 0, r = new Redactor([], counters())) {
  const bytes = encoding === "json" ? json(payload) : Buffer.from(pack(payload));
  const out = r.payload(bytes, 0, bytes.length, encoding === "json", 7, seq);
  const sent = Buffer.from(out ?? bytes);
  const value = encoding === "json" ? JSON.parse(sent.toString("utf8")) : unpack(sent);
  return { changed: out !== undefined, sent, value, r };
}

describe("secret redaction (worker side)", () => {
  it.each(SECRET_SAMPLES.map((x) => [x.kind, x] as const))("replaces a %s by [REDACTED:kind]", (kind, x) => {
    const out = new TextRedactor().redact(x.text);
    expect(out).not.toContain(x.secret);
    expect(out).toContain(`[REDACTED:${kind}]`);
  });

  it("leaves text without secrets as it is, word for word", () => {
    const t = new TextRedactor();
    for (const text of [
      "the token count is 5 and the author wrote it",
      "max_tokens=100 temperature=0.2",
      "secret=$SECRET_FROM_ENV password=$" + "{DB_PASS}", // a shell placeholder, not a template
      "see https://example.com/docs?page=2 and nats://127.0.0.1:4222",
      "Bearer of bad news",
      "asia and slovakia",
      "ls -la /workspace/src",
    ])
      expect(t.redact(text), text).toBe(text);
    expect(t.count).toBe(0);
  });

  for (const encoding of ["json", "msgpack"] as const) {
    it(`${encoding}: every shape in params, results and messages is replaced; the ${encoding} stays valid`, () => {
      const payload = {
        toolName: "exec",
        params: {
          command: SECRET_SAMPLES.map((x) => x.text).join("\n"),
          env: { PASSWORD: "plain-json-field-pw", "api-key": "k-in-a-key-field", apiKey: "k2-in-a-key-field" },
        },
        result: { content: SECRET_SAMPLES.map((x) => ({ type: "text", text: `"quoted" \\ \u0000 ${x.text} é漢😀` })) },
        [SECRET_SAMPLES[3].secret]: "a secret used as a key",
        count: 3,
        ok: true,
      };
      const { changed, sent, value } = publish(payload, encoding);
      expect(changed).toBe(true);
      const text = sent.toString("utf8");
      for (const x of SECRET_SAMPLES) expect(text, x.kind).not.toContain(x.secret);
      for (const leak of ["plain-json-field-pw", "k-in-a-key-field", "k2-in-a-key-field"]) {
        expect(text).not.toContain(leak);
      }
      const env = { PASSWORD: "[REDACTED:password]", "api-key": "[REDACTED:api-key]", apiKey: "[REDACTED:api-key]" };
      expect(value.params.env).toEqual(env);
      expect(value.toolName).toBe("exec");
      expect(value.count).toBe(3);
      const first = /^"quoted" \\ \u0000 here it is: \[REDACTED:openai-key\] \(keep it safe\) é漢😀$/;
      expect(value.result.content[0].text).toMatch(first);
      expect(value["[REDACTED:github-token]"]).toBe("a secret used as a key");
    });

    it(`${encoding}: a payload without a candidate is published byte for byte, unparsed`, () => {
      const result = { content: [{ type: "text", text: ".git/\nsrc/\nREADME.md" }] };
      const payload = { toolName: "ls", params: { path: "." }, result, n: [1, 2.5, -3, null, false] };
      expect(publish(payload, encoding).changed).toBe(false);
    });
  }

  it("redacts the whole string value of every key that names a secret, in both encodings", () => {
    const keys = [
      "password",
      "passwd",
      "pwd",
      "passphrase",
      "secret",
      "client_secret",
      "appSecret",
      "token",
      "access_token",
      "refreshToken",
      "id_token",
      "authToken",
      "session-token",
      "bearerToken",
      "apiToken",
      "apiKey",
      "api_key",
      "x-api-key",
      "accessKey",
      "secret_key",
      "Authorization",
      "proxy-authorization",
      "cookie",
      "Set-Cookie",
      "privateKey",
      "private_key",
      "AWS_SECRET_ACCESS_KEY",
      "secretAccessKey",
      "credential",
      "credentials",
      // compared without - and _, as the names above are, wherever they fall
      "pass_word",
      "Pass-Phrase",
      "api__key",
      "to-ken",
    ];
    for (const encoding of ["json", "msgpack"] as const) {
      for (const key of keys) {
        const { value } = publish({ [key]: "opaque value 123", other: "opaque value 123" }, encoding);
        expect(value[key], `${encoding} ${key}`).toMatch(/^\[REDACTED:[a-z-]+\]$/);
        expect(value.other).toBe("opaque value 123");
      }
    }
  });

  it("msgpack: every kind of item around the strings is carried over intact", () => {
    const payload = {
      ints: [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31) - 1],
      floats: [1.5, -0.25, 1e300],
      bin: new Uint8Array(300).fill(7),
      big: "x".repeat(70_000),
      nested: { a: [{ b: { c: "token=abcdefghij" } }], empty: {}, none: [] },
      map16: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
    };
    const { value } = publish(payload, "msgpack");
    expect(value.nested.a[0].b.c).toBe("token=[REDACTED:token]");
    expect(new Uint8Array(value.bin)).toEqual(payload.bin);
    expect(value.big === payload.big).toBe(true);
    const rest = (o: object) => ({ ...o, nested: undefined, bin: undefined, big: undefined });
    expect(rest(value)).toEqual(rest(payload));
  });

  it("a payload it cannot read is replaced, never published unchecked, never a crash of the worker", () => {
    const r = new Redactor([], new Float64Array(COUNTER_SLOTS));
    const cutJson = Buffer.from('{"token":"abc');
    const badMsgpack = Buffer.from([0x81, 0xa5, 0x74, 0x6f, 0x6b, 0x65, 0x6e, 0xc1]); // {"token": <0xc1, never used>}
    for (const [bytes, json] of [
      [cutJson, true],
      [badMsgpack, false],
    ] as const) {
      const out = r.payload(bytes, 0, bytes.length, json);
      expect(Buffer.from(out!).toString("latin1")).toContain("[REDACTED:unreadable payload]");
    }
  });

  it("counts redactions and redacted events once per record, however often it is published", () => {
    const counters = new Float64Array(COUNTER_SLOTS);
    const r = new Redactor([], counters);
    const payload = { a: SECRET_SAMPLES[0].text, b: SECRET_SAMPLES[3].text, c: "nothing" };
    publish(payload, "json", 0, r);
    publish(payload, "json", 0, r); // a retry of the same record
    publish(payload, "json", 1, r);
    publish({ c: "nothing" }, "json", 2, r);
    expect(counters[Counter.redactions]).toBe(4);
    expect(counters[Counter.redactedEvents]).toBe(2);
  });

  it("applies site patterns from the config; a capture group that ends the match is all that is replaced", () => {
    const r = new Redactor(["corp-[0-9a-f]{8}", "/(?:employee id:\\s*)(\\d{6})/i"], new Float64Array(COUNTER_SLOTS));
    const { value } = publish({ note: "badge corp-deadbeef, Employee ID: 123456, corp-xyz" }, "json", 0, r);
    expect(value.note).toBe("badge [REDACTED:custom], Employee ID: [REDACTED:custom], corp-xyz");
  });

  it("keeps its cost linear on hostile text (no quadratic matching)", () => {
    const t = new TextRedactor();
    // Each shape once at 8x the size, against 8 runs at 1x: linear matching costs the same (ratio
    // ~1), quadratic 8x as much. The least of three timings (a run that waited for a shared core
    // does not count) and a ratio within one run: no threshold in milliseconds.
    const shapes: [string, (k: number) => string][] = [
      ["eyJ…", (k) => "eyJ".repeat(40_000 * k)],
      ["sk-…", (k) => "sk-".repeat(40_000 * k)],
      ["PEM headers", (k) => "-----BEGIN RSA PRIVATE KEY-----\n".repeat(4_000 * k)],
      ["a_…password=", (k) => `${"a_".repeat(50_000 * k)}password=x`],
      ["postgres://u…", (k) => `postgres://${"u".repeat(100_000 * k)}:`],
      ["Bearer…", (k) => "Authorization: Bearer ".repeat(5_000 * k)],
      ['"password":"x…', (k) => `"password":"${"x".repeat(100_000 * k)}`],
    ];
    const least = (texts: string[]) => {
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        for (const text of texts) t.redact(text);
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    };
    const seen: string[] = [];
    for (const [name, make] of shapes) {
      const small = Array.from({ length: 8 }, () => make(1));
      const large = [make(8)];
      least(small); // compiled before it is timed
      // A quadratic cost shows in every attempt; a preempted run does not repeat.
      let ratio = Infinity;
      let figures = "";
      for (let attempt = 0; attempt < 3 && ratio >= 5; attempt++) {
        const eight = least(small);
        const once = least(large);
        ratio = once / eight;
        figures = `8 x 1x ${eight.toFixed(1)} ms, 8x ${once.toFixed(1)} ms`;
      }
      seen.push(`${name} ${figures}`);
      expect(ratio, `${name}: ${figures}`).toBeLessThan(5);
    }
    console.log(`redaction of hostile strings (1x = 100-120 KB): ${seen.join("; ")}`);
  });
});

describe("redaction config", () => {
  it("is on by default, with no site patterns", () => {
    const r = resolveConfig({});
    expect(r.ok && [r.config.redact, r.config.redactPatterns]).toEqual([true, []]);
  });

  it.each([
    [["(unclosed"], /redactPatterns\[0\] is not a valid regular expression \(Unterminated group\)/],
    [["ok", "(a+)+$"], /redactPatterns\[1\] repeats a group that itself repeats/],
    [["(?:x|xy)*"], /redactPatterns\[0\] repeats a group/],
    [["a*"], /redactPatterns\[0\] matches the empty string/],
    [["   "], /redactPatterns\[0\] is empty/],
    [["x".repeat(600)], /longer than 512/],
    [Array.from({ length: 33 }, (_, i) => `p${i}`), /at most 32/],
    ["corp-.*", /must be a list/],
  ])("refuses %j with a clear error that never quotes the pattern", (redactPatterns, message) => {
    const r = resolveConfig({ redactPatterns });
    expect(r.ok).toBe(false);
    const error = r.ok ? "" : r.error;
    expect(error).toMatch(message);
    for (const p of [redactPatterns].flat()) if (p.trim().length > 2) expect(error).not.toContain(p);
  });

  it("accepts /source/flags and plain sources, and safe groups", () => {
    const redactPatterns = ["/corp-[0-9a-f]{8}/", "(?:api|svc)-[a-z0-9]{20}", "(?<id>\\d{6})", "tok-(?=\\w{8})"];
    expect(resolveConfig({ redactPatterns }).ok).toBe(true);
    expect(resolveConfig({ redact: false }).ok).toBe(true);
    expect(resolveConfig({ redact: "yes" }).ok).toBe(false);
  });
});
