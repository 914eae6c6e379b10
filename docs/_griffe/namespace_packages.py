"""A Griffe extension for the API reference: load ``rescale_async.resources``.

That directory has no ``__init__.py``, so Python imports it as an implicit namespace package,
but Griffe (mkdocstrings' loader) skips namespace packages inside regular packages, and every
name re-exported from it (``TaskRef``, ``JobRef``, the resource classes) would fail to
resolve. This extension adds the missing package and its modules once the package is loaded.
It does nothing for a directory that has an ``__init__.py``: once the package has one, delete
this file and its line in ``mkdocs.yml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import griffe

PACKAGE = "rescale_async"


class NamespaceSubpackages(griffe.Extension):
    """Load the ``__init__``-less subpackages of ``rescale_async`` (one level deep)."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if pkg.name != PACKAGE or not isinstance(pkg.filepath, Path):
            return
        for directory in sorted(pkg.filepath.parent.iterdir()):
            if (
                not directory.is_dir()
                or directory.name in pkg.members
                or (directory / "__init__.py").exists()
                or not any(directory.glob("*.py"))
            ):
                continue
            namespace = griffe.Module(directory.name, filepath=[directory], parent=pkg)
            pkg.set_member(directory.name, namespace)
            for path in sorted(directory.glob("*.py")):
                module = griffe.visit(
                    path.stem,
                    filepath=path,
                    code=path.read_text(encoding="utf-8"),
                    extensions=loader.extensions,
                    parent=namespace,
                    docstring_parser=loader.docstring_parser,
                    docstring_options=loader.docstring_options,
                    lines_collection=loader.lines_collection,
                    modules_collection=loader.modules_collection,
                )
                namespace.set_member(path.stem, module)
