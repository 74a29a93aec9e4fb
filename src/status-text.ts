// /eventstatus: the status as a few short lines for a chat window.
import type { EnabledStatus, Percentiles, PluginStatus } from "./status.ts";

const n = (x: number) => Math.round(x).toLocaleString("en-US");
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
const ms = (p: Percentiles) => (p.count === 0 ? "no acks yet" : `p50 ${p.p50} ms, p99 ${p.p99} ms, max ${p.max} ms`);

export function statusText(s: PluginStatus): string {
  if (s.state === "disabled") {
    return s.error ? `NATS event store is disabled: ${s.error}` : "NATS event store is disabled (enabled: false)";
  }
  const hints = s.hints.map((h) => `\nhint: ${h}`).join("");
  // Before the start: events captured so far wait in the ring (shown when there are any).
  if (s.state === "not started" && s.counters.captured === 0) return `NATS event store: not started yet${hints}`;
  return runningText(s) + hints;
}

function runningText(s: EnabledStatus): string {
  const c = s.counters;
  const d = c.dropped;
  const dropped =
    d.total === 0
      ? "0 dropped"
      : `${n(d.total)} dropped (${[
          d.ringFull && `ring full ${n(d.ringFull)}`,
          d.tooLarge && `too large ${n(d.tooLarge)}`,
          d.rejected && `rejected ${n(d.rejected)}`,
          d.undeliverable && `over server max_payload ${n(d.undeliverable)}`,
        ]
          .filter(Boolean)
          .join(", ")})`;
  const conn = s.connection;
  const state =
    s.state === "not started"
      ? "not started yet"
      : `${conn.state}${conn.reason ? ` (${conn.reason})` : ""}${conn.server ? ` to ${conn.server}` : ""}`;
  const stalls = c.workerStalls ? `, stalls ${n(c.workerStalls)}` : "";
  // Async persist trades durability for speed (acks before the disk write): shown, the default is not.
  const persist = s.stream?.persistMode === "async" ? " (persist mode async)" : "";
  const lines = [
    `NATS event store: ${state}${s.stream ? `, stream ${s.stream.name}${persist}` : ""}`,
    `events: ${n(c.captured)} captured, ${n(c.acked)} stored, ${n(c.pending)} pending, ${dropped}`,
    `rate: ${n(s.rates.capturedPerSec)}/s captured, ${n(s.rates.ackedPerSec)}/s stored (last ${s.rates.windowSec} s)`,
    `latency capture->ack: ${ms(s.latency.captureToAck)}`,
    `ring: ${mib(s.ring.usedBytes)} of ${mib(s.ring.capacityBytes)} used (high water ${mib(s.ring.highWaterBytes)}); ` +
      `retries ${n(c.retried)}, reconnects ${n(c.reconnects)}, worker restarts ${n(c.workerCrashes)}${stalls}`,
    `host cost: ${n(s.host.costNsPerCall)} ns per hook call`,
  ];
  const sp = c.spool;
  if (sp.spooled > 0 || sp.bytes > 0 || sp.failed || sp.recovered > 0 || sp.damaged.segments > 0) {
    const state = sp.failed ? ", FAILING (see the gateway log)" : sp.full ? ", FULL (spoolMaxBytes)" : "";
    const earlier = sp.recovered > 0 ? `, ${n(sp.recovered)} from an earlier run stored` : "";
    lines.push(
      `spool: ${mib(sp.bytes)} on disk, ${n(sp.spooled)} spooled, ${n(sp.replayed)} replayed${earlier}${state}`,
    );
    if (sp.damaged.segments > 0) {
      lines.push(
        `spool damage: ${n(sp.damaged.segments)} file(s) set aside as *.bad, ` +
          `${n(sp.damaged.records)} unreadable stretch(es), ${n(sp.damaged.bytes)} bytes (see the gateway log)`,
      );
    }
  }
  if (c.truncated > 0) lines.push(`truncated payloads: ${n(c.truncated)}`);
  if (c.redactions > 0) lines.push(`redacted: ${n(c.redactions)} secrets in ${n(c.redactedEvents)} events`);
  if (s.stream?.warning) lines.push(`warning: ${s.stream.warning}`);
  if (s.stream?.publishMode === "fast-batch") lines.push("publishing: fast batches (publishMode fast-batch)");
  else if (s.stream?.publishModeNote)
    lines.push(`publishing: a PubAck per event; fast-batch not used: ${s.stream.publishModeNote}`);
  if (s.lastError) lines.push(`last error: ${s.lastError}`);
  return lines.join("\n");
}
