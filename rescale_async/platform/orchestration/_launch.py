"""Creating and submitting a job exactly once, even when an answer is lost.

Neither ``POST jobs/`` nor ``POST jobs/{id}/submit/`` may be resent blindly: the service may
have acted before the answer was lost (a 5xx from a proxy, a connection dropped, a timeout),
and a second create is a second job, a second submit a second run. So the job carries a unique
marker in its description; after an ambiguous failure of the create, the newest jobs of the
same name are looked through for it (``GET jobs/``, then ``GET jobs/{id}/`` of each candidate)
and only when no job carries it is the create sent again. After an ambiguous submit, the job's
status history tells: a job that was submitted has statuses, one that was not has none.
"""

from __future__ import annotations

import logging
import secrets
import time

from ..._core.exceptions import (
    APIConnectionError,
    InternalServerError,
    RateLimitError,
    SubmissionInDoubtError,
)
from ..._core.options import Sleep
from ..resources.jobs import Jobs
from ..types import Job, JobCreate

__all__ = ["LOOKBACK", "Launcher", "marked", "new_marker"]

logger = logging.getLogger("rescale_async")

LOOKBACK = 900.0
"""Seconds before the create was sent from which a listing is searched for its job (room for
the client's and the service's clocks to differ)."""
_ATTEMPTS = 5
_AMBIGUOUS = (APIConnectionError, InternalServerError)
_TRANSIENT = (APIConnectionError, InternalServerError, RateLimitError)
_LISTING_PAGE = 100


def new_marker() -> str:
    """A marker no other job carries."""
    return f"rescale_async run {secrets.token_hex(8)}"


def marked(body: JobCreate, marker: str) -> JobCreate:
    """``body`` with ``[marker]`` on the last line of its description."""
    tag = f"[{marker}]"
    description = f"{body.description}\n{tag}" if body.description else tag
    return body.model_copy(update={"description": description})


class Launcher:
    """Creates and submits jobs exactly once over the public calls of the jobs resource;
    ``settle_delay`` is the seconds given an ambiguous request to take effect before the API
    is asked whether it did.
    """

    def __init__(self, jobs: Jobs, *, sleep: Sleep, settle_delay: float) -> None:
        self._jobs = jobs
        self._sleep = sleep
        self._settle_delay = settle_delay

    async def create(
        self,
        body: JobCreate,
        marker: str,
        *,
        since: float,
        in_doubt: bool,
        check_coretypes: bool = True,
    ) -> Job:
        """The job of ``body`` carrying ``marker``, created once. ``in_doubt``: a create may
        have been sent (at UNIX time ``since``, by an earlier process): look for it first.
        """
        if in_doubt:
            found = await self._settle(body.name, marker, since=since)
            if found is not None:
                logger.info("job %s (%s) was created before: not created again", found.id, marker)
                return found
        sending = marked(body, marker)
        for attempt in range(1, _ATTEMPTS + 1):
            sent = time.time()
            try:
                return await self._jobs.create(sending, check_coretypes=check_coretypes)
            except _AMBIGUOUS as exc:
                logger.warning("creating job %r may or may not have worked (%s)", body.name, exc)
                await self._sleep(self._settle_delay)
                found = await self._settle(body.name, marker, since=sent)
                if found is not None:
                    return found
                if attempt == _ATTEMPTS:
                    raise
                await self._sleep(min(2.0**attempt, 30.0))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _settle(self, name: str, marker: str, *, since: float) -> Job | None:
        """``find``, with a failure to look turned into SubmissionInDoubtError."""
        try:
            return await self.find(name, marker, since=since)
        except _TRANSIENT as exc:
            raise SubmissionInDoubtError(
                f"cannot tell whether the job {name!r} was created: looking for the job whose "
                f"description holds [{marker}] failed ({exc}); nothing was sent again. Look "
                "for it (jobs.list()), then delete it or run again",
                group=marker,
            ) from exc

    async def find(self, name: str, marker: str, *, since: float) -> Job | None:
        """The job named ``name`` whose description holds ``marker``, among those created from
        ``LOOKBACK`` seconds before ``since`` on (the listing is newest first).
        """
        cutoff = since - LOOKBACK
        async for summary in self._jobs.list(page_size=_LISTING_PAGE):
            inserted = summary.date_inserted
            if inserted is not None and inserted.timestamp() < cutoff:
                return None
            if summary.name != name:
                continue
            job = await self._jobs.get(summary)
            if marker in (job.description or ""):
                return job
        return None

    async def submit(self, job: Job, *, in_doubt: bool) -> None:
        """Submit ``job`` once. ``in_doubt``: a submit may have been sent before (by an earlier
        process): a job with a status history was, and is not submitted again.
        """
        if in_doubt and await self._submitted(job):
            logger.info("job %s was submitted before: not submitted again", job.id)
            return
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                await self._jobs.submit(job)
            except _AMBIGUOUS as exc:
                logger.warning("submitting job %s may or may not have worked (%s)", job.id, exc)
                await self._sleep(self._settle_delay)
                if await self._submitted(job):
                    return
                if attempt == _ATTEMPTS:
                    raise
                await self._sleep(min(2.0**attempt, 30.0))
            else:
                return

    async def _submitted(self, job: Job) -> bool:
        try:
            return bool(await self._jobs.statuses(job))
        except _TRANSIENT as exc:
            raise SubmissionInDoubtError(
                f"cannot tell whether job {job.id} was submitted: reading its statuses failed "
                f"({exc}); it was not submitted again. Check it (jobs.statuses()), then "
                "submit it if its history is empty",
                group=job.id,
            ) from exc
