// The scenarios, in the order they run, with their full and --quick sizes. Every mode of a
// scenario gets the same events (bench/lib/events.ts) on a fresh stream of its own.
import { STANDARD_PAYLOAD_BYTES } from "../lib/events.ts";
import {
  ASYNC_PERSIST,
  NO_REDACT,
  type LimitShape,
  type Load,
  type ModeName,
  type ScenarioSpec,
} from "../lib/types.ts";

interface Def {
  id: string;
  title: string;
  load: Load;
  /** [full, quick] */
  events: [number, number];
  durationMs?: [number, number];
  payloadBytes?: number;
  agents?: number;
  types?: number;
  warmup?: [number, number];
  secrets?: boolean;
  extraModes?: ModeName[];
  /** How the limit mode (the Go `nats bench` tool) runs it; by default async at full speed, else n/a. */
  limit?: LimitShape;
}

/** Why the tool cannot offer these loads (shown where the limit rows would be). */
const NA_CALLERS = "10 callers on one connection: the tool runs one publisher per connection (--clients)";
const NA_PACED =
  "open-loop load timed per event from its intended time: the tool throttles (--throughput) but times batches";

function limitShape(d: Def): LimitShape {
  if (d.limit) return d.limit;
  if (d.load.kind === "closed" && d.load.callers === "full") return { tool: "async" };
  if (d.load.kind === "paced") return { na: NA_PACED };
  if (d.load.kind === "read") return { na: "a read-back scenario: the limit mode publishes" };
  return { na: NA_CALLERS };
}

/** The rate-* scenarios: `rate` events/s offered one at a time, 5 s of them (--quick: 0.5 s). */
function evenlySpaced(rate: number, title: string): Def {
  return { id: `rate-${rate / 1000}k`, title, load: { kind: "paced", rate, burst: 1 }, events: [rate * 5, rate / 2] };
}

const DEFS: Def[] = [
  {
    id: "sequential",
    title: "one caller, each event after the previous ack (offloaded: one capture per loop turn)",
    load: { kind: "closed", callers: 1 },
    events: [20_000, 1_000],
    limit: { tool: "sync" },
  },
  {
    id: "concurrent-10",
    title: "10 concurrent callers (offloaded: 10 captures per loop turn)",
    load: { kind: "closed", callers: 10 },
    events: [50_000, 3_000],
  },
  {
    id: "bursty",
    title: "bursts of 500 events every 50 ms (10k events/s on average), timed from each burst's start",
    load: { kind: "paced", rate: 10_000, burst: 500 },
    events: [50_000, 5_000],
  },
  {
    id: "fanout-56",
    title: "10 concurrent callers over 56 subjects (8 agents x 7 event types)",
    load: { kind: "closed", callers: 10 },
    events: [56_000, 5_600],
    agents: 8,
    types: 7,
  },
  {
    id: "payload-100B",
    title: "full speed, 100-byte payloads",
    load: { kind: "closed", callers: "full" },
    events: [50_000, 3_000],
    payloadBytes: 100,
  },
  {
    id: "payload-1KB",
    title: "full speed, 1 KB payloads",
    load: { kind: "closed", callers: "full" },
    events: [30_000, 2_000],
    payloadBytes: 1024,
    extraModes: [NO_REDACT, ASYNC_PERSIST],
  },
  {
    id: "payload-10KB",
    title: "full speed, 10 KB payloads",
    load: { kind: "closed", callers: "full" },
    events: [10_000, 1_000],
    payloadBytes: 10 * 1024,
  },
  {
    id: "payload-50KB",
    title: "full speed, 50 KB payloads",
    load: { kind: "closed", callers: "full" },
    events: [3_000, 500],
    payloadBytes: 50 * 1024,
    warmup: [1_000, 200],
  },
  {
    id: "consumer-read",
    title: "read the stream back with an ordered consumer (after filling it at full speed)",
    load: { kind: "read" },
    events: [100_000, 10_000],
  },
  {
    id: "sustained",
    title: "full speed for 15 s (--quick: 2 s)",
    load: { kind: "closed", callers: "full" },
    events: [20_000, 5_000],
    durationMs: [15_000, 2_000],
    extraModes: [NO_REDACT, ASYNC_PERSIST],
  },
  {
    id: "secrets",
    title: "full speed, each ~650-byte payload holding an AWS credentials file and a bearer token (redacted)",
    load: { kind: "closed", callers: "full" },
    events: [30_000, 2_000],
    secrets: true,
    extraModes: [NO_REDACT],
  },
  evenlySpaced(1_000, "1,000 events/s offered, evenly spaced, timed from each event's intended time"),
  evenlySpaced(10_000, "10,000 events/s offered, evenly spaced"),
  evenlySpaced(20_000, "20,000 events/s offered, evenly spaced"),
];

export const SCENARIO_IDS = DEFS.map((d) => d.id);

export function scenarios(quick: boolean): ScenarioSpec[] {
  const q = quick ? 1 : 0;
  return DEFS.map((d) => ({
    id: d.id,
    title: d.title,
    load: d.load,
    events: d.events[q],
    ...(d.durationMs ? { durationMs: d.durationMs[q] } : {}),
    payloadBytes: d.payloadBytes ?? STANDARD_PAYLOAD_BYTES,
    agents: d.agents ?? 1,
    types: d.types ?? 1,
    warmup: (d.warmup ?? [10_000, 500])[q],
    ...(d.secrets ? { secrets: true } : {}),
    ...(d.extraModes ? { extraModes: d.extraModes } : {}),
    limit: limitShape(d),
  }));
}
