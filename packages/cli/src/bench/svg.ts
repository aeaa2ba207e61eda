// Figure 9 as a hand-written SVG: seconds against N on log–log axes (the series span three
// decades in N and four in time, so linear axes would flatten Sidegrid against the x axis).
import type { Figure9Row } from "./types";

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
