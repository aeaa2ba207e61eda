import { SigningKey, Transaction, Wallet, randomBytes, hexlify } from "ethers";
import { FederationInbox__factory } from "../generated";
import type { FederationMessage } from "../messages";
import { EVENT_NONCE_FLAG, eventNonce } from "./watcher";
import { devPrivateKey, startTestChain } from "@sidegrid/chain";
import { DELIVER_BATCHES_SELECTOR, DELIVER_SELECTOR, RelaySender, encodeDeliver, encodeDeliverBatches, signEip1559 } from "./wire";

const iface = FederationInbox__factory.createInterface();

function message(i: number, payloadLen: number): FederationMessage {
  return {
    srcChainId: 31301n + BigInt(i),
    srcSender: Wallet.createRandom().address,
    nonce: BigInt(i) * 1000n + 1n,
    dstChainId: 31302n,
    dstContract: Wallet.createRandom().address,
    payload: hexlify(randomBytes(payloadLen)),
  };
}

describe("encodeDeliver", () => {
  it("produces the same calldata as ethers' ABI encoder", () => {
    expect(DELIVER_SELECTOR).toBe(iface.getFunction("deliver")!.selector);
    for (const lens of [[0], [1, 31, 32, 33], [288, 0, 65, 1000]]) {
      const ms = lens.map((l, i) => message(i, l));
      const sigs = lens.map((l) => hexlify(randomBytes(l % 3 === 0 ? 130 : 65)));
      expect(encodeDeliver(ms, sigs)).toBe(iface.encodeFunctionData("deliver", [ms, sigs]));
    }
  });
});

describe("encodeDeliverBatches", () => {
  it("produces the same calldata as ethers' ABI encoder", () => {
    expect(DELIVER_BATCHES_SELECTOR).toBe(iface.getFunction("deliverBatches")!.selector);
    const delivery = (lens: number[], proof: number, flags: boolean[]) => ({
      batch: { srcChainId: 31301n, firstNonce: 7n, lastNonce: 2n ** 63n + 5n, root: hexlify(randomBytes(32)) },
      signatures: hexlify(randomBytes(lens.length % 2 === 0 ? 130 : 195)),
      messages: lens.map((l, i) => message(i, l)),
      proof: Array.from({ length: proof }, () => hexlify(randomBytes(32))),
      proofFlags: flags,
    });
    for (const ds of [[delivery([0], 0, [])], [delivery([1, 31, 32, 33], 2, [true, false, true, false, true]), delivery([288, 0], 3, [false, false])]]) {
      expect(encodeDeliverBatches(ds)).toBe(iface.encodeFunctionData("deliverBatches", [ds]));
    }
  });
});

describe("signEip1559", () => {
  it("produces a transaction ethers parses with the right fields and sender", () => {
    const key = new SigningKey(Wallet.createRandom().privateKey);
    for (const data of ["0x", "0x01", hexlify(randomBytes(55)), hexlify(randomBytes(70_000))]) {
      const raw = signEip1559(key, {
        chainId: 31301n,
        nonce: 0x1234,
        maxPriorityFeePerGas: 1_000_000n,
        maxFeePerGas: 2_000_000_001n,
        gasLimit: 30_000_000n,
        to: "0x000000000000000000000000000000000000dEaD",
        data,
      });
      const tx = Transaction.from(raw);
      expect(tx.type).toBe(2);
      expect(tx.chainId).toBe(31301n);
      expect(tx.nonce).toBe(0x1234);
      expect(tx.gasLimit).toBe(30_000_000n);
      expect(tx.maxFeePerGas).toBe(2_000_000_001n);
      expect(tx.data).toBe(data);
      expect(tx.from).toBe(new Wallet(key.privateKey).address);
      expect(tx.serialized).toBe(raw);
    }
  });
});

describe("eventNonce", () => {
  it("packs the event position above the outbox nonce range", () => {
    expect(eventNonce(115, 1, 0)).toBe(EVENT_NONCE_FLAG | (115n << 24n) | (1n << 8n));
    expect(eventNonce(115, 1, 2) - eventNonce(115, 1, 0)).toBe(2n);
    expect(eventNonce(2 ** 39 - 1, 2 ** 16 - 1, 255) < 2n ** 64n).toBe(true);
    expect(() => eventNonce(1, 2 ** 16, 0)).toThrow(RangeError);
  });
});

describe("RelaySender against a real anvil", () => {
  it("broadcasts again what the node dropped from its pool, so relays do not wait behind the gap", async () => {
    const chain = await startTestChain({ chainId: 31395 });
    try {
      const key = new SigningKey(devPrivateKey(3));
      const address = new Wallet(key.privateKey).address;
      const sender = await RelaySender.create(key, address, chain.provider, 31395n);
      await chain.provider.send("evm_setAutomine", [false]);
      const a = await sender.send(address, "0x", 21_000n);
      const b = await sender.send(address, "0x", 21_000n);
      await chain.provider.send("anvil_dropTransaction", [a.hash]);
      await chain.provider.send("evm_setAutomine", [true]);
      const receipts = await Promise.all([a.wait(15_000), b.wait(15_000)]);
      expect(receipts.map((r) => r.status)).toEqual([1, 1]);
      expect(sender.unmined.rebroadcast).toBe(2);
    } finally {
      await chain.stop();
    }
  }, 30_000);
});
