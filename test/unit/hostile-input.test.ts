// Fuzz: thousands of hostile hook events through the real plugin handlers (register() on a fake
// API, then api.fire). A hook handler runs on the gateway's event loop, so whatever it is given it
// must return undefined synchronously, count the outcome, and leave a record that the worker can
// turn into a valid envelope. The PRNG is seeded: a failure prints its seed and replays with
// FUZZ_SEED=<seed>.
import { afterEach, describe, expect, it } from "vitest";
import { HOOK_NAMES } from "../../src/hooks/table.ts";
import type { EventPipeline } from "../../src/pipeline.ts";
import { pluginState } from "../../src/plugin-state.ts";
import { ringUsed } from "../../src/ring/layout.ts";
import { collectStatus, type Counters, type EventStoreStatus } from "../../src/status.ts";
import { type FakeApi, registerPlugin, resetPluginState, takeRingEvents } from "../helpers/fake-api.ts";
import { CTX_FIELDS, EnvelopeCheck, EVENT_FIELDS, Fuzzer, GIANTS, keyListingMs } from "../helpers/hostile.ts";

const MAX_PAYLOAD = 16_384;
const RING = 1 << 24; // 16 MiB, drained as we go
/** Envelope bytes around the payload: id, ts, type, and agent/session at worst 6 bytes per kept UTF-16 unit (\u00XX). */
const ENVELOPE_OVERHEAD = 256 + 6 * 256 + 6 * 1024;
/**
 * The longest one hook call may take on the gateway's thread, whatever it is given (before the
 * bounded look, single calls took 45-600 ms). Loose on purpose: the CPU is shared. A call whose
 * input holds a plain object with tens of thousands of keys may take one listing of its keys
 * longer, which V8 cannot shorten (see keyListingMs); the README gives the figures measured.
 */
const HOOK_CALL_BOUND_MS = Number(process.env.HOOK_CALL_BOUND_MS ?? 15);
/**
 * For calls with a huge plain object: the listing itself, and the garbage collection its 400 KB
 * key array sets off (measured on this VM: 1-5 listings' time, in a fresh process too).
 */
const LISTINGS = 6;
const listingBound = () => HOOK_CALL_BOUND_MS + LISTINGS * keyListingMs();

const setup = (config: Record<string, unknown> = {}): FakeApi =>
  registerPlugin({ ringBytes: RING, maxPayloadBytes: MAX_PAYLOAD, subjectPrefix: "t", ...config });

async function status(): Promise<EventStoreStatus> {
  const s = await collectStatus();
  if (s.state === "disabled") throw new Error(`no status: ${JSON.stringify(s)}`);
  return s;
}

const counters = async (): Promise<Counters> => (await status()).counters;

afterEach(async () => {
  await pluginState().pipeline?.stop();
  resetPluginState();
});

describe("hostile hook events (fuzz)", () => {
  it("10,000+ random hostile events: nothing escapes, every outcome is counted, every record is a valid bounded envelope", async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 0x5eed1234);
    const N = Number(process.env.FUZZ_EVENTS ?? 10_000);
    console.log(`hostile-input fuzz: seed ${seed} (replay with FUZZ_SEED=${seed}), ${N} events`);
    const f = new Fuzzer(seed);
    const api = setup();
    const hooks = [...api.hooks.keys()];
    expect(hooks.sort()).toEqual([...HOOK_NAMES].sort());

    const escaped: string[] = [];
    const fired = new Map<string, number>();
    let calls = 0;
    let p: EventPipeline | undefined;
    const envelopes = new EnvelopeCheck(MAX_PAYLOAD, ENVELOPE_OVERHEAD);
    /** Calls slower than the bound: timed again at the end (a GC pause of this heap is not the handler's cost). */
    const slow: { ms: number; i: number; hook: string; event: unknown; ctx: unknown }[] = [];
    let slowest = { ms: 0, i: -1, hook: "" };

    for (let i = 0; i < N; i++) {
      f.reset();
      const hook = f.pick(hooks);
      const event = f.bag(EVENT_FIELDS);
      const ctx = f.bag(CTX_FIELDS);
      fired.set(hook, (fired.get(hook) ?? 0) + 1);
      calls++;
      const t0 = performance.now();
      try {
        const r = api.fire(hook, event, ctx);
        if (r !== undefined) escaped.push(`#${i} ${hook}: returned ${typeof r}`);
      } catch (e) {
        escaped.push(`#${i} ${hook}: threw ${e instanceof Error ? e.message : String(e)}`);
      }
      const ms = performance.now() - t0;
      if (ms > slowest.ms) slowest = { ms, i, hook };
      if (ms >= HOOK_CALL_BOUND_MS) slow.push({ ms, i, hook, event, ctx });
      p ??= pluginState().pipeline;
      if (p && (i % 64 === 63 || ringUsed(p.views) > RING / 4)) envelopes.check(takeRingEvents(p));
    }
    expect(p).toBeDefined();
    envelopes.check(takeRingEvents(p!));
    const { markers, checked: decoded } = envelopes;

    expect(escaped, `seed ${seed}`).toEqual([]);
    const c = await counters();
    const slowestCall = `#${slowest.i} ${slowest.hook} ${slowest.ms.toFixed(1)} ms`;
    const seen = `counters ${JSON.stringify(c)}, markers ${JSON.stringify(markers)}`;
    console.log(`hostile-input fuzz: ${calls} calls, ${seen}, slowest call ${slowestCall}`);
    // Every outcome is counted.
    expect(c.captured).toBe(c.acked + c.dropped.total + c.pending);
    expect(c.acked).toBe(0); // no worker in this test: everything written is still pending
    expect(c.written).toBe(decoded); // every record written decoded into an envelope
    expect(c.pending).toBe(decoded);
    expect(c.dropped.ringFull).toBe(0);
    expect(c.dropped.tooLarge).toBe(0);
    // A call captures one event, or two (agent_end: run.end + run.error), or is one counted rejection.
    expect(c.captured).toBeGreaterThanOrEqual(calls);
    expect(c.captured - calls).toBeLessThanOrEqual(fired.get("agent_end") ?? 0);
    const { hookCalls } = (await status()).host;
    expect(hookCalls).toBeLessThanOrEqual(calls);
    expect(calls - hookCalls).toBeLessThanOrEqual(c.dropped.rejected);
    // The fuzz reached the interesting paths, and what was cut or replaced is visibly marked.
    expect(c.sanitized).toBeGreaterThan(0);
    expect(c.truncated).toBeGreaterThan(0);
    expect(c.dropped.rejected).toBeGreaterThan(0);
    expect(markers.truncatedKey).toBe(c.truncated); // every truncated payload says so in _truncated
    expect(markers.circular).toBeGreaterThan(0);
    expect(markers.truncatedChars).toBeGreaterThan(0);
    expect(markers.unreadable).toBeGreaterThan(0);
    expect(markers.maxDepth).toBeGreaterThan(0);
    expect(markers.symbol).toBeGreaterThan(0);
    expect(markers.fn).toBeGreaterThan(0);
    expect(markers.bytes).toBeGreaterThan(0);

    // The bound on a single call: a call that took longer is timed twice more, its least time counts.
    for (const s of slow) {
      for (let k = 0; k < 2; k++) {
        const t0 = performance.now();
        api.fire(s.hook, s.event, s.ctx);
        s.ms = Math.min(s.ms, performance.now() - t0);
      }
      takeRingEvents(p!);
    }
    const worst = slow.sort((a, b) => b.ms - a.ms)[0];
    const bound = listingBound();
    if (worst) {
      const again = `#${worst.i} ${worst.hook} ${worst.ms.toFixed(1)} ms (bound ${bound.toFixed(1)} ms)`;
      const over = `${slow.length} calls took ${HOOK_CALL_BOUND_MS} ms or more once`;
      console.log(`hostile-input fuzz: ${over}; the slowest, timed again: ${again}`);
    }
    expect(worst?.ms ?? 0, `call #${worst?.i} ${worst?.hook}, seed ${seed}`).toBeLessThan(bound);
  }, 180_000);
});

// ---------------------------------------------------------------------------------------------
// Every field of every hook, each giant value, both privacy modes: the cost of a hook call is
// bounded whatever a field holds (not only the fields meant for host content).

/** The event and ctx fields a hook's handler reads, found by handing it recording proxies. */
function fieldsRead(api: FakeApi, hook: string): { event: string[]; ctx: string[] } {
  const read = (into: Set<string>) =>
    new Proxy({}, { get: (_t, k) => (typeof k === "string" && into.add(k), undefined) });
  const event = new Set<string>();
  const ctx = new Set<string>();
  api.fire(hook, read(event), read(ctx));
  return { event: [...event], ctx: [...ctx] };
}

describe("bounded host cost", () => {
  it("every field of every hook, each giant value, both privacy modes: each call within the bound", async () => {
    const times: { ms: number; what: string }[] = [];
    for (const privacy of ["full", "metadata"]) {
      const api = setup({ privacy });
      const p = () => pluginState().pipeline!;
      for (const hook of HOOK_NAMES) {
        const f = fieldsRead(api, hook);
        type Case = [string, () => [object, object]];
        const cases: Case[] = [
          ...f.event.map((k): Case => [`event.${k}`, () => [{}, { agentId: "main" }]]),
          ...f.ctx.filter((k) => k !== "agentId").map((k): Case => [`ctx.${k}`, () => [{}, {}]]),
        ];
        for (const [field, base] of cases) {
          for (const [name, giant] of Object.entries(GIANTS)) {
            const [event, ctx] = base();
            const [where, key] = field.split(".");
            (where === "event" ? event : ctx)[key as keyof object] = giant as never;
            // The least of three calls: a garbage collection of this test's giant heap can land in
            // any one call, and it is not the handler's cost.
            let ms = Infinity;
            for (let k = 0; k < 3; k++) {
              const t0 = performance.now();
              expect(api.fire(hook, event, ctx)).toBeUndefined();
              ms = Math.min(ms, performance.now() - t0);
            }
            times.push({ ms, what: `${privacy} ${hook} ${field} = ${name}` });
            takeRingEvents(p());
          }
        }
      }
      const c = await counters();
      expect(c.captured).toBe(c.acked + c.dropped.total + c.pending);
      expect(c.dropped.tooLarge + c.dropped.ringFull).toBe(0);
      await p().stop();
    }
    times.sort((a, b) => b.ms - a.ms);
    const median = times[times.length >> 1].ms;
    const slowestFor = (g: string) => times.find((t) => t.what.endsWith(`= ${g}`))!.ms.toFixed(1);
    const byGiant = Object.keys(GIANTS).map((g) => `${g} ${slowestFor(g)}`);
    const listing = keyListingMs();
    console.log(
      `bounded host cost: ${times.length} calls, median ${median.toFixed(3)} ms; ` +
        `slowest per value (ms): ${byGiant.join(", ")}; listing the 50,000 keys alone: ${listing.toFixed(1)} ms; ` +
        `slowest: ${times
          .slice(0, 3)
          .map((t) => `${t.ms.toFixed(1)} ms (${t.what})`)
          .join("; ")}`,
    );
    const isManyKeys = (t: { what: string }) => t.what.endsWith("= 50,000-key object");
    const [manyKeys, rest] = [times.filter(isManyKeys), times.filter((t) => !isManyKeys(t))];
    expect(rest[0].ms, rest[0].what).toBeLessThan(HOOK_CALL_BOUND_MS);
    expect(manyKeys[0].ms, manyKeys[0].what).toBeLessThan(HOOK_CALL_BOUND_MS + LISTINGS * listing);
  }, 300_000);
});
