"""The package's architecture: each layer imports only the layers below it, each API package
only the shared core and itself, and no module imports itself back through others.

Every import statement counts, wherever it stands (module level, ``TYPE_CHECKING`` or inside a
function): a circle hidden in a function is a circle all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rescale_async"

# module prefix -> the prefixes it may import from rescale_async (its own prefix always)
ALLOWED: dict[str, tuple[str, ...]] = {
    "rescale_async._core": ("rescale_async._version",),
    "rescale_async.htc.types": ("rescale_async._core.models",),
    "rescale_async.htc.resources": ("rescale_async._core", "rescale_async.htc.types"),
    "rescale_async.htc.dataplane": (
        "rescale_async._core",
        "rescale_async.htc.types",
        "rescale_async.htc.resources",
    ),
    "rescale_async.htc.orchestration": (
        "rescale_async._core",
        "rescale_async.htc.types",
        "rescale_async.htc.resources",
        "rescale_async.htc.dataplane",
    ),
    "rescale_async.htc": ("rescale_async._core",),
    "rescale_async.platform.types": ("rescale_async._core.models",),
    "rescale_async.platform.resources": ("rescale_async._core", "rescale_async.platform.types"),
    "rescale_async.platform.orchestration": (
        "rescale_async._core",
        "rescale_async.platform.types",
        "rescale_async.platform.resources",
    ),
    "rescale_async.platform": ("rescale_async._core",),
    "rescale_async.emulator": ("rescale_async.htc.types", "rescale_async._core.asyncio_bridge"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(module: str) -> Iterator[str]:
    """The rescale_async modules ``module`` imports (a name imported from a package counts as
    its submodule when there is one).
    """
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            if not source.startswith("rescale_async"):
                continue
            submodules = [
                f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in MODULES
            ]
            yield from submodules or [source]
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("rescale_async"))


GRAPH = {module: set(imports_of(module)) - {module} for module in MODULES}

# (module, import) pairs allowed across the layers, and why
EXCEPTIONS = {
    ("rescale_async.emulator._emulator", "rescale_async.htc.client"): "emu.client() builds one "
    "for the caller (imported inside that method); the emulator itself never uses a client",
    ("rescale_async.emulator._server", "rescale_async.htc.client"): "the same, for a type hint",
    ("rescale_async.emulator._emulator", "rescale_async.platform.client"): "emu.platform_client()"
    ", likewise",
    (
        "rescale_async.emulator._server",
        "rescale_async.platform.client",
    ): "the same, for a type hint",
}


def rule_for(module: str) -> tuple[str, tuple[str, ...]] | None:
    matches = [p for p in ALLOWED if module == p or module.startswith(p + ".")]
    if not matches:
        return None
    prefix = max(matches, key=len)
    return prefix, ALLOWED[prefix]


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_the_layers_below(layer: str) -> None:
    members = [m for m in MODULES if (rule := rule_for(m)) is not None and rule[0] == layer]
    assert members, f"{layer} has no modules"
    for module in members:
        allowed = (layer, *ALLOWED[layer])
        bad = sorted(
            i
            for i in GRAPH[module]
            if not any(within(i, a) for a in allowed) and (module, i) not in EXCEPTIONS
        )
        assert not bad, f"{module} imports {bad}, above or beside its layer"


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_in_the_package() -> None:
    assert circles(GRAPH) == []


def test_the_circle_finder_finds_circles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(graph) == [["a", "b", "c"]]
