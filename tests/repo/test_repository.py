"""Repository promises: the README's two set-up commands, CI running the test one, docs in sync."""

from __future__ import annotations

import re
from pathlib import Path

from rescale_async._core import exceptions

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.*?)\n```", readme, flags=re.DOTALL)


def test_readme_has_exactly_two_setup_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    demo, tests = commands
    assert all("\n" not in command for command in commands)
    assert demo.startswith("python3 -m pip install ") and demo.endswith(
        "python3 -m rescale_async demo"
    )
    assert tests.startswith("python3 -m pip install ") and "nox -s tests" in tests


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    assert script[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in script
    assert script[-1] == readme_commands()[1]


def test_error_tree_in_docs_matches_the_module() -> None:
    def tree(text: str) -> list[str]:
        return [
            line.strip().replace("``", "`")
            for line in text.splitlines()
            if "Error" in line and ("──" in line or line.strip().startswith("RescaleError"))
        ]

    documented = tree((ROOT / "docs" / "errors.md").read_text())
    assert documented == tree(exceptions.__doc__ or "")
    assert len(documented) == len(exceptions.__all__)
