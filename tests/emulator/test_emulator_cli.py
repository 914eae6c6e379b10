"""The command line's options become the emulator's configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from rescale_async.emulator import EmulatorConfig
from rescale_async.emulator.__main__ import config_from, parse_args


def test_options_map_to_the_configuration() -> None:
    args = parse_args(
        [
            "--port",
            "0",
            "--db",
            "state.db",
            "--refresh-interval",
            "0.5",
            "--workers",
            "3",
            "--api-key",
            "a",
            "--api-key",
            "b",
            "--image",
            "app:1",
            "--image",
            "slow:2=30",
            "--log-empty-pages",
            "0.1",
            "--seed",
            "4",
        ]
    )
    config = config_from(args)
    assert config.db_path == Path("state.db")
    assert config.refresh_interval == 0.5
    assert config.max_workers == 3
    assert config.api_keys == ("a", "b")
    assert dict(config.images) == {"app:1": 0.0, "slow:2": 30.0}
    assert config.log_empty_page_probability == 0.1
    assert config.seed == 4
    defaults = config_from(parse_args([]))
    assert defaults.images == EmulatorConfig().images
    assert parse_args([]).port == 8700


def test_bad_values_are_refused() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--image", "x=soon"])
    with pytest.raises(ValueError, match="max_workers"):
        config_from(parse_args(["--workers", "0"]))
