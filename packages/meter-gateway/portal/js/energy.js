// Energy series from opened records, binned for the chart and the table, and the chart itself
// (uPlot, served by the gateway from its own dependencies).
/* global uPlot */

export const BINS = {
  "15min": { label: "15 minutes", ms: 900_000 },
  hour: { label: "hourly", ms: 3_600_000 },
  day: { label: "daily", ms: 86_400_000 },
  month: { label: "monthly", ms: null },
};

function binStart(t, bin) {
  if (bin === "month") {
    const d = new Date(t);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  return Math.floor(t / BINS[bin].ms) * BINS[bin].ms;
}

/**
 * Energy per period from opened records [{ record, opened }]: registers (raw records) become the
 * difference to the previous register of the same meter, credited to the later period; aggregates
 * already are period energy. Returns [{ t (ms), importWh, exportWh }] sorted by time.
 */
export function energyIntervals(items) {
  const byMeter = new Map();
  const out = [];
  for (const x of items) {
    if (!x.opened) continue;
    if (!x.opened.cumulative) {
      out.push({ t: x.record.periodStart, importWh: x.opened.importWh, exportWh: x.opened.exportWh });
      continue;
    }
    const list = byMeter.get(x.record.meterId) ?? [];
    list.push(x);
    byMeter.set(x.record.meterId, list);
  }
  for (const list of byMeter.values()) {
    list.sort((a, b) => a.record.periodStart - b.record.periodStart || a.record.sequence - b.record.sequence);
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1].opened;
      const b = list[i].opened;
      // A register that went backwards (a replaced meter) starts a new run instead of a negative figure.
      if (b.importWh < a.importWh || b.exportWh < a.exportWh) continue;
      out.push({ t: list[i - 1].record.periodStart, importWh: b.importWh - a.importWh, exportWh: b.exportWh - a.exportWh });
    }
  }
  return out.sort((a, b) => a.t - b.t);
}

/** Sums intervals into bins: [{ t, importKwh, exportKwh, n }]. */
export function binned(intervals, bin) {
  const m = new Map();
  for (const x of intervals) {
    const t = binStart(x.t, bin);
    const b = m.get(t) ?? { t, importKwh: 0, exportKwh: 0, n: 0 };
    b.importKwh += x.importWh / 1000;
    b.exportKwh += x.exportWh / 1000;
    b.n++;
    m.set(t, b);
  }
  return [...m.values()].sort((a, b) => a.t - b.t);
}

export function formatTime(t, bin) {
  const iso = new Date(t).toISOString();
  if (bin === "month") return iso.slice(0, 7);
  if (bin === "day") return iso.slice(0, 10);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** Draws (or redraws) the chart in `el`: import and export kWh per bin. */
export function drawChart(el, rows, bin) {
  el.innerHTML = "";
  el.dataset.points = String(rows.length);
  if (rows.length === 0) {
    el.textContent = "No readings to chart yet.";
    return null;
  }
  const width = Math.max(280, el.clientWidth || 600);
  const opts = {
    width,
    height: width < 500 ? 220 : 300,
    scales: { x: { time: true } },
    series: [
      { value: (_u, v) => (v == null ? "" : formatTime(v * 1000, bin)) },
      { label: "Import kWh", stroke: "#1a5fb4", width: 2, fill: "rgba(26,95,180,0.12)", value: (_u, v) => (v == null ? "" : v.toFixed(3)) },
      { label: "Export kWh", stroke: "#c64600", width: 2, value: (_u, v) => (v == null ? "" : v.toFixed(3)) },
    ],
    axes: [{}, { label: "kWh", size: 60 }],
  };
  const data = [rows.map((r) => r.t / 1000), rows.map((r) => r.importKwh), rows.map((r) => r.exportKwh)];
  return new uPlot(opts, data, el);
}

/** A CSV file a spreadsheet opens: one header line, ISO times, kWh with 3 decimals. */
export function csv(header, lines) {
  const q = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  return [header, ...lines].map((l) => l.map(q).join(",")).join("\n") + "\n";
}

/** Offers `text` as a file download named `name`. */
export function download(name, text, type) {
  // A detached link: clicked, never part of the page (an empty link in the page is an a11y fault).
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
