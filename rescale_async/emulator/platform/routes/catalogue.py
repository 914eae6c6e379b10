"""Hardware and software: coretypes, analyses, compute prices."""

from __future__ import annotations

from starlette.responses import Response

from .._catalogue import ANALYSES, CORETYPES, analysis_document, coretype_document, price_documents
from .._errors import bad_request
from ._base import Call, RouteSpec, json_response

__all__ = ["routes"]

_BOOLEANS = {"true": True, "True": True, "1": True, "false": False, "False": False, "0": False}


def routes() -> list[RouteSpec]:
    return [
        RouteSpec("GET", "/coretypes/", coretypes),
        RouteSpec("GET", "/analyses/", analyses),
        RouteSpec("GET", "/billing/computeprices/", prices),
    ]


async def coretypes(call: Call) -> Response:
    """Coretypes, only active (or inactive) ones with ``isActive``."""
    raw = call.request.query_params.get("isActive")
    chosen = list(CORETYPES)
    if raw is not None and raw != "":
        if raw not in _BOOLEANS:
            raise bad_request({"isActive": ["Select a valid choice."]})
        chosen = [core for core in chosen if core.is_active == _BOOLEANS[raw]]
    return call.page(chosen, coretype_document)


async def analyses(call: Call) -> Response:
    return call.page(list(ANALYSES), analysis_document)


async def prices(call: Call) -> Response:
    """Not paginated: a bare array."""
    return json_response(price_documents())
