import fs from "node:fs";
import net from "node:net";
import { freePort } from "./process";

const ephemeralLow = (() => {
  try {
    return Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  } catch {
    return 32768;
  }
})();

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", () => resolve(srv));
  });
}

describe("freePort", () => {
  it("picks ports below the kernel's ephemeral range, which outgoing connections cannot take", async () => {
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(20000);
      expect(port).toBeLessThan(ephemeralLow);
    }
  });

  it("never hands the same port to two concurrent callers", async () => {
    const ports = await Promise.all(Array.from({ length: 60 }, () => freePort()));
    expect(new Set(ports).size).toBe(60);
  });

  it("returns the first of n consecutive ports that can all be bound", async () => {
    const base = await freePort(3);
    const servers = await Promise.all([0, 1, 2].map((i) => listen(base + i)));
    expect(servers.map((s) => (s.address() as net.AddressInfo).port)).toEqual([base, base + 1, base + 2]);
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });
});
