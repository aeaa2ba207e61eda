// A simulated DLMS meter on the other end of a `@serialport/binding-mock` port: bytes the agent
// writes reach the meter's HDLC endpoint, its answers come back as data on the port. The mock
// binding has no peer of its own, so its open() is wrapped to attach one.
import { MockBinding, type MockPortBinding } from "@serialport/binding-mock";
import { dlmsMeterEndpoint } from "../dlmsMeter";
import type { SimulatedMeter } from "../meter";

const originalOpen = MockBinding.open.bind(MockBinding);
const peers = new Map<string, SimulatedMeter>();
let wrapped = false;

/** Creates mock port `path` with `meter` behind it speaking DLMS/HDLC. */
export function meterOnMockPort(path: string, meter: SimulatedMeter): { writes: () => number } {
  MockBinding.createPort(path, { echo: false, record: false });
  peers.set(path, meter);
  let writes = 0;
  if (!wrapped) {
    wrapped = true;
    MockBinding.open = async (options) => {
      const binding: MockPortBinding = await originalOpen(options);
      const peer = peers.get(options.path);
      if (peer) {
        const feed = dlmsMeterEndpoint({ meter: peer, transport: "hdlc" }, (bytes) => setImmediate(() => binding.isOpen && binding.emitData(Buffer.from(bytes))));
        const write = binding.write.bind(binding);
        binding.write = async (buffer: Buffer) => {
          await write(buffer);
          writes++;
          feed(buffer);
        };
      }
      return binding;
    };
  }
  return { writes: () => writes };
}

export function resetMockPorts(): void {
  MockBinding.reset();
  peers.clear();
}
