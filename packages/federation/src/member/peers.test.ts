import { SigningKey, Wallet } from "ethers";
import { PeerAuthError } from "../errors";
import { createMemberMetrics } from "./metrics";
import { PeerExchange, authenticatePush } from "./peers";
import http from "node:http";

const a = Wallet.createRandom();
const b = Wallet.createRandom();
const members = new Set([a.address.toLowerCase(), b.address.toLowerCase()]);

describe("signature exchange", () => {
  it("pushes authenticated batches that the receiver accepts, and refuses forged ones", async () => {
    const received: { headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    const ex = new PeerExchange(a.address, [{ address: a.address, url: "http://unused:1" }, { address: b.address, url: `http://127.0.0.1:${port}` }], new SigningKey(a.privateKey), createMemberMetrics(0));
    expect(ex.peerAddresses).toEqual([b.address]);
    ex.enqueue([["2", "1", "7", "0xdigest", "0xsig"]]);
    // The server sees the body before the client has read the answer and marked the peer up.
    for (let i = 0; i < 500 && (received.length === 0 || !ex.peerStatus()[0]!.up); i++) await new Promise((r) => setTimeout(r, 10));
    ex.stop();
    server.close();
    const { body, headers } = received[0]!;
    const ok = authenticatePush(body, headers, members);
    expect(ok.signer).toBe(a.address);
    expect(ok.items).toEqual([["2", "1", "7", "0xdigest", "0xsig"]]);
    // Changed body, wrong claimed signer, non-member signer: all refused with PeerAuthError.
    const tampered = Buffer.from(body.toString().replace("0xsig", "0xbad"));
    expect(() => authenticatePush(tampered, headers, members)).toThrow(PeerAuthError);
    expect(() => authenticatePush(body, { ...headers, "x-federation-signer": b.address }, members)).toThrow(`signature batch claims member ${b.address}`);
    expect(() => authenticatePush(body, headers, new Set([b.address.toLowerCase()]))).toThrow(PeerAuthError);
    expect(ex.peerStatus()).toEqual([{ address: b.address, url: `http://127.0.0.1:${port}`, up: true, queued: 0 }]);
  });

  it("keeps signatures queued while a peer is down", async () => {
    const ex = new PeerExchange(a.address, [{ address: b.address, url: "http://127.0.0.1:1" }], new SigningKey(a.privateKey), createMemberMetrics(0));
    ex.enqueue([["2", "1", "8", "0xd", "0xs"]]);
    // The failed push puts the signature back in the queue.
    for (let i = 0; i < 500 && ex.peerStatus()[0]!.queued === 0; i++) await new Promise((r) => setTimeout(r, 10));
    ex.stop();
    expect(ex.peerStatus()[0]).toMatchObject({ up: false, queued: 1 });
  });

  it("takes a new member directory: kept peers keep their queue and take the new URL, removed ones go, new ones come", async () => {
    const c = Wallet.createRandom();
    const ex = new PeerExchange(a.address, [{ address: b.address, url: "http://127.0.0.1:1" }], new SigningKey(a.privateKey), createMemberMetrics(0));
    ex.enqueue([["2", "1", "9", "0xd", "0xs"]]);
    for (let i = 0; i < 500 && ex.peerStatus()[0]!.queued === 0; i++) await new Promise((r) => setTimeout(r, 10));
    ex.setPeers([{ address: a.address, url: "http://self:1" }, { address: c.address, url: "http://127.0.0.1:3/" }, { address: b.address, url: "http://127.0.0.1:2" }]);
    ex.stop();
    expect(ex.peerStatus()).toEqual([
      { address: c.address, url: "http://127.0.0.1:3", up: false, queued: 0 },
      expect.objectContaining({ address: b.address, url: "http://127.0.0.1:2", queued: 1 }),
    ]);
    ex.setPeers([{ address: c.address, url: "http://127.0.0.1:3" }]);
    expect(ex.peerAddresses).toEqual([c.address]);
  });
});
