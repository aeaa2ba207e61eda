// A simulated HAN / push meter: the household model of SimulatedMeter pushed as DLMS
// data-notifications (Aidon-style entries: OBIS, value, scaler_unit) to a gateway's push listener,
// over HDLC (I frames, segmented as a HAN port sends them) or the IP wrapper, plain or
// general-glo-ciphered. Pushes are sent when the test (or the CLI) says, not on a timer.
import net from "node:net";
import { ENERGY, INSTANTANEOUS, cosemDateTime, obisBytes, type RegisterObject, cipherApdu, encodeApdu, encodeWrapper, hdlcAddress, segmentHdlc, type DlmsData } from "@sidegrid/dlms";
import type { MeterReading } from "@sidegrid/osgp-codec";
import type { SimulatedMeter } from "./meter";

export interface StartDlmsPushMeterParameters {
  meter: SimulatedMeter;
  /** The gateway's push listener (the meter's `host`/`port` in the gateway config), or any byte sink (a HAN port). */
  target: { host: string; port: number } | { write: (bytes: Uint8Array) => void };
  transport: "hdlc" | "wrapper";
  /** general-glo-ciphering with these keys (suite 0). */
  keys?: { ek: Uint8Array; ak: Uint8Array; systemTitle: Uint8Array };
  /** HDLC information field per frame (default 128): longer pushes go in segments. */
  hdlcMaxInfo?: number;
}

export interface DlmsPushMeter {
  /** Pushes every interval record the meter logged since the last call, each stamped with its own time. */
  pushLogged(): Promise<number>;
  /** Pushes the instantaneous list (power, voltage, frequency), stamped now. */
  pushNow(): Promise<void>;
  /** Sends bytes as they are (a corrupted or foreign frame). */
  pushRaw(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

function entry(reg: RegisterObject, value: number): DlmsData {
  const raw = Math.round(value / 10 ** reg.scaler);
  return {
    type: "structure",
    value: [
      { type: "octet-string", value: obisBytes(reg.obis) },
      reg.unit === 30 || reg.unit === 32 ? { type: "double-long-unsigned", value: Math.max(0, raw) } : { type: "double-long", value: raw },
      { type: "structure", value: [{ type: "integer", value: reg.scaler }, { type: "enum", value: reg.unit }] },
    ],
  };
}

/**
 * The entries of one push: the interval list (energies, as a HAN meter's hourly list 3 carries
 * them at the interval's end) or the instantaneous list (power, voltage, frequency, every few seconds).
 */
function body(r: MeterReading, instantaneous: boolean): DlmsData {
  const l1 = r.phases[0];
  const entries = instantaneous
    ? [
        entry(INSTANTANEOUS.activePowerImportW, Math.max(0, r.activePowerW)),
        entry(INSTANTANEOUS.activePowerExportW, Math.max(0, -r.activePowerW)),
        entry(INSTANTANEOUS.voltageV, l1?.voltageV ?? 0),
        entry(INSTANTANEOUS.frequencyHz, r.frequencyHz),
      ]
    : [
        entry(ENERGY.importWh, r.activeEnergyImportWh),
        entry(ENERGY.exportWh, r.activeEnergyExportWh),
        entry(ENERGY.reactiveImportVarh, r.reactiveEnergyImportVarh),
        entry(ENERGY.reactiveExportVarh, r.reactiveEnergyExportVarh),
      ];
  return { type: "array", value: entries };
}

/**
 * Connects to the gateway's push listener as meter `meter` would.
 * @example
 * const push = await startDlmsPushMeter({ meter, target: { host: "127.0.0.1", port: 4060 }, transport: "hdlc" });
 * await push.pushLogged();
 */
export async function startDlmsPushMeter(p: StartDlmsPushMeterParameters): Promise<DlmsPushMeter> {
  const sink = "write" in p.target ? p.target.write : undefined;
  const target = "host" in p.target ? p.target : undefined;
  const socket = target ? net.connect({ host: target.host, port: target.port }) : undefined;
  if (socket) {
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    socket.on("error", () => undefined);
  }
  let pushedUpTo = 0;
  let invocationCounter = 1;
  let ns = 0;
  const send = async (r: MeterReading, instantaneous: boolean): Promise<void> => {
    let apdu = encodeApdu({ type: "data-notification", longInvokeIdAndPriority: 0x40000000 | (invocationCounter & 0xffffff), dateTime: cosemDateTime(r.clockMs), dateTimeEncoding: "octet-string", body: body(r, instantaneous) });
    if (p.keys) apdu = encodeApdu(cipherApdu({ plaintext: apdu, systemTitle: p.keys.systemTitle, invocationCounter: invocationCounter, ek: p.keys.ek, ak: p.keys.ak, form: "general-glo" }));
    invocationCounter++;
    if (p.transport === "wrapper") {
      await write(encodeWrapper({ sourcePort: 1, destinationPort: 0x66, apdu }));
      return;
    }
    const info = new Uint8Array(3 + apdu.length);
    info.set([0xe6, 0xe7, 0x00]);
    info.set(apdu, 3);
    const frames = segmentHdlc({ dst: hdlcAddress(0x10), src: hdlcAddress(1, p.meter.meterId & 0x3fff), info, maxInfo: p.hdlcMaxInfo ?? 128, ns, nr: 0 });
    ns = (ns + frames.length) & 7;
    for (const f of frames) await write(f);
  };
  const write = (bytes: Uint8Array) =>
    sink ? Promise.resolve(sink(bytes)) : new Promise<void>((resolve, reject) => socket!.write(bytes, (e) => (e ? reject(e) : resolve())));
  return {
    async pushLogged() {
      const fresh = p.meter.loggedReadings().filter((r) => r.clockMs > pushedUpTo);
      for (const r of fresh) await send(r, false);
      if (fresh.length) pushedUpTo = fresh.at(-1)!.clockMs;
      return fresh.length;
    },
    async pushNow() {
      await send(p.meter.currentReading(), true);
    },
    pushRaw: write,
    async close() {
      if (!socket) return;
      await new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.end();
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 200).unref();
      });
    },
  };
}
