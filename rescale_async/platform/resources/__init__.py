"""The platform API's resources: one method per endpoint, each documented with its HTTP path.

Listings return an ``AsyncPaginator`` over numbered pages (``page``, ``page_size``);
``files.contents`` streams bytes (``FileContent``).
"""

from __future__ import annotations

from ._base import DEFAULT_PAGE_SIZE, FILES_PAGE_SIZE, PlatformResource, api_path
from ._content import ByteRange, ContentRange, FileContent
from .analyses import Analyses
from .coretypes import CoreTypeCatalogue, CoreTypes, Prices
from .files import Files
from .jobs import Jobs, job_status_filter
from .users import Projects, Users

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "FILES_PAGE_SIZE",
    "Analyses",
    "ByteRange",
    "ContentRange",
    "CoreTypeCatalogue",
    "CoreTypes",
    "FileContent",
    "Files",
    "Jobs",
    "PlatformResource",
    "Prices",
    "Projects",
    "Users",
    "api_path",
    "job_status_filter",
]
