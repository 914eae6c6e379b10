"""Testing your own code with the emulator: an ``emulator`` and a ``client`` pytest fixture,
tests of ``squares.square_all`` against them, and faults injected with ``emulator.faults``.

Copy this module (and adapt the fixtures) into your project; run it with::

    pytest examples/testing        # needs pytest, trio, and rescale-async[emulator]

Each test gets a fresh emulator, whose jobs really run as local processes (so a job's
command is this interpreter, not the image's ``python3``). The tests run under asyncio and
trio, through anyio's pytest plugin.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import pytest
from squares import SquaringFailed, square_all

from rescale_async import HTCClient
from rescale_async.emulator import Emulator

pytestmark = pytest.mark.anyio

SUMMARY = "/htc/projects/{projectId}/tasks/{taskId}/summary-statistics"
SUBMIT = "/htc/projects/{projectId}/tasks/{taskId}/jobs/batch"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    # The service shows new job statuses every ~30 s; the emulator can do it every 50 ms.
    async with Emulator(refresh_interval=0.05, max_workers=4) as emu:
        yield emu


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[HTCClient]:
    # settle_delay=0: settle an ambiguous submission at once (10 s by default)
    async with emulator.client(settle_delay=0) as client:
        yield client


async def squares_of(client: HTCClient, emulator: Emulator, numbers: list[int]) -> dict[int, int]:
    """The code under test, with what differs on the emulator: local processes, fast polls."""
    return await square_all(
        client, emulator.project_id, numbers, python=sys.executable, interval=0.05
    )


async def test_it_squares_every_number(client: HTCClient, emulator: Emulator) -> None:
    assert await squares_of(client, emulator, [3, 0, 12]) == {3: 9, 0: 0, 12: 144}
    assert len(emulator.state.jobs) == 3  # the emulator's own records: one job per number


async def test_a_failed_job_is_reported_with_its_input(
    client: HTCClient, emulator: Emulator
) -> None:
    with pytest.raises(SquaringFailed) as failed:
        await squares_of(client, emulator, [2, -5, 7])
    assert failed.value.numbers == [-5]


async def test_it_rides_out_server_errors(client: HTCClient, emulator: Emulator) -> None:
    # The next two status polls get a 503: the client retries them.
    errors = emulator.faults.add(method="GET", path=SUMMARY, error_rate=1.0, times=2)
    assert await squares_of(client, emulator, [4]) == {4: 16}
    assert errors.applied == 2


async def test_a_lost_submission_response_runs_each_job_once(
    client: HTCClient, emulator: Emulator
) -> None:
    # The server creates the jobs, then the response is lost: the client must find them
    # rather than submit them again.
    lost = emulator.faults.add(method="POST", path=SUBMIT, lose_rate=1.0, times=1)
    assert await squares_of(client, emulator, [1, 2, 3]) == {1: 1, 2: 4, 3: 9}
    assert lost.applied == 1
    assert len(emulator.state.jobs) == 3


async def test_it_waits_out_rate_limits(client: HTCClient, emulator: Emulator) -> None:
    # Log reads beyond 5 per second get a 429 with Retry-After; the client waits and retries.
    limit = emulator.faults.add(method="GET", path_regex=r"/logs$", rate_limit=5.0, burst=2)
    assert await squares_of(client, emulator, [5, 6, 7, 8]) == {5: 25, 6: 36, 7: 49, 8: 64}
    assert limit.applied > 0  # that many 429s were sent, and waited out
