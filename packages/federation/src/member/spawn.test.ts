import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { freePort } from "@sidegrid/chain";
import { MemberStartError } from "../errors";
import { waitForMember } from "./spawn";

describe("waitForMember", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-spawn-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("stops waiting as soon as the member's process is gone, and quotes its log", async () => {
    const logFile = path.join(dir, "member-2.log");
    const fd = fs.openSync(logFile, "a");
    const child = spawn(process.execPath, ["-e", "console.error('Error: listen EADDRINUSE: address already in use 127.0.0.1:7302'); process.exit(1)"], {
      stdio: ["ignore", fd, fd],
    });
    fs.closeSync(fd);
    await new Promise((r) => child.once("exit", r));
    const url = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const err = await waitForMember(url, 30_000, { member: 2, pid: child.pid!, logFile }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MemberStartError);
    expect((err as MemberStartError).code).toBe("MEMBER_START_FAILED");
    expect((err as MemberStartError).member).toBe(2);
    expect((err as Error).message).toContain(`pid ${child.pid}`);
    expect((err as Error).message).toContain("EADDRINUSE");
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("returns the member's health once it answers ok", async () => {
    const server = http.createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ ok: true, member: 0, chains: [] }));
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    try {
      const health = await waitForMember(`http://127.0.0.1:${port}`, 5000, { member: 0, pid: process.pid });
      expect(health.ok).toBe(true);
    } finally {
      server.close();
    }
  });

  it("gives up after the timeout when the member answers but is not healthy", async () => {
    const server = http.createServer((_req, res) => {
      res.statusCode = 503;
      res.end(JSON.stringify({ ok: false, chains: [{ name: "blocksec", error: "connection refused" }] }));
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    try {
      const err = await waitForMember(`http://127.0.0.1:${port}`, 300, { member: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MemberStartError);
      expect((err as Error).message).toMatch(/member 1: .*not healthy after \d+ ms: .*connection refused/);
    } finally {
      server.close();
    }
  });

  it("waits past the timeout, and says so, while a slow member's chain cursors advance", async () => {
    // A member on a loaded machine: not ready for 2.5 s, its cursor moving all the while.
    const t0 = Date.now();
    const server = http.createServer((_req, res) => {
      const elapsed = Date.now() - t0;
      res.setHeader("content-type", "application/json");
      res.statusCode = elapsed > 2500 ? 200 : 503;
      res.end(JSON.stringify({ ok: elapsed > 2500, member: 0, chains: [{ name: "blocksec", cursor: Math.floor(elapsed / 100), ready: false, error: null }] }));
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    const told: string[] = [];
    try {
      const health = await waitForMember(`http://127.0.0.1:${port}`, 1000, { member: 0, onSlow: (m) => told.push(m) });
      expect(health.ok).toBe(true);
      expect(Date.now() - t0).toBeGreaterThan(2500);
      expect(told).toHaveLength(1);
      expect(told[0]).toMatch(/member 0 .*not healthy after 1000 ms but still making progress: waiting up to 6000 ms/);
    } finally {
      server.close();
    }
  });

  it("does not wait past the timeout for a member that stands still, nor past maxMs for one that crawls", async () => {
    const t0 = Date.now();
    const server = http.createServer((req, res) => {
      res.statusCode = 503;
      const moving = req.url === "/health" && server.listening && port2 === undefined;
      res.end(JSON.stringify({ ok: false, chains: [{ name: "blocksec", cursor: moving ? Date.now() - t0 : 7, ready: false, error: null }] }));
    });
    let port2: number | undefined;
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    try {
      let started = Date.now();
      const crawl = await waitForMember(`http://127.0.0.1:${port}`, 300, { member: 1, maxMs: 1500 }).catch((e: unknown) => e);
      expect(crawl).toBeInstanceOf(MemberStartError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
      expect(Date.now() - started).toBeLessThan(4000);
      port2 = port; // from now on the cursor stands at 7
      started = Date.now();
      const still = await waitForMember(`http://127.0.0.1:${port}`, 300, { member: 1, maxMs: 10_000 }).catch((e: unknown) => e);
      expect(still).toBeInstanceOf(MemberStartError);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      server.close();
    }
  });

  it("stops waiting at once when told the member's chain or Redis died, and says why", async () => {
    const url = `http://127.0.0.1:${await freePort()}`; // nothing answers: without abortIf it would wait 30 s
    const started = Date.now();
    let looks = 0;
    const err = await waitForMember(url, 30_000, { member: 1, abortIf: () => (++looks >= 3 ? "redis died meanwhile" : null) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MemberStartError);
    expect((err as Error).message).toMatch(/member 1: stopped waiting for .* after \d+ ms: redis died meanwhile/);
    expect(looks).toBe(3);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
