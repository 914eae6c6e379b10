"""Progress on stderr: rich bars on a terminal, a line per milestone otherwise, nothing quiet.

Results go to stdout, so progress never mixes into a table or a JSON document. On a terminal
one rich display holds a row per transfer (bytes, speed) and per wait (the job's status), all
redrawn by a ticker every 0.1 s while ``live()`` lasts; in a pipe or a file the same calls
write one line whenever something is reached (a file uploaded, a status changed); with
``--quiet`` they write nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Literal, TextIO

import anyio
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Column
from rich.text import Text

__all__ = ["ProgressMode", "Reporter", "StatusRow"]

ProgressMode = Literal["bars", "lines", "off"]

_REDRAW_EVERY = 0.1
"""Seconds between redraws of the bars."""

_BYTES = "bytes"


class _DetailColumn(ProgressColumn):
    """Bytes and speed for a transfer's row; the text it was given for any other row."""

    def __init__(self) -> None:
        super().__init__(table_column=Column(no_wrap=True, overflow="ellipsis"))
        self._size = DownloadColumn()
        self._speed = TransferSpeedColumn()

    def render(self, task: Task) -> Text:
        if task.fields.get("kind") == _BYTES:
            size = self._size.render(task)
            return Text.assemble(size, " ", self._speed.render(task))
        return Text(str(task.fields.get("detail", "")))


class StatusRow:
    """One wait's row: ``show(text)`` as its status changes, ``finish(text)`` at its end."""

    def __init__(self, reporter: Reporter, label: str, task: TaskID | None) -> None:
        self._reporter = reporter
        self._label = label
        self._task = task
        self._shown = ""

    def show(self, text: str) -> None:
        if text == self._shown:
            return
        self._shown = text
        self._reporter.update_row(self._task, detail=text)
        if self._reporter.mode == "lines":
            self._reporter.note(f"{self._label}: {text}")

    def rename(self, label: str) -> None:
        """Call the row ``label`` from now on (a job once its id is known)."""
        self._label = label
        self._reporter.update_row(self._task, description=label)

    def finish(self, text: str) -> None:
        self.show(text)
        self._reporter.update_row(self._task, done=True)


class Reporter:
    """Where a command's progress goes (see the module); ``mode`` is ``bars``, ``lines`` or
    ``off``.
    """

    def __init__(self, err: TextIO, mode: ProgressMode) -> None:
        self.mode: ProgressMode = mode
        self._err = err
        self._bars: Progress | None = None
        self._live = False
        if mode == "bars":
            console = Console(file=err, force_terminal=True, highlight=False)
            self._bars = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(bar_width=24),
                _DetailColumn(),
                TimeElapsedColumn(),
                console=console,
                auto_refresh=False,
            )

    @asynccontextmanager
    async def live(self) -> AsyncIterator[None]:
        """Show the bars (on a terminal) until the block ends; its error is raised as itself,
        not in an exception group. Rows drawn in one block are not drawn again in the next.
        """
        bars = self._bars
        if bars is None or self._live:
            yield
            return

        async def tick() -> None:
            while True:
                bars.refresh()
                await anyio.sleep(_REDRAW_EVERY)

        failure: Exception | None = None
        self._live = True
        try:
            with bars:
                async with anyio.create_task_group() as group:
                    group.start_soon(tick)
                    try:
                        yield
                    except Exception as exc:  # raised below, once the ticker has stopped
                        failure = exc
                    finally:
                        group.cancel_scope.cancel()
                bars.refresh()
        finally:
            self._live = False
            for task in bars.tasks:
                bars.update(task.id, visible=False)
        if failure is not None:
            raise failure

    def note(self, text: str) -> None:
        """A line about a milestone: above the bars on a terminal, on its own otherwise."""
        if self.mode == "off":
            return
        if self._bars is not None:
            self._bars.console.print(Text(text))
            return
        self._err.write(text + "\n")
        self._err.flush()

    def update_row(
        self,
        task: TaskID | None,
        *,
        description: str | None = None,
        detail: str | None = None,
        done: bool = False,
    ) -> None:
        """Change a row of the bars (nothing without them): its label, its text, or mark
        it done (a full bar).
        """
        bars = self._bars
        if bars is None or task is None:
            return
        if detail is not None:
            bars.update(task, detail=detail)
        if done:
            bars.update(task, total=1, completed=1)
        bars.update(task, description=description)

    def status(self, label: str, detail: str = "") -> StatusRow:
        """A row for a wait (a bar without an end until ``finish``)."""
        task = None
        if self._bars is not None:
            task = self._bars.add_task(label, total=None, detail=detail)
        row = StatusRow(self, label, task)
        if detail:
            row.show(detail)
        return row

    def transfer(self, label: str, total: int | None = None) -> Callable[[int, int], None]:
        """A row for a transfer; the answer is its progress hook, ``hook(done, total)``."""
        if self._bars is None:
            return _ignore
        bars = self._bars
        task = bars.add_task(label, total=total, kind=_BYTES)

        def hook(done: int, size: int) -> None:
            bars.update(task, completed=done, total=size or None)

        return hook


def _ignore(_done: int, _total: int) -> None:
    """The progress hook of a transfer nobody watches."""
