"""The command line as real processes: ``python -m rescale_async ...`` (no shell)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from cli_support import cli_process, gated, request

SERVE = [sys.executable, "-m", "rescale_async", "emulator", "serve", "--port", "0"]


def announced(process: subprocess.Popen[str]) -> dict[str, str]:
    """The RESCALE_* lines the served emulator prints once it answers."""
    assert process.stdout is not None
    found: dict[str, str] = {}
    while "RESCALE_API_KEY" not in found:
        line = process.stdout.readline()
        assert line, "the emulator exited before announcing itself"
        name, sep, value = line.strip().partition("=")
        if sep and name.startswith("RESCALE_"):
            found[name] = value
    return found


def test_emulator_serve_then_commands_in_other_processes(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [*SERVE, "--refresh-interval", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        env = announced(server)
        [project] = json.loads(cli_process("-o", "json", "projects", "list", env=env).stdout)
        created = cli_process("-o", "json", "tasks", "create", project["projectId"], "p", env=env)
        task = json.loads(created.stdout)["taskId"]
        gate = tmp_path / "gate"
        body = json.dumps([request(gated(gate))])
        submitted = cli_process(
            "-o", "json", "jobs", "submit", project["projectId"], task, "-", env=env, stdin=body
        )
        assert submitted.returncode == 0, submitted.stderr
        [job] = json.loads(submitted.stdout)["jobIds"]

        # Ctrl-C while following a running job's log: exit code 130, no traceback
        argv = ["jobs", "logs", project["projectId"], task, job, "-f", "--poll-interval", "0.05"]
        follow = subprocess.Popen(
            [sys.executable, "-m", "rescale_async", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )
        assert follow.stdout is not None
        assert follow.stdout.readline() == "first\n"
        follow.send_signal(signal.SIGINT)
        _, err = follow.communicate(timeout=30)
        assert follow.returncode == 130
        assert err.strip() == "rescale-async: interrupted"

        gate.touch()
        watched = cli_process("watch", project["projectId"], task, "--interval", "0.05", env=env)
        assert watched.returncode == 0, watched.stderr
        assert watched.stdout.endswith("all 1 jobs finished: 1 succeeded, 0 failed\n")
        logs = cli_process("jobs", "logs", project["projectId"], task, job, env=env)
        assert logs.stdout == "first\nsecond\n"

        refused = cli_process("projects", "list", env={**env, "RESCALE_API_KEY": "bad-SECRET"})
        assert refused.returncode == 3
        assert refused.stderr.count("\n") == 1 and "authentication failed" in refused.stderr
        assert "bad-SECRET" not in refused.stderr
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert out.endswith("Emulator stopped.\n")


def test_without_the_cli_extra_commands_say_how_to_get_it() -> None:
    script = (
        "import sys; sys.modules['rich'] = None\n"
        "from rescale_async.__main__ import main\n"
        "assert main(['--help']) == 0\n"
        "sys.exit(main(['projects', 'list']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "exit codes:" in result.stdout  # --help needs no extra
    assert result.stderr == (
        "rescale-async: error: this command needs the 'cli' extra (rich is missing): "
        "pip install 'rescale-async[cli]'\n"
    )


def test_usage_error_and_version_as_processes() -> None:
    usage = cli_process("jobs", "logs")
    assert usage.returncode == 2
    assert usage.stderr.count("\n") == 1
    assert "the following arguments are required: project, task, job" in usage.stderr
    version = cli_process("--version")
    assert version.returncode == 0 and version.stdout.startswith("rescale-async 0.")
