"""``python -m benchmarks._emulator ARGS``: ``python -m rescale_async.emulator ARGS``, with
TCP_NODELAY on the connections it accepts.

The emulator binds its own listening socket with protocol 0, so asyncio does not set
TCP_NODELAY on accepted connections (it only does for ``IPPROTO_TCP`` sockets). Nagle's
algorithm then holds the body of each response behind its headers until the client's delayed
ACK (~40 ms on Linux) on every reused keep-alive connection: a sequential client such as
rescalehtc paid ~45 ms more per request than the injected latency. Until the emulator sets it
itself, this sets it on the listening socket (accepted sockets inherit it) and says so on
stdout; when the emulator already does, this changes nothing.
"""

from __future__ import annotations

import socket
import sys

from rescale_async.emulator import _server
from rescale_async.emulator.__main__ import main

__all__ = ["SHIM_MARKER"]

SHIM_MARKER = "BENCH-SHIM: TCP_NODELAY set on the emulator's listening socket"

_bind = _server._bind


def _bind_nodelay(host: str, port: int) -> socket.socket:
    sock = _bind(host, port)
    nodelay = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    if sock.proto != socket.IPPROTO_TCP and not nodelay:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        print(SHIM_MARKER, flush=True)
    return sock


if __name__ == "__main__":
    _server._bind = _bind_nodelay
    sys.exit(main(sys.argv[1:]))
