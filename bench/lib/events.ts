// Seed-shaped events for the benchmarks. Every mode of a scenario gets the same list, built the
// same way (deterministic content), so the bytes that reach JetStream are the same in each mode.
import { randomUUID } from "node:crypto";
import type { Envelope } from "../../src/envelope.ts";
import { eventTypeIndex } from "../../src/event-types.ts";

export interface BenchEvent {
  type: string;
  /** Index into EVENT_TYPES (what EventPipeline.capture takes). */
  typeIndex: number;
  agent: string;
  session: string;
  payload: Record<string, unknown>;
}

/** The 8 agents x 7 event types of the fan-out scenario (56 subjects). */
const AGENTS = ["main", "viola", "atlas", "nova", "orion", "lyra", "pixel", "sage"] as const;
const TYPES = ["tool.call", "tool.result", "msg.in", "msg.out", "llm.input", "llm.output", "run.end"] as const;

/** JSON payload size of the standard event: its seed envelope is about 300 bytes. */
export const STANDARD_PAYLOAD_BYTES = 165;

const RUN_ID = "3f9d2c1e-8b7a-4c55-9e10-5a6b7c8d9e0f";

interface EventSetSpec {
  count: number;
  payloadBytes: number;
  agents: number;
  types: number;
  /** Sequence numbers start here; warm-up events use negative ones (read-back skips them). */
  firstSeq?: number;
  /** A tool result holding secrets the plugin redacts (see SECRET_RESULT). */
  secrets?: boolean;
}

/** What a tool returned after `cat ~/.aws/credentials; curl -v ...`: three secrets to redact. */
const SECRET_RESULT =
  "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n" +
  "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nregion = eu-west-1\n" +
  "> GET /v1/me HTTP/1.1\n> Host: api.example.com\n" +
  "> Authorization: Bearer eM9xT1mR5kL0pW7yB2cD4fG6hJ9sA1eU3iO5uY7tR9\n> Accept: */*\n< HTTP/1.1 200 OK\n";

/**
 * `count` events shaped like the seed's tool-call event. `seq` comes first in the payload (the
 * read-back finds it without parsing), `pad` fills the payload up to `payloadBytes` of JSON.
 * Each payload goes through JSON.parse, as data a host received would: its strings are flat
 * (a "x".repeat() rope costs JSON.stringify several times more the first time it is encoded).
 */
export function makeEvents(spec: EventSetSpec): BenchEvent[] {
  const agents = AGENTS.slice(0, Math.max(1, Math.min(AGENTS.length, spec.agents)));
  const types = TYPES.slice(0, Math.max(1, Math.min(TYPES.length, spec.types)));
  const first = spec.firstSeq ?? 0;
  const out: BenchEvent[] = new Array(spec.count);
  for (let i = 0; i < spec.count; i++) {
    const agent = agents[i % agents.length];
    const type = types[Math.floor(i / agents.length) % types.length];
    const seq = first + i;
    const payload: Record<string, unknown> = {
      seq,
      toolName: "exec",
      params: { command: "ls -la /workspace/src", pad: "" },
      runId: RUN_ID,
      toolCallId: `call_${Math.abs(seq)}`,
    };
    if (spec.secrets) payload.result = { content: [{ type: "text", text: SECRET_RESULT }] };
    const base = JSON.stringify(payload).length;
    (payload.params as { pad: string }).pad = "x".repeat(Math.max(0, spec.payloadBytes - base));
    out[i] = {
      type,
      typeIndex: eventTypeIndex(type),
      agent,
      session: `agent:${agent}:main`,
      payload: JSON.parse(JSON.stringify(payload)),
    };
  }
  return out;
}

/** The envelope the seed plugin publishes for an event (a fresh UUIDv4 and the current time). */
export function seedEnvelope(e: BenchEvent): Envelope {
  return { id: randomUUID(), ts: Date.now(), agent: e.agent, session: e.session, type: e.type, payload: e.payload };
}

/** The seed's subject: {prefix}.{agent}.{type with . -> _} (bench agents are plain tokens). */
export function seedSubject(prefix: string, e: BenchEvent): string {
  return `${prefix}.${e.agent}.${e.type.replace(/\./g, "_")}`;
}

/** Average size in bytes of the published envelope body of these events. */
export function averageEnvelopeBytes(events: readonly BenchEvent[]): number {
  const step = Math.max(1, Math.floor(events.length / 2000));
  let sum = 0;
  let n = 0;
  for (let i = 0; i < events.length; i += step) {
    sum += Buffer.byteLength(JSON.stringify(seedEnvelope(events[i])));
    n++;
  }
  return n === 0 ? 0 : Math.round(sum / n);
}

const SEQ_MARK = Buffer.from('"payload":{"seq":');

/** The `seq` of a bench event from a stored message body (JSON envelope), or NaN. */
export function seqOf(body: Uint8Array): number {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let i = b.indexOf(SEQ_MARK);
  if (i < 0) return NaN;
  i += SEQ_MARK.length;
  let neg = false;
  if (b[i] === 0x2d) {
    neg = true;
    i++;
  }
  let v = 0;
  let digits = 0;
  for (; i < b.length; i++, digits++) {
    const c = b[i] - 0x30;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
  }
  return digits === 0 ? NaN : neg ? -v : v;
}
