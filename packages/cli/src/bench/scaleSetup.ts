// Setup of `sidegrid bench --scale` that is not measured: consent for a fleet on BlockSEC's mirror (big
// blocks of relayed deliveries) and the custody members' keys.
import nacl from "tweetnacl";
import { Wallet, getAddress, hexlify, randomBytes } from "ethers";
import { encodePreferencesPayload, encodeRegistrationPayload } from "@sidegrid/blockpri";
import { TxSender } from "@sidegrid/chain";
import { KeyCustodyClient, PolicyMirror__factory } from "@sidegrid/blocksec";
import { meterIdToBytes32 } from "@sidegrid/meter-gateway";
import { CliError } from "../errors";
import type { BenchWorld } from "./world";

/**
 * Consent for a fleet, as world.ts's grantFleetConsent delivers it (registration and preferences on
 * the PolicyMirror through the regulator's trusted-relayer role), but thousands of transactions per
 * block: anvil mines one block per transaction at ~40/s on this machine, and 100,000 meters need
 * 200,000. Automine is off while the batches go in (the unlocked dev account sends them), then on.
 */
export async function fastFleetConsent(w: BenchWorld, meterIds: readonly number[]): Promise<void> {
  const iface = PolicyMirror__factory.createInterface();
  const p = w.sec.provider;
  const from = w.admins.sec.address;
  const to = w.secAddresses.policyMirror;
  let nonce = await p.getTransactionCount(from, "latest");
  await p.send("evm_setAutomine", [false]);
  try {
    await p.send("evm_setBlockGasLimit", ["0x77359400"]);
    const CHUNK = 2000;
    for (let i = 0; i < meterIds.length; i += CHUNK / 2) {
      const batch: unknown[] = [];
      for (const meterId of meterIds.slice(i, i + CHUNK / 2)) {
        // Random bytes for the consumer and its X25519 key: nobody signs or decrypts as these households.
        const consumer = getAddress(hexlify(randomBytes(20)));
        const reg = encodeRegistrationPayload({ registration: { consumer, meterId: meterIdToBytes32(meterId), meterSigner: consumer, encryptionKey: hexlify(randomBytes(32)) }, version: 1n });
        const prefs = encodePreferencesPayload({ consumer, version: 2n, prefs: [{ utility: w.utility.address, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY", expiresAt: 0 }] });
        for (const payload of [reg, prefs]) {
          const data = iface.encodeFunctionData("onFederatedMessage", [w.chainIds.blockpri, w.ppc, payload]);
          batch.push({ jsonrpc: "2.0", id: batch.length, method: "eth_sendTransaction", params: [{ from, to, data, gas: "0x61a80", nonce: `0x${(nonce++).toString(16)}` }] });
        }
      }
      const res = (await (await fetch(w.sec.node.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(batch) })).json()) as { error?: { message: string } }[];
      const bad = res.find((r) => r.error);
      if (bad) throw new CliError("BENCH_FAILED", `fleet consent: the node refused a delivery: ${bad.error!.message}`);
      await p.send("evm_mine", []);
      const receipts = (await p.send("eth_getBlockReceipts", ["latest"])) as { status: string }[];
      if (receipts.length !== batch.length || receipts.some((r) => Number(r.status) !== 1)) throw new CliError("BENCH_FAILED", `fleet consent: ${receipts.filter((r) => Number(r.status) === 1).length} of ${batch.length} deliveries to the PolicyMirror mined`);
    }
  } finally {
    await p.send("evm_setAutomine", [true]);
    await w.admins.sec.sync();
  }
}

/** The members' custody keys, registered from their accounts (no member process needed to publish epoch keys). */
export async function registerCustodyKeys(w: BenchWorld): Promise<void> {
  for (const k of w.memberKeys) {
    const sender = await TxSender.create(new Wallet(k, w.sec.provider), w.sec.provider, { network: "blocksec" });
    await new KeyCustodyClient({ address: w.keyCustody, provider: w.sec.provider, sender }).registerCustodyKey(hexlify(nacl.box.keyPair().publicKey));
  }
}
