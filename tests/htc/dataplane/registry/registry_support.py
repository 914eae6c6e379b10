"""Helpers for the registry tests: the real ``docker-registry``, a fault layer in front of it
reproducing ECR's deviations, an emulator pointed at either, and images built in Python.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import secrets
import socket
import tarfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.from_thread
import httpx
import pytest
import uvicorn

from rescale_async.emulator import Emulator, LocalRegistry, local_registry, registry_missing
from rescale_async.htc.dataplane import build_oci_layout

FAST: dict[str, Any] = {"refresh_interval": 0.02, "seed": 7, "kill_grace": 0.5}

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


# ---------------------------------------------------------------------- the real registry


@dataclass
class RunningRegistry:
    """The Debian registry on loopback (run by a thread of its own)."""

    registry: LocalRegistry

    @property
    def address(self) -> str:
        return self.registry.address

    @property
    def password(self) -> str:
        return self.registry.password


@contextmanager
def running_registry(
    storage: Literal["memory", "filesystem"] = "memory",
) -> Iterator[RunningRegistry]:
    """``docker-registry`` on a free port (skipped when not installed, except in CI), its
    blobs in memory (the filesystem for big ones: the memory driver slows down past MiBs).
    """
    missing = registry_missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI must run these tests (.ci/run installs both)")
        pytest.skip(missing)
    with (
        anyio.from_thread.start_blocking_portal("asyncio") as portal,
        portal.wrap_async_context_manager(local_registry(storage=storage)) as registry,
    ):
        yield RunningRegistry(registry)


@asynccontextmanager
async def registry_emulator(
    address: str, password: str, **overrides: Any
) -> AsyncIterator[Emulator]:
    """An in-process emulator whose projects' registry is the one at ``address``."""
    settings = {**FAST, **overrides}
    async with Emulator(
        registry_address=address, registry_password=password, **settings
    ) as emulator:
        yield emulator


async def registry_get(
    address: str, password: str, path: str, *, accept: str = "*/*"
) -> httpx.Response:
    """A GET straight to the registry (what it really holds)."""
    async with httpx.AsyncClient(base_url=f"http://{address}") as http:
        return await http.get(path, auth=("AWS", password), headers={"Accept": accept})


# ---------------------------------------------------------------------- the fault layer


@dataclass
class Seen:
    """A request the fault layer saw, and what it answered."""

    method: str
    path: str
    host: str
    authorization: str | None
    status: int = 0


@dataclass
class Fault:
    """Answer the ``nth`` (1-based) request matching ``method`` and ``contains`` with
    ``status`` instead of forwarding it (after reading its body, as a server would).
    """

    method: str
    contains: str
    nth: int
    status: int
    hits: int = 0


@dataclass
class _Session:
    received: int = 0
    first_range: str | None = None


@dataclass
class RegistryProxy:
    """An ASGI layer in front of the real registry that counts what passes and plays the
    registry ECR is: 201 (not 202) to a PATCH, a ``Range`` stuck at the first chunk, 416 to a
    session restarted from byte 0; plus injected failures, a redirect of blob HEADs to
    "storage" on another host, and bearer-token auth with a realm.
    """

    upstream: str
    password: Callable[[], str]
    address: str = ""
    ecr: bool = False
    redirect_heads: bool = False
    bearer: bool = False
    faults: list[Fault] = field(default_factory=list)
    before: Callable[[Seen], Awaitable[None]] | None = None
    """Awaited before each registry request is handled (e.g. to expire the token)."""
    seen: list[Seen] = field(default_factory=list)
    storage: list[Seen] = field(default_factory=list)
    realm: list[Seen] = field(default_factory=list)
    blob_bytes: int = 0
    """Bytes of blob uploads (PUT and PATCH bodies) that reached the registry."""
    refused_restarts: int = 0
    _sessions: dict[str, _Session] = field(default_factory=dict)
    _tokens: set[str] = field(default_factory=set)
    _http: httpx.AsyncClient | None = None

    def count(self, method: str, contains: str = "") -> int:
        return sum(1 for s in self.seen if s.method == method and contains in s.path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        seen = Seen(
            scope["method"], scope["path"], headers.get("host", ""), headers.get("authorization")
        )
        if seen.path.startswith("/storage/"):
            self.storage.append(seen)
            await _respond(send, 404, {"content-length": "0"})
            return
        if seen.path == "/token":
            await self._issue(seen, scope, send)
            return
        self.seen.append(seen)
        if self.before is not None:
            await self.before(seen)
        body = await _body(receive)
        status, answer, content = await self._handle(seen, scope, headers, body)
        seen.status = status
        await _respond(send, status, answer, content)

    async def _handle(
        self, seen: Seen, scope: Scope, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        for fault in self.faults:
            if fault.method == seen.method and fault.contains in seen.path:
                fault.hits += 1
                if fault.hits == fault.nth:
                    return fault.status, {"content-length": "0"}, b""
        if self.bearer:
            token = (seen.authorization or "").removeprefix("Bearer ")
            if token not in self._tokens:
                realm = f"http://localhost:{self.address.rsplit(':', 1)[1]}/token"
                challenge = f'Bearer realm="{realm}",service="test-registry"'
                return 401, {"www-authenticate": challenge, "content-length": "0"}, b""
            headers["authorization"] = _basic(self.password())
        if self.redirect_heads and seen.method == "HEAD" and "/blobs/sha256:" in seen.path:
            digest = seen.path.rsplit("/", 1)[1]
            where = f"http://localhost:{self.address.rsplit(':', 1)[1]}/storage/{digest}"
            return 307, {"location": where, "content-length": "0"}, b""
        uploading = "/blobs/uploads/" in seen.path and seen.method in ("PUT", "PATCH")
        session_id = seen.path.rsplit("/", 1)[1]
        session = self._sessions.setdefault(session_id, _Session()) if uploading else None
        if self.ecr and session is not None and seen.method == "PATCH":
            start = headers.get("content-range", "0-").split("-", 1)[0]
            if start == "0" and session.received:
                self.refused_restarts += 1
                return 416, {"content-length": "0"}, b""
        if uploading:
            self.blob_bytes += len(body)
            if session is not None:
                session.received += len(body)
        response = await self._forward(scope, headers, body)
        answer = {
            k.lower(): v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding", "connection")
        }
        answer["content-length"] = str(len(response.content))
        status = response.status_code
        if self.ecr and session is not None and seen.method == "PATCH" and status == 202:
            status = 201
            if session.first_range is None:
                session.first_range = answer.get("range")
            elif session.first_range is not None:
                answer["range"] = session.first_range  # stale, as ECR's
        return status, answer, response.content

    async def _forward(self, scope: Scope, headers: dict[str, str], body: bytes) -> httpx.Response:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=60)
        query = scope.get("query_string", b"").decode()
        url = f"http://{self.upstream}{scope['path']}" + (f"?{query}" if query else "")
        sent = {
            k: v for k, v in headers.items() if k not in ("content-length", "transfer-encoding")
        }
        sent["host"] = self.address  # so the registry's Location headers point back here
        return await self._http.request(scope["method"], url, headers=sent, content=body)

    async def _issue(self, seen: Seen, scope: Scope, send: Send) -> None:
        """The bearer realm: a token for Basic ``AWS:<registry password>``."""
        self.realm.append(seen)
        if seen.authorization != _basic(self.password()):
            await _respond(send, 401, {"content-length": "0"})
            return
        token = secrets.token_urlsafe(16)
        self._tokens.add(token)
        content = json.dumps({"token": token}).encode()
        await _respond(
            send,
            200,
            {"content-type": "application/json", "content-length": str(len(content))},
            content,
        )


def _basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"AWS:{password}".encode()).decode()


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Send, status: int, headers: dict[str, str], body: bytes = b"") -> None:
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def serving_proxy(proxy: RegistryProxy) -> Iterator[RegistryProxy]:
    """Serve ``proxy`` with uvicorn on a free loopback port, from a thread of its own."""
    with (
        anyio.from_thread.start_blocking_portal("asyncio") as portal,
        portal.wrap_async_context_manager(_uvicorn(proxy)) as address,
    ):
        proxy.address = address
        yield proxy


@asynccontextmanager
async def _uvicorn(app: RegistryProxy) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    address = f"127.0.0.1:{sock.getsockname()[1]}"
    app.address = address
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_config=None, access_log=False, log_level="warning")
    )
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(server.serve, [sock])
            while not server.started:  # noqa: ASYNC110 - uvicorn offers no event
                await anyio.sleep(0.005)
            try:
                yield address
            finally:
                server.should_exit = True
    finally:
        sock.close()
        if app._http is not None:
            await app._http.aclose()


# ---------------------------------------------------------------------- images


def small_layout(root: Path, name: str = "image", **files: bytes) -> Path:
    """An OCI image layout of one small layer (``files``, or a default pair)."""
    content = {path.replace("__", "/"): data for path, data in files.items()} or {
        "app/run.py": b"print('hello from the image')\n",
        "app/data.txt": b"some data\n" * 100,
    }
    return build_oci_layout(root / name, content, cmd=["python", "/app/run.py"])


def tar_of(directory: Path, target: Path, extra: dict[str, bytes] | None = None) -> Path:
    """``directory``'s files as an uncompressed tar (members relative to it), plus ``extra``."""
    with tarfile.open(target, "w") as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(directory)), recursive=False)
        for name, data in (extra or {}).items():
            _add(tar, name, data)
    return target


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def layer_tar(files: dict[str, bytes]) -> bytes:
    """An uncompressed layer tar holding ``files``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            _add(tar, name, data)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def legacy_docker_save(
    target: Path, layers: list[dict[str, bytes]], *, link_last: bool = False
) -> Path:
    """A ``docker save`` archive as Docker before 25 wrote it: ``manifest.json``, the config
    ``<digest>.json`` and ``<id>/layer.tar`` per layer (``link_last``: the last layer a
    symlink to the first's, as docker writes repeated layers).
    """
    tars = [layer_tar(files) for files in layers]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(data) for data in tars]},
    }
    config_bytes = json.dumps(config).encode()
    config_name = f"{sha256(config_bytes).removeprefix('sha256:')}.json"
    names = [f"layer{i}/layer.tar" for i in range(len(tars))]
    manifest = [{"Config": config_name, "RepoTags": ["app:latest"], "Layers": names}]
    with tarfile.open(target, "w") as tar:
        _add(tar, config_name, config_bytes)
        for index, (name, data) in enumerate(zip(names, tars, strict=True)):
            if link_last and index == len(tars) - 1 and index > 0:
                info = tarfile.TarInfo(name)
                info.type = tarfile.SYMTYPE
                info.linkname = "../layer0/layer.tar"
                tar.addfile(info)
            else:
                _add(tar, name, data)
        _add(tar, "manifest.json", json.dumps(manifest).encode())
        _add(tar, "repositories", b'{"app":{"latest":"x"}}')
    return target


def docker25_save(root: Path, target: Path) -> Path:
    """A ``docker save`` archive as Docker 25+ writes it: an OCI layout whose index names the
    image, plus the legacy ``manifest.json`` pointing into ``blobs/``.
    """
    layout = small_layout(root, "docker25")
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"]
    manifest = json.loads((layout / "blobs" / "sha256" / manifest_digest[7:]).read_text())
    index["manifests"][0]["annotations"] = {
        "io.containerd.image.name": "docker.io/library/app:latest",
        "org.opencontainers.image.ref.name": "latest",
    }
    (layout / "index.json").write_text(json.dumps(index))
    legacy = [
        {
            "Config": f"blobs/sha256/{manifest['config']['digest'][7:]}",
            "RepoTags": ["app:latest"],
            "Layers": [f"blobs/sha256/{layer['digest'][7:]}" for layer in manifest["layers"]],
        }
    ]
    return tar_of(layout, target, {"manifest.json": json.dumps(legacy).encode()})


def multi_platform_layout(root: Path) -> Path:
    """An OCI layout of an index over two platform images (amd64, arm64)."""
    amd = build_oci_layout(root / "amd64", {"arch": b"amd64\n"}, architecture="amd64")
    arm = build_oci_layout(root / "arm64", {"arch": b"arm64\n"}, architecture="arm64")
    layout = root / "multi"
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    descriptors = []
    for single in (amd, arm):
        for blob in (single / "blobs" / "sha256").iterdir():
            (blobs / blob.name).write_bytes(blob.read_bytes())
        descriptors.append(json.loads((single / "index.json").read_text())["manifests"][0])
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": descriptors,
    }
    index_bytes = json.dumps(index).encode()
    (blobs / sha256(index_bytes)[7:]).write_bytes(index_bytes)
    top = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": sha256(index_bytes),
        "size": len(index_bytes),
    }
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return layout
