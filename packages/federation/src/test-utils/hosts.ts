// Test harness (not part of the build): each federation member on its own "host". Where the
// machine allows it (root, iproute2) every member gets a network namespace with a veth to a bridge
// in the root namespace, where the chains stay, bound to the bridge's address; a partition takes
// the member's veth down. Elsewhere each member gets its own loopback address (127.0.x.y), and a
// partition freezes its process (SIGSTOP) — the nearest thing without network isolation.
// Either way each member has its own directory (federation file, key file, LevelDB) and is reached
// only at the URL in the file.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { freePort, isAlive, sleep, stopPid } from "@sidegrid/chain";
import { HostNetworkError } from "../errors";
import type { FederationConfigFile, FederationMemberEntry, MemberChainConfig, MemberTuning } from "../member/config";
import type { MemberHealth } from "../member/node";
import { spawnMember, waitForMember } from "../member/spawn";
import type { World } from "./world";

export type HostMode = "netns" | "loopback";

/** The members' hosts: where each lives, how to run a process there, how to cut it off. */
export interface HostNet {
  mode: HostMode;
  /** Why this mode (the probe's answer). */
  reason: string;
  /** The address the chains bind; members reach them there. */
  chainHost: string;
  /** Host k's own address. */
  address(k: number): string;
  /** Command prefix that runs a process on host k (`ip netns exec …`; none on loopback). */
  launcher(k: number): string[];
  /** Cuts host k off the network; false where the mode cannot (loopback). */
  cut(k: number): boolean;
  restore(k: number): void;
  /** Deletes every namespace, veth and the bridge (idempotent, synchronous so it also runs on exit). */
  destroy(): void;
}

const REGISTRY = path.join(os.tmpdir(), "sidegrid-hosts");

function ip(args: string[]): string {
  try {
    return execFileSync("ip", args, { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new HostNetworkError(["ip", ...args], (err.stderr || err.message).trim(), { cause: e });
  }
}

function ipQuiet(args: string[]): void {
  try {
    ip(args);
  } catch {
    /* already gone */
  }
}

/** Removes namespaces and links a crashed earlier run left behind (its pid is dead). */
function sweepStale(): void {
  fs.mkdirSync(REGISTRY, { recursive: true });
  for (const f of fs.readdirSync(REGISTRY)) {
    const file = path.join(REGISTRY, f);
    try {
      const r = JSON.parse(fs.readFileSync(file, "utf8")) as { pid: number; netns: string[]; links: string[] };
      if (isAlive(r.pid)) continue;
      for (const n of r.netns) ipQuiet(["netns", "del", n]);
      for (const l of r.links) ipQuiet(["link", "del", l]);
      fs.rmSync(file, { force: true });
    } catch {
      fs.rmSync(file, { force: true });
    }
  }
}

/** Can this process create network namespaces? (root with iproute2 and CAP_SYS_ADMIN, not a locked-down container) */
function probeNetns(tag: string): string | undefined {
  if (process.env.SIDEGRID_HOSTS_MODE === "loopback") return "SIDEGRID_HOSTS_MODE=loopback";
  const probe = `sgh${tag}probe`;
  try {
    ip(["netns", "add", probe]);
    ip(["-n", probe, "link", "set", "lo", "up"]);
    ip(["link", "add", `sgx${tag}`, "type", "bridge"]);
    ip(["link", "del", `sgx${tag}`]);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    ipQuiet(["netns", "del", probe]);
  }
}

/** A /24 in 10.200–249.x.0 that no interface of this machine uses yet. */
function freeSubnet(): string {
  const used = ip(["-4", "-o", "addr"]);
  for (let i = 0; i < 50; i++) {
    const net = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
    if (!used.includes(` ${net}.`)) return net;
  }
  throw new HostNetworkError(["ip", "addr"], "no free 10.x.y.0/24 subnet found");
}

/**
 * Creates `hosts` member hosts: network namespaces on a bridge if the machine allows, else loopback
 * addresses. Call `destroy()` in afterAll; it also runs when the process exits.
 *
 * @example
 * const net = createHostNet(3); // net.mode: "netns" | "loopback"
 */
export function createHostNet(hosts: number): HostNet {
  const tag = randomBytes(2).toString("hex");
  let whyNot: string | undefined;
  try {
    sweepStale();
    whyNot = probeNetns(tag);
  } catch (e) {
    whyNot = (e as Error).message;
  }
  if (whyNot !== undefined) {
    const sub = 1 + Math.floor(Math.random() * 250);
    return {
      mode: "loopback",
      reason: `network namespaces unavailable (${whyNot.split("\n")[0]}): separate loopback addresses 127.0.${sub}.x`,
      chainHost: "127.0.0.1",
      address: (k) => `127.0.${sub}.${10 + k}`,
      launcher: () => [],
      cut: () => false,
      restore: () => undefined,
      destroy: () => undefined,
    };
  }
  const net = freeSubnet();
  const bridge = `sgb${tag}`;
  const ns = (k: number) => `sgh${tag}-${k}`;
  const veth = (k: number) => `sgv${tag}${k}`;
  const record = { pid: process.pid, netns: [] as string[], links: [bridge] };
  const regFile = path.join(REGISTRY, `${tag}.json`);
  const save = () => fs.writeFileSync(regFile, JSON.stringify(record));
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    // Deleting a namespace deletes the veth end inside it, and with it the pair.
    for (const n of record.netns) ipQuiet(["netns", "del", n]);
    for (const l of record.links) ipQuiet(["link", "del", l]);
    fs.rmSync(regFile, { force: true });
  };
  process.once("exit", destroy);
  try {
    save();
    ip(["link", "add", "name", bridge, "type", "bridge"]);
    // Bridged traffic must not meet the root namespace's firewall (br_netfilter): members talk to each other through it.
    ipQuiet(["link", "set", bridge, "type", "bridge", "nf_call_iptables", "0"]);
    ip(["addr", "add", `${net}.1/24`, "dev", bridge]);
    ip(["link", "set", bridge, "up"]);
    for (let k = 0; k < hosts; k++) {
      record.netns.push(ns(k));
      record.links.push(veth(k));
      save();
      ip(["netns", "add", ns(k)]);
      ip(["link", "add", veth(k), "type", "veth", "peer", "name", "eth0", "netns", ns(k)]);
      ip(["link", "set", veth(k), "master", bridge]);
      ip(["link", "set", veth(k), "up"]);
      ip(["-n", ns(k), "addr", "add", `${net}.${10 + k}/24`, "dev", "eth0"]);
      ip(["-n", ns(k), "link", "set", "eth0", "up"]);
      ip(["-n", ns(k), "link", "set", "lo", "up"]);
    }
  } catch (e) {
    destroy();
    throw e;
  }
  return {
    mode: "netns",
    reason: `one network namespace per member on bridge ${bridge} (${net}.0/24), chains at ${net}.1`,
    chainHost: `${net}.1`,
    address: (k) => `${net}.${10 + k}`,
    launcher: (k) => ["ip", "netns", "exec", ns(k)],
    cut: (k) => {
      ip(["link", "set", veth(k), "down"]);
      return true;
    },
    restore: (k) => void ip(["link", "set", veth(k), "up"]),
    destroy,
  };
}

/** Members on their hosts, each with its own directory, key file and LevelDB. */
export interface HostedMembers {
  net: HostNet;
  /** Every key that may be a member, by host. */
  keys: string[];
  addresses: string[];
  urls: string[];
  dirs: string[];
  pids: (number | undefined)[];
  logFile(k: number): string;
  /**
   * Rewrites the federation file of every host in `members` (the member directory, in this order)
   * with `threshold`; a host's own entry names its key file and its data directory.
   */
  writeFiles(members: readonly number[], threshold: number): void;
  /** Starts host k's member from its file and waits until it is healthy. */
  start(k: number): Promise<void>;
  /** SIGHUP: host k re-reads its file's member directory. */
  reload(k: number): void;
  stop(k: number): Promise<void>;
  /** Cuts host k off (veth down), or freezes it on loopback; returns how. */
  partition(k: number): string;
  rejoin(k: number): void;
  health(k: number): Promise<MemberHealth>;
  stopAll(): Promise<void>;
}

export interface StartHostedMembersParameters {
  net: HostNet;
  world: World;
  /** Keys by host (default the world's members). */
  keys?: readonly string[];
  /** Hosts that start now, in member order (default all). */
  initial?: readonly number[];
  threshold: number;
  tuning?: Partial<MemberTuning>;
  /** Confirmations by chain name (default 0). */
  confirmations?: Record<string, number>;
  dir: string;
}

/**
 * Writes each host's federation file and key file and starts the initial members, each on its host.
 *
 * @example
 * const members = await startHostedMembers({ net, world, threshold: 2, dir: path.join(world.dir, "hosts") });
 */
export async function startHostedMembers(p: StartHostedMembersParameters): Promise<HostedMembers> {
  const keys = [...(p.keys ?? p.world.memberKeys)];
  const addresses = keys.map((k) => new Wallet(k).address);
  // In a namespace every member has the whole port space: the same port on every host.
  const port = p.net.mode === "netns" ? 7301 : await freePort(keys.length);
  const urls = keys.map((_, k) => `http://${p.net.address(k)}:${p.net.mode === "netns" ? port : port + k}`);
  const dirs = keys.map((_, k) => path.join(p.dir, `host-${k}`));
  const chains: MemberChainConfig[] = p.world.fed.chains.map((c, i) => {
    const rpcUrl = p.world.chains[i]!.node.url;
    return { name: c.name, chainId: c.chainId, rpcUrl, wsUrl: rpcUrl.replace(/^http/, "ws"), confirmations: p.confirmations?.[c.name] ?? 0, outbox: c.outbox, inbox: c.inbox, startBlock: c.startBlock };
  });
  const indexIn = new Map<number, number>(); // host → its index in its own file
  const pids: (number | undefined)[] = keys.map(() => undefined);
  const frozen = new Set<number>();
  const logFile = (k: number) => path.join(dirs[k]!, "member.log");

  const writeFiles = (members: readonly number[], threshold: number) => {
    for (const k of members) {
      fs.mkdirSync(dirs[k]!, { recursive: true });
      fs.writeFileSync(path.join(dirs[k]!, "key"), keys[k]!, { mode: 0o600 });
      const entries: FederationMemberEntry[] = members.map((j) =>
        j === k
          ? {
              address: addresses[j]!,
              url: urls[j]!,
              // In a namespace the member binds all of its host's interfaces, as on a machine with one NIC.
              ...(p.net.mode === "netns" ? { listen: `0.0.0.0:${port}` } : {}),
              privateKeyFile: "key",
              dataDir: "data",
            }
          : { address: addresses[j]!, url: urls[j]! },
      );
      const file: FederationConfigFile = { version: 1, threshold, dataDir: "data", chains, members: entries, ...(p.tuning ? { tuning: p.tuning } : {}) };
      const target = path.join(dirs[k]!, "federation.json");
      fs.writeFileSync(`${target}.tmp`, JSON.stringify(file, null, 2), { mode: 0o600 });
      fs.renameSync(`${target}.tmp`, target);
      indexIn.set(k, members.indexOf(k));
    }
  };

  const start = async (k: number) => {
    const member = indexIn.get(k);
    if (member === undefined) throw new HostNetworkError(["start", String(k)], `host ${k} has no federation file yet`);
    pids[k] = spawnMember({
      configFile: path.join(dirs[k]!, "federation.json"),
      member,
      logFile: logFile(k),
      launcher: p.net.launcher(k),
      env: { ...process.env, SIDEGRID_MEMBER_PARENT_PID: String(process.pid) },
    });
    await waitForMember(urls[k]!, 30_000, { member: k, pid: pids[k]!, logFile: logFile(k) });
  };

  const stop = async (k: number) => {
    const pid = pids[k];
    if (pid === undefined) return;
    if (frozen.delete(k)) process.kill(pid, "SIGCONT");
    await stopPid(pid, 5000);
    pids[k] = undefined;
  };

  const all = p.initial ?? keys.map((_, k) => k);
  writeFiles(all, p.threshold);
  const h: HostedMembers = {
    net: p.net,
    keys,
    addresses,
    urls,
    dirs,
    pids,
    logFile,
    writeFiles,
    start,
    reload: (k) => {
      if (pids[k] !== undefined) process.kill(pids[k]!, "SIGHUP");
    },
    stop,
    partition: (k) => {
      if (p.net.cut(k)) return "veth down";
      frozen.add(k);
      process.kill(pids[k]!, "SIGSTOP");
      return "process frozen (SIGSTOP)";
    },
    rejoin: (k) => {
      if (frozen.delete(k)) process.kill(pids[k]!, "SIGCONT");
      else p.net.restore(k);
    },
    async health(k) {
      const res = await fetch(`${urls[k]}/health`, { signal: AbortSignal.timeout(3000) });
      return (await res.json()) as MemberHealth;
    },
    stopAll: async () => {
      await Promise.all(keys.map((_, k) => stop(k)));
    },
  };
  try {
    await Promise.all(all.map((k) => start(k)));
  } catch (e) {
    await h.stopAll();
    throw e;
  }
  return h;
}

/** Waits for `f` to return something other than undefined/false; `what` names it in the error. */
export async function waitUntil<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 100, onTimeout?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}${onTimeout ? `\n${onTimeout()}` : ""}`);
    await sleep(everyMs);
  }
}

/** The last lines of each host's member log, for a failure message. */
export function logTails(h: HostedMembers, lines = 12): string {
  return h.dirs
    .map((_, k) => {
      const f = h.logFile(k);
      return fs.existsSync(f) ? `--- host ${k}\n${fs.readFileSync(f, "utf8").trimEnd().split("\n").slice(-lines).join("\n")}` : "";
    })
    .join("\n");
}
