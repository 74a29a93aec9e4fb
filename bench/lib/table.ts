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

/** One column of the results table: its heading, alignment and cell. */
interface Column {
  head: string;
  align: "l" | "r";
  cell: (r: Row) => string;
}

const lat = (v: (r: Row) => number | null) => (r: Row) => (r.latencyBasis === "none" ? "-" : fmtMs(v(r)));
const opt = (v: number | null | undefined, f: (n: number) => string = fmtMs) =>
  v === null || v === undefined ? "-" : f(v);
const ratio = (v: number | null | undefined) => (v === null || v === undefined ? "-" : v.toFixed(2));

/** The columns of the text table; CPU in ms per 1,000 events (µs per event). */
export const COLUMNS: Column[] = [
  { head: "scenario", align: "l", cell: (r) => r.scenario },
  { head: "mode", align: "l", cell: (r) => r.mode },
  { head: "events", align: "r", cell: (r) => fmtInt(r.events) },
  { head: "acked ev/s", align: "r", cell: (r) => fmtInt(r.eventsPerSec) },
  { head: "MB/s", align: "r", cell: (r) => r.mbPerSec.toFixed(r.mbPerSec >= 100 ? 0 : 1) },
  { head: "x ceil", align: "r", cell: (r) => ratio(r.vsCeiling) },
  { head: "x limit", align: "r", cell: (r) => ratio(r.vsLimit) },
  { head: "p50 ms", align: "r", cell: lat((r) => r.p50Ms) },
  { head: "p99 ms", align: "r", cell: lat((r) => r.p99Ms) },
  { head: "p99.9 ms", align: "r", cell: lat((r) => r.p999Ms) },
  { head: "max ms", align: "r", cell: lat((r) => r.maxMs) },
  { head: "gen late p99", align: "r", cell: (r) => opt(r.genLateP99Ms) },
  { head: "offer p99", align: "r", cell: (r) => opt(r.fromOfferP99Ms) },
  { head: "host ns/ev", align: "r", cell: (r) => opt(r.hostNsPerEvent, fmtInt) },
  { head: "cpu/1k host", align: "r", cell: (r) => opt(r.cpuMsPer1k?.host) },
  { head: "gen", align: "r", cell: (r) => opt(r.cpuMsPer1k?.generator) },
  { head: "worker", align: "r", cell: (r) => opt(r.cpuMsPer1k?.worker) },
  { head: "other", align: "r", cell: (r) => opt(r.cpuMsPer1k?.otherThreads) },
  { head: "server", align: "r", cell: (r) => opt(r.cpuMsPer1k?.server) },
  { head: "tool", align: "r", cell: (r) => opt(r.cpuMsPer1k?.tool) },
  { head: "cores", align: "r", cell: (r) => opt(r.cores, (v) => v.toFixed(2)) },
  { head: "loop p99", align: "r", cell: (r) => opt(r.loopDelayP99Ms) },
  { head: "ELU", align: "r", cell: (r) => opt(r.elu, (v) => v.toFixed(2)) },
  { head: "RSS MB", align: "r", cell: (r) => opt(r.rssMb, String) },
  { head: "err", align: "r", cell: (r) => String(r.errors) },
  { head: "drop", align: "r", cell: (r) => String(r.dropped) },
  { head: "ok", align: "l", cell: (r) => (r.verified ? "yes" : "NO") },
];

const ROW_HEAD = COLUMNS.map((c) => c.head);
const ROW_ALIGN = COLUMNS.map((c) => c.align);

function cells(r: Row): string[] {
  return COLUMNS.map((c) => c.cell(r));
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
  const limit = h.limitTool
    ? `limit mode: nats ${h.limitTool.version} bench js pub (async batch ${h.limitTool.batch})`
    : `limit mode: ${h.limitNote ?? "off"}`;
  return [
    `date ${h.date}  node ${h.node}  nats-server ${h.natsServer} (${h.server})  commit ${h.commit}`,
    `cpu ${h.cpu} x${h.cores}  memory ${h.memoryGb} GB  ${h.os}${h.quick ? "  --quick" : ""}`,
    `idle event-loop delay p99 ${fmtMs(h.idleLoopDelayP99Ms)} ms  ${limit}`,
    "cpu/1k ...: CPU ms per 1,000 events (= µs per event) of the host thread, the paced generator's waits on it",
    "(gen), the worker thread, the process's other threads, nats-server and the Go tool; cores: all of them over the",
    "wall time",
  ];
}
