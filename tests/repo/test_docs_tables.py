"""The docs' tables stay true: every API operation has a client method that exists, and every
documented rescalehtc function has a migration entry.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from htc_spec import operations, spec

from rescale_async import HTCClient

DOCS = Path(__file__).resolve().parents[2] / "docs"
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


def table_rows(document: str) -> list[list[str]]:
    """The cells of every Markdown table body row of ``docs/<document>``."""
    rows = []
    for line in (DOCS / document).read_text(encoding="utf-8").splitlines():
        if line.startswith("|") and not re.match(r"\|\s*(-|rescalehtc\s*\||HTTP operation)", line):
            rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


def coverage() -> list[tuple[str, str]]:
    """``(operation, method)`` for every row of the API coverage table."""
    return [(row[0].strip("`"), row[1].strip("`")) for row in table_rows("api-coverage.md")]


def reference(prefix: str) -> str:
    found = sorted(REFERENCE.glob(f"{prefix}_*.txt"))
    if not found:
        pytest.skip(f"rescalehtc reference {prefix}_*.txt not found in {REFERENCE}")
    return found[0].read_text(encoding="utf-8")


@pytest.mark.parametrize("doc", ["patched", "published"])
def test_coverage_table_lists_every_operation_once(doc: str) -> None:
    documented = Counter(operation for operation, _ in coverage())
    assert [op for op, count in documented.items() if count > 1] == []
    in_spec = {f"{method.upper()} {path}" for method, path, _ in operations(spec(doc))}
    assert len(in_spec) == 57
    assert sorted(in_spec - documented.keys()) == [], "operations without a row"
    assert sorted(documented.keys() - in_spec) == [], "rows naming no operation of the spec"


def test_coverage_table_methods_exist() -> None:
    client = HTCClient(api_key="x", base_url="https://h.test/api/v1")
    missing = []
    for operation, method in coverage():
        head, *names = method.split(".")
        target: object = client if head == "client" else None
        for name in names:
            target = getattr(target, name, None)
        if not callable(target):
            missing.append(f"{operation}: {method}")
    assert missing == []


def documented_rescalehtc_names() -> set[str]:
    """The functions of 001 (``rescalehtc.api``) and the classes, methods and functions of
    002 (``rescalehtc.htcjobs``), as dotted names.
    """
    names = set(re.findall(r"^(rescalehtc\.api\.\w+)\(", reference("001"), re.MULTILINE))
    current_class = None
    for line in reference("002").splitlines():
        if found := re.match(r"- class (rescalehtc\.\w+\.\w+)\(", line):
            current_class = found[1]
            names.add(current_class)
        elif found := re.match(r"- (rescalehtc\.\w+\.\w+)\(", line):
            current_class = None
            names.add(found[1])
        elif (found := re.match(r"- (\w+)\(", line)) and current_class:
            names.add(f"{current_class}.{found[1]}")
    return names


def test_migration_table_covers_the_documented_rescalehtc_api() -> None:
    documented = documented_rescalehtc_names()
    assert len(documented) == 61  # 47 api functions; 2 classes, 7 methods, 5 functions of htcjobs
    entries = {
        name for row in table_rows("migration.md") for name in re.findall(r"`([^`]+)`", row[0])
    }
    assert sorted(documented - entries) == []
