"""What makes two submit requests the same, and how a listed job is traced back to its request.

One identity serves both uses. ``submit_many`` sends identical specs as one request: identical
means the same whole request (every field but ``batchSize``). After an ambiguous failure, the
parents a group listing shows are matched back to the requests of the POST: a listed job can
only come from a request whose definition fields, as far as a job listing shows them, agree
with the job's (a field the request left unset agrees with any value: the service fills a
default). Requests that a listing could not tell apart never share a POST (``separable``), so
each parent is matched to exactly the request that created it, in any listing order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from ..types import Job
from ._ledger import ParentJob

__all__ = ["RequestIdentity", "confusable", "identity_of", "listed_fields", "match_parents"]

# The definition fields a FULL job listing shows, as the wire names of a submit request's
# htcJobDefinition (the listing gives tags as a list of {key, value}).
_VISIBLE = (
    "imageName",
    "commands",
    "envs",
    "tags",
    "architecture",
    "maxVCpus",
    "maxMemory",
    "maxDiskGiB",
    "maxSwap",
    "execTimeoutSeconds",
)


class RequestIdentity(NamedTuple):
    """A submit request's identity: ``whole`` tells requests apart, ``visible`` is what a job
    listing can show of it (canonical JSON of each field the request sets).
    """

    whole: str
    visible: tuple[tuple[str, str], ...]
    batch_size: int


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _normal(name: str, value: Any) -> Any:
    """A field's value in one form for requests and listings alike."""
    if name == "envs":
        return sorted((e.get("name"), e.get("value")) for e in value)
    if name == "tags":
        pairs = value.items() if isinstance(value, Mapping) else _tag_pairs(value)
        return sorted(pairs)
    return value


def _tag_pairs(tags: Iterable[Mapping[str, Any]]) -> list[tuple[Any, Any]]:
    return [(tag.get("key"), tag.get("value")) for tag in tags]


def identity_of(request: Mapping[str, Any]) -> RequestIdentity:
    """The identity of a submit request in its API form (``JobSubmitRequest.to_api()``)."""
    definition = request["htcJobDefinition"]
    whole = _canonical({k: v for k, v in request.items() if k != "batchSize"})
    visible = tuple(
        (name, _canonical(_normal(name, definition[name])))
        for name in _VISIBLE
        if definition.get(name) is not None
    )
    return RequestIdentity(whole, visible, request.get("batchSize") or 1)


def listed_fields(job: Job) -> dict[str, str]:
    """What a FULL listing shows of the definition that created ``job``, as ``identity_of``
    writes it.
    """
    wire = job.model_dump(by_alias=True, mode="json")
    return {
        name: _canonical(_normal(name, wire[name]))
        for name in _VISIBLE
        if wire.get(name) is not None
    }


def _agrees(identity: RequestIdentity, listed: Mapping[str, str]) -> bool:
    return all(listed.get(name) == value for name, value in identity.visible)


def confusable(one: RequestIdentity, other: RequestIdentity) -> bool:
    """Whether a listing could show a job of ``one`` as a job of ``other``: the same size,
    and no field both set to different values.
    """
    if one.batch_size != other.batch_size:
        return False
    theirs = dict(other.visible)
    return all(theirs.get(name, value) == value for name, value in one.visible)


def match_parents(
    requests: list[RequestIdentity],
    sizes: Mapping[str, int],
    fields: Mapping[str, Mapping[str, str]],
) -> list[ParentJob] | None:
    """Each request's parent job, in request order: a parent of the request's size whose
    listed fields agree with it, every parent used once (a bipartite matching, by augmenting
    paths). None when no such assignment exists.
    """
    by_key: dict[tuple[int, str | None], list[str]] = {}
    for parent, size in sizes.items():
        by_key.setdefault((size, fields.get(parent, {}).get("commands")), []).append(parent)
    candidates = []
    for request in requests:
        commands = dict(request.visible).get("commands")
        pool = (
            by_key.get((request.batch_size, commands), [])
            if commands is not None
            else [
                p
                for (size, _), found in by_key.items()
                if size == request.batch_size
                for p in found
            ]
        )
        candidates.append([p for p in pool if _agrees(request, fields.get(p, {}))])
    owner: dict[str, int] = {}

    def assign(index: int, seen: set[str]) -> bool:
        for parent in candidates[index]:
            if parent in seen:
                continue
            seen.add(parent)
            if parent not in owner or assign(owner[parent], seen):
                owner[parent] = index
                return True
        return False

    for index in range(len(requests)):
        if not assign(index, set()):
            return None
    chosen = {index: parent for parent, index in owner.items()}
    return [ParentJob(chosen[i], sizes[chosen[i]]) for i in range(len(requests))]
