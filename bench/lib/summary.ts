// The few lines an operator reads first: the plugin against its design targets
// and against the seed plugin's published table, from this run's own figures.
import type { HostCostRow } from "../host-cost.ts";
import type { BenchReport, Row } from "./results.ts";
import { fmtInt, fmtMs } from "./table.ts";

const SEED: Record<string, number> = {
  sequential: 3_800,
  "concurrent-10": 9_000,
  "fanout-56": 9_000,
  "consumer-read": 20_000,
  sustained: 3_800,
  "payload-100B": 4_000,
  "payload-1KB": 3_500,
  "payload-10KB": 2_600,
  "payload-50KB": 1_600,
};

export function summaryLines(r: BenchReport & { hostCost?: HostCostRow[] }): string[] {
  const find = (scenario: string, mode: string): Row | undefined =>
    r.results.find((x) => x.scenario === scenario && x.mode === mode);
  const out: string[] = ["Design targets, offloaded mode, this run:"];
  const sustained = find("sustained", "offloaded");
  if (sustained?.vsCeiling != null)
    out.push(`  sustained throughput vs the inbox-ack ceiling: ${sustained.vsCeiling.toFixed(2)} (target >= 0.90)`);
  const limit = find("sustained", "limit");
  if (sustained?.vsLimit != null && limit)
    out.push(
      `  sustained throughput vs the server's limit (Go nats bench, ${fmtInt(limit.eventsPerSec)} msgs/s): ` +
        `${sustained.vsLimit.toFixed(2)} (target >= 0.80)`,
    );
  // The worker's thread against the bare publisher's, which does its work on the thread that drives it.
  const worker = sustained?.cpuMsPer1k.worker;
  const publisher = find("sustained", "ceiling")?.cpuMsPer1k.host;
  if (worker != null && publisher != null && publisher > 0)
    out.push(
      `  worker CPU per event, sustained: ${fmtMs(worker)} µs, the bare publisher's thread ${fmtMs(publisher)} µs: ` +
        `${(worker / publisher).toFixed(2)} (target <= 1.00)`,
    );
  const json = (r.hostCost ?? []).filter((h) => h.encoding === "json");
  if (json.length)
    out.push(
      `  host cost vs a bare JSON.stringify of the payload: ` +
        `${json.map((h) => `${h.payload.replace(/ \(.*\)$/, "")} ${h.ratio.toFixed(2)}x`).join(", ")} (target <= 1.2x)`,
    );
  const capture = r.micro.find((m) => m.name.startsWith("offloaded"));
  if (capture)
    out.push(`  host cost of capture(), ~300-byte event: p50 ${fmtInt(capture.p50Ns)} ns per event (target ~1,000 ns)`);
  const r10 = find("rate-10k", "offloaded");
  const c10 = find("rate-10k", "ceiling");
  if (r10?.p99Ms != null) {
    const vs = c10?.p99Ms != null ? `, ceiling ${fmtMs(c10.p99Ms)} ms (target: within 1 ms of it)` : "";
    const late = r10.genLateP99Ms !== undefined ? `; generator late p99 ${fmtMs(r10.genLateP99Ms)} ms` : "";
    out.push(`  p99 at 10k events/s, intended -> stored: ${fmtMs(r10.p99Ms)} ms (target < 2 ms)${vs}${late}`);
    if (r10.fromOfferP99Ms !== undefined)
      out.push(
        `  p99 at 10k events/s, offered -> stored (no generator lateness): ${fmtMs(r10.fromOfferP99Ms)} ms, ` +
          `ceiling ${fmtMs(c10?.fromOfferP99Ms)} ms`,
      );
  }
  const r20 = find("rate-20k", "offloaded");
  if (r20)
    out.push(
      `  event-loop delay p99 at 20k events/s: ${fmtMs(r20.loopDelayP99Ms)} ms, ` +
        `idle ${fmtMs(r.header.idleLoopDelayP99Ms)} ms (target: within 1 ms of idle)`,
    );
  const cpu: string[] = [];
  for (const x of r.results) {
    if (!x.verified || !["sustained", "payload-1KB", "rate-10k"].includes(x.scenario)) continue;
    const c = x.cpuMsPer1k;
    const parts = (
      [
        ["host", c.host],
        ["generator", c.generator ?? null],
        ["worker", c.worker],
        ["other", c.otherThreads],
        ["server", c.server],
        ["tool", c.tool],
      ] as const
    )
      .filter(([, v]) => v !== null)
      .map(([k, v]) => `${k} ${fmtMs(v)}`);
    if (parts.length) {
      const cores = x.cores === null ? "" : ` (${x.cores.toFixed(2)} cores busy)`;
      cpu.push(`  ${`${x.scenario} ${x.mode}`.padEnd(28)} ${parts.join(", ")}${cores}`);
    }
  }
  if (cpu.length) out.push("Where the CPU goes, ms per 1,000 events:", ...cpu);
  const redaction: string[] = [];
  for (const id of ["sustained", "payload-1KB", "secrets"]) {
    const on = find(id, "offloaded");
    const off = find(id, "offloaded-noredact");
    if (on && off && off.eventsPerSec > 0) {
      const bothCpu = on.cpuUsPerEvent !== null && off.cpuUsPerEvent !== null;
      const cpu = bothCpu ? `, process CPU ${on.cpuUsPerEvent} vs ${off.cpuUsPerEvent} µs/event` : "";
      const share = `${((on.eventsPerSec / off.eventsPerSec) * 100).toFixed(0)}%`;
      const rates = `on ${fmtInt(on.eventsPerSec).padStart(8)} ev/s, off ${fmtInt(off.eventsPerSec).padStart(8)} ev/s`;
      redaction.push(`  ${id.padEnd(14)} redaction ${rates} (${share})${cpu}`);
    }
  }
  if (redaction.length) out.push("Secret redaction (on the worker), offloaded mode on vs off:", ...redaction);
  const vsSeed: string[] = [];
  for (const [id, seed] of Object.entries(SEED)) {
    const o = find(id, "offloaded");
    const i = find(id, "inline");
    if (o || i) {
      const inline = fmtInt(i?.eventsPerSec ?? 0).padStart(8);
      const offloaded = fmtInt(o?.eventsPerSec ?? 0).padStart(8);
      vsSeed.push(
        `  ${id.padEnd(14)} seed ~${fmtInt(seed).padStart(6)}   inline ${inline}   offloaded ${offloaded} ev/s`,
      );
    }
  }
  if (vsSeed.length) out.push("Against the seed plugin's README table (its machine, not this one):", ...vsSeed);
  return out;
}
