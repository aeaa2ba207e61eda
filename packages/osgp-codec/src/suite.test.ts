import { InsecureSuiteError, InvalidArgumentError } from "./errors";
import { READING_RECORD_SIZE, READING_TABLE_ID, decodeReadingRecord, encodeReadingRecord } from "./record";
import { SequenceCounter, SequenceWindow } from "./sequence";
import { createSecuritySuite } from "./suite";
import { SECURITY_SUITE_NAMES } from "./suiteTypes";

describe("createSecuritySuite", () => {
  it("offers exactly the two suites, flagging the legacy one insecure", () => {
    expect(SECURITY_SUITE_NAMES).toEqual(["legacy-rc4-mep", "aes-gcm"]);
    expect(createSecuritySuite("aes-gcm", { key: new Uint8Array(16), meterId: 1 })).toMatchObject({ name: "aes-gcm", insecure: false });
    expect(createSecuritySuite("legacy-rc4-mep", { key: new Uint8Array(16), allowInsecure: true })).toMatchObject({ name: "legacy-rc4-mep", insecure: true });
  });
  it("rejects unknown names and missing options with InvalidArgumentError", () => {
    expect(() => createSecuritySuite("rot13" as "aes-gcm", { key: new Uint8Array(16), meterId: 1 })).toThrow(InvalidArgumentError);
    expect(() => createSecuritySuite("aes-gcm", null as never)).toThrow(InvalidArgumentError);
  });
  it("needs an explicit opt-in for the legacy suite", () => {
    expect(() => createSecuritySuite("legacy-rc4-mep", { key: new Uint8Array(16) } as never)).toThrow(InsecureSuiteError);
  });
});

describe("README flow: a gateway reads a Pi meter over aes-gcm", () => {
  it("resyncs after a 0x0C, then gets and decodes the ET160 reading", () => {
    const masterKey = new Uint8Array(32).fill(7);
    const gateway = createSecuritySuite("aes-gcm", { masterKey, meterId: 4711 });
    const meter = createSecuritySuite("aes-gcm", { masterKey, meterId: 4711 });
    const window = new SequenceWindow({ current: 500 });
    const seq = new SequenceCounter(1);
    let responseCounter = 0;
    const record = encodeReadingRecord({
      meterId: 4711, sequence: 9, clockMs: 1_700_000_000_000, activeEnergyImportWh: 42, activeEnergyExportWh: 0, reactiveEnergyImportVarh: 0, reactiveEnergyExportVarh: 0,
      activePowerW: 100, reactivePowerVar: 0, frequencyHz: 50, powerFactor: 1,
      phases: [{ voltageV: 230, currentA: 0.435, activePowerW: 100, reactivePowerVar: 0, powerFactor: 1 }],
      flags: { terminalCoverOpen: false, caseOpen: false, magneticField: false, reverseEnergy: false, phaseLoss: false, clockInvalid: false, batteryLow: false, selfTestFailed: false },
      tamperEvents: 0, powerOutages: 0,
    });
    const serve = (frame: Uint8Array) => {
      const { seq: got, exchange } = meter.decodeRequest(frame);
      const ok = window.check(got).accepted;
      if (ok) window.accept(got);
      const response = ok ? ({ response: "okData", data: record } as const) : window.rejection();
      return meter.encodeResponse({ response, exchange, seq: responseCounter++ });
    };
    const request = { service: "partialRead", tableId: READING_TABLE_ID, offset: 0, count: READING_RECORD_SIZE } as const;
    let first = gateway.encodeRequest({ request, seq: seq.take() });
    const rejected = gateway.decodeResponse(serve(first.frame), first.exchange).response;
    expect(rejected).toEqual({ response: "invalidSequenceNumber", seq: 500 });
    if (rejected.response === "invalidSequenceNumber") seq.resync(rejected.seq);
    first = gateway.encodeRequest({ request, seq: seq.take() });
    const answer = gateway.decodeResponse(serve(first.frame), first.exchange).response;
    if (answer.response !== "okData") throw new Error(answer.response);
    expect(decodeReadingRecord(answer.data)).toMatchObject({ meterId: 4711, activeEnergyImportWh: 42, phases: [{ currentA: 0.435 }] });
    expect(window.current).toBe(501);
  });
});
