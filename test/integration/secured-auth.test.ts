// User/password, token and NKey authentication against real nats-server processes, each with the
// right and a wrong secret; JetStream permissions (a user who may not touch the stream API publishes
// into a stream an operator created). Nothing secret may appear in a log line, a status or an error.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { nkeys } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { NatsServer } from "../helpers/nats-server.ts";
import { expectEachEventOnce, withConnection } from "../helpers/stream-reader.ts";
import { SecretWatch, securedRun } from "../helpers/secured.ts";

const watch = new SecretWatch();
const dir = mkdtempSync(join(tmpdir(), "nats-auth-"));
const servers: NatsServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.dispose()));
  rmSync(dir, { recursive: true, force: true });
});

async function server(opts: Parameters<typeof NatsServer.start>[0]): Promise<NatsServer> {
  const s = await NatsServer.start(opts);
  servers.push(s);
  return s;
}

const host = (s: NatsServer) => `127.0.0.1:${s.port}`;
const refused = (auth: string) =>
  new RegExp(`the server refused the credentials \\(${auth}\\): .*authorization violation`, "i");

describe("authentication", () => {
  it("user/password: in natsUrl and as keys; a wrong password fails clearly", async () => {
    const pw = "pw-Alice-7f3c1e";
    const bad = "pw-Wrong-9d2b4a";
    watch.secret("password", pw, bad);
    const s = await server({ args: ["--user", "alice", "--pass", pw] });
    await securedRun(`nats://alice:${pw}@${host(s)}`, { streamName: "up-url", subjectPrefix: "up.url" }, "ok", watch);
    await securedRun(
      s.url,
      { user: "alice", password: pw, streamName: "up-keys", subjectPrefix: "up.keys" },
      "ok",
      watch,
    );
    await expectEachEventOnce(`nats://alice:${pw}@${host(s)}`, "up-keys", 20);

    const viaKeys = await securedRun(
      s.url,
      { user: "alice", password: bad, streamName: "up-bad", subjectPrefix: "up.bad" },
      "fail",
      watch,
    );
    expect(viaKeys.status.lastError).toMatch(refused("user/password"));
    expect(viaKeys.text).toMatch(/last error: .*refused the credentials \(user\/password\)/);
    expect(viaKeys.logs.some((l) => refused("user/password").test(l))).toBe(true);
    const viaUrl = await securedRun(
      `nats://alice:${bad}@${host(s)}`,
      { streamName: "up-bad", subjectPrefix: "up.bad" },
      "fail",
      watch,
    );
    expect(viaUrl.status.lastError).toMatch(refused("user/password in natsUrl"));
  });

  it("token: in natsUrl and as a key; a wrong token fails clearly", async () => {
    const token = "tok-3b9f0c2d8e7a";
    const bad = "tok-badbadbad001";
    watch.secret("token", token, bad);
    const s = await server({ args: ["--auth", token] });
    await securedRun(`nats://${token}@${host(s)}`, { streamName: "tok-url", subjectPrefix: "tok.url" }, "ok", watch);
    await securedRun(s.url, { token, streamName: "tok-key", subjectPrefix: "tok.key" }, "ok", watch);
    const viaKey = await securedRun(
      s.url,
      { token: bad, streamName: "tok-bad", subjectPrefix: "tok.bad" },
      "fail",
      watch,
    );
    expect(viaKey.status.lastError).toMatch(refused("token"));
    const viaUrl = await securedRun(
      `nats://${bad}@${host(s)}`,
      { streamName: "tok-bad", subjectPrefix: "tok.bad" },
      "fail",
      watch,
    );
    expect(viaUrl.status.lastError).toMatch(refused("token in natsUrl"));
  });

  it("NKey seed file: accepted; another user's seed refused; a missing or bad file named with its path", async () => {
    const user = nkeys.createUser();
    const stranger = nkeys.createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const strangerSeed = new TextDecoder().decode(stranger.getSeed());
    watch.secret("NKey seed", seed, strangerSeed);
    const seedFile = join(dir, "user.nk");
    const strangerFile = join(dir, "stranger.nk");
    const garbled = join(dir, "garbled.nk");
    writeFileSync(seedFile, `${seed}\n`);
    writeFileSync(strangerFile, strangerSeed);
    writeFileSync(garbled, `${seed.slice(0, -4)}AAAA\n`); // right shape, wrong checksum
    const s = await server({ config: `authorization { users: [ { nkey: "${user.getPublicKey()}" } ] }\n` });

    await securedRun(s.url, { nkeySeedFile: seedFile, streamName: "nk", subjectPrefix: "nk" }, "ok", watch);
    const wrong = await securedRun(
      s.url,
      { nkeySeedFile: strangerFile, streamName: "nk", subjectPrefix: "nk" },
      "fail",
      watch,
    );
    expect(wrong.status.lastError).toMatch(refused(`nkeySeedFile ${strangerFile}`));

    const missing = join(dir, "nope.nk");
    const gone = await securedRun(
      s.url,
      { nkeySeedFile: missing, streamName: "nk", subjectPrefix: "nk" },
      "fail",
      watch,
    );
    expect(gone.status.lastError).toBe(`nkeySeedFile ${missing}: cannot read it (no such file)`);
    expect(gone.logs.filter((l) => l.includes(missing))).toHaveLength(1); // one clear error, not one per retry
    const broken = await securedRun(
      s.url,
      { nkeySeedFile: garbled, streamName: "nk", subjectPrefix: "nk" },
      "fail",
      watch,
    );
    expect(broken.status.lastError).toBe(
      `nkeySeedFile ${garbled}: the NKey seed is damaged (bad encoding or checksum)`,
    );
  });

  it("a user denied $JS.API.> publishes into an operator's stream; status says it was not checked", async () => {
    const adminPw = "pw-Admin-55aa1c";
    const pubPw = "pw-Pub-0c61fe2";
    const setupPw = "pw-Setup-77e2d1";
    watch.secret("password", adminPw, pubPw, setupPw);
    const s = await server({
      config: `authorization {
  users: [
    { user: admin, password: "${adminPw}" }
    { user: pub, password: "${pubPw}", permissions: {
        publish: { allow: ["lim.>"], deny: ["$JS.API.>"] }, subscribe: { allow: ["_INBOX.>"] } } }
    { user: setup, password: "${setupPw}", permissions: {
        publish: {
          allow: ["own.>", "$JS.API.STREAM.INFO.own", "$JS.API.STREAM.CREATE.own", "$JS.API.STREAM.UPDATE.own"]
        },
        subscribe: { allow: ["_INBOX.>"] } } }
  ]
}
`,
    });
    const admin = `nats://admin:${adminPw}@${host(s)}`;
    await withConnection(admin, async (nc) => {
      await (await jetstreamManager(nc)).streams.add({ name: "lim", subjects: ["lim.>"], duplicate_window: 120e9 });
    });

    const limited = await securedRun(
      s.url,
      { user: "pub", password: pubPw, streamName: "lim", subjectPrefix: "lim" },
      "ok",
      watch,
      200,
    );
    expect(limited.status.stream).toMatchObject({ name: "lim", action: "not-checked" });
    expect(limited.status.stream?.warning).toMatch(
      new RegExp(
        "stream lim not checked: the NATS user has no permission for \\$JS\\.API\\.STREAM\\.INFO\\.lim; " +
          "publishing into the stream as it is",
      ),
    );
    expect(limited.text).toMatch(/warning: stream lim not checked/);
    expect(limited.logs.some((l) => l.startsWith("warn") && l.includes("stream lim not checked"))).toBe(true);
    await expectEachEventOnce(admin, "lim", 200);

    // The permissions the README lists are enough for the plugin to create its stream.
    const own = await securedRun(
      s.url,
      { user: "setup", password: setupPw, streamName: "own", subjectPrefix: "own" },
      "ok",
      watch,
    );
    expect(own.status.stream).toMatchObject({ name: "own", action: "created" });
    await expectEachEventOnce(admin, "own", 20);
  });

  it("finds no password, token, seed, JWT or private key in any log line, status or error of these runs", () => {
    watch.expectClean(20);
  });
});
