// The markdown report of a bench run: goals first, then each section as a table.
import path from "node:path";
import type { BenchReport, LatencyStats, RoundSpread } from "./types";

/** Thousands separators for integers, up to 3 significant decimals otherwise; "—" for missing. */
export function fmt(x: number | null | undefined, digits?: number): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  if (digits !== undefined) return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  if (Number.isInteger(x)) return x.toLocaleString("en-US");
  const d = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : Math.abs(x) >= 1 ? 2 : 3;
  return x.toLocaleString("en-US", { maximumFractionDigits: d });
}

/** A GitHub-flavoured markdown table; `|` in cells is escaped. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[], align?: readonly ("l" | "r")[]): string {
  const cell = (c: string | number) => String(c).replace(/\|/g, "\\|").replace(/\n/g, " ");
  const sep = header.map((_, i) => ((align?.[i] ?? "l") === "r" ? "---:" : "---"));
  return [`| ${header.map(cell).join(" | ")} |`, `| ${sep.join(" | ")} |`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

function lat(l: LatencyStats): string {
  return `p50 ${fmt(l.p50)} ms, p90 ${fmt(l.p90)} ms, p99 ${fmt(l.p99)} ms, max ${fmt(l.max)} ms (${l.samples} samples)`;
}

function rate(s: RoundSpread): string {
  return `${fmt(s.median)} (min ${fmt(s.min)}, max ${fmt(s.max)}; ${s.rounds} rounds)`;
}

function notes(list: readonly string[]): string {
  return list.length ? `\n${list.map((n) => `- ${n}`).join("\n")}\n` : "";
}

/**
 * Renders the report as markdown; `svgFile` is the chart's file name, linked relative to the report.
 * @example
 * fs.writeFileSync(`${stamp}.md`, renderMarkdown(report, `${stamp}.svg`));
 */
export function renderMarkdown(r: BenchReport, svgFile: string): string {
  const out: string[] = [];
  const met = r.goals.filter((g) => g.met).length;
  out.push(`# Sidegrid bench, ${r.quick ? "quick" : "full"} run of ${r.startedAt}`);
  out.push("");
  out.push(
    `${r.machine.platform} ${r.machine.arch}, ${r.machine.cpus} cores (${r.machine.cpuModel}), Node ${r.machine.node}. ` +
      `Three fresh anvil chains (BlockPRI ${r.chains.blockpri}, BlockSEC ${r.chains.blocksec}, BlockTST ${r.chains.blocktst}), ` +
      `three federation member processes (2-of-3) and Redis, all measurements in this one run. Wall time ${fmt(r.wallSeconds)} s.`,
  );
  out.push("");
  out.push(`## Goals (${met} of ${r.goals.length} met)`);
  out.push("");
  out.push(
    table(
      ["figure", "issue", "goal", "measured", "met"],
      r.goals.map((g) => [g.figure, `#${g.issue}`, g.goal, `${fmt(g.value)} ${g.unit}${g.note ? ` (${g.note})` : ""}`, g.met ? "✅ yes" : "❌ no"]),
    ),
  );
  out.push("");

  const f9 = r.figure9;
  out.push("## Figure 9, side by side");
  out.push("");
  out.push(`N readings of ${f9.payloadBytes} bytes stored on BlockSEC's chain. Speed-up = (b) readings/s ÷ (a) readings/s.`);
  out.push("");
  out.push(
    table(
      ["N", "paper (s)", "baseline one by one (s)", "(a) baseline pipelined (s)", "(a) readings/s", "(b) Sidegrid (s)", "(b) readings/s", "(b) txs", "speed-up (b)/(a)", "speed-up vs one by one"],
      f9.rows.map((x) => [
        x.n,
        fmt(x.paperSeconds),
        fmt(x.baselineSequential.seconds),
        fmt(x.baseline.seconds),
        fmt(x.baseline.readingsPerSecond),
        fmt(x.sidegrid.seconds),
        fmt(x.sidegrid.readingsPerSecond),
        x.sidegrid.txs,
        `${fmt(x.speedup)}×`,
        `${fmt(x.speedupVsSequential)}×`,
      ]),
      ["r", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
    ),
  );
  out.push("");
  out.push(`![Figure 9: seconds vs N](${svgFile})`);
  out.push(notes(f9.notes));

  const g = r.gas;
  out.push("## Gas");
  out.push("");
  out.push("### Deployment");
  out.push("");
  out.push(table(["contract", "chain", "gas", "note"], g.deploy.map((d) => [d.contract, d.chain, fmt(d.gas), d.note ?? ""]), ["l", "l", "r", "l"]));
  out.push("");
  out.push("### Operations");
  out.push("");
  out.push(table(["operation", "contract", "gas", "per", "note"], g.operations.map((o) => [o.operation, o.contract, fmt(o.gas), o.per, o.note ?? ""]), ["l", "l", "r", "l", "l"]));
  out.push("");
  out.push(`### Beside the paper's Tables 4 and 5`);
  out.push("");
  out.push(
    `The paper gives ETH on Ropsten without a gas price. "paper ≈ gas" converts at ${fmt(g.impliedGweiPerGas, 2)} gwei, the price at which its setTransLog ` +
      `(0.000821 ETH) equals our baseline's setTransLog gas; it is an estimate to compare orders of magnitude, not a measurement.`,
  );
  out.push("");
  out.push(
    table(
      ["table", "paper", "paper (ETH)", "paper ≈ gas", "ours", "ours (gas)"],
      g.paper.map((p) => [p.table, p.paper, fmt(p.paperEth, 6), fmt(p.paperGasEstimate), p.ours, fmt(p.oursGas)]),
      ["r", "l", "r", "r", "l", "r"],
    ),
  );
  out.push(notes(g.notes));

  const e = r.endToEnd;
  out.push("## End-to-end ingest from simulated meters");
  out.push("");
  out.push(
    table(
      ["meters", "target readings/s", "anchored readings/s", "ingested readings/s", "polls/s", "reading → anchored", "held at meter", "deferred polls", "gas/record", "records/tx", "failed polls"],
      [
        [
          e.meters,
          fmt(e.targetRate),
          fmt(e.anchoredPerSecond),
          fmt(e.storedPerSecond),
          fmt(e.pollsPerSecond),
          `p50 ${fmt(e.latencyMs.p50)} ms, p99 ${fmt(e.latencyMs.p99)} ms`,
          e.heldAtMeterMs ? `p50 ${fmt(e.heldAtMeterMs.p50)} ms, p99 ${fmt(e.heldAtMeterMs.p99)} ms` : "—",
          e.deferredPolls === undefined ? "—" : fmt(e.deferredPolls),
          fmt(e.gasPerRecord),
          fmt(e.recordsPerTx),
          e.pollFailures,
        ],
      ],
      ["r", "r", "r", "r", "r", "l", "l", "r", "r", "r", "r"],
    ),
  );
  if (e.anchoredPerSecondSpread) {
    const p = e.anchoredPerSecondSpread;
    out.push("");
    out.push(`Anchored readings per second in each of the window's ${p.rounds} one-second samples: min ${fmt(p.min)}, median ${fmt(p.median)}, max ${fmt(p.max)}.`);
  }
  out.push(notes(e.notes));

  out.push("## Revocation latency");
  out.push("");
  out.push(table(["change on BlockPRI", "until BlockSEC's PolicyMirror answers accordingly"], [["revoke (refused)", lat(r.revocation.revokeMs)], ["grant back (permitted)", lat(r.revocation.grantMs)]]));
  out.push(notes(r.revocation.notes));

  const rl = r.relay;
  out.push("## Federation relay throughput");
  out.push("");
  out.push(
    table(
      ["run", "messages", "seconds", "messages/s", "sending the load (s)", "deliver txs", "mean batch", "gas/message"],
      (
        [
          ["live", rl.live],
          [rl.backlogRounds && rl.backlogRounds.length > 1 ? `backlog (median of ${rl.backlogRounds.length} rounds: ${rl.backlogRounds.map((x) => fmt(x)).join(", ")} msg/s)` : "backlog", rl.backlog],
        ] as const
      ).map(([name, x]) => [name, fmt(x.messages), fmt(x.seconds), fmt(x.messagesPerSecond), fmt(x.appSendSeconds), x.deliverTxs, x.meanBatch, fmt(x.gasPerMessage)]),
      ["l", "r", "r", "r", "r", "r", "r", "r"],
    ),
  );
  out.push("");
  out.push(`The backlog's time includes starting the three member processes; with nothing to catch up, that start takes ${fmt(rl.idleRestartSeconds)} s.`);
  out.push(notes(rl.notes));

  const a = r.api;
  out.push("## API: a utility's one-day query");
  out.push("");
  out.push(table(["request", "latency"], [[`one day (${a.records} records, ${fmt(a.responseBytes)} bytes)`, lat(a.queryMs)], ["access request (prepare, sign, relay)", lat(a.accessRequestMs)]]));
  out.push(notes(a.notes));

  const k = r.keyRelease;
  out.push("## Key release: grant → plaintext");
  out.push("");
  out.push(
    table(
      ["step", "latency"],
      [
        [`grant → every reading opened and proven (${k.readingsPerRead} readings, ${k.keysPerRead} epoch key(s); all proven: ${k.allProven ? "yes" : "NO"})`, lat(k.grantToPlaintextMs)],
        ["of which: waiting for m released shares of every key", lat(k.releaseMs)],
        ["of which: combining, opening, proving", lat(k.openMs)],
      ],
    ),
  );
  out.push(notes(k.notes));

  const c = r.codec;
  out.push("## OSGP codec");
  out.push("");
  out.push(
    table(
      ["path", "packets/s, one core"],
      [
        ["decodeResponse (OMA digest verified) + decodeReadingRecord", `${fmt(c.perSecond)} (median of ${c.rounds} rounds; best ${fmt(c.best)})`],
        ["aes-gcm suite decodeResponse + decodeReadingRecord", fmt(c.aesGcmPerSecond)],
      ],
    ),
  );
  out.push("");

  const dr = r.demandResponse;
  out.push("## Demand response");
  out.push("");
  out.push("### Rule evaluation");
  out.push("");
  out.push(
    table(
      ["path", "per second, one core: median (min, max)"],
      [
        [`evaluateRules, ${fmt(dr.rules.households)} households × ${dr.rules.rulesPerHousehold} rules (evaluations)`, rate(dr.rules.evaluatePerSecond)],
        [`decodeRule × ${dr.rules.rulesPerHousehold} (bytes32) + evaluateRules (households)`, rate(dr.rules.decodeAndEvaluatePerSecond)],
        [`DemandResponseAgent.onReport, ${fmt(dr.agent.meters)} meters × ${dr.agent.rounds} reports, reads from memory (reports)`, rate(dr.agent.reportsPerSecond)],
      ],
    ),
  );
  out.push("");
  out.push(`${fmt(dr.rules.decisionsPerRound)} device decisions per round of evaluateRules; the agent sent ${dr.agent.commandsByRound.map((x) => fmt(x)).join(", ")} appliance commands in its successive rounds (a decision is sent only when it changes).`);
  out.push("");
  out.push("### Day-ahead DSM");
  out.push("");
  out.push(
    table(
      ["households", "flexible loads", "PAR before", "PAR after", "PAR reduction", "peak before (kW)", "peak after (kW)", "grid cost before → after (¢)", "passes", "converged", "game ms: median (min, max)"],
      dr.dayAhead.map((d) => [
        fmt(d.households),
        fmt(d.flexibleLoads),
        fmt(d.parBefore, 3),
        fmt(d.parAfter, 3),
        `${fmt(d.parReductionPercent, 1)} %`,
        fmt(d.peakKwBefore, 1),
        fmt(d.peakKwAfter, 1),
        `${fmt(d.totalCostBefore)} → ${fmt(d.totalCostAfter)}`,
        d.iterations,
        d.converged ? "yes" : "no",
        `${fmt(d.gameMs.median)} (${fmt(d.gameMs.min)}, ${fmt(d.gameMs.max)})`,
      ]),
      ["r", "r", "r", "r", "r", "r", "r", "r", "r", "l", "r"],
    ),
  );
  const charted = dr.dayAhead[dr.dayAhead.length - 1];
  if (charted) {
    out.push("");
    out.push(`![Day-ahead DSM, ${fmt(charted.households)} households: grid load before and after](${path.basename(r.files.dayAheadSvg)})`);
  }
  out.push("");
  out.push("### Gas of the DemandResponse operations (BlockTST)");
  out.push("");
  out.push(
    table(
      ["operation", "gas", "households", "gas/household", "note"],
      [["deploy DemandResponse (and its three role grants, not counted)", fmt(dr.deployGas), "", "", ""], ...dr.gas.map((o) => [o.operation, fmt(o.gas), o.households === undefined ? "" : fmt(o.households), o.gasPerHousehold === undefined ? "" : fmt(o.gasPerHousehold), o.note ?? ""])],
      ["l", "r", "r", "r", "l"],
    ),
  );
  out.push(notes(dr.notes));
  out.push(
    `Files: \`${path.basename(r.files.json)}\`, \`${path.basename(r.files.markdown)}\`, \`${path.basename(r.files.svg)}\`, \`${path.basename(r.files.dayAheadSvg)}\` (the full report is the JSON).`,
  );
  out.push("");
  return out.join("\n");
}
