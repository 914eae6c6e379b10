"""Submitting jobs exactly once: split into API-sized requests, wait for the image, POST, and
settle every ambiguous failure by asking the API what the submission's group holds.

``POST .../jobs/batch`` is not idempotent, but every submission goes to a job group of its own
(unless the caller names one), so "did it land?" has an answer: ``GET .../jobs?group=``. After
a failure that may have come after the service acted (a lost response, a 5xx from a proxy), the
group is listed; its job count tells whether the POST landed. Only a POST that did not land is
sent again, with the same group.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import anyio

from .._core.exceptions import (
    APIConnectionError,
    ImageNotReadyError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    SubmissionInDoubtError,
)
from ..resources import jobs as _jobs
from ..resources._ids import TaskRef, task_path
from ..resources.images import Images
from ..types import ImageState, JobSubmitRequest, SubmittedJobs, ViewType
from ._ledger import Ledger, Submission, digest_of

__all__ = [
    "MAX_BATCH_SIZE",
    "MAX_REQUESTS_PER_POST",
    "Submitter",
    "new_group",
    "per_post",
    "split_count",
]

logger = logging.getLogger("rescale_async")

T = TypeVar("T")

MAX_BATCH_SIZE = 1000
"""The most copies one submit request may ask for (``batchSize``)."""
MAX_REQUESTS_PER_POST = 1000
"""The most submit requests sent in one ``POST .../jobs/batch`` body."""
_PAGE = 1000  # jobs per page when listing a group
_POST_ATTEMPTS = 10
_SETTLE_ATTEMPTS = 8
_TRANSIENT = (APIConnectionError, InternalServerError, RateLimitError)


def per_post(items: Sequence[T]) -> list[Sequence[T]]:
    """``items`` in runs of at most ``MAX_REQUESTS_PER_POST``, one per POST body."""
    size = MAX_REQUESTS_PER_POST
    return [items[start : start + size] for start in range(0, len(items), size)]


def new_group() -> str:
    """A job group name no other submission uses."""
    return f"ra-{secrets.token_hex(10)}"


def split_count(count: int) -> list[int]:
    """``count`` jobs as batch sizes of at most 1000."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a whole number >= 1, got {count!r}")
    full, rest = divmod(count, MAX_BATCH_SIZE)
    return [MAX_BATCH_SIZE] * full + ([rest] if rest else [])


def _signature(definition: dict[str, Any]) -> str:
    """What tells submit requests apart in a job listing (FULL view)."""
    envs = sorted((e.get("name"), e.get("value")) for e in definition.get("envs") or [])
    key = [definition.get("imageName"), definition.get("commands") or [], envs]
    return json.dumps(key, sort_keys=True)


class _Check:
    """An image check in progress, which concurrent submissions of that image wait for."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.refusal: str | None = None


class Submitter:
    """Sends submissions for ``client.jobs``: image checks (cached once READY), exactly-once
    POSTs, and the ledger's bookkeeping."""

    def __init__(
        self,
        jobs: _jobs.Jobs,
        images: Images,
        *,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self._jobs = jobs
        self._images = images
        self._ready: set[tuple[str, str]] = set()
        self._checking: dict[tuple[str, str], _Check] = {}
        self._sleep = sleep
        self.settle = 10.0
        """Seconds to let a possibly delivered POST reach the service before asking the API
        whether it landed."""

    # ------------------------------------------------------------------ images

    async def wait_ready(self, project_id: str, image: str, patience: float) -> None:
        """Return once ``image`` is READY in the project's registry (checked once per client);
        ImageNotReadyError when it is absent, or still PENDING after ``patience`` seconds."""
        key = (project_id, image)
        while key not in self._ready:
            checking = self._checking.get(key)
            if checking is None:  # the first to ask checks; the others wait for its answer
                self._checking[key] = checking = _Check()
                try:
                    await self._check_ready(project_id, image, patience)
                except ImageNotReadyError as exc:
                    checking.refusal = str(exc)
                    raise
                finally:
                    del self._checking[key]
                    checking.done.set()
            else:
                await checking.done.wait()
                if checking.refusal is not None:
                    raise ImageNotReadyError(checking.refusal)

    async def _check_ready(self, project_id: str, image: str, patience: float) -> None:
        started = anyio.current_time()
        delay = 1.0
        while True:
            try:
                state = str((await self._images.status(project_id, image)).status)
            except NotFoundError:
                raise ImageNotReadyError(
                    f"image {image!r} does not exist in the registry of project {project_id}: "
                    "push it there first (client.images.create_repo, registry_token), or fix "
                    "the name"
                ) from None
            except _TRANSIENT as exc:
                state = f"unknown ({exc})"
            if state == ImageState.READY:
                self._ready.add((project_id, image))
                return
            waited = anyio.current_time() - started
            if waited >= patience:
                raise ImageNotReadyError(
                    f"image {image!r} is still {state} after {waited:.1f} s, so no job was "
                    "submitted; wait for the push to finish, or pass a longer image_timeout"
                )
            logger.info("image %s is %s; checking again in %.0f s", image, state, delay)
            await self._sleep(min(delay, patience - waited))
            delay = min(delay * 2, 15.0)

    # ------------------------------------------------------------------ submitting

    async def submit(
        self,
        task: TaskRef,
        requests: Sequence[JobSubmitRequest],
        *,
        group: str | None,
        ledger: Ledger | None,
        key: str | None,
        image_timeout: float,
    ) -> tuple[str, list[tuple[str, int]]]:
        """Submit ``requests`` to ``task`` exactly once; the group and, in request order, the
        ``(parent job id, batch size)`` of each request."""
        body = [request.to_api() for request in requests]
        posts = [list(post) for post in per_post(body)]
        submission: Submission | None = None
        digest = ""
        if ledger is not None:
            digest = digest_of(posts)
            key = key or ledger.next_key(task, digest)
            submission = await ledger.find(key, digest)
            if submission is not None and submission.done:
                logger.info("submission %s is in the ledger: not sent again", key)
                return submission.group, _flatten(submission.posted)
        # A submission found in the ledger may have had a POST in flight when the program
        # stopped: settle that one by asking the API before sending anything.
        in_doubt = submission is not None
        for image in sorted({r.htc_job_definition.image_name for r in requests}):
            await self.wait_ready(task.project_id, image, image_timeout)
        if submission is None:
            chosen = group or new_group()
            baseline = 0 if group is None else await self._group_size(task, chosen)
            submission = Submission(
                key=key or "", task=task, group=chosen, posts=posts, baseline=baseline
            )
            if ledger is not None:
                await ledger.record_intent(submission, digest)
        else:
            logger.info("resuming submission %s (group %s)", key, submission.group)
        while not submission.done:
            post = submission.posts[len(submission.posted)]
            parents = None
            if in_doubt:
                parents = await self._landed(submission, post, since=submission.updated)
                in_doubt = False
            if parents is None:
                parents = await self._post(submission, post)
            if ledger is not None:
                await ledger.record_post(submission, parents)
            else:
                submission.posted.append(parents)
        return submission.group, _flatten(submission.posted)

    async def _post(
        self, submission: Submission, post: list[dict[str, Any]]
    ) -> list[tuple[str, int]]:
        """POST one body until it has landed once; its ``(parent id, batch size)`` list.
        Gives up (raising the last error) after ``_POST_ATTEMPTS`` sends that did not land."""
        path = f"{task_path(submission.task)}/jobs/batch"
        delay = 1.0
        for attempt in range(1, _POST_ATTEMPTS + 1):
            sent = time.time()
            try:
                answer = await self._jobs._call(
                    "POST", path, SubmittedJobs, params={"group": submission.group}, json=post
                )
            except RateLimitError as exc:  # refused: nothing was created
                if attempt == _POST_ATTEMPTS:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else delay
                logger.warning("job submission rate-limited; sending again in %.1f s", wait)
                await self._sleep(wait)
            except (APIConnectionError, InternalServerError) as exc:
                logger.warning(
                    "job submission to group %s may or may not have landed (%s); asking the API",
                    submission.group,
                    exc,
                )
                landed = await self._landed(submission, post, since=sent)
                if landed is not None:
                    return landed
                if attempt == _POST_ATTEMPTS:
                    raise
                await self._sleep(delay)
            else:
                return [(job.parent_job_id, job.batch_size or 1) for job in answer]
            delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _group_size(self, task: TaskRef, group: str) -> int:
        listing = self._jobs.list(task, group=group, view=ViewType.SIMPLE, page_size=_PAGE)
        return sum([len(page.items) async for page in listing.pages()])

    async def _landed(
        self, submission: Submission, post: list[dict[str, Any]], *, since: float
    ) -> list[tuple[str, int]] | None:
        """Whether ``post`` created its jobs: their ``(parent id, batch size)`` in request order,
        or None when the group shows it did not. SubmissionInDoubtError if it stays unclear."""
        known = {parent for answer in submission.posted for parent, _ in answer}
        before = submission.baseline + sum(n for answer in submission.posted for _, n in answer)
        expected = sum(request.get("batchSize") or 1 for request in post)
        settle = since + self.settle - time.time()
        if settle > 0:
            await self._sleep(settle)
        seen = "no answer"
        for attempt in range(_SETTLE_ATTEMPTS):
            if attempt:
                await self._sleep(min(2.0**attempt, 10.0))  # let the listing catch up
            sizes: Counter[str] = Counter()
            signatures: dict[str, str] = {}
            listing = self._jobs.list(
                submission.task, group=submission.group, view=ViewType.FULL, page_size=_PAGE
            )
            try:
                async for job in listing:
                    parent = job.job_id.rpartition(":")[0]
                    sizes[parent] += 1
                    if parent not in known and parent not in signatures:
                        signatures[parent] = _signature(job.model_dump(by_alias=True))
            except _TRANSIENT as exc:
                logger.warning("listing group %s failed (%s)", submission.group, exc)
                continue
            total = sum(sizes.values())
            if total == before:
                return None
            if total == before + expected:
                fresh = {p: n for p, n in sizes.items() if p not in known}
                return _in_request_order(post, fresh, signatures)
            seen = f"{total} jobs"
        raise SubmissionInDoubtError(
            f"cannot tell whether a job submission landed: group {submission.group!r} of task "
            f"{submission.task.task_id} holds {seen}, expected {before} (not landed) or "
            f"{before + expected} (landed); nothing was resent. Check the group, then cancel it "
            "or submit again",
            group=submission.group,
        )


def _in_request_order(
    post: list[dict[str, Any]], sizes: dict[str, int], signatures: dict[str, str]
) -> list[tuple[str, int]]:
    """Match the parents found in a listing to the requests of ``post``: by batch size and
    definition, ties in listing order (identical requests are interchangeable)."""
    free = list(sizes)
    order: list[tuple[str, int]] = []
    for request in post:
        size = request.get("batchSize") or 1
        signature = _signature(request["htcJobDefinition"])
        match = next(
            (p for p in free if sizes[p] == size and signatures.get(p) == signature),
            next((p for p in free if sizes[p] == size), free[0]),
        )
        free.remove(match)
        order.append((match, sizes[match]))
    return order


def _flatten(posted: list[list[tuple[str, int]]]) -> list[tuple[str, int]]:
    return [parent for answer in posted for parent in answer]
