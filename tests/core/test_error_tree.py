"""One exception tree in one place: the tree drawn in ``_core.exceptions`` is the classes'
real inheritance, every public error of every feature is defined there, and the cluster
errors import without asyncssh.
"""

from __future__ import annotations

import builtins
import importlib
import re
import subprocess
import sys

import httpx
import pytest

import rescale_async
from rescale_async import RescaleError
from rescale_async._core import exceptions
from rescale_async._core.asyncio_bridge import AsyncioBridge

_TREE_LINE = re.compile(r"^(?P<lead>[│├└─ ]*)(?P<name>\w+Error)\s+(?P<about>.*)$")


def _drawn_tree() -> list[tuple[int, str, str]]:
    """``(depth, class name, description)`` for each line of the module docstring's tree."""
    entries = []
    for line in (exceptions.__doc__ or "").splitlines():
        found = _TREE_LINE.match(line.removeprefix("    "))  # the docstring's indent
        if found and (found["lead"] or found["name"] == "RescaleError"):
            entries.append((len(found["lead"]) // 4, found["name"], found["about"]))
    return entries


def _error_class(name: str) -> type[BaseException]:
    found = getattr(exceptions, name, None) or getattr(builtins, name)
    assert isinstance(found, type) and issubclass(found, BaseException)
    return found


def test_the_drawn_tree_is_the_inheritance() -> None:
    entries = _drawn_tree()
    assert [name for _, name, _ in entries[:1]] == ["RescaleError"]
    assert sorted(name for _, name, _ in entries) == sorted(exceptions.__all__)
    parents: list[type[BaseException]] = []
    for depth, name, about in entries:
        cls = _error_class(name)
        del parents[depth:]
        if parents:
            assert parents[-1] in cls.__bases__, f"{name} is drawn under {parents[-1].__name__}"
        parents.append(cls)
        for other in re.findall(r"\ba (\w+Error)\b", about):  # "also a TimeoutError"
            assert issubclass(cls, _error_class(other)), f"{name} is said to be a {other}"


def test_every_error_is_a_rescale_error_exported_at_the_top() -> None:
    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        assert issubclass(cls, RescaleError)
        assert getattr(rescale_async, name) is cls, name


@pytest.mark.parametrize(
    "package",
    [
        "rescale_async",
        "rescale_async.htc.dataplane",
        "rescale_async.htc.dataplane.registry",
        "rescale_async.htc.dataplane.storage",
        "rescale_async.htc.orchestration",
        "rescale_async.platform.orchestration",
        "rescale_async._core.asyncio_bridge",
    ],
)
def test_features_export_the_errors_defined_in_core(package: str) -> None:
    module = importlib.import_module(package)
    errors = [
        name
        for name in module.__all__
        if isinstance(value := getattr(module, name), type) and issubclass(value, BaseException)
    ]
    assert errors, f"{package} exports no error"
    misplaced = [name for name in errors if getattr(module, name).__module__ != exceptions.__name__]
    assert misplaced == []


def test_the_cluster_names_import_without_asyncssh() -> None:
    code = (
        "import sys\n"
        "sys.modules['asyncssh'] = None\n"  # import asyncssh now raises ImportError
        "try:\n"
        "    import asyncssh\n"
        "except ImportError:\n"
        "    pass\n"
        "else:\n"
        "    raise SystemExit('asyncssh was not blocked')\n"
        "from rescale_async.platform.orchestration import (\n"
        "    Cluster, ClusterError, Clusters, CommandError, HostKeyError, Node)\n"
        "from rescale_async import Cluster as Top, ClusterNotReadyError\n"
        "import rescale_async.cli.platform._clusters\n"
        "assert Top is Cluster and issubclass(ClusterNotReadyError, TimeoutError)\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


async def test_a_closed_bridge_raises_a_rescale_error_that_is_still_a_runtime_error() -> None:
    bridge = AsyncioBridge("test-closed")
    await bridge.aclose()

    async def nothing() -> None:
        return None

    with pytest.raises(RescaleError, match="has been closed") as caught:
        await bridge.run(nothing)
    assert isinstance(caught.value, exceptions.BridgeClosedError)
    assert isinstance(caught.value, RuntimeError)


@pytest.mark.parametrize(
    ("content", "codes", "detail"),
    [
        (
            b'{"errors": [{"code": "DENIED", "message": "no push"}, {"code": "NAME_UNKNOWN"}]}',
            ("DENIED", "NAME_UNKNOWN"),
            "DENIED no push; NAME_UNKNOWN",
        ),
        (b"<html><title>Bad gateway</title></html>", (), "Bad Gateway"),
        (b"", (), "Bad Gateway"),
    ],
)
def test_a_registry_error_tells_the_oci_codes_of_the_body(
    content: bytes, codes: tuple[str, ...], detail: str
) -> None:
    request = httpx.Request("PUT", "https://registry.test/v2/p/manifests/1?_state=secret")
    response = httpx.Response(502, content=content, request=request)
    error = exceptions.RegistryError.answered(response, "pushing the manifest")
    assert error.status_code == 502
    assert error.codes == codes
    assert str(error) == (
        f"registry registry.test: PUT /v2/p/manifests/1 -> 502 (pushing the manifest): {detail}"
    )
    assert "secret" not in str(error)
