// The bench's charts as hand-written SVG. Figure 9: seconds against N on log–log axes (the series
// span three decades in N and four in time, so linear axes would flatten Sidegrid against the x
// axis). The day-ahead DSM run: the grid's load per slot before and after the game, linear axes.
import type { DayAheadRun, Figure9Row } from "./types";

export interface Figure9Series {
  label: string;
  color: string;
  dashed?: boolean;
  /** Markers only, no line (the paper's two points). */
  pointsOnly?: boolean;
  points: { n: number; seconds: number }[];
}

const W = 840;
const H = 460;
const M = { left: 72, right: 280, top: 48, bottom: 62 };

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function fmtSeconds(s: number): string {
  if (s >= 1) return String(Math.round(s * 10) / 10).replace(/\.0$/, "");
  return String(Number(s.toPrecision(2)));
}

/** The series Figure 9 shows, from the report's rows. */
export function figure9Series(rows: readonly Figure9Row[]): Figure9Series[] {
  const paper = rows.filter((r) => r.paperSeconds !== null).map((r) => ({ n: r.n, seconds: r.paperSeconds as number }));
  return [
    { label: "paper (Loom; text gives the ends)", color: "#888888", pointsOnly: true, points: paper },
    { label: "baseline, one tx per record, awaited", color: "#d62728", dashed: true, points: rows.map((r) => ({ n: r.n, seconds: r.baselineSequential.seconds })) },
    { label: "baseline (a), pipelined", color: "#ff7f0e", points: rows.map((r) => ({ n: r.n, seconds: r.baseline.seconds })) },
    { label: "Sidegrid (b): meters → anchorBatch", color: "#1f77b4", points: rows.map((r) => ({ n: r.n, seconds: r.sidegrid.seconds })) },
  ];
}

/**
 * Renders Figure 9 (seconds vs N, log–log) as a standalone SVG document.
 * @example
 * fs.writeFileSync("latest.svg", renderFigure9Svg(report.figure9.rows, "quick run"));
 */
export function renderFigure9Svg(rows: readonly Figure9Row[], subtitle = ""): string {
  const series = figure9Series(rows).filter((s) => s.points.length > 0);
  const all = series.flatMap((s) => s.points).filter((p) => p.n > 0 && p.seconds > 0 && Number.isFinite(p.seconds));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${M.left}" y="22" font-size="15" font-weight="bold">Figure 9, side by side: seconds to store N readings of 144 bytes</text>`);
  if (subtitle) out.push(`<text x="${M.left}" y="38" fill="#555555">${esc(subtitle)}</text>`);
  if (all.length === 0) {
    out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`);
    return out.join("\n");
  }
  const ns = [...new Set(all.map((p) => p.n))].sort((a, b) => a - b);
  const xMin = Math.log10(ns[0]!);
  const xMax = Math.log10(ns[ns.length - 1]!);
  const secs = all.map((p) => p.seconds);
  const yMin = Math.floor(Math.log10(Math.min(...secs)));
  const yMax = Math.max(yMin + 1, Math.ceil(Math.log10(Math.max(...secs))));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (n: number) => M.left + (xMax === xMin ? pw / 2 : ((Math.log10(n) - xMin) / (xMax - xMin)) * pw);
  const y = (s: number) => M.top + ph - ((Math.log10(s) - yMin) / (yMax - yMin)) * ph;
  const f = (v: number) => v.toFixed(1);

  // Axes, grid and ticks.
  out.push(`<g stroke="#dddddd" stroke-width="1">`);
  for (let d = yMin; d <= yMax; d++) out.push(`<line x1="${M.left}" y1="${f(y(10 ** d))}" x2="${M.left + pw}" y2="${f(y(10 ** d))}"/>`);
  for (const n of ns) out.push(`<line x1="${f(x(n))}" y1="${M.top}" x2="${f(x(n))}" y2="${M.top + ph}"/>`);
  out.push(`</g>`);
  out.push(`<g stroke="#333333" stroke-width="1.2"><line x1="${M.left}" y1="${M.top + ph}" x2="${M.left + pw}" y2="${M.top + ph}"/><line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + ph}"/></g>`);
  out.push(`<g fill="#333333">`);
  for (let d = yMin; d <= yMax; d++) out.push(`<text x="${M.left - 8}" y="${f(y(10 ** d) + 4)}" text-anchor="end">${esc(fmtSeconds(10 ** d))}</text>`);
  for (const n of ns) out.push(`<text x="${f(x(n))}" y="${M.top + ph + 18}" text-anchor="middle">${n}</text>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 18}" text-anchor="middle">N readings (log scale)</text>`);
  out.push(`<text transform="translate(20 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">seconds (log scale)</text>`);
  out.push(`</g>`);

  // Series, then the legend.
  for (const s of series) {
    const pts = s.points.filter((p) => p.seconds > 0 && Number.isFinite(p.seconds));
    const id = s.label.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
    out.push(`<g id="series-${esc(id)}" stroke="${s.color}" fill="${s.color}">`);
    if (!s.pointsOnly && pts.length > 1) {
      out.push(`<polyline fill="none" stroke-width="2"${s.dashed ? ` stroke-dasharray="6 4"` : ""} points="${pts.map((p) => `${f(x(p.n))},${f(y(p.seconds))}`).join(" ")}"/>`);
    }
    for (const p of pts) {
      const title = `<title>${esc(`${s.label}: N=${p.n}, ${fmtSeconds(p.seconds)} s`)}</title>`;
      if (s.pointsOnly) out.push(`<rect x="${f(x(p.n) - 5)}" y="${f(y(p.seconds) - 5)}" width="10" height="10" fill="none" stroke-width="2">${title}</rect>`);
      else out.push(`<circle cx="${f(x(p.n))}" cy="${f(y(p.seconds))}" r="3.5">${title}</circle>`);
    }
    out.push(`</g>`);
  }
  const lx = M.left + pw + 16;
  series.forEach((s, i) => {
    const ly = M.top + 10 + i * 22;
    if (s.pointsOnly) out.push(`<rect x="${lx + 8}" y="${ly - 5}" width="10" height="10" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    else out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ` stroke-dasharray="6 4"` : ""}/>`);
    out.push(`<text x="${lx + 32}" y="${ly + 4}" font-size="11">${esc(s.label)}</text>`);
  });
  out.push(`</svg>`);
  return out.join("\n");
}

/** A round step for about `ticks` intervals over 0..max (1, 2 or 5 × a power of ten). */
function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((step) => step >= raw) ?? 10 * p;
}

/**
 * Renders a day-ahead DSM run as a standalone SVG document: the grid's load (kW) in each slot with
 * every flexible load at its earliest start ("before") and at the game's equilibrium ("after"),
 * the day's average load (the same in both: the game moves energy, it does not remove it) dashed.
 * @example
 * fs.writeFileSync("latest.dsm.svg", renderDayAheadSvg(report.demandResponse.dayAhead.at(-1)!, "quick run"));
 */
export function renderDayAheadSvg(run: DayAheadRun, subtitle = ""): string {
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${M.left}" y="22" font-size="15" font-weight="bold">${esc(`Day-ahead DSM, ${run.households.toLocaleString("en-US")} households: the grid's load before and after`)}</text>`);
  if (subtitle) out.push(`<text x="${M.left}" y="38" fill="#555555">${esc(subtitle)}</text>`);
  const n = Math.min(run.loadBeforeKw.length, run.loadAfterKw.length);
  const all = [...run.loadBeforeKw, ...run.loadAfterKw].filter((v) => Number.isFinite(v));
  if (n < 2 || all.length === 0) {
    out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`);
    return out.join("\n");
  }
  const step = niceStep(Math.max(...all, 1e-9), 5);
  const yMax = Math.ceil(Math.max(...all) / step) * step;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  // Slot s spans [s, s + 1) on the x axis; its load is drawn at the slot's middle.
  const x = (slot: number) => M.left + (slot / n) * pw;
  const y = (kw: number) => M.top + ph - (kw / yMax) * ph;
  const f = (v: number) => v.toFixed(1);
  const clock = (slot: number) => {
    const m = (run.startMinute + slot * run.slotMinutes) % 1440;
    return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
  };
  // A tick every 3 hours of wall clock.
  const every = Math.max(1, Math.round(180 / run.slotMinutes));
  const xTicks = Array.from({ length: Math.floor(n / every) + 1 }, (_, i) => i * every);
  const yTicks = Array.from({ length: Math.round(yMax / step) + 1 }, (_, i) => i * step);

  out.push(`<g stroke="#dddddd" stroke-width="1">`);
  for (const t of yTicks) out.push(`<line x1="${M.left}" y1="${f(y(t))}" x2="${M.left + pw}" y2="${f(y(t))}"/>`);
  for (const t of xTicks) out.push(`<line x1="${f(x(t))}" y1="${M.top}" x2="${f(x(t))}" y2="${M.top + ph}"/>`);
  out.push(`</g>`);
  out.push(`<g stroke="#333333" stroke-width="1.2"><line x1="${M.left}" y1="${M.top + ph}" x2="${M.left + pw}" y2="${M.top + ph}"/><line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + ph}"/></g>`);
  out.push(`<g fill="#333333">`);
  for (const t of yTicks) out.push(`<text x="${M.left - 8}" y="${f(y(t) + 4)}" text-anchor="end">${esc(t.toLocaleString("en-US"))}</text>`);
  for (const t of xTicks) out.push(`<text x="${f(x(t))}" y="${M.top + ph + 18}" text-anchor="middle">${clock(t)}</text>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 18}" text-anchor="middle">${esc(`time of day (${run.slotMinutes}-minute slots, ${clock(0)} to ${clock(0)})`)}</text>`);
  out.push(`<text transform="translate(20 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">grid load (kW)</text>`);
  out.push(`</g>`);

  const series = [
    { id: "before", label: `before: each load at its earliest start (PAR ${run.parBefore}, peak ${run.peakKwBefore.toLocaleString("en-US")} kW)`, color: "#d62728", kw: run.loadBeforeKw },
    { id: "after", label: `after: best-response equilibrium (PAR ${run.parAfter}, peak ${run.peakKwAfter.toLocaleString("en-US")} kW)`, color: "#1f77b4", kw: run.loadAfterKw },
  ];
  for (const s of series) {
    const pts = s.kw.slice(0, n).map((kw, slot) => `${f(x(slot + 0.5))},${f(y(kw))}`);
    out.push(`<g id="series-${s.id}"><polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(" ")}"><title>${esc(s.label)}</title></polyline></g>`);
  }
  out.push(`<line id="average" x1="${M.left}" y1="${f(y(run.averageKw))}" x2="${M.left + pw}" y2="${f(y(run.averageKw))}" stroke="#555555" stroke-width="1" stroke-dasharray="4 4"/>`);

  const lx = M.left + pw + 16;
  const legend = [...series.map((s) => ({ label: s.label, color: s.color, dashed: false })), { label: `average ${run.averageKw.toLocaleString("en-US")} kW (both)`, color: "#555555", dashed: true }];
  legend.forEach((s, i) => {
    const ly = M.top + 10 + i * 34;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ` stroke-dasharray="4 4"` : ""}/>`);
    // Long labels on two lines: what the series is, then its figures.
    const [head, tail] = s.label.includes(" (") ? [s.label.slice(0, s.label.indexOf(" (")), s.label.slice(s.label.indexOf(" (") + 1)] : [s.label, ""];
    out.push(`<text x="${lx + 32}" y="${ly + 4}" font-size="11">${esc(head)}${tail ? `<tspan x="${lx + 32}" dy="14">${esc(tail)}</tspan>` : ""}</text>`);
  });
  out.push(`</svg>`);
  return out.join("\n");
}
