"""Pushing an image plan: HEAD every blob, upload the missing ones side by side, then put the
manifests (platforms by digest, then the top one by tag).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import anyio

from ...._core.concurrency import run_together
from ._source import Blob, ImagePlan
from ._upload import Transfers

__all__ = ["PushOutcome", "push_plan"]


@dataclass(frozen=True)
class PushOutcome:
    """What the registry was sent."""

    uploaded: tuple[Blob, ...]
    skipped: tuple[Blob, ...]

    @property
    def bytes_sent(self) -> int:
        return sum(blob.size for blob in self.uploaded)


async def push_plan(
    plan: ImagePlan, transfers: Transfers, tag: str, limiter: anyio.CapacityLimiter
) -> PushOutcome:
    """Push ``plan`` with the blob requests ``limiter`` admits at once; the first failure
    cancels the rest and is raised as itself.
    """
    present: set[str] = set()

    async def check(blob: Blob) -> None:
        async with limiter:
            if await transfers.exists(blob):
                present.add(blob.digest)

    await run_together([partial(check, blob) for blob in plan.blobs])
    skipped = [blob for blob in plan.blobs if blob.digest in present]
    missing = [blob for blob in plan.blobs if blob.digest not in present]
    await transfers.skipped(len(skipped))
    await transfers.plan_upload(missing)

    async def upload(blob: Blob) -> None:
        async with limiter:
            await transfers.upload(blob)

    await run_together([partial(upload, blob) for blob in missing])
    async with limiter:
        for manifest in plan.manifests:
            await transfers.put_manifest(manifest.digest, manifest)
        await transfers.put_manifest(tag, plan.top)
    return PushOutcome(tuple(missing), tuple(skipped))
