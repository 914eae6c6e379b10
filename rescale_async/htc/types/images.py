"""The project's container registry: repositories, images and their readiness."""

from __future__ import annotations

from pydantic import Field

from ._base import APIModel
from .enums import ImageState

__all__ = ["ImageList", "ImageStatus", "Repository"]


class ImageList(APIModel):
    """The project's registry URL (ending in ``/``) and its ``repo:tag`` images (HTCImages)."""

    container_registry: str | None = None
    images: list[str] | None = None


class ImageStatus(APIModel):
    """Whether an image can be used by jobs yet (HTCImageStatus)."""

    status: ImageState | None = None

    @property
    def is_ready(self) -> bool:
        """True when jobs can use the image (submitting with a PENDING image fails)."""
        return self.status == ImageState.READY


class Repository(APIModel):
    """A repository in the project's registry; created idempotently (HTCRepository)."""

    repository_name: str | None = None
    registry_uri: str | None = Field(None, alias="registryURI")
    successfully_created: bool | None = None
    project_id: str | None = None
    workspace_id: str | None = None
    created_by: str | None = None
