// Helpers for the tests of secured connections: run the pipeline with some settings, collect
// everything it says (log lines, status JSON, /eventstatus text), and look for secrets in it.
import { expect } from "vitest";
import type { EventPipeline } from "../../src/pipeline.ts";
import type { EventStoreStatus } from "../../src/status.ts";
import { statusText } from "../../src/status-text.ts";
import { eventTypeIndex } from "../../src/event-types.ts";
import { MemoryLogger, testPipeline } from "./pipeline.ts";
import { waitFor } from "./stream-reader.ts";

/** Collects what the plugin printed or reported, and finds any registered secret in it. */
export class SecretWatch {
  private readonly secrets: { what: string; value: string }[] = [];
  readonly texts: string[] = [];

  /** Registers secret values; a PEM private key also by each line of its body. */
  secret(what: string, ...values: string[]): void {
    for (const v of values) {
      if (v.length < 6) throw new Error(`secret "${what}" too short to look for reliably`);
      this.secrets.push({ what, value: v });
      for (const line of v.split("\n").map((l) => l.trim())) {
        if (/^[A-Za-z0-9+/=]{20,}$/.test(line)) this.secrets.push({ what, value: line });
      }
    }
  }

  collect(...texts: unknown[]): void {
    for (const t of texts) this.texts.push(typeof t === "string" ? t : JSON.stringify(t));
  }

  /** What leaked where (the secret itself is not repeated). */
  leaks(): string[] {
    const out: string[] = [];
    const generic: [string, RegExp][] = [
      ["a JWT", /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/],
      ["an NKey seed", /\bS[OAU][A-Z2-7]{50,}\b/],
      ["a private key", /PRIVATE KEY-----/],
    ];
    for (const [i, t] of this.texts.entries()) {
      for (const s of this.secrets) if (t.includes(s.value)) out.push(`${s.what} in collected text #${i}`);
      for (const [what, re] of generic) if (re.test(t)) out.push(`${what} in collected text #${i}`);
    }
    return out;
  }

  /** Asserts that something was collected and that none of it holds a secret. */
  expectClean(minTexts: number): void {
    expect(this.secrets.length).toBeGreaterThan(0);
    expect(this.texts.length).toBeGreaterThanOrEqual(minTexts);
    expect(this.leaks()).toEqual([]);
  }
}

export interface SecuredRun {
  status: EventStoreStatus;
  /** The /eventstatus text. */
  text: string;
  logs: string[];
}

const T = eventTypeIndex("session.start");

/** Captures `events` session.start events with payload {i: from, from + 1, ...}. */
export function captureEvents(p: EventPipeline, events: number, from = 0): void {
  for (let i = from; i < from + events; i++) p.capture(T, "main", "agent:main:main", { i });
}

/**
 * Runs a pipeline with `settings` (natsUrl left out when `url` is undefined), captures `events`
 * events, and waits until all are acked ("ok") or until status shows a connection error ("fail").
 * Everything it said goes to `watch`.
 */
export async function securedRun(
  url: string | undefined,
  settings: Record<string, unknown>,
  outcome: "ok" | "fail",
  watch: SecretWatch,
  events = 20,
): Promise<SecuredRun> {
  const logger = new MemoryLogger();
  const p = testPipeline(url, { connectTimeoutMs: 2000, ...settings }, logger);
  p.start();
  try {
    captureEvents(p, events);
    const done =
      outcome === "ok"
        ? async () => (await p.status()).counters.acked === events
        : async () => (await p.status()).lastError !== undefined;
    await waitFor(done, 20_000, outcome === "ok" ? "every event acked" : "a connection error in status");
    const status = await p.status();
    const run = { status, text: statusText({ ...status, hints: [] }), logs: logger.lines };
    if (outcome === "fail") {
      expect(status.connection.state).not.toBe("connected");
      expect(status.counters.acked).toBe(0);
      expect(status.counters.pending).toBe(events); // nothing lost: the events wait in the ring
    }
    return run;
  } finally {
    await p.stop();
    const last = await p.status();
    watch.collect(...logger.lines, last, statusText({ ...last, hints: [] }));
  }
}
