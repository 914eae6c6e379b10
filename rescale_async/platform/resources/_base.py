"""What every platform resource shares: the pipeline, paths with their trailing slash, parsing
into models, and listings over Django REST Framework pages.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..._core.pagination import AsyncPaginator, NumberedPage
from ..._core.pipeline import segment
from ..._core.resource import Resource

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "FILES_PAGE_SIZE",
    "PAGE_SIZE_PARAM",
    "PlatformResource",
    "api_path",
]

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 100
"""The ``page_size`` listings ask for unless told otherwise. The service's maximum is not
documented (Django REST Framework clamps a larger size to it, or ignores the parameter)."""

FILES_PAGE_SIZE = 1000
"""The ``page_size`` of file listings (as Rescale's own clients ask for a job's files)."""

PAGE_SIZE_PARAM = "page_size"


def api_path(*parts: object) -> str:
    """The path of ``parts`` below the base URL, each escaped as one segment, with the
    trailing slash every platform path needs (Django redirects a GET without it and refuses
    a POST): ``api_path("jobs", job_id, "submit")`` is ``jobs/<id>/submit/``.
    """
    return "".join(f"{segment(part)}/" for part in parts)


class PlatformResource(Resource):
    """A group of platform API operations: HTTP calls only; the models hold the data."""

    def _list(
        self,
        path: str,
        item_type: type[T],
        *,
        params: dict[str, Any] | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        default_page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncPaginator[T]:
        """A paginator over the numbered pages of ``path`` (``page``, ``page_size``), following
        each page's ``next``; ``limit`` caps the items.
        """
        return self._pipeline.paginate(
            path,
            item_type,
            params=params,
            page_size=default_page_size if page_size is None else page_size,
            limit=limit,
            page_type=NumberedPage,
            page_size_param=PAGE_SIZE_PARAM,
        )
