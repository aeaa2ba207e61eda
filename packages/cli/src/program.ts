import fs from "node:fs";
import path from "node:path";
import { Command, CommanderError } from "commander";
import { ChainError, loadConfig, type SidegridConfig } from "@sidegrid/chain";
import { checkAuditReport, formatAuditReport } from "@sidegrid/blocksec";
import { runMemberCli } from "@sidegrid/federation";
import { validateGatewayConfig } from "@sidegrid/meter-gateway";
import { metersCliMain } from "@sidegrid/pi-meter";
import { sampleCpu } from "./cpu";
import { registerComposeCommand } from "./compose/command";
import { ROLES, memberKeys, roleKey } from "./accounts";
import { formatReportCheck, readSavedReport, runAudit } from "./audit";
import { formatChaos, parseFaults, rollbacksCovered, runChaos } from "./chaos";
import { formatRead, readingsCsv, runRead } from "./read";
import { parsePositive, parseScaleSizes, runBench, runScaleBench } from "./bench";
import { checkRemoteNetworks, deploySystem, readDeployment, type SystemDeployment } from "./deploy-system";
import { runDemo } from "./demo";
import { formatDsmReport, runDsm } from "./dsm";
import { CliError } from "./errors";
import { adminRoleTable, probeAdminRoles } from "./governance";
import { startServices } from "./services";
import { supervise } from "./supervise";
import { probeStatus, readState, startInfrastructure, stopAll } from "./system";
import { createUi, formatTable, type Ui } from "./ui";

export interface CliIo {
  stdout: (s: string) => void;
  stderr: NodeJS.WriteStream;
}

export interface UpReturnType {
  started: string[];
  reused: string[];
  deployment: SystemDeployment;
}

/** `sidegrid up`: start local chains and Redis, deploy every contract, write the state file. */
export async function up(cfg: SidegridConfig, ui: Ui): Promise<UpReturnType> {
  // Remote networks are checked before anything local starts, so a bad config leaves nothing behind.
  await checkRemoteNetworks(cfg, ui);
  // So are the role and member keys (from the environment when a network is remote).
  for (const role of ROLES) roleKey(cfg, role);
  memberKeys(cfg, cfg.services.members);
  const infra = await startInfrastructure(cfg, ui);
  const deployment = await deploySystem(cfg, ui);
  const services = await startServices(cfg, deployment, infra.state, ui);
  const started = [...infra.started, ...services.started];
  const reused = [...new Set([...infra.reused, ...services.reused])].filter((n) => !started.includes(n));
  return { started, reused, deployment };
}

function statusTable(rows: Awaited<ReturnType<typeof probeStatus>>): string[][] {
  return [["component", "kind", "endpoint", "state", "detail"], ...rows.map((r) => [r.name, r.kind, r.endpoint, r.ok ? "up" : "DOWN", r.detail])];
}

/** Builds the `sidegrid` command tree; `io` lets tests capture output. */
export function buildProgram(io: CliIo): Command {
  const program = new Command("sidegrid")
    .description("Sidegrid: sidechain-federated privacy and storage network for smart grids")
    .option("-c, --config <file>", "configuration file (default: $SIDEGRID_CONFIG, ./sidegrid.config.json, embedded defaults)")
    .option("-q, --quiet", "no progress output")
    .showHelpAfterError()
    .exitOverride();
  const ctx = () => {
    const o = program.opts<{ config?: string; quiet?: boolean }>();
    const cfg = loadConfig(o.config ? { file: o.config } : {});
    return { cfg, ui: createUi(io.stderr, Boolean(o.quiet)) };
  };

  program
    .command("up")
    .description("start BlockPRI, BlockSEC, BlockTST (local anvil nodes) and Redis, deploy and wire all contracts, start federation members, simulated meters and the gateway")
    .option("--json", "print the result as JSON")
    .option("--supervise", "stay in the foreground and start again any process of the system that dies (until `sidegrid down` or Ctrl-C)")
    .action(async (opts: { json?: boolean; supervise?: boolean }) => {
      const { cfg, ui } = ctx();
      const r = await up(cfg, ui);
      if (opts.supervise) {
        io.stdout(formatTable(statusTable(await probeStatus(cfg))));
        io.stdout("supervising: a process that dies is started again; `sidegrid down` (or Ctrl-C here) ends it");
        const ac = new AbortController();
        const stop = () => ac.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        const restarts = await supervise(cfg, { restart: up, signal: ac.signal, onDead: (names) => ui.info(`${new Date().toISOString()} dead: ${names.join(", ")} — starting again`), onError: (e) => ui.info(`restart failed (tried again in a second): ${(e as Error).message}`) });
        io.stdout(`supervisor ended after ${restarts} restart(s)`);
        return;
      }
      if (opts.json) {
        io.stdout(JSON.stringify({ started: r.started, reused: r.reused, contracts: r.deployment.contracts }, null, 2));
        return;
      }
      io.stdout(formatTable(statusTable(await probeStatus(cfg))));
      if (r.deployment.contracts.length > 0) {
        io.stdout("");
        io.stdout(formatTable([["chain", "contract", "address"], ...r.deployment.contracts.map((c) => [c.network, c.name, c.address])]));
      }
      const gateway = readState(cfg)?.processes.find((p) => p.kind === "gateway");
      if (gateway?.url) io.stdout(`\nportal: ${gateway.url}/  ·  API: ${gateway.url}/openapi.json  ·  logs: ${cfg.dataDir}/logs/`);
      io.stdout(`state: ${cfg.dataDir}/state.json — try \`sidegrid demo\`; stop with \`sidegrid down\``);
    });

  program
    .command("status")
    .description("probe every chain, Redis and the processes `up` started; show who holds which admin role per contract")
    .option("--json", "print the result as JSON")
    .option("--cpu <seconds>", "also measure each process's CPU use over this many seconds (Linux)")
    .action(async (opts: { json?: boolean; cpu?: string }) => {
      const { cfg } = ctx();
      const rows = await probeStatus(cfg);
      // Admin roles only when every chain answers (a stopped system has no roles to read).
      const chainsUp = rows.slice(0, 3).every((r) => r.ok);
      const admin = chainsUp ? await probeAdminRoles(cfg) : [];
      const cpu = opts.cpu === undefined ? undefined : await sampleCpu(readState(cfg)?.processes ?? [], Number(opts.cpu));
      if (opts.json) io.stdout(JSON.stringify({ running: Boolean(readState(cfg)), components: rows, adminRoles: admin, ...(cpu ? { cpu } : {}) }, null, 2));
      else {
        io.stdout(formatTable(statusTable(rows)));
        if (admin.length > 0) {
          io.stdout("");
          io.stdout(formatTable(adminRoleTable(admin)));
        }
        if (cpu) {
          io.stdout("");
          io.stdout(formatTable([["process", "pid", "CPU (% of one core)"], ...cpu.processes.map((p) => [p.name, String(p.pid), p.percentOfCore === null ? "—" : p.percentOfCore.toFixed(1)]), ["total", "", `${cpu.totalPercentOfCore.toFixed(1)} over ${cpu.seconds} s (${cpu.cores} cores)`]]));
        }
      }
      if (rows.some((r) => !r.ok)) process.exitCode = 1;
    });

  program
    .command("down")
    .description("stop exactly what `up` started (chain state is kept for the next `up`)")
    .action(async () => {
      const { cfg, ui } = ctx();
      const stopped = await stopAll(cfg, ui);
      ui.info(stopped.length ? `stopped: ${stopped.join(", ")}` : "nothing was running");
    });

  program
    .command("demo")
    .description("play the paper's scenarios on the running system: preferences, Table 3 trades, monitoring with a denied read and a court audit, the peg, a revocation")
    .option("--json", "print one JSON document with every step's outcome (narration goes to stderr)")
    .option("--timeout <seconds>", "longest wait for a relay or for anchored readings", "120")
    .action(async (opts: { json?: boolean; timeout: string }) => {
      const { cfg } = ctx();
      const timeout = Number(opts.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0) throw new CliError("BAD_ARGUMENT", `--timeout must be a positive number of seconds, got "${opts.timeout}"`);
      const say = opts.json ? (l: string) => io.stderr.write(`${l}\n`) : io.stdout;
      const report = await runDemo(cfg, { say, timeoutMs: timeout * 1000 });
      if (opts.json) io.stdout(JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2));
      if (!report.ok) process.exitCode = 1;
    });

  program
    .command("chaos")
    .description("kill each process of the running local system with SIGKILL at random points while readings, preference changes and peg transfers flow; `up` brings them back; then check every reading anchored once or reported lost, every message executed once, preferences in order, SGT conserved")
    .option("--readings <n>", "anchored readings to wait for before settling", "20000")
    .option("--faults <list>", "comma-separated: member-0…, gateway, meters, redis, redis-empty, blockpri, blocksec, blocktst (SIGKILL an anvil), blockpri-rollback, blocksec-rollback, blocktst-rollback (evm_snapshot, evm_revert 1–3 s later); or default (members, gateway, meters, redis, redis-empty, blocksec-rollback), all", "default")
    .option("--seed <n>", "seed of the order and timing of the faults (default: the clock)")
    .option("--households <n>", "households taking part (default: every free OSGP meter)")
    .option("--timeout <seconds>", "longest run", "1200")
    .option("--supervised", "do not restart what it kills: a supervisor (`sidegrid up --supervise`) must bring it back")
    .option("--json", "print the report as JSON")
    .action(async (opts: { readings: string; faults: string; seed?: string; households?: string; timeout: string; supervised?: boolean; json?: boolean }) => {
      const { cfg } = ctx();
      const int = (name: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < min || n > max) throw new CliError("BAD_ARGUMENT", `--${name} must be an integer ≥ ${min}${max < Number.MAX_SAFE_INTEGER ? ` and ≤ ${max}` : ""}, got "${v}"`);
        return n;
      };
      const say = opts.json ? (l: string) => io.stderr.write(`${l}\n`) : io.stdout;
      const report = await runChaos(cfg, {
        restart: opts.supervised ? async () => undefined : up,
        readings: int("readings", opts.readings, 1),
        faults: parseFaults(opts.faults, cfg.services.members, rollbacksCovered(cfg)),
        ...(opts.seed !== undefined ? { seed: int("seed", opts.seed, 0, 0xffffffff) } : {}),
        ...(opts.households !== undefined ? { households: int("households", opts.households, 1) } : {}),
        timeoutMs: int("timeout", opts.timeout, 1) * 1000,
        say,
      });
      if (opts.json) io.stdout(JSON.stringify(report, null, 2));
      else for (const l of formatChaos(report)) io.stdout(l);
      if (!report.ok) process.exitCode = 1;
    });

  program
    .command("audit")
    .description("a court's audit of a consumer's access history on BlockSEC (every attempt, granted or denied, verified)")
    .option("--consumer <address>", "the consumer's wallet address (required unless --report names one)")
    .option("--report <file>", "check a saved report (the portal's court download, or --json output) against the ledger: every entry it lists must be the ledger's")
    .option("--record", "log the court's own read on the AccessLedger (a transaction by the court)")
    .option("--json", "print the audit report as JSON")
    .option("--rpc <url>", "a BlockSEC node to compare against the federation's checkpoint on BlockPRI (repeatable; default: the configured node)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (opts: { consumer?: string; report?: string; record?: boolean; json?: boolean; rpc: string[] }) => {
      const { cfg } = ctx();
      const saved = opts.report === undefined ? undefined : readSavedReport(opts.report);
      const consumer = opts.consumer ?? saved?.consumer;
      if (!consumer) throw new CliError("BAD_ARGUMENT", "audit needs --consumer <address> or --report <file>");
      if (saved && opts.consumer && opts.consumer.toLowerCase() !== saved.consumer.toLowerCase()) throw new CliError("BAD_ARGUMENT", `--consumer ${opts.consumer} is not the report's consumer ${saved.consumer}`);
      const report = await runAudit(cfg, { consumer, record: Boolean(opts.record), rpcs: opts.rpc });
      const check = saved ? checkAuditReport(saved.text, report) : undefined;
      if (opts.json) io.stdout(JSON.stringify(check ? { report, reportCheck: check } : report, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2));
      else {
        io.stdout(formatAuditReport(report).trimEnd());
        if (check) io.stdout(formatReportCheck(opts.report!, check));
      }
      if (!report.ok || (check && !check.ok)) process.exitCode = 1;
    });

  program
    .command("dsm")
    .description("day-ahead demand-side management for N synthetic households: the best-response game on the day-ahead price, PAR, grid peak and bills before and after (off chain; no system needed)")
    .option("--households <n>", "how many households", "100")
    .option("--seed <n>", "seed of the synthetic population", "1")
    .option("--json", "print the report as JSON")
    .action((opts: { households: string; seed: string; json?: boolean }) => {
      const report = runDsm({ households: Number(opts.households), seed: Number(opts.seed) });
      io.stdout(opts.json ? JSON.stringify(report, null, 2) : formatDsmReport(report));
    });

  program
    .command("read")
    .description("a utility reads a household's readings in plaintext: a logged access request, the federation's key release, every record proven against its anchored root")
    .requiredOption("--consumer <address>", "the household's wallet address")
    .option("--from <time>", "start: now, -<n>[smhd], Unix seconds or an ISO date", "-1d")
    .option("--to <time>", "end (clamped to the moment of the grant)", "now")
    .option("--resolution <r>", "monthly, daily, hourly or quarter_hourly", "quarter_hourly")
    .option("--as <role>", "the reading distributor: utility or company", "utility")
    .option("--entry <index>", "re-read an existing granted entry instead of a new request")
    .option("--timeout <s>", "how long to wait for the members' key shares", "30")
    .option("--json", "print everything as JSON")
    .option("--csv", "print the readings as CSV")
    .action(async (opts: { consumer: string; from: string; to: string; resolution: string; as: string; entry?: string; timeout: string; json?: boolean; csv?: boolean }) => {
      const { cfg } = ctx();
      if (opts.as !== "utility" && opts.as !== "company") throw new CliError("BAD_ARGUMENT", `--as must be utility or company, got "${opts.as}"`);
      if (opts.json && opts.csv) throw new CliError("BAD_ARGUMENT", "--json and --csv exclude each other");
      const r = await runRead(cfg, { consumer: opts.consumer, from: opts.from, to: opts.to, resolution: opts.resolution, as: opts.as, timeoutSec: opts.timeout, ...(opts.entry !== undefined ? { entry: opts.entry } : {}) });
      if (opts.json) io.stdout(JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2));
      else if (opts.csv) io.stdout(readingsCsv(r));
      else io.stdout(formatRead(r));
      if (r.readings.some((x) => !x.proven)) process.exitCode = 1;
    });

  program
    .command("bench")
    .description("the benchmark suite on fresh local chains: Figure 9 against the paper's storage design, gas table, ingest, relay, revocation and API figures, each against its goal")
    .option("--quick", "a reduced set (under two minutes)")
    .option("--out <dir>", "where <timestamp>.{json,md,svg,dsm.svg} and latest.* go", "bench/results")
    .option("--json", "print the report as JSON (progress goes to stderr)")
    .option("--scale", "cost growth instead (issue #17): gas and bytes per reading, gateway and Redis memory, anchoring lag at 10 … 100,000 simulated meters; writes scale-<timestamp>.{json,md}")
    .option("--scale-sizes <list>", "with --scale: fleet sizes, comma-separated, ascending", "10,1000,10000,100000")
    .option("--scale-rate <n>", "with --scale: readings per second offered (a small fleet offers fewer: each meter polled at most every 2 s)", "400")
    .option("--scale-per-poll <k>", "with --scale: records read per poll of a meter, its readings per anchor transaction (1..40)", "32")
    .option("--scale-window <s>", "with --scale: measured seconds per size, after its warm-up", "30")
    .action(async (opts: { quick?: boolean; out: string; json?: boolean; scale?: boolean; scaleSizes: string; scaleRate: string; scalePerPoll: string; scaleWindow: string }) => {
      const log = opts.json ? (l: string) => io.stderr.write(`${l}\n`) : io.stdout;
      if (opts.scale) {
        if (opts.quick) throw new CliError("BAD_ARGUMENT", "--scale and --quick are separate runs: pick one (--scale-sizes 10,1000 is a short scale run)");
        const scale = await runScaleBench({
          sizes: parseScaleSizes(opts.scaleSizes),
          rate: parsePositive("--scale-rate", opts.scaleRate, 100_000),
          readingsPerPoll: parsePositive("--scale-per-poll", opts.scalePerPoll, 40),
          windowSeconds: parsePositive("--scale-window", opts.scaleWindow, 3600),
          outDir: path.resolve(opts.out),
          log,
        });
        if (opts.json) io.stdout(JSON.stringify(scale, null, 2));
        return;
      }
      const report = await runBench({ quick: Boolean(opts.quick), outDir: path.resolve(opts.out), log });
      if (opts.json) io.stdout(JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2));
    });

  program
    .command("gateway-config")
    .description("print a configuration for another gateway (an integrator's, with real meters) on this deployment: add its meters and run `sidegrid-gateway --config <file>`")
    .option("--data-dir <dir>", "the new gateway's own data directory", "gateway-data")
    .option("--port <port>", "its HTTP API port", "8080")
    .option("--out <file>", "write it here (0600) instead of printing it")
    .action((opts: { dataDir: string; port: string; out?: string }) => {
      const { cfg } = ctx();
      if (!/^\d+$/.test(opts.port) || Number(opts.port) > 65535) throw new CliError("BAD_ARGUMENT", `--port must be a TCP port, got "${opts.port}"`);
      const d = readDeployment(cfg);
      const config = validateGatewayConfig({
        dataDir: opts.dataDir,
        redisUrl: cfg.redis.url,
        blocksec: {
          rpcUrl: cfg.networks.blocksec.rpcUrl,
          chainId: d.networks.blocksec.chainId,
          addresses: { policyMirror: d.blocksec.policyMirror, meterDataLedger: d.blocksec.meterDataLedger, accessLedger: d.blocksec.accessLedger, tradeLog: d.blocksec.tradeLog, keyCustody: d.blocksec.keyCustody },
          // The key stays in the environment; the ledger must grant this account GATEWAY_ROLE for its utility.
          privateKeyEnv: "SIDEGRID_GATEWAY_PRIVATE_KEY",
          startBlock: d.blocksec.startBlock,
        },
        blockpri: { rpcUrl: cfg.networks.blockpri.rpcUrl, chainId: d.networks.blockpri.chainId, ppc: d.blockpri.ppc },
        meters: [],
        http: { port: Number(opts.port) },
      });
      const text = JSON.stringify(config, null, 2);
      if (opts.out) fs.writeFileSync(opts.out, `${text}\n`, { mode: 0o600 });
      else io.stdout(text);
    });

  registerComposeCommand(program, io);

  const federation = program.command("federation").description("federation members (m-of-n relays between the three chains)");
  federation
    .command("start")
    .description("run one federation member in the foreground (what `up` runs detached)")
    .requiredOption("--member <k>", "member index (0, 1, ...)")
    .option("--federation-config <file>", "the federation file (default: <dataDir>/federation/federation.json, written by `up`)")
    .action((opts: { member: string; federationConfig?: string }) => {
      const { cfg } = ctx();
      if (!/^\d+$/.test(opts.member)) throw new CliError("BAD_ARGUMENT", `--member must be a member index (0, 1, ...), got "${opts.member}"`);
      const file = opts.federationConfig ?? path.join(cfg.dataDir, "federation", "federation.json");
      if (!fs.existsSync(file)) throw new CliError("NOT_RUNNING", `no federation file at ${file}: run \`sidegrid up\` first (it deploys the federation and writes it)`);
      runMemberCli(["--member", opts.member, "--config", file]);
    });

  const meters = program.command("meters").description("simulated meters");
  meters
    .command("simulate")
    .description("run simulated meters in the foreground (Pi meters speaking OSGP over TCP; with --dlms, DLMS/COSEM meters too); prints their endpoints as one JSON line")
    .option("--count <n>", "number of meters", "10")
    .option("--speed <x>", "simulated seconds per real second", "60")
    .option("--seed <text>", "seed of the load profiles", "sidegrid")
    .option("--port <port>", "one addressed port for all meters (default: any free port)")
    .option("--base-port <port>", "one port per meter instead: meter i listens on base + i")
    .option("--installed-hours-ago <h>", "hours of readings each meter already holds", "0")
    .option("--state-file <file>", "also write the endpoint JSON here")
    .option("--protocol <p>", "osgp (Pi meters), dlms (every meter speaks DLMS/COSEM) or mixed (the last --dlms n meters DLMS)", "mixed")
    .option("--dlms <n>", "the last n meters speak DLMS/COSEM instead, each on its own port", "0")
    .option("--dlms-transport <t>", "mixed (IP wrapper on TCP, HDLC, IP wrapper on UDP in turn), wrapper, hdlc or udp", "mixed")
    .action(async (opts: { count: string; speed: string; seed: string; port?: string; basePort?: string; installedHoursAgo: string; stateFile?: string; protocol: string; dlms: string; dlmsTransport: string }) => {
      const int = (name: string, v: string, min: number) => {
        if (!/^\d+$/.test(v) || Number(v) < min) throw new CliError("BAD_ARGUMENT", `--${name} must be an integer ≥ ${min}, got "${v}"`);
        return v;
      };
      const num = (name: string, v: string) => {
        if (!Number.isFinite(Number(v)) || Number(v) <= 0) throw new CliError("BAD_ARGUMENT", `--${name} must be a positive number, got "${v}"`);
        return v;
      };
      const args = ["--count", int("count", opts.count, 1), "--speed", num("speed", opts.speed), "--seed", opts.seed, "--installed-hours-ago", int("installed-hours-ago", opts.installedHoursAgo, 0)];
      if (opts.port !== undefined) args.push("--port", int("port", opts.port, 0));
      if (opts.basePort !== undefined) args.push("--base-port", int("base-port", opts.basePort, 1));
      if (opts.stateFile !== undefined) args.push("--state-file", opts.stateFile);
      if (!["osgp", "dlms", "mixed"].includes(opts.protocol)) throw new CliError("BAD_ARGUMENT", `--protocol must be osgp, dlms or mixed, got "${opts.protocol}"`);
      let dlms = Number(int("dlms", opts.dlms, 0));
      if (opts.protocol === "dlms") dlms = Number(opts.count);
      if (opts.protocol === "osgp" && dlms > 0) throw new CliError("BAD_ARGUMENT", "--protocol osgp runs no DLMS meters: leave out --dlms");
      if (dlms > Number(opts.count)) throw new CliError("BAD_ARGUMENT", `--dlms (${dlms}) cannot exceed --count (${opts.count})`);
      if (!["mixed", "wrapper", "hdlc", "udp"].includes(opts.dlmsTransport)) throw new CliError("BAD_ARGUMENT", `--dlms-transport must be mixed, wrapper, hdlc or udp, got "${opts.dlmsTransport}"`);
      if (dlms > 0) args.push("--dlms", String(dlms), "--dlms-transport", opts.dlmsTransport);
      await metersCliMain(args);
    });

  return program;
}

/**
 * Runs the CLI and returns the exit code. Expected failures (bad config, unreachable network,
 * bad arguments) print one line; a stack trace only with SIDEGRID_DEBUG=1.
 */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof ChainError || e instanceof CliError) {
      io.stderr.write(`sidegrid: ${e.shortMessage}\n`);
      if (process.env.SIDEGRID_DEBUG) io.stderr.write(`${(e as Error).stack}\n`);
      return e instanceof CliError && e.code === "BAD_ARGUMENT" ? 2 : 1;
    }
    io.stderr.write(`sidegrid: ${(e as Error).message ?? String(e)}\n`);
    if (process.env.SIDEGRID_DEBUG) io.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}
