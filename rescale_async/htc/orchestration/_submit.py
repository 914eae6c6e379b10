"""Submitting jobs exactly once: split into API-sized requests, wait for the image, POST, and
settle every ambiguous failure by asking the API what the submission's group holds.

``POST .../jobs/batch`` is not idempotent, but every submission goes to a job group of its own
(unless the caller names one), so "did it land?" has an answer: ``GET .../jobs?group=``. After
a failure that may have come after the service acted (a lost response, a 5xx from a proxy), the
group is listed; its job count tells whether the POST landed. Only a POST that did not land is
sent again, with the same group.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..._core.exceptions import (
    APIConnectionError,
    InternalServerError,
    RateLimitError,
    SubmissionInDoubtError,
)
from ..._core.options import Clock, Sleep
from ..resources.images import Images
from ..resources.jobs import Jobs
from ..types import JobSubmitRequest, TaskRef, ViewType
from ._identity import RequestIdentity, confusable, identity_of, listed_fields, match_parents
from ._ledger import Ledger, ParentJob, Submission, digest_of
from ._ready import ReadyImages

__all__ = [
    "MAX_BATCH_SIZE",
    "MAX_REQUESTS_PER_POST",
    "Submitter",
    "new_group",
    "per_post",
    "plan_sweep",
    "split_count",
]

logger = logging.getLogger("rescale_async")

MAX_BATCH_SIZE = 1000
"""The most copies one submit request may ask for (``batchSize``)."""
MAX_REQUESTS_PER_POST = 1000
"""The most submit requests sent in one ``POST .../jobs/batch`` body."""
_PAGE = 1000  # jobs per page when listing a group
_POST_ATTEMPTS = 10
_SETTLE_ATTEMPTS = 8
_TRANSIENT = (APIConnectionError, InternalServerError, RateLimitError)


def per_post(body: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Submit requests (API form) in POST bodies of at most ``MAX_REQUESTS_PER_POST``, in
    order, no two that a job listing could confuse in one body (so a POST whose answer is
    lost can be matched back request by request).
    """
    posts: list[list[dict[str, Any]]] = []
    members: list[dict[tuple[int, str | None], list[RequestIdentity]]] = []
    for request in body:
        identity = identity_of(request)
        for post, seen in zip(posts, members, strict=True):
            if len(post) < MAX_REQUESTS_PER_POST and not _clashes(identity, seen):
                break
        else:
            posts.append([])
            members.append({})
            post, seen = posts[-1], members[-1]
        post.append(request)
        seen.setdefault(_bucket(identity), []).append(identity)
    return posts


def _bucket(identity: RequestIdentity) -> tuple[int, str | None]:
    return identity.batch_size, dict(identity.visible).get("commands")


def _clashes(
    identity: RequestIdentity, seen: dict[tuple[int, str | None], list[RequestIdentity]]
) -> bool:
    size, commands = _bucket(identity)
    if commands is None:
        others = [o for (n, _), found in seen.items() if n == size for o in found]
    else:
        others = [*seen.get((size, commands), ()), *seen.get((size, None), ())]
    return any(other.whole != identity.whole and confusable(identity, other) for other in others)


def new_group() -> str:
    """A job group name no other submission uses."""
    return f"ra-{secrets.token_hex(10)}"


def split_count(count: int) -> list[int]:
    """``count`` jobs as batch sizes of at most 1000."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a whole number >= 1, got {count!r}")
    full, rest = divmod(count, MAX_BATCH_SIZE)
    return [MAX_BATCH_SIZE] * full + ([rest] if rest else [])


def plan_sweep(requests: Sequence[JobSubmitRequest]) -> tuple[list[JobSubmitRequest], list[int]]:
    """One job per request: identical requests (the same whole identity) share submit
    requests of up to 1000. The requests to send, and for each job they create, in order,
    the index of the request it runs.
    """
    positions: dict[str, tuple[JobSubmitRequest, list[int]]] = {}
    for index, request in enumerate(requests):
        whole = identity_of(request.to_api()).whole
        positions.setdefault(whole, (request, []))[1].append(index)
    planned: list[JobSubmitRequest] = []
    order: list[int] = []
    for request, where in positions.values():
        start = 0
        for size in split_count(len(where)):
            planned.append(request.model_copy(update={"batch_size": size}))
            order += where[start : start + size]
            start += size
    return planned, order


class Submitter:
    """Sends submissions for ``client.jobs``: the image check, exactly-once POSTs, and the
    ledger's bookkeeping, over the public calls of the jobs and images resources.
    """

    def __init__(
        self,
        jobs: Jobs,
        images: Images,
        ready_images: ReadyImages,
        *,
        settle_delay: float,
        sleep: Sleep,
        clock: Clock,
    ) -> None:
        self._jobs = jobs
        self._images = images
        self._ready_images = ready_images
        self._settle_delay = settle_delay
        self._sleep = sleep
        self._clock = clock

    # ------------------------------------------------------------------ submitting

    async def submit(
        self,
        task: TaskRef,
        body: list[dict[str, Any]],
        *,
        group: str | None,
        ledger: Ledger | None,
        key: str | None,
        image_timeout: float,
    ) -> tuple[str, list[ParentJob]]:
        """Submit ``body`` (requests in API form) to ``task`` exactly once; the group and, in
        request order, the parent job of each request.
        """
        bodies = per_post(body)
        submission: Submission | None = None
        digest = ""
        if ledger is not None:
            digest = digest_of(bodies)
            key = key or ledger.next_key(task, digest)
            submission = await ledger.find(key, digest)
            if submission is not None and submission.done:
                logger.info("submission %s is in the ledger: not sent again", key)
                return submission.group, _flatten(submission.answers)
        # A submission found in the ledger may have had a POST in flight when the program
        # stopped: settle that one by asking the API before sending anything.
        in_doubt = submission is not None
        for image in sorted({request["htcJobDefinition"]["imageName"] for request in body}):
            await self._ready_images.wait(
                self._images,
                task.project_id,
                image,
                image_timeout=image_timeout,
                sleep=self._sleep,
                clock=self._clock,
            )
        if submission is None:
            chosen = group or new_group()
            baseline = 0 if group is None else await self._group_size(task, chosen)
            submission = Submission(
                key=key or "", task=task, group=chosen, bodies=bodies, baseline=baseline
            )
            if ledger is not None:
                await ledger.record_intent(submission, digest)
        else:
            logger.info("resuming submission %s (group %s)", key, submission.group)
        while not submission.done:
            post = submission.bodies[len(submission.answers)]
            parents = None
            if in_doubt:
                parents = await self._landed(submission, post, since=submission.updated)
                in_doubt = False
            if parents is None:
                parents = await self._post(submission, post)
            if ledger is not None:
                await ledger.record_answer(submission, parents)
            else:
                submission.answers.append(parents)
        return submission.group, _flatten(submission.answers)

    async def _post(self, submission: Submission, post: list[dict[str, Any]]) -> list[ParentJob]:
        """POST one body until it has landed once; its parent jobs. Gives up (raising the last
        error) after ``_POST_ATTEMPTS`` sends that did not land.
        """
        delay = 1.0
        for attempt in range(1, _POST_ATTEMPTS + 1):
            sent = time.time()
            try:
                answer = await self._jobs.post_batch(submission.task, post, group=submission.group)
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
                return [ParentJob(job.parent_job_id, job.batch_size or 1) for job in answer]
            delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _group_size(self, task: TaskRef, group: str) -> int:
        listing = self._jobs.list(task, group=group, view=ViewType.SIMPLE, page_size=_PAGE)
        return sum([len(page.items) async for page in listing.pages()])

    async def _landed(
        self, submission: Submission, post: list[dict[str, Any]], *, since: float
    ) -> list[ParentJob] | None:
        """Whether ``post`` created its jobs: their parents in request order, or None when the
        group shows it did not. SubmissionInDoubtError if it stays unclear.
        """
        known = {parent for answer in submission.answers for parent, _ in answer}
        before = submission.baseline + sum(n for answer in submission.answers for _, n in answer)
        requests = [identity_of(request) for request in post]
        expected = sum(request.batch_size for request in requests)
        remaining = since + self._settle_delay - time.time()
        if remaining > 0:
            await self._sleep(remaining)
        seen = "no answer"
        for attempt in range(_SETTLE_ATTEMPTS):
            if attempt:
                await self._sleep(min(2.0**attempt, 10.0))  # let the listing catch up
            sizes: Counter[str] = Counter()
            fields: dict[str, dict[str, str]] = {}
            listing = self._jobs.list(
                submission.task, group=submission.group, view=ViewType.FULL, page_size=_PAGE
            )
            try:
                async for job in listing:
                    parent = job.job_id.rpartition(":")[0]
                    sizes[parent] += 1
                    if parent not in known and parent not in fields:
                        fields[parent] = listed_fields(job)
            except _TRANSIENT as exc:
                logger.warning("listing group %s failed (%s)", submission.group, exc)
                continue
            total = sum(sizes.values())
            if total == before:
                return None
            if total == before + expected:
                fresh = {p: n for p, n in sizes.items() if p not in known}
                matched = match_parents(requests, fresh, fields)
                if matched is not None:
                    return matched
            seen = f"{total} jobs"
        raise SubmissionInDoubtError(
            f"cannot tell whether a job submission landed: group {submission.group!r} of task "
            f"{submission.task.task_id} holds {seen}, expected {before} (not landed) or "
            f"{before + expected} (landed); nothing was resent. Check the group, then cancel it "
            "or submit again",
            group=submission.group,
        )


def _flatten(answers: list[list[ParentJob]]) -> list[ParentJob]:
    return [parent for answer in answers for parent in answer]
