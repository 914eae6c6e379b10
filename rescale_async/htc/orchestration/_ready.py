"""Waiting for an image to be READY before submitting jobs that run it.

A client checks each image once: once READY, it stays READY for the client's life. Concurrent
submissions of one image share a single check, and its refusal.
"""

from __future__ import annotations

import logging

import anyio

from ..._core.exceptions import (
    APIConnectionError,
    ImageNotReadyError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from ..._core.options import Clock, Sleep
from ..resources.images import Images
from ..types import ImageState

__all__ = ["ReadyImages"]

logger = logging.getLogger("rescale_async")

_TRANSIENT = (APIConnectionError, InternalServerError, RateLimitError)


class _Check:
    """An image check in progress, which concurrent submissions of that image wait for."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.refusal: str | None = None


class ReadyImages:
    """The images a client has seen READY, and the checks in progress (client-wide state)."""

    def __init__(self) -> None:
        self._ready: set[tuple[str, str]] = set()
        self._checking: dict[tuple[str, str], _Check] = {}

    def forget(self, project_id: str, image: str) -> None:
        """Check ``image`` again when next asked: a push may have moved its tag to a new image
        (PENDING again).
        """
        self._ready.discard((project_id, image))

    async def wait(
        self,
        images: Images,
        project_id: str,
        image: str,
        *,
        image_timeout: float,
        sleep: Sleep,
        clock: Clock,
    ) -> None:
        """Return once ``image`` is READY in the project's registry; ImageNotReadyError when it
        is absent, or still PENDING after ``image_timeout`` seconds.
        """
        key = (project_id, image)
        while key not in self._ready:
            checking = self._checking.get(key)
            if checking is None:  # the first to ask checks; the others wait for its answer
                self._checking[key] = checking = _Check()
                try:
                    await _until_ready(
                        images,
                        project_id,
                        image,
                        image_timeout=image_timeout,
                        sleep=sleep,
                        clock=clock,
                    )
                    self._ready.add(key)
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


async def _until_ready(
    images: Images, project_id: str, image: str, *, image_timeout: float, sleep: Sleep, clock: Clock
) -> None:
    """Poll the image's status with backoff until READY, absent, or out of time."""
    started = clock()
    delay = 1.0
    while True:
        try:
            state = str((await images.status(project_id, image)).status)
        except NotFoundError:
            raise ImageNotReadyError(
                f"image {image!r} does not exist in the registry of project {project_id}: "
                "push it there first (client.images.create_repo, registry_token), or fix "
                "the name"
            ) from None
        except _TRANSIENT as exc:
            state = f"unknown ({exc})"
        if state == ImageState.READY:
            return
        waited = clock() - started
        if waited >= image_timeout:
            raise ImageNotReadyError(
                f"image {image!r} is still {state} after {waited:.1f} s, so no job was "
                "submitted; wait for the push to finish, or pass a longer image_timeout"
            )
        logger.info("image %s is %s; checking again in %.0f s", image, state, delay)
        await sleep(min(delay, image_timeout - waited))
        delay = min(delay * 2, 15.0)
