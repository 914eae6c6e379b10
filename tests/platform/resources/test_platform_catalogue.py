"""``users``, ``projects``, ``coretypes``, ``analyses`` and ``prices``."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from platform_support import api, coretype, page, query

from rescale_async import NoMatchError
from rescale_async.platform.types import Analysis, AnalysisRef, ComputePrice, CoreType, Project

ANALYSES = [
    {
        "code": "ansys_fluent",
        "name": "ANSYS Fluent",
        "vendorName": "ANSYS",
        "versions": [
            {
                "id": "v1",
                "version": "2019 R1",
                "versionCode": "2019r1",
                "allowedCoreTypes": ["emerald"],
            },
            {"id": "v2", "version": "2023 R2", "versionCode": "2023r2"},
        ],
        "licenseSettings": [{"envVar": "ANSYSLI_SERVERS"}],
    },
    {
        "code": "user_included",
        "name": "Bring Your Own Software",
        "versions": [{"id": "v0", "version": "0", "versionCode": "0"}],
    },
]


async def test_users_me_keeps_every_field() -> None:
    me = {
        "email": "me@example.com",
        "company": {"code": "acme", "name": "Acme"},
        "sshKey": "ssh-rsa AAA",
    }
    async with api() as (router, c):
        router.get("/users/me/").respond(json=me)
        user = await c.users.me()
    assert user.email == "me@example.com" and user.company and user.company.code == "acme"
    assert user.model_extra == {"sshKey": "ssh-rsa AAA"}


async def test_projects_follow_every_page() -> None:
    async with api() as (router, c):
        route = router.get("/users/me/projects/").mock(
            side_effect=[
                httpx.Response(
                    200, json=page([{"id": "p1", "name": "One"}], 2, path="users/me/projects/")
                ),
                httpx.Response(200, json=page([{"id": 2, "name": "Two"}])),
            ]
        )
        projects = await c.projects.list().to_list()
    assert [(p.id, p.name) for p in projects] == [("p1", "One"), ("2", "Two")]
    assert all(isinstance(p, Project) for p in projects)
    assert query(route, 1) == {"page": "2", "page_size": "100"}


async def test_coretypes_filter_by_activity_and_parse_prices_as_decimals() -> None:
    async with api() as (router, c):
        route = router.get("/coretypes/").respond(
            json=page([coretype("granite", [2, 4], price="0.0712")])
        )
        coretypes = await c.coretypes.list(is_active=True, limit=1).to_list()
    assert query(route) == {"isActive": "true", "page_size": "1"}
    granite = coretypes[0]
    assert isinstance(granite, CoreType) and granite.price == Decimal("0.0712")
    assert granite.allows(4) and not granite.allows(1)
    assert granite.category_codes == ["general"]


async def test_prices_are_one_array() -> None:
    prices = [
        {
            "coreType": "granite",
            "planType": "on-demand",
            "os": "linux",
            "isActive": True,
            "value": {"amount": "0.0480"},
        },
        {
            "coreType": "emerald",
            "planType": "low-priority-on-demand",
            "os": "linux",
            "isActive": False,
            "value": {"amount": "0.02"},
        },
    ]
    async with api() as (router, c):
        router.get("/billing/computeprices/").respond(json=prices)
        got = await c.prices.list()
    assert all(isinstance(p, ComputePrice) for p in got)
    assert [(p.core_type, p.amount) for p in got] == [
        ("granite", Decimal("0.0480")),
        ("emerald", Decimal("0.02")),
    ]


async def test_analyses_list_and_the_version_lookup() -> None:
    async with api() as (router, c):

        def pages(request: httpx.Request) -> httpx.Response:
            if request.url.params.get("page", "1") == "1":
                return httpx.Response(200, json=page(ANALYSES[:1], 2, count=2, path="analyses/"))
            return httpx.Response(200, json=page(ANALYSES[1:], count=2))

        route = router.get("/analyses/").mock(side_effect=pages)
        analyses = await c.analyses.list().to_list()
        byo = await c.analyses.version("user_included", "0")
        fluent = await c.analyses.version("ansys_fluent", "2019 R1")
        by_code = await c.analyses.version("ansys_fluent", "2023R2")  # case ignored
    assert [a.code for a in analyses] == ["ansys_fluent", "user_included"]
    assert isinstance(analyses[0], Analysis) and analyses[0].vendor_name == "ANSYS"
    assert byo.ref() == AnalysisRef(code="user_included", version="0")
    assert fluent.ref() == AnalysisRef(code="ansys_fluent", version="2019r1")
    assert fluent.allowed_core_types == ["emerald"]
    assert by_code.version_code == "2023r2"
    assert [call.request.url.params.get("page") for call in route.calls][:4] == [
        None,
        "2",
        None,
        "2",
    ]


async def test_the_version_lookup_lists_what_there_is() -> None:
    async with api() as (router, c):
        router.get("/analyses/").respond(json=page(ANALYSES))
        with pytest.raises(
            NoMatchError, match=r"no version '2020'; .*: 2019 R1 \(2019r1\), 2023 R2 \(2023r2\)"
        ):
            await c.analyses.version("ansys_fluent", "2020")
        with pytest.raises(
            NoMatchError, match=r"no analysis with code 'ansys_flent' \(closest codes: ansys_fluent"
        ):
            await c.analyses.version("ansys_flent", "2019 R1")
        with pytest.raises(LookupError):  # a NoMatchError is a LookupError too
            await c.analyses.version("nothing_like_it_at_all", "1")
