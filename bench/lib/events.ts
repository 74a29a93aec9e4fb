// Seed-shaped events for the benchmarks: a tool call of about 300 bytes as published.
import { randomUUID } from "node:crypto";

export interface BenchEvent {
  type: string;
  agent: string;
  session: string;
  payload: Record<string, unknown>;
}

/** `count` distinct events; `payloadBytes` pads the payload to roughly that size. */
export function makeEvents(count: number, payloadBytes = 160, agents = ["main"], types = ["tool.call"]): BenchEvent[] {
  const runId = randomUUID();
  const pad = Math.max(0, payloadBytes - 130);
  return Array.from({ length: count }, (_, i) => {
    const agent = agents[i % agents.length];
    return {
      type: types[Math.floor(i / agents.length) % types.length],
      agent,
      session: `agent:${agent}:main`,
      payload: { toolName: "exec", params: { command: "ls -la /workspace", pad: "x".repeat(pad) }, runId, toolCallId: `call_${i}`, seq: i },
    };
  });
}

/** The envelope the seed plugin would publish for an event. */
export function seedEnvelope(e: BenchEvent): string {
  return JSON.stringify({ id: randomUUID(), ts: Date.now(), agent: e.agent, session: e.session, type: e.type, payload: e.payload });
}
