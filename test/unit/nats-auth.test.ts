// workers/nats-auth.ts without a server: how a `nats` context and the plugin's own keys combine, what
// each bad file says, and how a credentials file re-read at a reconnect behaves.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { nkeys } from "@nats-io/transport-node";
import { connectionPlan, natsContextPath } from "../../workers/nats-auth.ts";
import { testConfig } from "../helpers/pipeline.ts";
import { makeTestPki } from "../helpers/tls-certs.ts";

const dir = mkdtempSync(join(tmpdir(), "nats-auth-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { XDG_CONFIG_HOME: join(dir, "xdg"), SECRET_PW: "pw-from-env-123", HOME_DIR: dir };
mkdirSync(join(env.XDG_CONFIG_HOME, "nats", "context"), { recursive: true });

function context(name: string, body: Record<string, unknown>): void {
  writeFileSync(
    join(env.XDG_CONFIG_HOME, "nats", "context", `${name}.json`),
    JSON.stringify({ description: "", ...body }),
  );
}
const plan = (settings: Record<string, unknown>, warn: (m: string) => void = () => {}) =>
  connectionPlan(testConfig(settings.natsUrl as string | undefined, settings), warn, env);
const setupError = (settings: Record<string, unknown>) => {
  try {
    plan(settings);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected a setup error");
};

const seed = () => new TextDecoder().decode(nkeys.createUser().getSeed());
const fakeJwt = (sub: string) =>
  `eyJ0eXAiOiJKV1QifQ.${Buffer.from(JSON.stringify({ sub })).toString("base64url")}.c2lnbmF0dXJl`;
const credsText = (jwt: string, s: string) =>
  `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n*** IMPORTANT ***\n\n` +
  `-----BEGIN USER NKEY SEED-----\n${s}\n------END USER NKEY SEED------\n`;

describe("natsContext", () => {
  it("finds a context by name under $XDG_CONFIG_HOME (else ~/.config), or by path", () => {
    expect(natsContextPath("prod", env)).toBe(join(env.XDG_CONFIG_HOME, "nats", "context", "prod.json"));
    expect(natsContextPath("prod", {})).toBe(join(homedir(), ".config", "nats", "context", "prod.json"));
    expect(natsContextPath("/etc/nats/prod.json", env)).toBe("/etc/nats/prod.json");
    expect(natsContextPath("~/ctx/prod.json", env)).toBe(join(homedir(), "ctx", "prod.json"));
  });

  it("fills in the url, user/password (env:// resolved) and CA that the plugin's keys leave unset", () => {
    const pki = makeTestPki();
    try {
      copyFileSync(pki.ca, join(dir, "ca.pem"));
    } finally {
      pki.dispose();
    }
    context("b", { url: "nats://ctx-host:4333", user: "app", password: "env://SECRET_PW", ca: "$HOME_DIR/ca.pem" });
    const p = plan({ natsContext: "b" });
    expect(p.options.servers).toEqual(["ctx-host:4333"]);
    expect([p.options.user, p.options.pass]).toEqual(["app", "pw-from-env-123"]);
    expect(p.auth).toBe(`natsContext "b" ${natsContextPath("b", env)} "user"/"password"`);
    expect(p.ca).toBe(`natsContext "b" ${natsContextPath("b", env)} "ca" ${join(dir, "ca.pem")}`);
    expect(p.options.tls?.ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    // The plugin's own URL and authentication win; the context's authentication is then not used at all.
    const own = plan({ natsContext: "b", natsUrl: "nats://own:4222", token: "t0ken-own" });
    expect(own.options.servers).toEqual(["own:4222"]);
    expect([own.options.token, own.options.user]).toEqual(["t0ken-own", undefined]);
  });

  it("refuses a context that names two authentication methods, or one the plugin cannot resolve", () => {
    context("two", { user: "u", password: "p", creds: "/x.creds" });
    expect(setupError({ natsContext: "two" })).toBe(
      `natsContext "two" ${natsContextPath("two", env)}: "user" and "creds" are both set: ` +
        "keep one authentication method",
    );
    context("op", { token: "op://vault/nats/token" });
    expect(setupError({ natsContext: "op" })).toMatch(/"token" uses op:\/\/, which the plugin cannot resolve$/);
    context("data", { token: `data:;base64,${Buffer.from("tok-inline-1").toString("base64")}` });
    expect(plan({ natsContext: "data" }).options.token).toBe("tok-inline-1");
  });

  it("names the context and its path when it is missing or not a context, never quoting it", () => {
    expect(setupError({ natsContext: "nope" })).toBe(
      `natsContext "nope" ${natsContextPath("nope", env)}: cannot read it (no such file)`,
    );
    writeFileSync(join(env.XDG_CONFIG_HOME, "nats", "context", "broken.json"), '{"password": "pw-in-broken-json-1", ');
    const msg = setupError({ natsContext: "broken" });
    expect(msg).toBe(`natsContext "broken" ${natsContextPath("broken", env)}: not a JSON context file`);
    context("typed", { tls_first: "yes" });
    expect(setupError({ natsContext: "typed" })).toMatch(/"tls_first" must be true or false$/);
  });
});

describe("credential files", () => {
  it("a creds file is re-read at each connection attempt; a bad replacement keeps the last good one", () => {
    const file = join(dir, "rot.creds");
    const first = seed();
    writeFileSync(file, credsText(fakeJwt("UFIRST"), first));
    const warnings: string[] = [];
    const p = plan({ credsFile: file }, (m) => warnings.push(m));
    const auth = p.options.authenticator as (nonce?: string) => { jwt: string; nkey: string; sig: string };
    expect(auth("n1").jwt).toBe(fakeJwt("UFIRST"));

    writeFileSync(file, "half-written garbage SUAAAA\n");
    expect(auth("n2").jwt).toBe(fakeJwt("UFIRST"));
    expect(auth("n3").jwt).toBe(fakeJwt("UFIRST"));
    expect(warnings).toEqual([
      `credsFile ${file}: no user JWT between -----BEGIN NATS USER JWT----- lines; using the credentials read before`,
    ]);

    const second = seed();
    writeFileSync(file, credsText(fakeJwt("USECOND"), second));
    const a = auth("n4");
    expect(a.jwt).toBe(fakeJwt("USECOND"));
    expect(a.nkey).toBe(nkeys.fromSeed(new TextEncoder().encode(second)).getPublicKey());
  });

  it("a creds file whose seed is damaged is refused without quoting it", () => {
    const file = join(dir, "bad-seed.creds");
    const s = seed();
    const damaged = `${s.slice(0, 20)}${s[20] === "A" ? "B" : "A"}${s.slice(21)}`;
    writeFileSync(file, credsText(fakeJwt("UX"), damaged));
    const msg = setupError({ credsFile: file });
    expect(msg).toBe(`credsFile ${file}: the NKey seed is damaged (bad encoding or checksum)`);
    expect(msg).not.toContain(damaged.slice(0, 12));
  });

  it("an nkey seed file holding something else than a user seed says so", () => {
    const file = join(dir, "account.nk");
    writeFileSync(file, new TextDecoder().decode(nkeys.createAccount().getSeed()));
    expect(setupError({ nkeySeedFile: file })).toBe(
      `nkeySeedFile ${file}: no NKey user seed (a line starting with SU)`,
    );
  });
});
