import { EXIT_BAD_CHECK, EXIT_BAD_INPUT, runCli } from "./cli";
import { AARE_FRAME, GLO_GET_REQUEST, KAIFA_LIST1, PROFILE_BUFFER, UDP_GGC } from "./test-utils/captures";

// The AARQ frame dlms-cosem captured (tests/test_hdlc/test_hdlc.py, TestInformationRequestFrame) is
// exactly what `dlms encode aarq` builds with its defaults for server 1/17.
const CAPTURED_AARQ = "7ea02c02232110af9fe6e600601da109060760857405080101be10040e01000000065f1f0400001e1dffffc5e47e";

describe("dlms CLI", () => {
  it("encode snrm/disc/rr for client 16 and server 1/17", async () => {
    expect((await runCli(["encode", "snrm", "--server", "1/17"])).stdout).toBe("7ea00802232193bd647e\n"); // dlms-cosem TestSnrmFrame
    expect((await runCli(["encode", "disc", "--server", "1/17"])).stdout).toBe("7ea00802232153b1a27e\n");
    expect((await runCli(["encode", "rr", "--server", "1/17", "--nr", "3"])).stdout).toBe("7ea00802232171a1a07e\n");
    const snrm = await runCli(["encode", "snrm", "--server", "1/17", "--max-info", "128", "--window", "1"]);
    const d = JSON.parse((await runCli(["decode", snrm.stdout.trim()])).stdout);
    expect(d.hdlc.parameters).toEqual({ maxInfoTransmit: 128, maxInfoReceive: 128, windowTransmit: 1, windowReceive: 1 });
  });

  it("encode aarq reproduces a captured AARQ byte for byte", async () => {
    expect((await runCli(["encode", "aarq", "--server", "1/17"])).stdout.trim()).toBe(CAPTURED_AARQ);
    const low = await runCli(["encode", "aarq", "--apdu", "--password", "12345678", "--max-pdu", "1200", "--conformance", "priority-mgmt-supported,attribute0-supported-with-get,block-transfer-with-get-or-read,block-transfer-with-set-or-write,block-transfer-with-action,multiple-references,get,set,selective-access,event-notification,action"]);
    // dlms-cosem tests/test_asce/test_aarq.py, low-level security
    expect(low.stdout.trim()).toBe("6036a1090607608574050801018a0207808b0760857405080201ac0a80083132333435363738be10040e01000000065f1f0400007e1f04b0");
  });

  it("encode get for an OBIS/class/attribute, in HDLC, IP wrapper and bare", async () => {
    expect((await runCli(["encode", "get", "--apdu", "--obis", "0.0.43.1.0.255", "--class", "1"])).stdout.trim()).toBe("c001c1000100002b0100ff0200"); // dlms-cosem test_get.py
    const framed = (await runCli(["encode", "get", "--server", "1/17", "--obis", "1-0:1.8.0*255", "--ns", "1", "--nr", "1"])).stdout.trim();
    const d = JSON.parse((await runCli(["decode", framed])).stdout);
    expect(d.hdlc).toMatchObject({ dst: { upper: 1, lower: 17, length: 2 }, src: { upper: 16, lower: null, length: 1 }, control: { type: "I", ns: 1, nr: 1 } });
    expect(d.apdu).toMatchObject({ type: "get-request-normal", attribute: { classId: 3, obis: "1.0.1.8.0.255", attribute: 2 } });
    const wrapped = (await runCli(["encode", "get", "--wrapper", "--obis", "1.0.1.8.0.255"])).stdout.trim();
    expect(wrapped).toBe("000100100001000dc001c100030100010800ff0200");
    expect((await runCli(["encode", "get", "--apdu", "--obis", "1.0.99.1.0.255", "--next", "2"])).stdout.trim()).toBe("c002c100000002");
    expect((await runCli(["encode", "rlrq", "--apdu"])).stdout.trim()).toBe("6203800100");
  });

  it("encode get --ek ... reproduces the Green Book glo-get-request", async () => {
    const keys = ["--ek", "000102030405060708090a0b0c0d0e0f", "--ak", "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf", "--system-title", "4d4d4d0000bc614e", "--ic", "0x01234567"];
    expect((await runCli(["encode", "get", "--apdu", "--obis", "0.0.1.0.0.255", "--class", "8", "--invoke-byte", "0", ...keys])).stdout.trim()).toBe(GLO_GET_REQUEST);
    expect((await runCli(["encode", "get", "--apdu", "--obis", "0.0.1.0.0.255", "--ek", "00".repeat(16)])).exitCode).toBe(EXIT_BAD_INPUT);
  });

  it("decode prints hdlc, apdu and registers for a HAN push", async () => {
    const r = await runCli(["decode", KAIFA_LIST1, "--json"]);
    expect(r.exitCode).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.hdlc).toEqual({ dst: { upper: 0, lower: null, length: 1 }, src: { upper: 1, lower: 0, length: 2 }, control: { type: "I", pf: true, ns: 0, nr: 0 }, segmented: false, length: 39, hcs: "0x875a", fcs: "0x0cb8", llc: "response" });
    expect(d.apdu).toMatchObject({ type: "data-notification", dateTime: { iso: "2017-09-12T23:18:42" } });
    expect(d.registers).toEqual({ "1.0.1.7.0.255": { value: 1320, raw: 1320, scaler: 0, unit: "W", name: "active power import (+P)" } });
    expect(JSON.parse((await runCli(["decode", AARE_FRAME])).stdout).apdu.type).toBe("aare");
  });

  it("decode opens wrapper + general-glo-ciphering and glo-get-request with keys", async () => {
    const key = Buffer.from("MYDUMMYGLOBALKEY").toString("hex");
    const d = JSON.parse((await runCli(["decode", UDP_GGC, "--ek", key, "--ak", key])).stdout);
    expect(d.wrapper).toEqual({ version: 1, sourcePort: 1, destinationPort: 1, length: 70 });
    expect(d.plain.type).toBe("data-notification");
    const g = JSON.parse((await runCli(["decode", GLO_GET_REQUEST, "--ek", "000102030405060708090a0b0c0d0e0f", "--ak", "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf", "--system-title", "4d4d4d0000bc614e"])).stdout);
    expect(g.plain).toMatchObject({ type: "get-request-normal", attribute: { obis: "0.0.1.0.0.255" } });
  });

  it("decode --columns keys a profile buffer's rows by OBIS", async () => {
    const d = JSON.parse((await runCli(["decode", `c401c100${PROFILE_BUFFER}`, "--columns", "0.0.1.0.0.255,0.0.96.10.1.255,1-0:1.8.0,1-0:2.8.0"])).stdout);
    expect(d.profile).toHaveLength(4);
    expect(d.profile[3]["1.0.2.8.0.255"]).toMatchObject({ value: 1620, unit: "Wh" });
  });

  it("exits 1 on a bad FCS or GCM tag, 2 on malformed input, with the error code on stderr", async () => {
    const badFcs = await runCli(["decode", `${KAIFA_LIST1.slice(0, -4)}0d7e`]);
    expect(badFcs).toMatchObject({ exitCode: EXIT_BAD_CHECK, stdout: "" });
    expect(badFcs.stderr).toMatch(/BAD_FCS/);
    const key = Buffer.from("MYDUMMYGLOBALKEY").toString("hex");
    const badTag = await runCli(["decode", UDP_GGC, "--ek", key, "--ak", "00".repeat(16)]);
    expect(badTag.exitCode).toBe(EXIT_BAD_CHECK);
    expect(badTag.stderr).toMatch(/BAD_TAG/);
    for (const argv of [["decode", "zz"], ["decode", "7ea0"], ["decode", UDP_GGC, "--ek", "00"], ["encode", "get", "--obis", "1.2.3.4"], ["encode", "get", "--obis", "1.0.1.8.0.255", "--invoke-id", "16"], ["nope"]]) {
      const r = await runCli(argv);
      expect(r.exitCode).toBe(EXIT_BAD_INPUT);
      expect(r.stderr).not.toBe("");
    }
  });
});
