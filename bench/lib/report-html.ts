// bench/results/report.html: one self-contained page (inline SVG and CSS, no scripts) with the
// run's header, throughput and host-cost charts, latency percentile curves and the full table.
import type { BenchReport, Row } from "./results.ts";
import { barChart, esc, percentileChart, MODE_COLORS, type BarGroup } from "./svg.ts";
import { fmtInt, fmtMs } from "./table.ts";
import { MODE_ORDER, MODES } from "./types.ts";

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555}table{border-collapse:collapse;font-size:12.5px;margin:8px 0}td,th{padding:3px 7px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
td:first-child,th:first-child,td.l,th.l{text-align:left}th{background:#f6f6f6;position:sticky;top:0}tr.sep td{border-top:2px solid #ccc}
.bad{color:#b00;font-weight:600}.grid{stroke:#e4e4e4}.tick{font-size:10px;fill:#777}.lbl{font-size:11.5px;fill:#333}.val{font-size:10px;fill:#444}
.t{font-size:13px;font-weight:600;fill:#222}.lgd{font-size:11px;font-weight:600}.curves{display:flex;flex-wrap:wrap;gap:10px}
.key span{display:inline-block;width:12px;height:12px;margin:0 4px 0 14px;vertical-align:-1px}.note{color:#666;font-size:12.5px}`;

function groups(r: BenchReport, value: (x: Row) => number | null, text: (x: Row) => string): BarGroup[] {
  return r.scenarios
    .map((s) => ({
      label: s.id,
      bars: MODE_ORDER.flatMap((m) => {
        const row = r.results.find((x) => x.scenario === s.id && x.mode === m);
        // Modes that run only in some scenarios (offloaded-noredact) get a bar only there.
        if (!row && !MODES.includes(m)) return [];
        return [{ series: m, value: row ? value(row) : null, text: row ? text(row) : "" }];
      }),
    }))
    .filter((g) => g.bars.some((b) => b.value !== null));
}

function table(r: BenchReport): string {
  const head = [
    "scenario",
    "mode",
    "events",
    "acked ev/s",
    "MB/s",
    "x ceiling",
    "latency",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
    "sched lag p99 ms",
    "host ns/ev",
    "host CPU ns/ev",
    "loop p99 ms",
    "ELU",
    "CPU µs/ev",
    "server µs/ev",
    "RSS MB",
    "errors",
    "dropped",
    "verified",
    "notes",
  ];
  let last = "";
  const body = r.results.map((x) => {
    const sep = x.scenario !== last ? ' class="sep"' : "";
    last = x.scenario;
    const cells = [
      esc(x.scenario),
      `<span style="color:${MODE_COLORS[x.mode]};font-weight:600">${x.mode}</span>`,
      fmtInt(x.events),
      fmtInt(x.eventsPerSec),
      x.mbPerSec.toFixed(1),
      x.vsCeiling === null ? "-" : x.vsCeiling.toFixed(2),
      x.latencyBasis,
      fmtMs(x.p50Ms),
      fmtMs(x.p99Ms),
      fmtMs(x.p999Ms),
      fmtMs(x.maxMs),
      x.scheduleLagP99Ms === undefined ? "-" : fmtMs(x.scheduleLagP99Ms),
      x.hostNsPerEvent === null ? "-" : fmtInt(x.hostNsPerEvent),
      x.hostCpuNsPerEvent === null ? "-" : fmtInt(x.hostCpuNsPerEvent),
      fmtMs(x.loopDelayP99Ms),
      x.elu.toFixed(2),
      x.cpuUsPerEvent === null ? "-" : x.cpuUsPerEvent.toFixed(1),
      x.serverCpuUsPerEvent === null ? "-" : x.serverCpuUsPerEvent.toFixed(1),
      String(x.rssMb),
      x.errors ? `<span class="bad">${x.errors}</span>` : "0",
      x.dropped ? `<span class="bad">${x.dropped}</span>` : "0",
      x.verified ? "yes" : '<span class="bad">NO</span>',
      `<span class="note">${esc(x.notes.join("; "))}</span>`,
    ];
    return `<tr${sep}>${cells.map((c, i) => `<td${i === 6 || i === 22 ? ' class="l"' : ""}>${c}</td>`).join("")}</tr>`;
  });
  return `<table><tr>${head.map((h, i) => `<th${i === 6 || i === 22 ? ' class="l"' : ""}>${h}</th>`).join("")}</tr>${body.join("")}</table>`;
}

export function renderHtml(r: BenchReport): string {
  const h = r.header;
  const swatch = (m: string) => `<span style="background:${MODE_COLORS[m]}"></span>${m}`;
  const key = `<p class="key">${MODE_ORDER.map(swatch).join("")}</p>`;
  const throughput = barChart(
    "Acked events per second (consumer-read: messages read per second), log scale",
    groups(
      r,
      (x) => x.eventsPerSec || null,
      (x) =>
        `${fmtInt(x.eventsPerSec)}${x.vsCeiling !== null && x.mode !== "ceiling" ? ` (${x.vsCeiling.toFixed(2)}x)` : ""}`,
    ),
    "",
  );
  const hostCost = barChart(
    "Host-thread time inside the capture / publish call, ns per event, log scale",
    groups(
      r,
      (x) => x.hostNsPerEvent,
      (x) => (x.hostNsPerEvent === null ? "-" : `${fmtInt(x.hostNsPerEvent)} ns`),
    ),
    " ns",
  );
  const hostCpu = barChart(
    "Host-thread CPU time per event (calls, ack handling, load driver), ns, log scale",
    groups(
      r,
      (x) => x.hostCpuNsPerEvent,
      (x) => (x.hostCpuNsPerEvent === null ? "-" : `${fmtInt(x.hostCpuNsPerEvent)} ns`),
    ),
    " ns",
  );
  const loop = barChart(
    "Host event-loop delay p99 during the run, ms, log scale",
    groups(
      r,
      (x) => (x.loopDelayP99Ms > 0 ? x.loopDelayP99Ms : null),
      (x) => `${fmtMs(x.loopDelayP99Ms)} ms (ELU ${x.elu.toFixed(2)})`,
    ),
    " ms",
  );
  const curves = r.scenarios
    .map((s) => {
      const rows = r.results.filter((x) => x.scenario === s.id && x.curve);
      if (rows.length === 0) return "";
      return percentileChart(
        `${s.id}: ${rows[0].latencyBasis}`,
        rows.map((x) => ({ series: x.mode, points: x.curve! })),
      );
    })
    .join("");
  const micro = r.micro.length
    ? `<h2>Call cost (tinybench, per event; host thread unless marked worker)</h2><table><tr><th>call</th><th>mean ns</th><th>p50 ns</th><th>p99 ns</th><th>±%</th><th>samples</th><th class="l">notes</th></tr>${r.micro
        .map(
          (m) =>
            `<tr><td>${esc(m.name)}</td><td>${fmtInt(m.meanNs)}</td><td>${fmtInt(m.p50Ns)}</td><td>${fmtInt(m.p99Ns)}</td><td>${m.rmePct.toFixed(1)}</td><td>${fmtInt(m.samples)}</td><td class="l note">${esc(m.notes)}</td></tr>`,
        )
        .join(
          "",
        )}</table><p class="note">Each sample loops over ${r.micro[0].perIteration} calls; the figures are divided by that.</p>`
    : "";
  const scenarios = `<table>${r.scenarios.map((s) => `<tr><td>${esc(s.id)}</td><td class="l">${esc(s.title)}</td></tr>`).join("")}</table>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>openclaw-nats-eventstore bench ${esc(h.date)}</title><style>${CSS}</style></head><body>
<h1>openclaw-nats-eventstore: benchmark${h.quick ? " (--quick)" : ""}</h1>
<p class="meta">${esc(h.date)} · Node ${esc(h.node)} · nats-server ${esc(h.natsServer)} (${h.server}) · ${esc(h.cpu)} x${h.cores} · ${h.memoryGb} GB · ${esc(h.os)} · idle event-loop delay p99 ${fmtMs(h.idleLoopDelayP99Ms)} ms · commit ${esc(h.commit ?? "?")} · ${h.durationSec} s</p>
<p class="note">Modes: <b>offloaded</b> = this plugin (EventPipeline.capture on the host thread, publishing from a worker); <b>inline</b> = the seed plugin's way (JSON + awaited js.publish on the host's event loop); <b>ceiling</b> = a bare inbox-ack publisher with pre-encoded messages, the most this machine and server allow; <b>offloaded-noredact</b> = this plugin with secret redaction off (redact: false), in the scenarios that measure what redaction costs. Each (scenario, mode) ran in its own process, on a fresh file-storage stream with de-duplication on, after a warm-up. Latency is capture-&gt;ack, except bursty and rate-* (intended time -&gt; stored, by JetStream's clock, no coordinated omission).</p>
${key}
<h2>Throughput</h2>${throughput}
<h2>Latency by percentile</h2><p class="note">Closed-loop scenarios (capture-&gt;ack): inline and ceiling callers wait for each ack, so at most as many events as callers are queued; the offloaded mode never waits (hooks do not) and runs up to 4096 + 1024 events ahead of the acks, so its figures there are mostly queueing at full speed. bursty and rate-* offer the same open-loop load to every mode: compare latency there.</p><div class="curves">${curves}</div>
<h2>Host cost</h2>${hostCost}${hostCpu}${loop}
${micro}
<h2>All figures</h2>${table(r)}
<h2>Scenarios</h2>${scenarios}
</body></html>
`;
}
