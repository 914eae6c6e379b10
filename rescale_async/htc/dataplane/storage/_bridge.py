"""Running the asyncio-only storage engine from any anyio backend.

Under asyncio the engine's work runs in the caller's own loop. Under any other backend (trio)
it runs in one asyncio loop on a daemon thread of its own, started at the first transfer and
stopped by ``aclose()``; the work calls back into the caller's loop (for credentials, which
come through the client's HTTP pool, and for progress hooks) through a portal. One thread
whatever the number of files, instead of one per request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import anyio
import anyio.from_thread

__all__ = ["AsyncioRunner", "CallerLoop"]

T = TypeVar("T")


class CallerLoop(Protocol):
    """Lets engine work run a coroutine function in the caller's event loop."""

    async def call(self, func: Callable[[], Awaitable[T]]) -> T: ...


class _SameLoop:
    async def call(self, func: Callable[[], Awaitable[T]]) -> T:
        return await func()


class _OtherLoop:
    """The caller's loop, reached from the engine's thread through a portal."""

    def __init__(self, portal: anyio.from_thread.BlockingPortal) -> None:
        self._portal = portal

    async def call(self, func: Callable[[], Awaitable[T]]) -> T:
        return await asyncio.wrap_future(self._portal.start_task_soon(func))


def on_asyncio() -> bool:
    """Whether the current thread runs an asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _settled(future: concurrent.futures.Future[T]) -> None:
    """Wait for ``future`` without blocking the loop; if cancelled meanwhile, cancel it and
    wait for it to unwind before letting the cancellation through.
    """
    try:
        await anyio.to_thread.run_sync(concurrent.futures.wait, [future], abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        future.cancel()
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(concurrent.futures.wait, [future])
        raise


class AsyncioRunner:
    """Runs engine work on asyncio: here under asyncio, else on the engine thread."""

    def __init__(self) -> None:
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    async def run(self, work: Callable[[CallerLoop], Awaitable[T]]) -> T:
        """``await work(caller)`` on an asyncio loop; cancelling the caller cancels the work
        and waits for it to unwind.
        """
        if on_asyncio():
            return await work(_SameLoop())
        portal = await anyio.to_thread.run_sync(self._engine_portal)
        async with anyio.from_thread.BlockingPortal() as caller_portal:
            future = portal.start_task_soon(work, _OtherLoop(caller_portal))
            await _settled(future)
        return future.result()

    def _engine_portal(self) -> anyio.from_thread.BlockingPortal:
        """The engine thread's portal, starting the thread first if needed (blocking)."""
        with self._starting:
            if self._portal is not None:
                return self._portal
            ready = threading.Event()
            box: list[anyio.from_thread.BlockingPortal] = []

            async def serve() -> None:
                async with anyio.from_thread.BlockingPortal() as portal:
                    box.append(portal)
                    ready.set()
                    await portal.sleep_until_stopped()

            thread = threading.Thread(
                target=anyio.run,
                args=(serve,),
                kwargs={"backend": "asyncio"},
                name="rescale_async-storage",
                daemon=True,  # never keeps the process alive; aclose() stops it cleanly
            )
            thread.start()
            ready.wait()
            self._portal, self._thread = box[0], thread
            return self._portal

    async def aclose(self) -> None:
        """Stop the engine thread, if one was started."""
        portal, thread = self._portal, self._thread
        self._portal = self._thread = None
        if portal is None or thread is None:
            return

        def stop() -> None:
            portal.call(portal.stop, True)
            thread.join()

        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(stop)
