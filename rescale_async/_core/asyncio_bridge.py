"""Running asyncio-only libraries (asyncssh) from any anyio backend.

Under asyncio a call simply runs in the caller's task. Under trio it runs on a dedicated asyncio
event loop in a thread of its own, started at the first call: the coroutine is handed over with
``asyncio.run_coroutine_threadsafe`` and the trio task waits for it without blocking its loop.
Cancellation crosses both ways: a cancelled trio caller cancels the asyncio task (and waits a
moment for it to unwind); an asyncio task cancelled on its own side (the loop shutting down)
raises ``BridgeCancelledError`` in the caller. Errors raised on the asyncio side propagate as
themselves. Every object made through a bridge belongs to its loop: use it only through
``bridge.run`` of the same bridge.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio
import sniffio

from .exceptions import BridgeCancelledError, BridgeClosedError

__all__ = ["AsyncioBridge", "BridgeCancelledError", "BridgeClosedError"]

logger = logging.getLogger("rescale_async")

T = TypeVar("T")

_UNWIND_GRACE = 5.0
"""Seconds a cancelled caller waits for its asyncio task to finish unwinding."""


class AsyncioBridge:
    """Runs coroutines on asyncio for callers on any anyio backend (see the module docstring).

    ``await bridge.run(lambda: some_asyncio_coroutine(...))``; ``await bridge.aclose()`` stops
    the loop thread, if one was started (the caller's own loop is never touched).
    """

    def __init__(self, name: str = "rescale-async-asyncio") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        where = "own loop thread" if self._thread is not None else "caller's loop"
        return f"AsyncioBridge({self._name!r}, {where}, closed={self._closed})"

    @property
    def threaded(self) -> bool:
        """Whether calls run on a loop thread of the bridge's own (started at the first trio
        call).
        """
        return self._thread is not None

    async def run(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run the coroutine ``factory()`` makes on asyncio; its result. ``factory`` is called
        on the asyncio side, so the coroutine is created where it runs.
        """
        if self._closed:
            raise BridgeClosedError(f"{self._name}: the bridge has been closed")
        if sniffio.current_async_library() == "asyncio" and self._thread is None:
            return await factory()
        crossing = _Crossing()
        future = asyncio.run_coroutine_threadsafe(crossing.call(factory), self._ensure_loop())
        return await crossing.wait(future)

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=_serve, args=(loop,), name=self._name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    async def aclose(self) -> None:
        """Cancel what still runs on the bridge's own loop, stop it and join its thread; later
        calls raise BridgeClosedError. Safe to call twice; shielded from cancellation.
        """
        self._closed = True
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        with anyio.CancelScope(shield=True):
            future = asyncio.run_coroutine_threadsafe(_cancel_all(), loop)
            await _wait_for(future)
            loop.call_soon_threadsafe(loop.stop)
            await anyio.to_thread.run_sync(thread.join)
            loop.close()


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    """The loop thread: run ``loop`` until stopped."""
    asyncio.set_event_loop(loop)
    loop.run_forever()


async def _cancel_all() -> None:
    """On the bridge's loop: cancel every other task and wait for them to end."""
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=_UNWIND_GRACE)


async def _wait_for(future: concurrent.futures.Future[T]) -> T:
    """Wait, without blocking the caller's loop, for a future of another thread."""
    done = anyio.Event()
    future.add_done_callback(_Waker(done).wake)
    await done.wait()
    return future.result()


class _Crossing:
    """One call across: the caller waits for the asyncio task's result; when the caller is
    cancelled, the task is cancelled and the caller waits (shielded, for a bounded time) until
    the task has unwound.
    """

    def __init__(self) -> None:
        self._done = anyio.Event()
        self._unwound = anyio.Event()
        self._waker = _Waker(self._done)
        self._unwound_waker = _Waker(self._unwound)
        self._started = False

    async def call(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """On the bridge's loop. Its context is a copy of the caller's, which names trio as
        the running library: cleared in this task's copy, so libraries asking sniffio see
        asyncio.
        """
        self._started = True
        sniffio.current_async_library_cvar.set(None)
        try:
            return await factory()
        finally:
            self._unwound_waker.wake(None)

    async def wait(self, future: concurrent.futures.Future[T]) -> T:
        future.add_done_callback(self._waker.wake)
        try:
            await self._done.wait()
        except BaseException:  # cancelled: carry it over to the asyncio task
            future.cancel()
            if self._started:
                with anyio.CancelScope(shield=True), anyio.move_on_after(_UNWIND_GRACE):
                    await self._unwound.wait()
            raise
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise BridgeCancelledError(
                "the asyncio side of the call was cancelled (its event loop is closing)"
            ) from None


class _Waker:
    """Sets an anyio Event of the caller's loop from another thread."""

    def __init__(self, event: anyio.Event) -> None:
        self._event = event
        self._token = _current_token()

    def wake(self, _future: object) -> None:
        try:
            self._token.run_sync_soon(self._event.set)
        except RuntimeError:  # the caller's run has finished: nobody is waiting any more
            logger.debug("a bridged call ended after its caller's loop had finished")


def _current_token() -> Any:
    """The trio token of the running trio loop (the only other backend anyio has), or an
    adapter that calls back into a running asyncio loop.
    """
    if sniffio.current_async_library() == "trio":
        import trio  # noqa: PLC0415 - only needed (and installed) under trio

        return trio.lowlevel.current_trio_token()
    return _AsyncioToken(asyncio.get_running_loop())


class _AsyncioToken:
    """``run_sync_soon`` for an asyncio caller (a bridge whose loop thread runs already)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def run_sync_soon(self, func: Callable[[], object]) -> None:
        self._loop.call_soon_threadsafe(func)
