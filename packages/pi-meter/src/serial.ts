// A serial port (RS-485 adapter, optical probe in HDLC mode) as a DLMS link's byte stream, through
// the maintained `serialport` package. Tests put `serialport`'s mock binding behind the same code.
import type { Duplex } from "node:stream";
import { SerialPort, SerialPortMock } from "serialport";
import type { StreamOpener } from "@sidegrid/dlms";

export interface SerialStreamOptions {
  /** Default 9600 (IEC 62056-46 HDLC without the 62056-21 mode E sign-on). */
  baudRate?: number;
  /** Use serialport's mock binding (a port made with `MockBinding.createPort`): tests only. */
  mock?: boolean;
}

/**
 * @example
 * const stream = serialStream("/dev/ttyUSB0", { baudRate: 9600 });
 */
export function serialStream(path: string, o: SerialStreamOptions = {}): StreamOpener {
  return {
    endpoint: `serial:${path}`,
    open: (timeoutMs) =>
      new Promise<Duplex>((resolve, reject) => {
        const Port = o.mock ? SerialPortMock : SerialPort;
        const port = new Port({ path, baudRate: o.baudRate ?? 9600, autoOpen: false });
        const timer = setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
        port.open((e) => {
          clearTimeout(timer);
          if (e) reject(e);
          else resolve(port);
        });
      }),
  };
}
