"""Transfers over real sockets: the emulator served by uvicorn, the SDK over HTTP."""

from __future__ import annotations

from pathlib import Path

import anyio
from emulated_platform import platform_client, tutorial_inputs, tutorial_job
from transfer_support import MiB, content_of, facades, sha512

from rescale_async.emulator import PlatformConfig, serving


async def test_a_ranged_download_over_http_survives_dropped_connections(tmp_path: Path) -> None:
    data = content_of(6 * MiB)
    async with serving(seed=7, platform=PlatformConfig(status_delay=0.01)) as served:
        emulator = served.emulator
        record = await served.call(emulator.platform.add_file, "big.bin", data)
        cut = emulator.faults.add(
            method="GET", path="/files/{fileId}/contents/", drop_after=300_000, times=2
        )
        async with platform_client(emulator) as client:
            _, files = facades(client)
            with anyio.fail_after(60):
                done = await files.download(
                    record.file_id, tmp_path / "big.bin", chunk_size=MiB, connections=4
                )
                # the tutorial's run, inputs up and outputs down over HTTP
                run = await client.jobs.run(
                    tutorial_job(), tutorial_inputs(tmp_path), tmp_path / "out", interval=0.01
                )
        requests = emulator.counters.requests["GET /files/{fileId}/contents/"]
    assert done.verified and (tmp_path / "big.bin").read_bytes() == data
    assert done.digest == sha512(data)
    assert cut.applied == 2 and requests >= 6 + 2  # every chunk, plus the rest of two cut ones
    assert run.succeeded and (tmp_path / "out" / "pi_estimate.res").read_text().startswith("3.14")
