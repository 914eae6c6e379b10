"""The emulator's storage: tokens with real credentials for moto's S3 behind the storage gate,
the gate refusing what S3 would refuse (expired, forged, foreign or out-of-scope tokens),
``--with-storage``, and a real job (a host process using the SDK from its environment alone)
uploading its result to its task's storage for the orchestrating program to download.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import httpx
import pytest
from storage_support import FAST, new_task, running_storage, storage_emulator

from rescale_async.emulator import __main__ as emulator_main
from rescale_async.emulator import serving
from rescale_async.emulator.storage import StorageServer, bucket_for
from rescale_async.emulator.storage._presign import presigned_put_url
from rescale_async.emulator.storage._tokens import mint


@pytest.fixture(scope="module")
def storage() -> Iterator[StorageServer]:
    yield from running_storage()


def signed(credentials: dict[str, str]) -> dict[str, str]:
    """Headers of a request as S3 clients send them (the gate does not check signatures)."""
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={credentials['AWS_ACCESS_KEY_ID']}/"
        "20240101/us-east-2/s3/aws4_request, SignedHeaders=host, Signature=0",
        "X-Amz-Security-Token": credentials["AWS_SESSION_TOKEN"],
    }


async def test_tokens_carry_credentials_for_the_area(storage: StorageServer) -> None:
    async with storage_emulator(storage, storage_token_lifetime=900) as emu, emu.client() as client:
        task = await new_task(client, emu.project_id)
        before = datetime.now(timezone.utc)
        token = await client.storage.token(task)
        after = datetime.now(timezone.utc)
        shared = await client.storage.token(emu.project_id, region="AWS_US_EAST_2")
        regional = await client.storage.regional(task)
    bucket = bucket_for("AWS_US_EAST_2")
    assert token.credentials is not None and shared.credentials is not None
    keys = {name: value.get_secret_value() for name, value in token.credentials.items()}
    assert sorted(keys) == [
        "AWS_ACCESS_KEY_ID",
        "AWS_ENDPOINT_URL",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ]
    assert keys["AWS_ENDPOINT_URL"] == storage.endpoint
    assert keys["AWS_ACCESS_KEY_ID"] != shared.credentials["AWS_ACCESS_KEY_ID"].get_secret_value()
    assert token.storage_name == bucket
    assert (token.model_extra or {})["storagePath"] == (
        f"s3://{bucket}/projects/{emu.project_id}/tasks/{task.task_id}/"
    )
    assert shared.project_shared_storage_path == f"s3://{bucket}/projects/{emu.project_id}/shared/"
    assert token.expiration is not None
    lifetime = timedelta(seconds=900)  # issued between before and after, to the second
    assert before + lifetime - timedelta(seconds=1) <= token.expiration <= after + lifetime
    (store,) = regional.regional_stores or []
    assert store.task_path == f"s3://{bucket}/projects/{emu.project_id}/tasks/{task.task_id}/"
    assert keys["AWS_SECRET_ACCESS_KEY"] not in repr(token)
    assert keys["AWS_SESSION_TOKEN"] not in repr(token)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ("none", 200, None),
        ("expired", 400, "ExpiredToken"),
        ("forged", 400, "InvalidToken"),
        ("other key", 403, "InvalidAccessKeyId"),
        ("no token", 403, "InvalidAccessKeyId"),
        ("other area", 403, "AccessDenied"),
        ("other bucket", 403, "AccessDenied"),
    ],
)
async def test_the_gate_refuses_what_s3_would(
    storage: StorageServer, change: str, status: int, code: str | None
) -> None:
    async with storage_emulator(storage):  # creates the bucket
        pass
    bucket, prefix = bucket_for("AWS_US_EAST_2"), "projects/p/tasks/t/"
    issued = time.time() - (100 if change == "expired" else 0)
    credentials, _ = mint(storage.secret, bucket=bucket, prefix=prefix, lifetime=60, now=issued)
    headers = signed(credentials)
    key = prefix + "file.txt"
    if change == "forged":
        headers["X-Amz-Security-Token"] = credentials["AWS_SESSION_TOKEN"][:-4] + "AAAA"
    elif change == "other key":
        headers["Authorization"] = headers["Authorization"].replace(
            "Credential=ASIA", "Credential=ASIB"
        )
    elif change == "no token":
        del headers["X-Amz-Security-Token"]
    elif change == "other area":
        key = "projects/p/tasks/other/file.txt"
    elif change == "other bucket":
        bucket = "another-bucket"
    async with httpx.AsyncClient() as http:
        answer = await http.put(f"{storage.endpoint}/{bucket}/{key}", content=b"x", headers=headers)
    assert answer.status_code == status, answer.text
    if code is not None:
        assert f"<Code>{code}</Code>" in answer.text


async def test_a_presigned_url_expires(storage: StorageServer) -> None:
    async with storage_emulator(storage):
        pass
    bucket = bucket_for("AWS_US_EAST_2")
    credentials, _ = mint(storage.secret, bucket=bucket, prefix="projects/", lifetime=3600)
    old = datetime.now(timezone.utc) - timedelta(seconds=120)
    url = presigned_put_url(
        storage.endpoint,
        bucket,
        "projects/a.txt",
        credentials,
        region="us-east-2",
        expires_in=60,
        now=old,
    )
    async with httpx.AsyncClient() as http:
        answer = await http.put(url, content=b"late")
    assert answer.status_code == 403 and "Request has expired" in answer.text


async def test_the_control_api_needs_the_secret(storage: StorageServer) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{storage.endpoint}/_rescale/health")).status_code == 200
        answer = await http.get(f"{storage.endpoint}/_rescale/requests")
        assert answer.status_code == 403
        answer = await http.get(
            f"{storage.endpoint}/_rescale/requests", headers={"X-Rescale-Gate-Secret": "guess"}
        )
        assert answer.status_code == 403


def test_with_storage_serves_a_working_s3_and_stops_it(tmp_path: Any) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "rescale_async.emulator", "--port", "0", "--with-storage"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        (announced,) = [line for line in lines if line.startswith("  storage: S3 at ")]
        endpoint = announced.split()[3]
        assert httpx.get(f"{endpoint}/_rescale/health", timeout=10).status_code == 200
    finally:
        process.send_signal(2)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{endpoint}/_rescale/health", timeout=5)


def test_with_storage_without_moto_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(emulator_main, "moto_installed", lambda: False)
    assert emulator_main.main(["--with-storage"]) == 1
    assert "pip install 'moto[server]'" in capsys.readouterr().err


JOB = """
import pathlib, sys, anyio
from rescale_async import HTCClient, current_region, current_task

async def main():
    pathlib.Path("out").mkdir()
    pathlib.Path("out/result.txt").write_text("answer=42 from " + current_task().task_id)
    async with HTCClient() as client:  # the job's bearer token and API URL, from its env
        done = await client.storage.upload(current_task(), "out", "results", region=current_region())
    print("uploaded", [o.key for o in done.transferred])

anyio.run(main, backend=sys.argv[1])
"""


async def test_a_job_uploads_its_result_and_the_caller_downloads_it(
    storage: StorageServer, tmp_path: Any, anyio_backend: str
) -> None:
    request = {
        "batchSize": 1,
        "htcJobDefinition": {
            "imageName": "python:3.11",
            "commands": [sys.executable, "-c", JOB, anyio_backend],  # the job's loop: this one's
            "execTimeoutSeconds": 120,
        },
    }
    async with serving(**FAST, **storage.config()) as served, served.client() as client:
        task = await new_task(client, served.project_id, "in-job")
        (submitted,) = await client.jobs.submit_batch(task, request)
        with anyio.fail_after(60):
            (job,) = await served.call(served.emulator.wait_for_jobs, submitted.job_ids)
        assert job.live.status == "SUCCEEDED", served.emulator.state.logs.get(job.job_id)
        result = await client.storage.download(task, "results", tmp_path / "results")
    assert [o.key for o in result.transferred] == ["results/result.txt"]
    assert (tmp_path / "results" / "result.txt").read_text() == f"answer=42 from {task.task_id}"
