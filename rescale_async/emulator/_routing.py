"""What the route tables of both emulated APIs share: a request's path template (the key of
the fault rules and the counters) and one Starlette route per template.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from starlette.routing import compile_path

__all__ = ["RouteTemplates", "TableEntry", "by_template", "route_table"]


class TableEntry(Protocol):
    """A route table entry: its method and path template."""

    @property
    def method(self) -> str: ...

    @property
    def template(self) -> str: ...


E = TypeVar("E", bound=TableEntry)


class RouteTemplates:
    """Resolves a request's method and path to the template of the route that serves it."""

    def __init__(self, entries: Sequence[TableEntry]) -> None:
        self._matchers = [
            (entry.method, entry.template.replace(":path}", "}"), compile_path(entry.template)[0])
            for entry in entries
        ]

    def resolve(self, method: str, path: str) -> str:
        """The path template a request is for: the route of its method, else any route of
        its path (a method the path does not allow), else ``<unmatched>``. HEAD is GET.
        """
        method = "GET" if method == "HEAD" else method
        fallback = None
        for entry_method, template, regex in self._matchers:
            if regex.match(path):
                if method == entry_method:
                    return template
                fallback = fallback or template
        return fallback or "<unmatched>"


def by_template(entries: Sequence[E]) -> dict[str, dict[str, E]]:
    """The entries grouped by path template, then by method: one route per template."""
    grouped: dict[str, dict[str, E]] = {}
    for entry in entries:
        grouped.setdefault(entry.template, {})[entry.method] = entry
    return grouped


def route_table(groups: Iterable[Iterable[E]]) -> list[E]:
    """Every group's entries, those of one path template together (in order of first use);
    ValueError when two entries claim the same method and template.
    """
    grouped: dict[str, dict[str, E]] = {}
    for group in groups:
        for entry in group:
            methods = grouped.setdefault(entry.template, {})
            if entry.method in methods:
                raise ValueError(f"two routes for {entry.method} {entry.template}")
            methods[entry.method] = entry
    return [entry for methods in grouped.values() for entry in methods.values()]
