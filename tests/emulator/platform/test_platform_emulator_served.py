"""The platform API over real HTTP: ``serving()`` (uvicorn) and ``python -m rescale_async.emulator``."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import pytest
from platform_emulator_support import FAST_PLATFORM, analysis, job_body

from rescale_async.emulator import serving

CALL_BACK = """
import json, os, urllib.request
request = urllib.request.Request(
    os.environ["RESCALE_API_URL"] + "/users/me/",
    headers={"Authorization": "Token " + os.environ["RESCALE_API_KEY"]},
)
with urllib.request.urlopen(request) as response:
    print("ME", json.load(response)["email"], flush=True)
with open("result.bin", "wb") as out:
    out.write(bytes(range(256)) * 1024)
"""


async def test_served_platform_job_calls_back_and_its_output_downloads_in_ranges() -> None:
    async with (
        serving(platform=FAST_PLATFORM, kill_grace=0.5) as served,
        httpx.AsyncClient(
            base_url=served.platform_url + "/",
            headers={"Authorization": f"Token {served.platform_api_key}"},
        ) as http,
    ):
        assert served.platform_url == served.base_url.replace("/api/v1", "/api/v2")
        uploaded = await http.post("files/contents/", files={"file": ("call.py", CALL_BACK)})
        assert uploaded.status_code == 201
        command = f"{shlex.quote(sys.executable)} call.py"
        body = job_body(analysis(command, inputs=({"id": uploaded.json()["id"]},)))
        job_id = (await http.post("jobs/", json=body)).json()["id"]
        assert (await http.post(f"jobs/{job_id}/submit/")).status_code == 200
        with anyio.fail_after(20):
            while True:
                latest = (await http.get(f"jobs/{job_id}/statuses/")).json()["results"]
                if latest and latest[0]["status"] == "Completed":
                    break
                await anyio.sleep(0.02)
        assert latest[0]["statusReason"] == "Completed successfully"
        files = {f["name"]: f for f in (await http.get(f"jobs/{job_id}/files/")).json()["results"]}
        log = await http.get(f"files/{files['process_output.log']['id']}/lines/")
        assert log.json()["lines"] == [f"ME {served.emulator.config.user_email}\n"]

        result = files["result.bin"]
        size = result["decryptedSize"]
        assert result["downloadUrl"].startswith(served.platform_url)
        chunk = size // 4
        ranges = [(i * chunk, size + 1 if i == 3 else (i + 1) * chunk - 1) for i in range(4)]
        parts: dict[int, bytes] = {}

        async def fetch(first: int, last: int) -> None:
            response = await http.get(
                f"files/{result['id']}/contents/", headers={"Range": f"bytes={first}-{last}"}
            )
            assert response.status_code == 206
            parts[first] = response.content

        async with anyio.create_task_group() as group:
            for first, last in ranges:
                group.start_soon(fetch, first, last)
        joined = b"".join(parts[first] for first, _ in ranges)
        assert hashlib.sha512(joined).hexdigest() == result["fileChecksums"][0]["fileHash"]

        rule = served.emulator.faults.add(path="/files/{fileId}/contents/", drop_after=5000)
        received = bytearray()
        with pytest.raises(httpx.RemoteProtocolError):
            await _download_into(http, f"files/{result['id']}/contents/", received)
        assert bytes(received) == joined[:5000]  # the part that came before the cut
        served.emulator.faults.remove(rule)


async def _download_into(http: httpx.AsyncClient, path: str, received: bytearray) -> None:
    """Stream ``path`` into ``received`` as it arrives (what came before a failure stays)."""
    async with http.stream("GET", path) as stream:
        assert stream.status_code == 200
        async for piece in stream.aiter_bytes():
            received += piece


def _announcement(process: subprocess.Popen[str]) -> dict[str, str]:
    assert process.stdout is not None
    printed: dict[str, str] = {}
    while "RESCALE_API_KEY" not in printed:
        line = process.stdout.readline()
        assert line, "the emulator exited before announcing itself"
        if line.startswith("RESCALE_") and "=" in line:
            name, value = line.strip().split("=", 1)
            printed[name] = value
    return printed


@pytest.mark.timeout(60)
def test_the_served_process_announces_and_serves_both_apis(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "rescale_async.emulator",
        "--port",
        "0",
        "--api-key",
        "served-key",
        "--platform-status-delay",
        "0.01",
        "--platform-rate-limit",
        "user=0.01:3",
        "--bandwidth",
        "100000000",
        "--counters-file",
        str(tmp_path / "counters.json"),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as process:
        try:
            printed = _announcement(process)
            platform_url = printed["RESCALE_API_URL"]
            assert platform_url.endswith("/api/v2")
            assert printed["RESCALE_HTC_API_URL"] == platform_url.replace("/api/v2", "/api/v1")
            headers = {"Authorization": "Token served-key"}
            with httpx.Client(base_url=platform_url + "/", headers=headers) as http:
                assert http.get("users/me/").status_code == 200
                assert http.get("coretypes/").json()["count"] == 12
                assert http.get("analyses/").status_code == 200
                throttled = http.get("users/me/")
                assert throttled.status_code == 429  # the user scope's burst of 3 is spent
                assert int(throttled.headers["retry-after"]) > 1
                token = httpx.get(printed["RESCALE_HTC_API_URL"] + "/auth/token", headers=headers)
                assert token.status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            rest, _ = process.communicate(timeout=30)
        assert process.returncode == 0, rest
        assert "Traceback" not in rest
    counters = json.loads((tmp_path / "counters.json").read_text())
    assert counters["responses"]["GET /users/me/ 429"] == 1
    assert counters["faults"]["throttled GET /users/me/"] == 1
