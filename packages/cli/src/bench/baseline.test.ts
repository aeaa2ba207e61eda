import { AbiCoder, Interface, dataLength } from "ethers";
import { READING_RECORD_SIZE, decodeReadingRecord } from "@sidegrid/osgp-codec";
import { BASELINE_SETTINGS, compilePaperStorage, paperRecords, setTransLogData } from "./baseline";

describe("the paper's storage baseline", () => {
  it("compiles PaperStorage.sol with solc 0.5.17, optimizer off, keeping the paper's function names", () => {
    const a = compilePaperStorage();
    expect(a.compiler).toMatch(/^solc 0\.5\.17\+/);
    expect(BASELINE_SETTINGS.optimizer.enabled).toBe(false);
    const iface = new Interface(a.abi as never);
    expect(iface.getFunction("setTransLog")!.format()).toBe("setTransLog(address,uint256,string)");
    expect(iface.getFunction("getTransLog")).not.toBeNull();
    expect(dataLength(a.bytecode)).toBeGreaterThan(1000);
    expect(compilePaperStorage()).toBe(a); // compiled once per process
  });

  it("stores real 144-byte OSGP records as the string, byte for byte", () => {
    const [record] = paperRecords(1);
    expect(record!.length).toBe(READING_RECORD_SIZE);
    expect(decodeReadingRecord(record!).sequence).toBe(1);
    const data = setTransLogData("0x00000000000000000000000000000000000000aa", 7n, record!);
    const iface = new Interface(compilePaperStorage().abi as never);
    const parsed = iface.parseTransaction({ data })!;
    expect(parsed.name).toBe("setTransLog");
    // Decoded as bytes, the string argument is exactly the record (no UTF-8 inflation).
    const [, value, bytes] = AbiCoder.defaultAbiCoder().decode(["address", "uint256", "bytes"], `0x${data.slice(10)}`);
    expect(value).toBe(7n);
    expect(bytes).toBe(`0x${Buffer.from(record!).toString("hex")}`);
  });

  it("makes distinct records, 15 minutes apart, with growing registers", () => {
    const rs = paperRecords(3).map((r) => decodeReadingRecord(r));
    expect(rs.map((r) => r.sequence)).toEqual([1, 2, 3]);
    expect(rs[1]!.clockMs - rs[0]!.clockMs).toBe(900_000);
    expect(rs[2]!.activeEnergyImportWh).toBeGreaterThan(rs[1]!.activeEnergyImportWh);
  });
});
