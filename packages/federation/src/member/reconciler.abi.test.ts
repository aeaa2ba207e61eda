// The hand-written areExecuted coder against ethers' ABI coder: the same calldata for any input,
// the same answers for any reply of the right shape, and a typed refusal for any other reply.
import fc from "fast-check";
import { AbiCoder } from "ethers";
import { InboxReplyError } from "../errors";
import { FederationInbox__factory } from "../generated";
import { decodeAreExecuted, encodeAreExecuted } from "./reconciler";

const iface = FederationInbox__factory.createInterface();
const coder = AbiCoder.defaultAbiCoder();
const msgs = fc.array(fc.record({ srcChainId: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), nonce: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }), { maxLength: 40 });

describe("areExecuted, coded by hand", () => {
  it("encodes exactly what ethers encodes", () => {
    fc.assert(
      fc.property(msgs, (ms) => {
        expect(encodeAreExecuted(ms)).toBe(iface.encodeFunctionData("areExecuted", [ms.map((m) => m.srcChainId), ms.map((m) => m.nonce)]));
      }),
      { numRuns: 200 },
    );
  });

  it("decodes what the inbox returns, as ethers does", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 60 }), (bs) => {
        const ret = coder.encode(["bool[]"], [bs]);
        expect(decodeAreExecuted(ret, bs.length)).toEqual(bs);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses a reply of the wrong length, offset or content instead of guessing", () => {
    const good = coder.encode(["bool[]"], [[true, false, true]]);
    expect(() => decodeAreExecuted(good, 2)).toThrow(InboxReplyError);
    expect(() => decodeAreExecuted(good, 4)).toThrow(InboxReplyError);
    expect(() => decodeAreExecuted("0x", 0)).toThrow(InboxReplyError);
    expect(() => decodeAreExecuted(`${good}00`, 3)).toThrow(InboxReplyError);
    expect(() => decodeAreExecuted(good.replace(/^0x0{62}20/, `0x${"0".repeat(62)}40`), 3)).toThrow(InboxReplyError);
    const two = coder.encode(["uint256[]"], [[1n, 2n, 0n]]);
    const e = (() => {
      try {
        decodeAreExecuted(two, 3);
      } catch (x) {
        return x as InboxReplyError;
      }
      return undefined;
    })();
    expect(e?.code).toBe("INBOX_REPLY_INVALID");
    expect(e?.message).toMatch(/word 1 is not a bool/);
    expect(decodeAreExecuted(coder.encode(["bool[]"], [[]]), 0)).toEqual([]);
  });
});
