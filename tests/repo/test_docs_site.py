"""The docs site cannot rot silently: every page is in the nav and every nav entry is a page,
internal links point at pages, Python samples compile, and the API reference names objects
that exist. (The strict build itself, ``mkdocs build --strict``, is the ``docs`` nox session.)
"""

from __future__ import annotations

import ast
import configparser
import importlib
import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

yaml: Any = importlib.import_module("yaml")  # PyYAML, a test dependency (used untyped)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)[^\n]*$")
LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")
IDENTIFIER = re.compile(r"^:::[ \t]+(?P<identifier>[\w.]+)[ \t]*$", re.MULTILINE)


def pages() -> list[Path]:
    """Every Markdown page under docs/, as a path relative to it."""
    return sorted(path.relative_to(DOCS) for path in DOCS.rglob("*.md"))


def nav_entries(node: Any) -> list[str]:
    """The page paths of a mkdocs ``nav`` (nested lists of ``{title: page or [...]}``)."""
    if isinstance(node, str):
        return [] if "://" in node else [node]
    if isinstance(node, list):
        return [page for item in node for page in nav_entries(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in nav_entries(value)]
    raise AssertionError(f"unexpected nav entry {node!r}")


def code_blocks(text: str) -> list[tuple[int, str, str]]:
    """``(line, language, code)`` for every fenced block, dedented (blocks in lists too)."""
    blocks = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, indent = opening["fence"], opening["indent"]
        start = index + 1
        index = start
        while index < len(lines):
            closing = FENCE.match(lines[index])
            if closing and closing["fence"].startswith(fence) and not closing["lang"]:
                break
            index += 1
        body = "\n".join(line.removeprefix(indent) for line in lines[start:index])
        blocks.append((start, opening["lang"].lower(), textwrap.dedent(body) + "\n"))
        index += 1
    return blocks


def samples(*languages: str) -> list[tuple[str, int, str]]:
    """``(page, line, code)`` of every fenced block in one of ``languages``."""
    return [
        (str(page), line, code)
        for page in pages()
        for line, language, code in code_blocks((DOCS / page).read_text(encoding="utf-8"))
        if language in languages
    ]


def python_samples() -> list[tuple[str, int, str]]:
    return samples("python", "py", "python3")


def test_every_page_is_in_the_nav_and_every_nav_entry_is_a_page() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    entries = nav_entries(config["nav"])
    assert len(entries) == len(set(entries)), "a page appears twice in the nav"
    documented = {Path(entry) for entry in entries}
    assert sorted(map(str, documented - set(pages()))) == [], "nav entries without a page"
    assert sorted(map(str, set(pages()) - documented)) == [], "pages missing from the nav"


def test_internal_links_point_at_pages() -> None:
    broken = []
    for page in pages():
        text = (DOCS / page).read_text(encoding="utf-8")
        prose = "\n".join(
            line for line in _outside_code(text).splitlines() if not line.startswith(":::")
        )
        for found in LINK.finditer(prose):
            target = found["target"].split("#", 1)[0]
            if not target or re.match(r"[a-z][a-z0-9+.-]*:", target):
                continue  # an anchor on the same page, or an absolute URL
            if not (DOCS / page).parent.joinpath(target).resolve().is_file():
                broken.append(f"{page}: {found['target']}")
    assert broken == []


def _outside_code(text: str) -> str:
    """``text`` without its fenced blocks and inline code spans."""
    kept = []
    lines = text.splitlines()
    inside: str | None = None
    for line in lines:
        fence = FENCE.match(line)
        if inside is None and fence:
            inside = fence["fence"]
        elif inside is not None and fence and fence["fence"].startswith(inside):
            inside = None
        elif inside is None:
            kept.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(kept)


def test_docs_have_python_samples() -> None:
    assert len(python_samples()) >= 20


@pytest.mark.parametrize(
    ("page", "line", "code"),
    python_samples(),
    ids=[f"{page}:{line}" for page, line, _ in python_samples()],
)
def test_python_samples_compile(page: str, line: int, code: str) -> None:
    """Samples may ``await`` at top level (they show the body of an async function)."""
    compile(code, f"docs/{page}:{line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


@pytest.mark.parametrize(
    ("page", "line", "language", "code"),
    [
        (page, line, language, code)
        for language in ("json", "yaml", "ini")
        for page, line, code in samples(language)
    ],
)
def test_data_samples_parse(page: str, line: int, language: str, code: str) -> None:
    if language == "json":
        json.loads(code)
    elif language == "yaml":
        yaml.safe_load(code)
    else:
        configparser.ConfigParser(interpolation=None).read_string(code)


def reference_identifiers() -> list[tuple[str, str]]:
    return [
        (str(page), found["identifier"])
        for page in pages()
        for found in IDENTIFIER.finditer((DOCS / page).read_text(encoding="utf-8"))
    ]


def test_the_reference_documents_the_public_api() -> None:
    import rescale_async  # noqa: PLC0415

    documented = {identifier for _, identifier in reference_identifiers()}
    exceptions = "rescale_async._core.exceptions"
    orchestration = {name for name in rescale_async.__all__ if name[:1].isupper()} & set(
        importlib.import_module("rescale_async.htc.orchestration").__all__
    )
    missing = [
        name
        for name in ["HTCClient", *sorted(orchestration - {"Jobs"})]
        if f"rescale_async.{name}" not in documented
    ]
    assert missing == []
    assert exceptions in documented
    assert "rescale_async.htc.orchestration.Jobs" in documented
    assert "rescale_async.emulator.Emulator" in documented


@pytest.mark.parametrize(("page", "identifier"), reference_identifiers())
def test_reference_identifiers_exist(page: str, identifier: str) -> None:
    parts = identifier.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for name in parts[split:]:
            target = getattr(target, name)
        return
    raise AssertionError(f"{page}: ::: {identifier} names nothing importable")
