"""``platform coretypes`` and ``platform analyses``, and how credential failures read."""

from __future__ import annotations

import pytest
from platform_cli_support import (
    PlatformCli,
    cli,  # noqa: F401 - fixtures
    error_line,
    served,  # noqa: F401 - fixtures
)


async def test_coretypes_table_json_category_and_inactive(cli: PlatformCli) -> None:
    table = (await cli.ok("coretypes")).out.splitlines()
    assert table[0].split() == ["CODE", "NAME", "CORES", "MEMORY", "PRICE"]
    rows = {line.split()[0]: line for line in table[2:]}
    assert "pyrite" not in rows  # inactive: only with --all
    assert rows["emerald"].split("  ")[0] == "emerald"
    assert "1, 2, 4, 8, 16, 32" in rows["emerald"]
    assert "4000 MB/core" in rows["emerald"] and rows["emerald"].rstrip().endswith("0.0450")

    coretypes = await cli.json("coretypes")
    by_code = {coretype["code"]: coretype for coretype in coretypes}
    assert by_code["granite"]["cores"] == [2, 4, 8, 16, 32, 64, 128]
    assert by_code["granite"]["price"] == "0.0375"
    assert set(by_code) == set(rows)

    gpus = await cli.json("coretypes", "--category", "gpu")
    assert sorted(coretype["code"] for coretype in gpus) == ["aurora", "luna"]
    every = await cli.json("coretypes", "--all")
    assert "pyrite" in {coretype["code"] for coretype in every}


async def test_analyses_search_shows_versions(cli: PlatformCli) -> None:
    table = (await cli.ok("analyses", "--search", "FOAM")).out.splitlines()
    assert table[0].split() == ["CODE", "NAME", "VERSIONS"]
    assert [line.split()[0] for line in table[2:]] == ["openfoam"]
    assert table[2].rstrip().endswith("v2206, v2312")
    found = await cli.json("analyses", "--search", "bring your own")
    assert [(a["code"], [v["versionCode"] for v in a["versions"]]) for a in found] == [
        ("user_included", ["0"])
    ]
    assert "no analyses match" in (await cli.ok("analyses", "--search", "no-such-tile")).out


async def test_refused_key_and_conflicting_options(
    cli: PlatformCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESCALE_API_KEY", "not-the-SECRET-key")
    refused = await cli("coretypes")
    assert refused.code == 3
    assert error_line(refused).startswith("authentication failed")
    assert "SECRET" not in refused.err

    both = await cli("coretypes", "--region", "eu")
    assert both.code == 2
    assert error_line(both) == "give --region or --base-url, not both (--region eu)"
