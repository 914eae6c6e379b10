"""Serving the emulator over real HTTP with uvicorn.

``serve()`` runs in the current event loop (asyncio: uvicorn needs it) until cancelled or
signalled. ``serving()`` runs the emulator and its server in a background thread with its own
asyncio loop, so tests under asyncio or trio (or sync code in a worker thread) can call it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.from_thread
import uvicorn

from ._asgi import QuietDrops
from ._config import EmulatorConfig
from ._emulator import Emulator
from .htc._app import API_ROOT
from .platform._app import PLATFORM_ROOT

if TYPE_CHECKING:
    from ..htc.client import HTCClient
    from ..platform.client import PlatformClient

__all__ = ["ServedEmulator", "background_server", "serve", "serving"]

logger = logging.getLogger("rescale_async.emulator")

T = TypeVar("T")


@dataclass
class ServedEmulator:
    """An emulator answering on ``base_url`` (``http://host:port/api/v1``) and, for the
    platform API, ``platform_url`` (``http://host:port/api/v2``).
    """

    emulator: Emulator
    base_url: str
    host: str
    port: int
    portal: anyio.from_thread.BlockingPortal | None = None
    """The portal of the server's thread (``serving()``, ``background_server()``)."""

    @property
    def api_key(self) -> str:
        return self.emulator.api_key

    @property
    def project_id(self) -> str:
        return self.emulator.project_id

    @property
    def platform_url(self) -> str:
        """The platform API v2 root on this server."""
        return self.emulator.platform_url

    @property
    def platform_api_key(self) -> str:
        return self.emulator.platform_api_key

    def client(self, **kwargs: Any) -> HTCClient:
        """An ``HTCClient`` talking to the server over HTTP."""
        return self.emulator.client(**kwargs)

    def platform_client(self, **kwargs: Any) -> PlatformClient:
        """A ``PlatformClient`` talking to the server's ``/api/v2`` over HTTP."""
        return self.emulator.platform_client(**kwargs)

    async def call(self, func: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``await func(*args)`` in the server's event loop, e.g.
        ``await served.call(served.emulator.wait_for_jobs)``.
        """
        portal = self.portal
        if portal is None:
            return await func(*args)
        return await anyio.to_thread.run_sync(portal.call, func, *args)


class _Server(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Signals are the emulator's business (serve(handle_signals=True)), so that it can
        # stop its jobs before the process exits.
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):  # noqa: S104 - naming the wildcard, not binding it
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


@asynccontextmanager
async def _served(
    config: EmulatorConfig | None,
    host: str,
    port: int,
    log_level: str,
    overrides: dict[str, Any],
) -> AsyncIterator[ServedEmulator]:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "serving over HTTP needs asyncio (uvicorn); under trio use `async with serving()`, "
            "which runs the server in its own thread"
        ) from None
    uvicorn_errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, QuietDrops) for f in uvicorn_errors.filters):
        uvicorn_errors.addFilter(QuietDrops())
    async with Emulator(config, **overrides) as emulator:
        sock = _bind(host, port)
        actual_port = int(sock.getsockname()[1])
        base_url = f"http://{_url_host(host)}:{actual_port}{API_ROOT}"
        emulator.base_url = base_url
        emulator.platform_url = f"http://{_url_host(host)}:{actual_port}{PLATFORM_ROOT}"
        emulator.served = True
        emulator.runner.api_url = base_url
        emulator.platform_runner.api_url = emulator.platform_url
        server = _Server(
            uvicorn.Config(
                emulator.app,
                lifespan="off",
                log_config=None,
                log_level=log_level,
                access_log=False,
                timeout_graceful_shutdown=2,
            )
        )
        try:
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(server.serve, [sock])
                with anyio.fail_after(10):
                    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event
                        await anyio.sleep(0.005)
                try:
                    yield ServedEmulator(emulator, base_url, host, actual_port)
                finally:
                    server.should_exit = True
        finally:
            sock.close()
            emulator.served = False


async def serve(
    config: EmulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8700,
    ready: Callable[[ServedEmulator], None] | None = None,
    handle_signals: bool = False,
    log_level: str = "warning",
    **overrides: Any,
) -> None:
    """Serve the emulator over HTTP until cancelled (asyncio only: uvicorn needs it).

    ``port=0`` picks a free port; ``ready`` is called with the ``ServedEmulator`` once it
    answers. With ``handle_signals`` SIGINT/SIGTERM stop it cleanly (jobs killed, state saved).
    Keyword ``overrides`` set ``EmulatorConfig`` fields.
    """
    async with _served(config, host, port, log_level, overrides) as served:
        if ready is not None:
            ready(served)
        if handle_signals:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for signum in signals:
                    logger.info("received signal %d: stopping", signum)
                    break
        else:
            await anyio.sleep_forever()


@contextmanager
def background_server(
    config: EmulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
    **overrides: Any,
) -> Iterator[ServedEmulator]:
    """Serve the emulator from a background thread (own asyncio loop) while in the block.

    For synchronous code (``with background_server() as served: requests.get(...)``); async
    code uses ``serving()``. Leaving the block stops the server and every job process.
    """
    with anyio.from_thread.start_blocking_portal("asyncio") as portal:
        manager = _served(config, host, port, log_level, overrides)
        with portal.wrap_async_context_manager(manager) as served:
            served.portal = portal
            yield served


@asynccontextmanager
async def serving(
    config: EmulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
    **overrides: Any,
) -> AsyncIterator[ServedEmulator]:
    """``background_server`` for async code (asyncio or trio): the server runs in its own
    thread and event loop, so it keeps answering while the caller's loop waits on it.

    ``async with serving(refresh_interval=0.05) as served: ... served.base_url ...``
    """
    manager = background_server(config, host=host, port=port, log_level=log_level, **overrides)
    served = await anyio.to_thread.run_sync(manager.__enter__)
    try:
        yield served
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(manager.__exit__, None, None, None)
