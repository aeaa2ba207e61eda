import { loadFederationPeers, loadMemberConfig } from "./member/config";
import { startMember, type MemberHandle } from "./member/node";
import { isAlive } from "@sidegrid/chain";
import { isFederationError } from "./errors";

const USAGE = "usage: sidegrid-federation-member --member <k> --config <file>";

/**
 * Parses `--member <k> --config <file>`; throws a one-line message on anything else.
 *
 * @example
 * parseMemberArgs(["--member", "1", "--config", "fed.json"]); // { member: 1, config: "fed.json" }
 */
export function parseMemberArgs(argv: readonly string[]): { member: number; config: string } {
  let member: number | undefined;
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === "--member" && v !== undefined) {
      if (!/^\d+$/.test(v)) throw new Error(`--member must be a member index (0, 1, ...), got "${v}"\n${USAGE}`);
      member = Number(v);
      i++;
    } else if (a === "--config" && v !== undefined) {
      config = v;
      i++;
    } else {
      throw new Error(`unexpected argument "${a}"\n${USAGE}`);
    }
  }
  if (member === undefined || config === undefined) throw new Error(USAGE);
  return { member, config };
}

/**
 * Entry of the member binary: starts the member and stops it cleanly on SIGTERM/SIGINT.
 *
 * @example
 * runMemberCli(["--member", "0", "--config", ".sidegrid/federation.json"]);
 */
export function runMemberCli(argv: readonly string[] = process.argv.slice(2)): void {
  let handle: MemberHandle | undefined;
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void (handle?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // Test harnesses set this so a member never outlives a crashed test run (`sidegrid up` does not).
  const parent = Number(process.env.SIDEGRID_MEMBER_PARENT_PID ?? 0);
  if (parent > 0) {
    setInterval(() => {
      if (!isAlive(parent)) stop();
    }, 1000).unref();
  }
  (async () => {
    const args = parseMemberArgs(argv);
    // SIGHUP: the operator rewrote the file's member directory (a member added or removed); take the
    // new peers without a restart. A file that does not validate leaves the running directory as it was.
    process.on("SIGHUP", () => {
      try {
        handle?.updatePeers(loadFederationPeers(args.config).peers);
      } catch (e) {
        process.stderr.write(`sidegrid-federation-member: SIGHUP ignored: ${isFederationError(e) ? e.shortMessage : (e as Error).message}\n`);
      }
    });
    handle = await startMember(loadMemberConfig(args.config, args.member));
  })().catch((e: unknown) => {
    const msg = isFederationError(e) ? e.shortMessage : (e as Error).message;
    process.stderr.write(`sidegrid-federation-member: ${msg}\n`);
    process.exit(1);
  });
}

/** Alias used by bin/sidegrid-federation-member.js. */
export const run = runMemberCli;
