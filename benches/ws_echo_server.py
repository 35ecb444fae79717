"""The benchmark's echo server: picows (C-accelerated) on 127.0.0.1, in its own process,
so every client pays the same server cost. Usage: ws_echo_server.py PORT"""

from __future__ import annotations

import asyncio
import sys

from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server


class Echo(WSListener):
    """Echoes whole messages (reassembles fragments; clients here send single frames)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.kind = WSMsgType.BINARY

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
            return
        if frame.msg_type == WSMsgType.PING:
            transport.send_pong(frame.get_payload_as_bytes())
            return
        if frame.msg_type in (WSMsgType.TEXT, WSMsgType.BINARY):
            if frame.fin:
                transport.send(frame.msg_type, frame.get_payload_as_memoryview())
                return
            self.kind = frame.msg_type
            self.parts = [frame.get_payload_as_bytes()]
        elif frame.msg_type == WSMsgType.CONTINUATION:
            self.parts.append(frame.get_payload_as_bytes())
            if frame.fin:
                transport.send(self.kind, b"".join(self.parts))
                self.parts = []


async def main(port: int) -> None:
    def factory(request: WSUpgradeRequest) -> WSListener:
        return Echo()

    server = await ws_create_server(factory, "127.0.0.1", port, max_frame_size=8 * 2**20)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
