// sidegrid-gateway: runs one gateway process.
//   sidegrid-gateway --config gateway.json [--progress] [--state-file gateway.state.json]
// Prints one JSON line {pid, url, address, utility, meters} when ready (also written to
// --state-file), logs to stderr, stops gracefully on SIGTERM/SIGINT (pending records are kept
// in the outbox and anchored by the next run).
import fs from "node:fs";
import { parseArgs } from "node:util";
import { loadGatewayConfig } from "../config";
import { startGateway } from "../gateway";
import { startProgressDisplay } from "../progress";

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: "string" }, progress: { type: "boolean", default: false }, "state-file": { type: "string" }, quiet: { type: "boolean", default: false } },
  });
  if (!values.config) throw new Error("--config <file> is required");
  const config = loadGatewayConfig(values.config);
  const gw = await startGateway({ config, log: values.quiet ? () => undefined : (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`) });
  const info = { pid: process.pid, url: gw.url, address: gw.address, utility: gw.utility, meters: gw.meters.length };
  if (values["state-file"]) {
    fs.writeFileSync(`${values["state-file"]}.tmp`, JSON.stringify(info, null, 2));
    fs.renameSync(`${values["state-file"]}.tmp`, values["state-file"]);
  }
  process.stdout.write(`${JSON.stringify(info)}\n`);
  const stopProgress = values.progress ? startProgressDisplay(gw) : () => undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    stopProgress();
    await gw.stop();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}
