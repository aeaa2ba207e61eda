// The TCP binding of a meter's OSGP answers (osgp-codec tcpFraming.ts): frames back to back, an
// address frame to pick a meter on a shared port, NK and close for a meter not hosted here.
import type net from "node:net";
import { ADDRESS_FRAME_NAK, FrameReader, decodeAddressFrame } from "@sidegrid/osgp-codec";

/** Anything that answers one OSGP request frame (null: stay silent). */
export interface OsgpFrameHandler {
  handleFrame(frame: Uint8Array): Uint8Array | null;
}

/**
 * Serves one connection: either for one meter (`fixed`, a port per meter) or for whichever meter
 * the client's address frame names (`lookup`).
 * @example
 * net.createServer((s) => serveOsgpSocket(s, { fixed: device }));
 */
export function serveOsgpSocket(
  socket: net.Socket,
  o: {
    fixed?: OsgpFrameHandler;
    lookup?: (meterId: number) => OsgpFrameHandler | undefined;
    /** Served to a client that sends no address frame (an agent's one meter); address frames still go through `lookup`. */
    unaddressed?: OsgpFrameHandler;
    onRequest?: () => void;
  },
): void {
  socket.setNoDelay(true);
  const reader = new FrameReader();
  let current = o.fixed ?? o.unaddressed;
  socket.on("data", (chunk) => {
    for (const frame of reader.push(chunk)) {
      if (frame.length === 2) continue; // MEP alert 00 00
      const addressed = decodeAddressFrame(frame);
      if (addressed !== undefined && !o.fixed) {
        current = o.lookup?.(addressed);
        if (!current) {
          socket.end(ADDRESS_FRAME_NAK);
          return;
        }
        socket.write(frame);
        continue;
      }
      if (!current) {
        socket.destroy();
        return;
      }
      o.onRequest?.();
      const response = current.handleFrame(frame);
      if (response) socket.write(response);
    }
  });
  socket.on("error", () => socket.destroy());
}
