// Credentials never leave: every log line, status response, command reply and error that the
// config and connection paths produce (wrong passwords, malformed URLs, a % in a password,
// several servers, tokens, an unreachable server) is collected and searched for the secrets.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import plugin, { collectStatus } from "../../src/index.ts";
import { pluginState } from "../../src/plugin-state.ts";
import { freePort, NatsServer } from "../helpers/nats-server.ts";
import { waitFor } from "../helpers/stream-reader.ts";
import { fakeApi, resetPluginState, type FakeApi } from "../helpers/fake-api.ts";

const USER = "alice-user-Q7";
const PASS = "Pw/wi%th@sp:eci#al-Q7"; // / % @ : # in a password: percent-encoded in the URL
const TOKEN = "T0KEN-abcdef-Q7";
const WRONG = "Wr0ng-Pass-Q7";
const enc = encodeURIComponent;
/** Everything that must appear nowhere, decoded and as written in a URL. */
const SECRETS = [PASS, enc(PASS), TOKEN, WRONG, "Tr0ub4dor-Q7", "50%off-Q7", "pa/ss-Q7", "s3cret-Q7", USER];

/** Every text a surface of the plugin shows: logs, eventstore.status, /eventstatus, and the error in status. */
async function surfaces(api: FakeApi): Promise<string> {
  const status = await api.call("eventstore.status");
  const command = await api.commands.get("eventstatus")!();
  const collected = await collectStatus();
  return [...api.logs, JSON.stringify(status), command.text, JSON.stringify(collected)].join("\n");
}

function expectNoSecret(text: string, what: string): void {
  for (const s of SECRETS) expect(text, `${what}: leaks ${s}`).not.toContain(s);
}

describe("credentials never leave (config and connection paths)", () => {
  let authed: NatsServer;
  let tokened: NatsServer;
  let stateDir: string;
  const seen: string[] = [];
  beforeAll(async () => {
    authed = await NatsServer.start({ args: ["--user", USER, "--pass", PASS] });
    tokened = await NatsServer.start({ args: ["--auth", TOKEN] });
    stateDir = mkdtempSync(join(tmpdir(), "no-secrets-state-"));
  });
  afterEach(async () => {
    await pluginState().pipeline?.stop();
    resetPluginState();
  });
  afterAll(async () => {
    await authed?.dispose();
    await tokened?.dispose();
    rmSync(stateDir, { recursive: true, force: true });
    // Everything the tests below saw, in one place: nothing secret anywhere.
    expectNoSecret(seen.join("\n"), "all surfaces");
  });

  it.each([
    ["a bad port after a password, second of two servers", "nats://nats-a:4222,ops:Tr0ub4dor-Q7@nats-b:99999"],
    ["a scheme-less user:password@host with a bad port", "alice:s3cret-Q7@host:notaport"],
    ["a / in a password, not encoded", "nats://alice:pa/ss-Q7@host:4222"],
    ["a raw % in a password", "nats://user:50%off-Q7@host:4222"],
    ["a ws:// URL with a password", "ws://alice:s3cret-Q7@host:8080"],
    ["a password and no @ (read as a port)", "nats://alice:s3cret-Q7"],
    ["different credentials on two servers", `nats://${USER}:${enc(PASS)}@a:1,nats://bob:${WRONG}@b:2`],
    ["a space in a password", "nats://alice:s3cret-Q7 x@host"],
    ["an empty entry among credentials", `nats://a:1,,nats://${USER}:${WRONG}@b:2`],
  ])("config error, %s: plugin disabled, the error names the problem, no secret anywhere", async (_what, natsUrl) => {
    resetPluginState();
    const api = fakeApi({ natsUrl });
    expect(() => plugin.register(api)).not.toThrow();
    const text = await surfaces(api);
    seen.push(text);
    expect(text).toMatch(/invalid config.*natsUrl/);
    expectNoSecret(text, natsUrl);
  });

  type Status = Awaited<ReturnType<typeof collectStatus>>;
  async function connectCase(natsUrl: string, until: (s: Status) => boolean, what: string): Promise<string> {
    resetPluginState();
    const api = fakeApi({ natsUrl, streamName: "nosecrets", subjectPrefix: "nosecrets", connectTimeoutMs: 500 });
    plugin.register(api);
    await api.services[0].start({ stateDir: mkdtempSync(join(stateDir, "case-")) }); // a spool of its own
    api.fire("session_start", { sessionId: "s" }, { agentId: "main", sessionKey: "agent:main:s" });
    await waitFor(async () => until(await collectStatus()), 20_000, what).catch(async (e) => {
      const status = JSON.stringify(await collectStatus());
      throw new Error(`${(e as Error).message}; status: ${status}; logs: ${api.logs.join(" | ")}`);
    });
    const text = await surfaces(api);
    await api.services[0].stop?.({});
    const all = `${text}\n${api.logs.join("\n")}`;
    seen.push(all);
    expectNoSecret(all, what);
    return all;
  }
  const connected = (s: Status) => s.state === "running" && s.counters.acked === 1;
  const refused = (s: Status) => s.state === "degraded" && s.lastError !== undefined;

  it("user and password with / % @ : # in it (percent-encoded): connects; status shows host:port only", async () => {
    const url = `nats://${USER}:${enc(PASS)}@127.0.0.1:${authed.port}`;
    const text = await connectCase(url, connected, "connect with credentials");
    expect(text).toMatch(new RegExp(`connected to 127\\.0\\.0\\.1:${authed.port}`));
  }, 30_000);

  it("a wrong password: the error says authorization, and quotes nothing", async () => {
    const url = `nats://${USER}:${WRONG}@127.0.0.1:${authed.port}`;
    const text = await connectCase(url, refused, "an authorization error");
    expect(text).toMatch(/authorization/i);
  }, 30_000);

  it("several servers with credentials, the first unreachable: connects to the second", async () => {
    const dead = await freePort();
    const creds = `${USER}:${enc(PASS)}`;
    const url = `nats://${creds}@127.0.0.1:${dead},nats://${creds}@127.0.0.1:${authed.port}`;
    await connectCase(url, connected, "failover");
  }, 30_000);

  it("a token: connects; a wrong token: refused, quoted nowhere", async () => {
    await connectCase(`nats://${TOKEN}@127.0.0.1:${tokened.port}`, connected, "token connect");
    const text = await connectCase(`nats://${WRONG}@127.0.0.1:${tokened.port}`, refused, "a token error");
    expect(text).toMatch(/authorization/i);
  }, 40_000);

  it("an unreachable server with credentials: the connection error quotes no credential", async () => {
    const dead = await freePort();
    const text = await connectCase(`tls://${USER}:${enc(PASS)}@127.0.0.1:${dead}`, refused, "a connection error");
    expect(text).toMatch(/cannot connect to NATS/);
  }, 30_000);
});
