"""The platform API's surface: auth, the catalogue, DRF pages, trailing slashes, DRF errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from platform_emulator_support import every, ok, platform, quick


async def test_auth_is_token_or_bearer_with_a_known_key() -> None:
    async with platform() as (emu, http):
        me = await ok(await http.get("users/me/"))
        assert me["email"] == emu.config.user_email
        bearer = {"Authorization": f"Bearer {emu.platform_api_key}"}
        assert (await http.get("users/me/", headers=bearer)).status_code == 200
        async with emu.platform_http(api_key="") as anonymous:
            response = await anonymous.get("users/me/")
            assert response.status_code == 401
            assert response.json() == {"detail": "Authentication credentials were not provided."}
            assert response.headers["www-authenticate"] == "Token"
        async with emu.platform_http(api_key="not-a-key") as stranger:
            response = await stranger.get("coretypes/")
            assert response.status_code == 401
            assert response.json() == {"detail": "Invalid token."}
        assert emu.platform_url == "http://htc-emulator/api/v2"
        assert emu.platform_api_key == emu.api_key


async def test_both_apis_answer_on_one_transport() -> None:
    async with platform() as (emu, http):
        async with emu.http(token=emu.issue_token()) as htc:
            projects = await ok(await htc.get("htc/projects"))
            assert projects["items"][0]["projectId"] == emu.project_id
        assert (await http.get("users/me/")).status_code == 200
        assert emu.counters.requests["GET /users/me/"] == 1
        assert emu.counters.requests["GET /htc/projects"] == 1


async def test_coretypes_are_paged_as_drf_pages() -> None:
    async with platform() as (_, http):
        first = await ok(await http.get("coretypes/"))
        assert first["count"] == 12
        assert len(first["results"]) == 10  # the default page size
        assert first["previous"] is None
        assert first["next"] == "http://htc-emulator/api/v2/coretypes/?page=2"
        second = await ok(await http.get(first["next"]))
        assert len(second["results"]) == 2
        assert second["next"] is None
        assert second["previous"] == "http://htc-emulator/api/v2/coretypes/"
        every_one = await every(http, "coretypes/")
        assert len({c["code"] for c in every_one}) == 12
        granite = next(c for c in every_one if c["code"] == "granite")
        assert 1 not in granite["cores"]
        assert 2 in granite["cores"]
        assert "general" in granite["categoryCodes"]
        assert Decimal(granite["lowPriorityPrice"]) < Decimal(granite["price"])
        big = await ok(await http.get("coretypes/", params={"page_size": 5000}))
        assert len(big["results"]) == 12
        assert (await http.get("coretypes/", params={"page": 3})).json() == {
            "detail": "Invalid page."
        }
        assert (await http.get("coretypes/", params={"page": "x"})).status_code == 404


async def test_page_size_is_clamped_to_the_configured_maximum() -> None:
    async with platform(quick(max_page_size=4, page_size=2)) as (_, http):
        page = await ok(await http.get("coretypes/", params={"page_size": 100}))
        assert len(page["results"]) == 4
        assert page["next"] == "http://htc-emulator/api/v2/coretypes/?page_size=100&page=2"


async def test_coretypes_filter_on_is_active() -> None:
    async with platform() as (_, http):
        inactive = await every(http, "coretypes/", isActive="false")
        assert [c["code"] for c in inactive] == ["pyrite"]
        active = await every(http, "coretypes/", isActive="true")
        assert len(active) == 11
        assert all(c["isActive"] for c in active)
        assert (await http.get("coretypes/", params={"isActive": "maybe"})).status_code == 400


async def test_analyses_include_bring_your_own_software_and_tiles() -> None:
    async with platform() as (_, http):
        analyses = {a["code"]: a for a in await every(http, "analyses/")}
        byos = analyses["user_included"]
        assert [v["versionCode"] for v in byos["versions"]] == ["0"]
        fluent = analyses["ansys_fluent"]
        assert len(fluent["versions"]) > 1
        assert all("granite" in v["allowedCoreTypes"] for v in fluent["versions"])
        assert all("luna" not in v["allowedCoreTypes"] for v in fluent["versions"])
        assert fluent["vendorName"] == "ANSYS"


async def test_compute_prices_are_a_bare_array_of_decimal_strings() -> None:
    async with platform() as (_, http):
        prices = await ok(await http.get("billing/computeprices/"))
        assert isinstance(prices, list)
        economy = {
            p["coreType"]: Decimal(p["value"]["amount"])
            for p in prices
            if p["planType"].endswith("on-demand") and p["os"] == "linux" and p["isActive"]
        }
        assert "pyrite" not in economy
        assert min(economy, key=economy.__getitem__) == "titanium"


async def test_projects_are_paged() -> None:
    async with platform(quick(projects=("one", "two", "three"))) as (_, http):
        projects = await every(http, "users/me/projects/", page_size=2)
        assert [p["name"] for p in projects] == ["one", "two", "three"]
        assert len({p["id"] for p in projects}) == 3


async def test_a_get_without_its_slash_is_redirected_other_methods_are_not() -> None:
    async with platform() as (_, http):
        response = await http.get("coretypes", params={"page": 2})
        assert response.status_code == 301
        assert response.headers["location"] == "http://htc-emulator/api/v2/coretypes/?page=2"
        assert (await http.post("jobs", json={})).status_code == 404
        missing = await http.get("nothing-here/")
        assert missing.status_code == 404
        assert missing.json() == {"detail": "Not found."}
        wrong = await http.put("coretypes/")
        assert wrong.status_code == 405
        assert wrong.json() == {"detail": 'Method "PUT" not allowed.'}


async def test_a_new_emulator_forgets_the_platform_bytes_of_an_earlier_run(tmp_path: Path) -> None:
    stale = tmp_path / "platform" / "files" / "OldOne" / "old.txt"
    stale.parent.mkdir(parents=True)
    stale.write_text("from an earlier run")
    async with platform(jobs_root=tmp_path) as (emu, http):
        assert not stale.exists()
        assert await every(http, "files/") == []
        uploaded = await ok(
            await http.post("files/contents/", files={"file": ("new.txt", b"new")}), 201
        )
        assert emu.platform.files[uploaded["id"]].path.is_relative_to(tmp_path / "platform")
