// Small inline-SVG charts for the HTML report: grouped horizontal bars on a log axis, and
// latency-by-percentile curves. No scripts, no external files.

export const MODE_COLORS: Record<string, string> = {
  ceiling: "#8a8f98",
  inline: "#e67e22",
  offloaded: "#2a7ae2",
  "offloaded-noredact": "#8fb8ef",
  "offloaded-async": "#16a085",
  limit: "#2e9e5b",
};

/** Colours of the parts of a stacked bar (where the CPU went). */
export const PART_COLORS: Record<string, string> = {
  host: "#2a7ae2",
  generator: "#9cc3f0",
  worker: "#8e44ad",
  other: "#b8b8c8",
  server: "#e67e22",
  tool: "#2e9e5b",
};

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const num = (v: number) => (Math.round(v * 10) / 10).toString();

function decades(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
  return out;
}

function tickLabel(v: number, unit: string): string {
  if (v >= 1e6) return `${v / 1e6}M${unit}`;
  if (v >= 1e3) return `${v / 1e3}k${unit}`;
  return `${v}${unit}`;
}

export interface BarGroup {
  label: string;
  bars: { series: string; value: number | null; text: string }[];
}

/** Grouped horizontal bars on a log10 axis. */
export function barChart(title: string, groups: BarGroup[], unit: string, width = 920): string {
  const values = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v): v is number => v !== null && v > 0);
  if (values.length === 0) return "";
  const ticks = decades(Math.min(...values), Math.max(...values));
  const lo = Math.log10(ticks[0]);
  const hi = Math.log10(ticks[ticks.length - 1]);
  const left = 130;
  const right = 90;
  const top = 34;
  const barH = 11;
  const gap = 9;
  const plotW = width - left - right;
  const groupH = Math.max(...groups.map((g) => g.bars.length)) * (barH + 2) + gap;
  const height = top + groups.length * groupH + 24;
  const x = (v: number) => left + ((Math.log10(v) - lo) / (hi - lo || 1)) * plotW;
  const parts: string[] = [`<text x="${left}" y="16" class="t">${esc(title)}</text>`];
  for (const t of ticks) {
    const tx = num(x(t));
    parts.push(`<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${height - 20}" class="grid"/>`);
    parts.push(`<text x="${tx}" y="${height - 6}" class="tick" text-anchor="middle">${tickLabel(t, unit)}</text>`);
  }
  groups.forEach((g, gi) => {
    const y0 = top + gi * groupH;
    const ly = num(y0 + (groupH - gap) / 2 + 4);
    parts.push(`<text x="${left - 8}" y="${ly}" class="lbl" text-anchor="end">${esc(g.label)}</text>`);
    g.bars.forEach((b, bi) => {
      const y = y0 + bi * (barH + 2);
      if (b.value === null || b.value <= 0) {
        parts.push(`<text x="${left + 4}" y="${num(y + barH - 2)}" class="val">${esc(b.text || "-")}</text>`);
        return;
      }
      const w = Math.max(1, x(b.value) - left);
      const fill = MODE_COLORS[b.series] ?? "#555";
      const tip = esc(`${g.label} ${b.series}: ${b.text}`);
      parts.push(
        `<rect x="${left}" y="${y}" width="${num(w)}" height="${barH}" fill="${fill}"><title>${tip}</title></rect>`,
      );
      parts.push(`<text x="${num(left + w + 4)}" y="${num(y + barH - 2)}" class="val">${esc(b.text)}</text>`);
    });
  });
  return svg(width, height, parts);
}

export interface StackedBar {
  label: string;
  parts: { part: string; value: number }[];
  text: string;
}

/** Horizontal stacked bars on a linear axis, one per label (e.g. "sustained offloaded"), with a legend. */
export function stackedChart(title: string, bars: StackedBar[], unit: string, width = 920): string {
  const totals = bars.map((b) => b.parts.reduce((a, p) => a + p.value, 0));
  const max = Math.max(0, ...totals);
  if (bars.length === 0 || max <= 0) return "";
  const step = 10 ** Math.floor(Math.log10(max));
  const top10 = Math.ceil(max / step) * step;
  const left = 210;
  const right = 120;
  const top = 44;
  const barH = 13;
  const gap = 5;
  const plotW = width - left - right;
  const height = top + bars.length * (barH + gap) + 24;
  const x = (v: number) => left + (v / top10) * plotW;
  const parts: string[] = [`<text x="${left}" y="16" class="t">${esc(title)}</text>`];
  Object.entries(PART_COLORS).forEach(([name, color], i) => {
    parts.push(`<rect x="${left + i * 90}" y="24" width="11" height="11" fill="${color}"/>`);
    parts.push(`<text x="${left + i * 90 + 15}" y="34" class="lbl">${esc(name)}</text>`);
  });
  for (let t = 0; t <= top10 + 1e-9; t += step) {
    const tx = num(x(t));
    parts.push(`<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${height - 20}" class="grid"/>`);
    parts.push(`<text x="${tx}" y="${height - 6}" class="tick" text-anchor="middle">${num(t)}${unit}</text>`);
  }
  bars.forEach((b, bi) => {
    const y = top + bi * (barH + gap);
    parts.push(`<text x="${left - 8}" y="${num(y + barH - 2)}" class="lbl" text-anchor="end">${esc(b.label)}</text>`);
    let at = 0;
    for (const p of b.parts) {
      if (p.value <= 0) continue;
      const w = Math.max(0.5, x(at + p.value) - x(at));
      const fill = PART_COLORS[p.part] ?? "#555";
      const tip = esc(`${b.label} ${p.part}: ${num(p.value)}${unit}`);
      const rect = `<rect x="${num(x(at))}" y="${y}" width="${num(w)}" height="${barH}" fill="${fill}">`;
      parts.push(`${rect}<title>${tip}</title></rect>`);
      at += p.value;
    }
    parts.push(`<text x="${num(x(at) + 4)}" y="${num(y + barH - 2)}" class="val">${esc(b.text)}</text>`);
  });
  return svg(width, height, parts);
}

interface Curve {
  series: string;
  /** [percentile, ms] */
  points: [number, number][];
}

const NINES = [0, 90, 99, 99.9, 99.99, 99.999];
const nines = (p: number) => (p >= 100 ? 5.6 : Math.min(5.6, -Math.log10(1 - p / 100)));

/** Latency (log ms) against percentile (0, 90, 99, 99.9, ... then max), one line per mode. */
export function percentileChart(title: string, curves: Curve[], width = 440, height = 250): string {
  const pts = curves.flatMap((c) => c.points.map((p) => p[1])).filter((v) => v > 0);
  if (pts.length === 0) return "";
  const ticks = decades(Math.min(...pts), Math.max(...pts));
  const lo = Math.log10(ticks[0]);
  const hi = Math.log10(ticks[ticks.length - 1]);
  const left = 48;
  const right = 12;
  const top = 28;
  const bottom = 34;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const x = (p: number) => left + (nines(p) / 5.6) * pw;
  const y = (ms: number) => top + ph - ((Math.log10(Math.max(ms, ticks[0])) - lo) / (hi - lo || 1)) * ph;
  const parts: string[] = [`<text x="${left}" y="16" class="t">${esc(title)}</text>`];
  for (const t of ticks) {
    const ty = num(y(t));
    parts.push(`<line x1="${left}" y1="${ty}" x2="${width - right}" y2="${ty}" class="grid"/>`);
    const label = t >= 1 ? t : t.toPrecision(1);
    parts.push(`<text x="${left - 5}" y="${num(y(t) + 4)}" class="tick" text-anchor="end">${label}</text>`);
  }
  for (const p of [...NINES, 100]) {
    const px = num(x(p));
    parts.push(`<line x1="${px}" y1="${top}" x2="${px}" y2="${top + ph}" class="grid"/>`);
    const label = p === 100 ? "max" : p === 0 ? "0" : `p${p}`;
    parts.push(`<text x="${px}" y="${height - bottom + 14}" class="tick" text-anchor="middle">${label}</text>`);
  }
  parts.push(
    `<text x="${left + pw / 2}" y="${height - 4}" class="tick" text-anchor="middle">` +
      "percentile (log scale of nines); y: ms, log</text>",
  );
  curves.forEach((c, ci) => {
    const d = c.points.map(([p, ms], i) => `${i ? "L" : "M"}${num(x(p))},${num(y(ms))}`).join(" ");
    const color = MODE_COLORS[c.series] ?? "#555";
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"><title>${esc(c.series)}</title></path>`);
    parts.push(
      `<text x="${width - right - 4}" y="${top + 12 + ci * 13}" class="lgd" text-anchor="end" fill="${color}">` +
        `${esc(c.series)}</text>`,
    );
  });
  return svg(width, height, parts);
}

function svg(width: number, height: number, parts: string[]): string {
  const open = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"`;
  return `${open} viewBox="0 0 ${width} ${height}" role="img">${parts.join("")}</svg>`;
}
