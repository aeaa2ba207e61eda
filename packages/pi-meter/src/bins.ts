import path from "node:path";

const PACKAGE_ROOT = path.join(__dirname, "..");
/** The meter simulator's executable (`sidegrid-meters`). */
export const METERS_BIN = path.join(PACKAGE_ROOT, "bin", "sidegrid-meters.js");
/** The Pi agent's executable (`sidegrid-pi-meter`). */
export const AGENT_BIN = path.join(PACKAGE_ROOT, "bin", "sidegrid-pi-meter.js");
