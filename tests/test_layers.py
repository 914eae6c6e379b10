"""Each layer is importable without the layers above it (checked on the import statements)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rescale_async"

# layer -> the packages/modules it must never import at module level
FORBIDDEN = {
    "_core": {"types", "resources", "_client", "emulator", "orchestration", "cli", "demo"},
    "types": {"_core", "resources", "_client", "emulator", "orchestration", "cli", "demo"},
    "resources": {"_client", "emulator", "orchestration", "cli", "demo"},
    "emulator": {"_client", "resources", "orchestration", "cli", "demo"},
    "orchestration": {"_client", "emulator", "cli", "demo"},
}


def top_level_imports(path: Path) -> set[str]:
    """First component below rescale_async of every module-level import in ``path``."""
    relative = path.relative_to(PACKAGE).with_suffix("")
    package = list(relative.parts[:-1])
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                parts = [*base, *(node.module.split(".") if node.module else [])]
                if not parts:  # "from .. import x": x is the submodule
                    parts = [alias.name for alias in node.names]
                found.add(parts[0])
            elif node.module and node.module.startswith("rescale_async."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {
                a.name.split(".")[1] for a in node.names if a.name.startswith("rescale_async.")
            }
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_does_not_import_upwards(layer: str) -> None:
    files = sorted((PACKAGE / layer).rglob("*.py"))
    if not files:
        pytest.skip(f"{layer} does not exist yet")
    for path in files:
        bad = top_level_imports(path) & FORBIDDEN[layer]
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)} from a higher layer"
