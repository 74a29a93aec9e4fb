// Plain-text tables for stdout.
import type { Header, Row } from "./results.ts";
import type { MicroResult } from "./types.ts";

export function fmtInt(v: number): string {
  return Math.round(v).toLocaleString("en-US");
}

/** Milliseconds with three significant digits (0.0123, 1.23, 123). */
export function fmtMs(v: number | null | undefined): string {
  if (v === null || v === undefined) return "-";
  if (v === 0) return "0";
  if (v >= 100) return String(Math.round(v));
  return v
    .toPrecision(3)
    .replace(/(\.\d*?)0+$/, "$1")
    .replace(/\.$/, "");
}

function pad(cells: string[][], align: ("l" | "r")[]): string[] {
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) =>
    r
      .map((c, i) => (align[i] === "l" ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ")
      .trimEnd(),
  );
}

const ROW_HEAD = [
  "scenario",
  "mode",
  "events",
  "acked ev/s",
  "MB/s",
  "x ceil",
  "p50 ms",
  "p99 ms",
  "p99.9 ms",
  "max ms",
  "host ns/ev",
  "host CPU ns/ev",
  "loop p99",
  "ELU",
  "RSS MB",
  "err",
  "drop",
  "ok",
];
const ROW_ALIGN: ("l" | "r")[] = [
  "l",
  "l",
  "r",
  "r",
  "r",
  "r",
  "r",
  "r",
  "r",
  "r",
  "r",
  "r",
  "r",
  "r",
  "r",
  "r",
  "r",
  "l",
];

function cells(r: Row): string[] {
  const noLat = r.latencyBasis === "none";
  return [
    r.scenario,
    r.mode,
    fmtInt(r.events),
    fmtInt(r.eventsPerSec),
    r.mbPerSec.toFixed(r.mbPerSec >= 100 ? 0 : 1),
    r.vsCeiling === null ? "-" : r.vsCeiling.toFixed(2),
    noLat ? "-" : fmtMs(r.p50Ms),
    noLat ? "-" : fmtMs(r.p99Ms),
    noLat ? "-" : fmtMs(r.p999Ms),
    noLat ? "-" : fmtMs(r.maxMs),
    r.hostNsPerEvent === null ? "-" : fmtInt(r.hostNsPerEvent),
    r.hostCpuNsPerEvent === null ? "-" : fmtInt(r.hostCpuNsPerEvent),
    fmtMs(r.loopDelayP99Ms),
    r.elu.toFixed(2),
    String(r.rssMb),
    String(r.errors),
    String(r.dropped),
    r.verified ? "yes" : "NO",
  ];
}

/** The whole results table (rows aligned together). */
export function rowsTable(rows: Row[]): string[] {
  const body = rows.map(cells);
  return pad([ROW_HEAD, ROW_HEAD.map((h) => "-".repeat(h.length)), ...body], ROW_ALIGN);
}

export function microTable(micro: MicroResult[]): string[] {
  const head = [
    "call, per event (host thread unless worker:)",
    "mean ns",
    "p50 ns",
    "p99 ns",
    "±%",
    "samples",
    "notes",
  ];
  const body = micro.map((m) => [
    m.name,
    fmtInt(m.meanNs),
    fmtInt(m.p50Ns),
    fmtInt(m.p99Ns),
    m.rmePct.toFixed(1),
    fmtInt(m.samples),
    m.notes,
  ]);
  return pad([head, head.map((h) => "-".repeat(h.length)), ...body], ["l", "r", "r", "r", "r", "r", "l"]);
}

export function headerLines(h: Header): string[] {
  return [
    `date ${h.date}  node ${h.node}  nats-server ${h.natsServer} (${h.server})  commit ${h.commit}`,
    `cpu ${h.cpu} x${h.cores}  memory ${h.memoryGb} GB  ${h.os}${h.quick ? "  --quick" : ""}`,
    `idle event-loop delay p99 ${fmtMs(h.idleLoopDelayP99Ms)} ms`,
  ];
}
