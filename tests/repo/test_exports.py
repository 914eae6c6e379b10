"""The top level's public names: each loads on first use from the module that defines it, the
static imports type checkers read say the same, and one API's names do not load the other API.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import rescale_async

INIT = Path(rescale_async.__file__)


def _type_checking_imports() -> dict[str, tuple[str, ...]]:
    tree = ast.parse(INIT.read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If))
    return {
        "." * node.level + (node.module or ""): tuple(alias.name for alias in node.names)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
    }


def test_all_the_export_table_and_the_static_imports_agree() -> None:
    exported = {name for names in rescale_async._EXPORTS.values() for name in names}
    assert set(rescale_async.__all__) == exported | {"__version__"}
    assert len(rescale_async.__all__) == len(set(rescale_async.__all__))
    assert _type_checking_imports() == rescale_async._EXPORTS


@pytest.mark.parametrize("name", sorted(rescale_async._MODULE_OF))
def test_each_name_is_the_object_its_module_defines(name: str) -> None:
    module = importlib.import_module(rescale_async._MODULE_OF[name], "rescale_async")
    assert getattr(rescale_async, name) is getattr(module, name)
    assert name in dir(rescale_async)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'HTCClinet'"):
        _ = rescale_async.HTCClinet


@pytest.mark.parametrize(
    ("statement", "absent"),
    [
        ("from rescale_async import PlatformClient", "rescale_async.htc"),
        ("from rescale_async import HTCClient", "rescale_async.platform"),
        ("import rescale_async", "rescale_async._core.pipeline"),
    ],
)
def test_one_api_does_not_load_the_other(statement: str, absent: str) -> None:
    code = (
        f"{statement}\nimport sys\n"
        f"print(sorted(m for m in sys.modules if m == {absent!r} or m.startswith({absent!r} + '.')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
