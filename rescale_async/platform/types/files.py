"""Files: uploaded inputs and job outputs, with their checksums."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..._core.models import APIModel, OpenIntEnum, RequestModel, SecretText, UTCDateTime
from ._common import IdText

__all__ = ["File", "FileChecksum", "FileLike", "FileLines", "FileType", "FileUpdate", "PathParts"]


class FileType(OpenIntEnum):
    """A file's ``typeId``."""

    INPUT = 1
    TEMPLATE = 2
    PARAM = 3
    SCRIPT = 4
    OUTPUT = 5
    DESIGN_VARIABLE = 7
    CASE = 8
    OPTIMIZER = 9
    TEMPORARY = 10
    CHECKPOINT_ARCHIVE = 11
    SNAPSHOT = 12


class FileChecksum(APIModel):
    """``{hashFunction: "sha512", fileHash: "<lowercase hex>"}``."""

    hash_function: str | None = None
    file_hash: str | None = None


class PathParts(APIModel):
    """Where a file lies in storage."""

    container: str | None = None
    path: str | None = None


class File(APIModel):
    """A file (``GET files/{id}/``, a job's outputs...); ``decrypted_size`` is its true size."""

    id: IdText
    name: str | None = None
    type_id: FileType | None = None
    date_uploaded: UTCDateTime | None = None
    relative_path: str | None = None
    """The path below the job's working directory (outputs)."""
    path: str | None = None
    path_parts: PathParts | None = None
    download_url: str | None = None
    decrypted_size: int | None = None
    is_uploaded: bool | None = None
    is_deleted: bool | None = None
    owner: str | None = None
    file_checksums: list[FileChecksum] | None = None
    encoded_encryption_key: SecretText | None = None
    storage: dict[str, Any] | None = None

    @property
    def size(self) -> int | None:
        """The content's size in bytes (``decryptedSize``), when given."""
        return self.decrypted_size

    def checksum(self, hash_function: str = "sha512") -> str | None:
        """The lowercase hex digest for ``hash_function`` (``sha512``, ``md5``...), if given."""
        for entry in self.file_checksums or ():
            if (entry.hash_function or "").lower() == hash_function.lower() and entry.file_hash:
                return entry.file_hash.lower()
        return None

    @property
    def sha512(self) -> str | None:
        """The SHA-512 of the content (lowercase hex), if the service gave one."""
        return self.checksum("sha512")


FileLike = str | File
"""A file id, or a File."""


class FileUpdate(RequestModel):
    """The body of ``PATCH files/{id}/``: only the fields given are changed."""

    name: str | None = Field(default=None, min_length=1)
    type_id: FileType | None = None


class FileLines(APIModel):
    """``GET files/{id}/lines/``: the file's lines, each with its line break."""

    lines: list[str] = Field(default_factory=list)
