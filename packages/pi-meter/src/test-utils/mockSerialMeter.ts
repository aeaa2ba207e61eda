// A simulated DLMS meter on the other end of a `@serialport/binding-mock` port: bytes the agent
// writes reach the meter's HDLC endpoint, its answers come back as data on the port. The mock
// binding has no peer of its own, so its open() is wrapped to attach one.
import { MockBinding, type MockPortBinding } from "@serialport/binding-mock";
import { dlmsMeterEndpoint } from "../dlmsMeter";
import type { SimulatedMeter } from "../meter";

const originalOpen = MockBinding.open.bind(MockBinding);
const peers = new Map<string, SimulatedMeter>();
const open = new Map<string, MockPortBinding>();
let wrapped = false;

/** Creates mock port `path` with `meter` behind it speaking DLMS/HDLC. */
export function meterOnMockPort(path: string, meter: SimulatedMeter): { writes: () => number } {
  MockBinding.createPort(path, { echo: false, record: false });
  peers.set(path, meter);
  wrap();
  return { writes: () => writesTo.get(path) ?? 0 };
}

/**
 * Creates mock port `path` as a HAN port: `write` delivers bytes as the meter's pushes to whoever
 * opened it (dropped while nobody has, as on a real line); `opened` resolves once someone has.
 */
export function pushOnMockPort(path: string): { write: (bytes: Uint8Array) => void; opened: () => Promise<void> } {
  MockBinding.createPort(path, { echo: false, record: false });
  wrap();
  return {
    write: (bytes) => {
      const b = open.get(path);
      if (b?.isOpen) b.emitData(Buffer.from(bytes));
    },
    opened: async () => {
      for (let i = 0; i < 200 && !open.get(path)?.isOpen; i++) await new Promise((r) => setTimeout(r, 10));
    },
  };
}

const writesTo = new Map<string, number>();

function wrap(): void {
  if (!wrapped) {
    wrapped = true;
    MockBinding.open = async (options) => {
      const binding: MockPortBinding = await originalOpen(options);
      open.set(options.path, binding);
      const peer = peers.get(options.path);
      if (peer) {
        const feed = dlmsMeterEndpoint({ meter: peer, transport: "hdlc" }, (bytes) => setImmediate(() => binding.isOpen && binding.emitData(Buffer.from(bytes))));
        const write = binding.write.bind(binding);
        binding.write = async (buffer: Buffer) => {
          await write(buffer);
          writesTo.set(options.path, (writesTo.get(options.path) ?? 0) + 1);
          feed(buffer);
        };
      }
      return binding;
    };
  }
}

export function resetMockPorts(): void {
  MockBinding.reset();
  peers.clear();
  open.clear();
  writesTo.clear();
}
