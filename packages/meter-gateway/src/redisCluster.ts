// A local Redis Cluster from Debian's redis-server: `masters` masters with `replicas` replicas
// each, created with `redis-cli --cluster create`. For `sidegrid up` (redis.cluster: true) and the
// tests that fail a master over. A node keeps its nodes.conf and append-only file in its own
// directory, so a restarted node rejoins with its slots.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { RedisClusterError } from "./errors";

const run = promisify(execFile);

export interface RedisClusterNode {
  port: number;
  url: string;
  dir: string;
  pid: number;
}

export interface StartRedisClusterParameters {
  /** Where each node keeps nodes.conf and its append-only file (one subdirectory per port). */
  dir: string;
  /** First port; nodes take consecutive ports (masters first). */
  basePort: number;
  masters?: number;
  replicas?: number;
  /** ms before a silent master is failed over (cluster-node-timeout, default 2,000). */
  nodeTimeoutMs?: number;
  /** Detach the servers so they outlive this process (`sidegrid up`). */
  detached?: boolean;
  host?: string;
}

export interface RedisCluster {
  nodes: RedisClusterNode[];
  /** Seed URLs for clients (every node). */
  urls: string[];
  /** The node serving a master role now, by port. */
  masters(): Promise<number[]>;
  /** kill -9 of one node (tests). */
  kill(port: number): void;
  /** Starts a killed node again on its port and directory. */
  restart(port: number): Promise<void>;
  stop(): Promise<void>;
}

function ping(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.setTimeout(500);
    s.once("connect", () => s.write("PING\r\n"));
    s.once("data", (d) => {
      s.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
    s.once("error", () => resolve(false));
    s.once("timeout", () => {
      s.destroy();
      resolve(false);
    });
  });
}

async function redisCli(host: string, port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run("redis-cli", ["-h", host, "-p", String(port), ...args], { timeout: 30_000 });
  return stdout;
}

/**
 * Starts (or restarts, when the nodes' directories hold a cluster already) a local Redis Cluster.
 * @example
 * const cluster = await startRedisCluster({ dir: "/tmp/rc", basePort: 7100 });
 * // gateway config: { redisCluster: cluster.urls } ... await cluster.stop();
 */
export async function startRedisCluster(p: StartRedisClusterParameters): Promise<RedisCluster> {
  const host = p.host ?? "127.0.0.1";
  const masters = p.masters ?? 3;
  const replicas = p.replicas ?? 1;
  const total = masters * (1 + replicas);
  const children = new Map<number, ChildProcess | number>();
  const nodes: RedisClusterNode[] = [];

  const startNode = async (port: number): Promise<RedisClusterNode> => {
    const dir = path.join(p.dir, String(port));
    fs.mkdirSync(dir, { recursive: true });
    const args = [
      "--port", String(port), "--bind", host, "--dir", dir,
      "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
      "--cluster-node-timeout", String(p.nodeTimeoutMs ?? 2000),
      "--appendonly", "yes", "--save", "", "--protected-mode", "no",
      "--logfile", path.join(dir, "redis.log"),
    ];
    const child = spawn("redis-server", args, { stdio: "ignore", detached: p.detached ?? false });
    child.on("error", () => undefined);
    if (p.detached) child.unref();
    if (!child.pid) throw new RedisClusterError(`redis-server did not start on port ${port} (is Debian's redis-server installed?)`);
    children.set(port, p.detached ? child.pid : child);
    for (const end = Date.now() + 10_000; !(await ping(port, host)); ) {
      if (Date.now() > end) throw new RedisClusterError(`redis-server on port ${port} did not answer PING; see ${path.join(dir, "redis.log")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { port, url: `redis://${host}:${port}`, dir, pid: child.pid };
  };

  for (let i = 0; i < total; i++) nodes.push(await startNode(p.basePort + i));
  const info = await redisCli(host, nodes[0].port, "cluster", "info");
  if (!/cluster_known_nodes:(\d+)/.exec(info) || Number(/cluster_known_nodes:(\d+)/.exec(info)![1]) < total) {
    await run("redis-cli", ["--cluster", "create", ...nodes.map((n) => `${host}:${n.port}`), "--cluster-replicas", String(replicas), "--cluster-yes"], { timeout: 60_000 });
  }
  await waitClusterOk(host, nodes.map((n) => n.port), 30_000);

  const pidOf = (port: number) => {
    const c = children.get(port);
    return typeof c === "number" ? c : c?.pid;
  };
  return {
    nodes,
    urls: nodes.map((n) => n.url),
    async masters() {
      const out: number[] = [];
      for (const n of nodes) {
        const role = await redisCli(host, n.port, "role").catch(() => "");
        if (role.startsWith("master")) out.push(n.port);
      }
      return out;
    },
    kill(port) {
      const pid = pidOf(port);
      if (pid) process.kill(pid, "SIGKILL");
    },
    async restart(port) {
      const n = await startNode(port);
      const i = nodes.findIndex((x) => x.port === port);
      nodes[i] = n;
    },
    async stop() {
      for (const n of nodes) {
        const pid = pidOf(n.port);
        if (!pid) continue;
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          /* already gone */
        }
      }
      for (const n of nodes) for (const end = Date.now() + 5000; Date.now() < end && (await ping(n.port, host)); ) await new Promise((r) => setTimeout(r, 50));
    },
  };
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer().once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/**
 * A first port for `count` cluster nodes on this host: the nodes' ports and their cluster-bus
 * ports (port + 10,000) all free. Starts from `from` (tests pass something per process).
 */
export async function freeRedisClusterPorts(count: number, from = 21000, host = "127.0.0.1"): Promise<number> {
  for (let base = from; base + count < 55535; base += count + 4) {
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = (await portFree(base + i, host)) && (await portFree(base + i + 10_000, host));
    if (ok) return base;
  }
  throw new RedisClusterError(`no ${count} consecutive free ports (and their cluster-bus ports) from ${from}`);
}

/** Waits until every reachable node says cluster_state:ok (slots all covered). */
export async function waitClusterOk(host: string, ports: readonly number[], timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let ok = 0;
    let reachable = 0;
    for (const port of ports) {
      const info = await redisCli(host, port, "cluster", "info").catch(() => undefined);
      if (info === undefined || info.trim() === "") continue;
      reachable++;
      if (info.includes("cluster_state:ok")) ok++;
    }
    if (reachable > 0 && ok === reachable) return;
    if (Date.now() > end) throw new RedisClusterError(`Redis Cluster not ok after ${timeoutMs} ms (${ok} of ${reachable} reachable nodes say ok)`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
