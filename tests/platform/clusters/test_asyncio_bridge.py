"""The asyncio bridge: results, errors, cancellation both ways, and loop shutdown, under both
backends (under asyncio calls run in the caller's task; under trio on the bridge's own loop).
"""

from __future__ import annotations

import asyncio
import threading

import anyio
import pytest
import sniffio

from rescale_async._core.asyncio_bridge import (
    AsyncioBridge,
    BridgeCancelledError,
    BridgeClosedError,
)


async def _where() -> tuple[str, str]:
    await asyncio.sleep(0)
    return sniffio.current_async_library(), threading.current_thread().name


async def test_a_call_runs_on_asyncio_and_returns_its_result() -> None:
    bridge = AsyncioBridge("test-bridge")
    try:
        library, thread = await bridge.run(_where)
        assert library == "asyncio"
        if sniffio.current_async_library() == "trio":
            assert thread == "test-bridge"
            assert bridge.threaded
        else:
            assert thread == threading.current_thread().name
            assert not bridge.threaded
    finally:
        await bridge.aclose()


async def test_an_error_on_the_asyncio_side_propagates_as_itself() -> None:
    async def fail() -> None:
        await asyncio.sleep(0)
        raise KeyError("from asyncio")

    bridge = AsyncioBridge()
    try:
        with pytest.raises(KeyError, match="from asyncio"):
            await bridge.run(fail)
    finally:
        await bridge.aclose()


async def test_cancelling_the_caller_cancels_the_asyncio_task() -> None:
    started = threading.Event()
    cancelled = threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    bridge = AsyncioBridge()
    try:
        async with anyio.create_task_group() as group:

            async def call() -> None:
                await bridge.run(forever)

            group.start_soon(call)
            await anyio.to_thread.run_sync(started.wait)
            group.cancel_scope.cancel()
        assert cancelled.is_set()
    finally:
        await bridge.aclose()


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_a_task_cancelled_on_the_asyncio_side_is_an_error_for_the_caller() -> None:
    async def cancel_myself() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await asyncio.sleep(1)

    bridge = AsyncioBridge()
    try:
        with pytest.raises(BridgeCancelledError):
            await bridge.run(cancel_myself)
    finally:
        await bridge.aclose()


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_closing_the_bridge_ends_pending_calls_and_its_thread() -> None:
    bridge = AsyncioBridge("closing-bridge")
    started = threading.Event()
    errors: list[BaseException] = []

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    async def call() -> None:
        try:
            await bridge.run(forever)
        except BridgeCancelledError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await anyio.to_thread.run_sync(started.wait)
        await bridge.aclose()
    assert len(errors) == 1
    assert not any(t.name == "closing-bridge" for t in threading.enumerate())
    with pytest.raises(BridgeClosedError):
        await bridge.run(_where)
    await bridge.aclose()  # twice is fine
