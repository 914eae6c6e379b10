"""``python -m rescale_async.emulator.storage``: a moto S3 server behind the storage gate.

Prints one JSON line, ``{"endpoint": "http://127.0.0.1:PORT"}``, once it listens, then serves
until SIGTERM/SIGINT or until its stdin closes (so it never outlives the process that started
it). The gate's secret comes from the environment (``RESCALE_EMULATOR_STORAGE_SECRET``),
never from the command line, where other users could read it.
"""
# ruff: noqa: T201 - a command line program: printing is its job

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from ._gate import StorageGate
from ._server import ENV_SECRET


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rescale_async.emulator.storage",
        description="Serve moto's S3 behind the emulator's storage gate.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    args = parser.parse_args(argv)
    secret = os.environ.get(ENV_SECRET)
    if not secret:
        print(f"error: set {ENV_SECRET} to the secret shared with the emulator", file=sys.stderr)
        return 2
    try:
        from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 - optional
            DomainDispatcherApplication,
            create_backend_app,
        )
    except ImportError as exc:
        print(
            f"error: the storage emulator needs moto[server] ({exc}): pip install 'moto[server]'",
            file=sys.stderr,
        )
        return 2
    warnings.simplefilter("ignore")  # moto's and uvicorn's deprecation notes are not ours
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = StorageGate(DomainDispatcherApplication(create_backend_app), secret)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    try:
        import uvicorn  # noqa: PLC0415 - the emulator extra; keep-alive, unlike werkzeug's

        serve: Callable[[Any, socket.socket], None] = partial(_serve_uvicorn, uvicorn)
    except ImportError:
        serve = _serve_werkzeug
    print(json.dumps({"endpoint": f"http://{host}:{port}"}), flush=True)
    serve(app, sock)
    return 0


def _when_orphaned(stop: Callable[[], None]) -> None:
    """Call ``stop`` once stdin closes: the parent closed it, or died."""

    def watch() -> None:
        sys.stdin.read()
        stop()

    threading.Thread(target=watch, daemon=True).start()


def _serve_uvicorn(uvicorn: Any, app: Any, sock: socket.socket) -> None:
    """Serve with uvicorn (HTTP/1.1 keep-alive; the WSGI app runs in its thread pool)."""
    config = uvicorn.Config(
        app,
        interface="wsgi",
        log_config=None,
        log_level="critical",
        access_log=False,
        server_header=False,  # moto sends its own: two would be malformed
    )

    class Server(uvicorn.Server):  # type: ignore[misc]
        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # signals are handled below

    server = Server(config)

    def stop(*_: Any) -> None:
        server.should_exit = True

    _stop_on_signals(stop)
    _when_orphaned(stop)
    server.run(sockets=[sock])


def _stop_on_signals(stop: Callable[..., None]) -> None:
    """SIGTERM stops the server; SIGINT is the parent's to handle (a Ctrl-C reaches the whole
    process group), which then stops this one.
    """
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _serve_werkzeug(app: Any, sock: socket.socket) -> None:
    """Serve with werkzeug's development server (a new connection per request)."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler  # noqa: PLC0415
    from werkzeug.serving import make_server  # noqa: PLC0415

    host, port = sock.getsockname()[:2]
    sock.close()
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)

    def stop(*_: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    _stop_on_signals(stop)
    _when_orphaned(stop)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
