// The `sidegrid compose` commands: what docker/compose.yaml needs before and during `up`.
import path from "node:path";
import type { Command } from "commander";
import { loadConfig } from "@sidegrid/chain";
import { CliError } from "../errors";
import { createUi, formatTable } from "../ui";
import { composeDeploy } from "./deploy";
import { generateComposeGenesis } from "./generate";

interface ComposeIo {
  stdout: (s: string) => void;
  stderr: NodeJS.WriteStream;
}

/** A whole number in [min, max] from an option's text, or a BAD_ARGUMENT naming the option. */
export function parseIntOption(name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new CliError("BAD_ARGUMENT", `${name} must be an integer from ${min} to ${max}, got "${value}"`);
  return Number(value);
}

/**
 * Adds `compose genesis` and `compose deploy` under `program`; the global `--config` names the
 * Sidegrid config (a file is required: the embedded defaults describe local anvil chains).
 *
 * @example
 * registerComposeCommand(program, io);
 */
export function registerComposeCommand(program: Command, io: ComposeIo): void {
  const configFile = (): string => {
    const file = program.opts<{ config?: string }>().config ?? process.env.SIDEGRID_CONFIG;
    if (!file) throw new CliError("BAD_ARGUMENT", "compose needs the production config: --config <file> (e.g. docker/sidegrid.config.json)");
    return file;
  };
  const compose = program.command("compose").description("Besu QBFT networks and services for docker/compose.yaml");

  compose
    .command("genesis")
    .description("write per chain a QBFT genesis (chainId from the config, validators in extraData), the validators' node keys (0600, kept if present) and static-nodes.json")
    .requiredOption("--out <dir>", "output directory (docker/generated is gitignored; keys must never be committed)")
    .option("--validators <n>", "validators per chain", "4")
    .option("--block-time <s>", "seconds between blocks", "2")
    .option("--fund <address>", "also fund this account on every chain (repeatable; keys under <out>/secrets/SIDEGRID_* are funded anyway)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("--json", "print the result as JSON")
    .action((opts: { out: string; validators: string; blockTime: string; fund: string[]; json?: boolean }) => {
      const validators = parseIntOption("--validators", opts.validators, 1, 9);
      const blockPeriodSeconds = parseIntOption("--block-time", opts.blockTime, 1, 3600);
      const config = loadConfig({ file: configFile() });
      const r = generateComposeGenesis({ config, outDir: path.resolve(opts.out), validators, blockPeriodSeconds, fund: opts.fund });
      if (opts.json) {
        io.stdout(JSON.stringify(r, null, 2));
        return;
      }
      io.stdout(formatTable([["chain", "chainId", "validator", "address", "key"], ...r.chains.flatMap((c) => c.validators.map((v) => [c.network, String(c.chainId), v.service, v.address, v.reused ? "kept" : "new"]))]));
      io.stdout(`funded on every chain: ${r.funded.length ? r.funded.join(", ") : "none (put the keys under <out>/secrets first, or pass --fund)"}`);
    });

  compose
    .command("deploy")
    .description("deploy and wire the contracts on the configured networks and write the members' and gateway's files (compose's one-shot deploy service; starts nothing)")
    .option("--out <dir>", "where federation.json and gateway.json go (default <dataDir>/compose)")
    .option("--meters <n>", "meters the simulator service runs", "10")
    .action(async (opts: { out?: string; meters: string }) => {
      const meters = parseIntOption("--meters", opts.meters, 1, 100_000);
      const config = loadConfig({ file: configFile() });
      const ui = createUi(io.stderr, Boolean(program.opts<{ quiet?: boolean }>().quiet));
      const r = await composeDeploy({ config, outDir: path.resolve(opts.out ?? path.join(config.dataDir, "compose")), meters }, ui);
      io.stdout(`wrote ${r.files.join(", ")}`);
    });
}
