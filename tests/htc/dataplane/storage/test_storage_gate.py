"""The storage gate as a WSGI layer, in process over a stand-in for moto: credential checks,
scopes, faults, the request log and the control API (the real pairing is tested over HTTP).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import pytest
from werkzeug.test import Client

from rescale_async.emulator.storage import _gate
from rescale_async.emulator.storage.__main__ import main as storage_main
from rescale_async.emulator.storage._gate import SECRET_HEADER, StorageGate
from rescale_async.emulator.storage._tokens import mint

SECRET = "gate-secret"
BUCKET = "b1"
BODY = b"0123456789" * 10


class Store:
    """A stand-in for moto: answers every request 200 with ``BODY``; remembers them."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], body))
        start_response("200 OK", [("Content-Length", str(len(BODY))), ("ETag", '"e"')])
        return [BODY[:50], BODY[50:]]


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def client(store: Store) -> Client:
    return Client(StorageGate(store, SECRET))


def headers(prefix: str = "projects/p/", **mint_args: Any) -> dict[str, str]:
    credentials, _ = mint(SECRET, bucket=BUCKET, prefix=prefix, lifetime=60, **mint_args)
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={credentials['AWS_ACCESS_KEY_ID']}/x",
        "X-Amz-Security-Token": credentials["AWS_SESSION_TOKEN"],
    }


def control(client: Client, method: str, name: str, body: Any = None) -> Any:
    answer = client.open(
        f"/_rescale/{name}",
        method=method,
        json=body,
        headers={SECRET_HEADER: SECRET},
    )
    assert answer.status_code == 200, answer.text
    return answer.json


def test_good_credentials_reach_the_store_in_their_scope(client: Client, store: Store) -> None:
    given = headers()
    assert client.get(f"/{BUCKET}/projects/p/a.txt", headers=given).data == BODY
    listing = client.get(f"/{BUCKET}?list-type=2&prefix=projects/p/x", headers=given)
    assert listing.status_code == 200
    delete = (
        "<Delete><Object><Key>projects/p/a</Key></Object>"
        "<Object><Key>projects/p/b</Key></Object></Delete>"
    )
    answer = client.post(f"/{BUCKET}?delete", data=delete, headers=given)
    assert answer.status_code == 200
    assert store.seen[-1][2] == delete.encode()  # the body read for the check is passed on
    assert [r["status"] for r in control(client, "GET", "requests")["requests"]] == [200] * 3


@pytest.mark.parametrize(
    ("request_line", "body"),
    [
        ("GET /b1/projects/q/a.txt", b""),
        ("GET /b1?list-type=2&prefix=projects/", b""),
        ("GET /b1?uploads", b""),
        ("GET /", b""),
        ("POST /b1?delete", b"<Delete><Object><Key>projects/q/a</Key></Object></Delete>"),
        ("POST /b1?delete", b"not xml"),
    ],
)
def test_out_of_scope_requests_are_denied(client: Client, request_line: str, body: bytes) -> None:
    method, path = request_line.split(" ", 1)
    answer = client.open(path, method=method, data=body, headers=headers())
    assert answer.status_code == 403 and b"<Code>AccessDenied</Code>" in answer.data


def test_expiry_and_revocation(client: Client) -> None:
    expired = headers(now=time.time() - 120)
    answer = client.get(f"/{BUCKET}/projects/p/a", headers=expired)
    assert answer.status_code == 400 and b"ExpiredToken" in answer.data
    assert client.head(f"/{BUCKET}/projects/p/a", headers=expired).data == b""  # HEAD: no body

    given = headers()
    control(client, "POST", "expire", {"after_requests": 2})
    assert client.get(f"/{BUCKET}/projects/p/a", headers=given).status_code == 200
    assert client.get(f"/{BUCKET}/projects/p/a", headers=given).status_code == 200
    assert client.get(f"/{BUCKET}/projects/p/a", headers=given).status_code == 400
    assert client.get(f"/{BUCKET}/projects/p/a", headers=headers()).status_code == 200
    control(client, "POST", "expire")
    assert client.get(f"/{BUCKET}/projects/p/a", headers=given).status_code == 400


def test_faults_answer_corrupt_or_cut(client: Client) -> None:
    control(
        client,
        "POST",
        "faults",
        {
            "faults": [
                {"method": "GET", "key": "err", "status": 503, "code": "SlowDown", "times": 1},
                {"method": "GET", "key": "bad", "corrupt": True},
                {"method": "GET", "key": "cut", "range_start": 10, "truncate": 55, "x": 1},
            ]
        },
    )
    given = headers()
    answer = client.get(f"/{BUCKET}/projects/p/err", headers=given)
    assert answer.status_code == 503 and b"SlowDown" in answer.data
    assert client.get(f"/{BUCKET}/projects/p/err", headers=given).status_code == 200  # once
    corrupted = client.get(f"/{BUCKET}/projects/p/bad", headers=given).data
    assert corrupted != BODY and corrupted[1:] == BODY[1:]
    assert client.get(f"/{BUCKET}/projects/p/cut", headers=given).data == BODY  # no range
    with pytest.raises(_gate.DroppedConnection):
        client.get(f"/{BUCKET}/projects/p/cut", headers={**given, "Range": "bytes=10-"}).get_data()
    control(client, "DELETE", "faults")
    control(client, "DELETE", "requests")
    assert control(client, "GET", "requests") == {"requests": []}


def test_the_control_api_refuses_strangers_and_nonsense(client: Client) -> None:
    assert client.get("/_rescale/health").json == {"ok": True}
    assert client.get("/_rescale/requests").status_code == 403
    wrong = client.get("/_rescale/requests", headers={SECRET_HEADER: "nope"})
    assert wrong.status_code == 403
    unknown = client.get("/_rescale/nothing", headers={SECRET_HEADER: SECRET})
    assert unknown.status_code == 404
    bad = client.post("/_rescale/faults", data="[1]", headers={SECRET_HEADER: SECRET})
    assert bad.status_code == 400
    malformed = client.post(
        "/_rescale/buckets", data=json.dumps({"buckets": [{}]}), headers={SECRET_HEADER: SECRET}
    )
    assert malformed.status_code == 400


def test_the_server_needs_its_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RESCALE_EMULATOR_STORAGE_SECRET", raising=False)
    assert storage_main([]) == 2
    assert "RESCALE_EMULATOR_STORAGE_SECRET" in capsys.readouterr().err
