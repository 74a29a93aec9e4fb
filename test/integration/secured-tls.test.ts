// TLS against real nats-server processes, with a PKI made by openssl for this run: the server's
// certificate verified against tls.caFile (a wrong CA fails clearly), mutual TLS (a client without a
// certificate is refused), handshakeFirst, and TLS files that cannot be used.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NatsServer, serverAtLeast } from "../helpers/nats-server.ts";
import { makeTestPki, type TestPki } from "../helpers/tls-certs.ts";
import { SecretWatch, securedRun } from "../helpers/secured.ts";
import { expectEachEventOnce } from "../helpers/stream-reader.ts";
import { fakeApi, resetPluginState } from "../helpers/fake-api.ts";
import { cli } from "../helpers/read-fixture.ts";
import plugin from "../../src/index.ts";

const watch = new SecretWatch();
let pki: TestPki;
const servers: NatsServer[] = [];
beforeAll(() => {
  pki = makeTestPki();
  watch.secret("private key", ...pki.privateKeys());
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.dispose()));
  pki?.dispose();
});

async function tlsServer(extra = ""): Promise<NatsServer> {
  const s = await NatsServer.start({
    config: `tls { cert_file: "${pki.serverCert}", key_file: "${pki.serverKey}"\n${extra} }\n`,
  });
  servers.push(s);
  return s;
}

const untrusted = (by: string) =>
  new RegExp(`TLS: the server's certificate is not trusted by ${by.replace(/[.()]/g, "\\$&")} \\([A-Z_]+\\)`);

describe("TLS", () => {
  it("verifies the server's certificate against tls.caFile; with a wrong CA it fails clearly", async () => {
    const s = await tlsServer();
    await securedRun(s.url, { tls: { caFile: pki.ca }, streamName: "tls", subjectPrefix: "tls" }, "ok", watch);
    await securedRun(
      `tls://127.0.0.1:${s.port}`,
      { tls: { caFile: pki.ca }, streamName: "tls", subjectPrefix: "tls" },
      "ok",
      watch,
    );
    const wrong = await securedRun(
      s.url,
      { tls: { caFile: pki.wrongCa }, streamName: "tls", subjectPrefix: "tls" },
      "fail",
      watch,
    );
    expect(wrong.status.lastError).toMatch(untrusted(`tls.caFile ${pki.wrongCa}`));
    expect(wrong.logs.some((l) => untrusted(`tls.caFile ${pki.wrongCa}`).test(l))).toBe(true);
    // tls:// without a CA file: the system's CAs do not know the test CA.
    const system = await securedRun(
      `tls://127.0.0.1:${s.port}`,
      { streamName: "tls", subjectPrefix: "tls" },
      "fail",
      watch,
    );
    expect(system.status.lastError).toMatch(untrusted("the system's CAs (set tls.caFile)"));
  });

  it("mutual TLS: a client certificate is accepted; a client without one is refused", async () => {
    const s = await tlsServer(`ca_file: "${pki.ca}"\nverify: true`);
    const mtls = { caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey };
    await securedRun(s.url, { tls: mtls, streamName: "mtls", subjectPrefix: "mtls" }, "ok", watch);
    const anonymous = await securedRun(
      s.url,
      { tls: { caFile: pki.ca }, streamName: "mtls", subjectPrefix: "mtls" },
      "fail",
      watch,
    );
    expect(anonymous.status.lastError).toMatch(
      /TLS: the server requires a client certificate \(mutual TLS\) and none is configured; set tls\.certFile/,
    );
    // A client certificate from another CA is refused too.
    const stranger = { caFile: pki.ca, certFile: pki.strangerCert, keyFile: pki.strangerKey };
    const refused = await securedRun(
      s.url,
      { tls: stranger, streamName: "mtls", subjectPrefix: "mtls" },
      "fail",
      watch,
    );
    expect(refused.status.lastError).toContain(
      "TLS: the server verifies client certificates (mutual TLS) and closed the connection: " +
        `it does not accept tls.certFile ${pki.strangerCert}`,
    );
  });

  it("the read side connects as the publisher does: query, agent tool and CLI with the plugin's TLS settings", async () => {
    const s = await tlsServer(`ca_file: "${pki.ca}"\nverify: true`);
    const mtls = { caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey };
    const settings = { natsUrl: s.url, tls: mtls, streamName: "mtls-read", subjectPrefix: "mtls.read" };
    await securedRun(s.url, settings, "ok", watch, 30);

    const answers = async (config: Record<string, unknown>) => {
      resetPluginState();
      const api = fakeApi({ ...config, agentTool: true, enabled: false });
      plugin.register(api);
      try {
        const q = await api.call("eventstore.query", { limit: 100 });
        const tool = q.ok ? await api.tools.get("eventstore_recent")?.execute("t1", { limit: 5 }) : undefined;
        return { q, tool };
      } finally {
        for (const svc of api.services) await svc.stop?.({});
        resetPluginState();
      }
    };
    const ok = await answers(settings);
    expect(ok.q.ok, JSON.stringify(ok.q.error)).toBe(true);
    expect((ok.q.payload as { count: number }).count).toBe(30);
    expect(ok.tool?.details).toMatchObject({ count: 5 });
    // Without the client certificate the reader is refused, and says why as the publisher would.
    const anonymous = await answers({ ...settings, tls: { caFile: pki.ca } });
    expect(anonymous.q).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
    expect(anonymous.q.error?.message).toMatch(/requires a client certificate \(mutual TLS\)/);
    watch.collect(anonymous.q.error);

    // The CLI inside a gateway (the host's plugin config) and with --config: the same settings.
    const viaHost = await cli(["stats"], { host: { pluginConfig: settings } });
    expect(viaHost.stderr).toBe("");
    expect(viaHost.code).toBe(0);
    expect(viaHost.stdout).toMatch(/\b30\b/);
    const conf = join(pki.dir, "openclaw.json");
    writeFileSync(conf, JSON.stringify({ plugins: { entries: { "nats-eventstore": { config: settings } } } }));
    const viaFile = await cli(["replay", "--json", "--config", conf]);
    expect(viaFile.code, viaFile.stderr).toBe(0);
    expect(viaFile.stdout.trim().split("\n")).toHaveLength(30);
    const refused = await cli(["stats", "--server", s.url, "--stream", "mtls-read", "--prefix", "mtls.read"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot connect to nats:\/\/127\.0\.0\.1:\d+: TLS: /);
    watch.collect(viaHost.stderr, viaFile.stderr, refused.stderr);
  });

  it.skipIf(!serverAtLeast(2, 10, 4))(
    "handshakeFirst: TLS before the server's INFO (handshake_first, nats-server >= 2.10.4)",
    async () => {
      const s = await tlsServer("handshake_first: true");
      await securedRun(
        s.url,
        { tls: { caFile: pki.ca, handshakeFirst: true }, streamName: "hf", subjectPrefix: "hf" },
        "ok",
        watch,
        50,
      );
      const wrong = await securedRun(
        s.url,
        { tls: { caFile: pki.wrongCa, handshakeFirst: true }, streamName: "hf", subjectPrefix: "hf" },
        "fail",
        watch,
      );
      expect(wrong.status.lastError).toMatch(untrusted(`tls.caFile ${pki.wrongCa}`));
      const reader = {
        servers: `127.0.0.1:${s.port}`,
        tls: { ca: readFileSync(pki.ca, "utf8"), handshakeFirst: true },
      };
      await expectEachEventOnce(reader, "hf", 50);
    },
  );

  it("a TLS file that is no PEM, or a key that does not match its certificate, is named with its path", async () => {
    const s = await tlsServer();
    const notPem = join(pki.dir, "not-a-ca.txt");
    writeFileSync(notPem, "just text\n");
    const bad = await securedRun(
      s.url,
      { tls: { caFile: notPem }, streamName: "tls", subjectPrefix: "tls" },
      "fail",
      watch,
    );
    expect(bad.status.lastError).toBe(`tls.caFile ${notPem}: not a PEM file (no -----BEGIN line)`);
    const mismatch = { caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.serverKey };
    const mixed = await securedRun(s.url, { tls: mismatch, streamName: "tls", subjectPrefix: "tls" }, "fail", watch);
    expect(mixed.status.lastError).toMatch(
      new RegExp(
        `^tls.caFile ${pki.ca}, tls.certFile ${pki.clientCert}, tls.keyFile ${pki.serverKey}: ` +
          "not usable as TLS files \\(.+\\)$",
      ),
    );
  });

  it("finds no private key in any log line, status or error of these runs", () => {
    watch.expectClean(20);
  });
});
