"""Rendering: rich tables for people, JSON (``model_dump(mode="json")``) for programs.

Every value goes into a table as plain ``Text``, never as markup, so a name holding ``[red]``
prints as written. JSON is written straight to the stream, never wrapped or highlighted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Literal, TextIO

from pydantic import BaseModel, SecretStr
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..htc.types import JobStatus

__all__ = ["Output", "OutputFormat", "cell", "dump", "status_text", "when"]

OutputFormat = Literal["table", "json"]

_WIDE = 250
"""Width of tables written to a file or a pipe (no terminal to fit): wide enough not to wrap
ids, so ``grep`` and ``awk`` see whole values."""

_STATUS_STYLES = {
    JobStatus.SUCCEEDED: "green",
    JobStatus.POD_SUCCEEDED: "green",
    JobStatus.FAILED: "red",
    JobStatus.POD_FAILED: "red",
    JobStatus.RUNNING: "cyan",
    JobStatus.STARTING: "cyan",
}


def dump(value: Any) -> Any:
    """A JSON-ready form of ``value``: models as ``model_dump(mode="json")`` (wire names)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(key): dump(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [dump(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, SecretStr):
        return str(value)  # masked: a secret is never shown
    return value


def when(value: datetime | None) -> str:
    """A timestamp in UTC to the second, or empty."""
    if value is None:
        return ""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def cell(value: object) -> Text:
    """A table cell showing ``value`` literally (no markup); nested data as compact JSON."""
    if value is None:
        return Text("")
    if isinstance(value, datetime):
        return Text(when(value))
    if isinstance(value, Enum):
        return Text(str(value.value))
    if isinstance(value, BaseModel | Mapping | list | tuple):
        return Text(json.dumps(dump(value), separators=(",", ":"), ensure_ascii=False))
    return Text(str(value))


def status_text(status: JobStatus | str | None) -> Text:
    """A job status, coloured by what it means."""
    if status is None:
        return Text("")
    name = str(status)
    return Text(name, style=_STATUS_STYLES.get(JobStatus(name), ""))


class Output:
    """Where a command's results go: ``out`` (results) and ``err`` (notes), as tables or JSON."""

    def __init__(
        self,
        out: TextIO,
        err: TextIO,
        fmt: OutputFormat = "table",
        *,
        terminal: bool | None = None,
    ) -> None:
        self.out = out
        self.err = err
        self.format: OutputFormat = fmt
        self.console = Console(file=out, force_terminal=terminal, highlight=False)
        if not self.console.is_terminal and "COLUMNS" not in os.environ:
            self.console.width = _WIDE

    @property
    def json(self) -> bool:
        return self.format == "json"

    @property
    def is_terminal(self) -> bool:
        return self.console.is_terminal

    def emit_json(self, data: Any) -> None:
        """``data`` (models dumped as JSON) as one indented JSON document."""
        self.out.write(json.dumps(dump(data), indent=2, ensure_ascii=False) + "\n")
        self.out.flush()

    def json_line(self, data: Any) -> None:
        """``data`` as one line of JSON (for streams: one object per line)."""
        self.out.write(json.dumps(dump(data), ensure_ascii=False) + "\n")

    def line(self, text: str) -> None:
        """A plain line on the results stream, written as is."""
        self.out.write(text + "\n")

    def note(self, text: str) -> None:
        """A line for the person at the terminal (stderr), written as is."""
        self.err.write(text + "\n")
        self.err.flush()

    def table(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[object]],
        *,
        empty: str = "(none)",
    ) -> None:
        """A table of ``rows``; ``empty`` is printed instead when there are none."""
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for name in columns:
            table.add_column(name, overflow="fold")
        count = 0
        for row in rows:
            table.add_row(*(item if isinstance(item, Text) else cell(item) for item in row))
            count += 1
        self.console.print(table if count else Text(empty))

    def details(self, model: BaseModel | Mapping[str, Any]) -> None:
        """One object as FIELD / VALUE rows (unset and empty fields left out)."""
        if isinstance(model, BaseModel):
            fields = model.model_dump(by_alias=False, exclude_none=True)  # extras included
        else:
            fields = {key: value for key, value in model.items() if value is not None}
        rows = [(Text(key), cell(value)) for key, value in fields.items() if value != []]
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for row in rows:
            table.add_row(*row)
        self.console.print(table)
