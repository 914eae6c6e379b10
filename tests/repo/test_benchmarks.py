"""The benchmark harness: a tiny configuration end to end, and how it turns runs into figures."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks._measure import Measurement, current_rss_kib, peak_rss_kib
from benchmarks.report import Report
from benchmarks.runner import QUICK, Config, parse_args

ROOT = Path(__file__).resolve().parents[2]


def _table_rows(text: str, heading: str) -> dict[str, list[str]]:
    """The rows of the table under ``heading``: first cell -> the other cells."""
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("| scenario") and "---" not in line:
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if cells[0] != "measure":
                rows[cells[0]] = cells[1:]
    return rows


def test_quick_run_measures_every_scenario_and_implementation(tmp_path: Path) -> None:
    output = tmp_path / "RESULTS.md"
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert time.monotonic() - start < 60
    text = output.read_text()
    assert "Quick smoke configuration" in text
    assert "Measurements without a figure" not in text

    side_by_side = _table_rows(text, "## (a)-(d)")
    cfg = QUICK
    expected = [
        f"(a) list {cfg.list_jobs:,} jobs of a task",
        f"(b) status of {cfg.status_jobs:,} named jobs",
        f"(c) {cfg.log_lines:,}-line log streamed to a file",
        f"(c) peak RSS, {cfg.log_lines:,}-line log",
        f"(c) peak RSS, {cfg.log_lines_big:,}-line log",
        f"(d) submit {cfg.submit_batches} x {cfg.submit_count:,} jobs",
    ]
    assert list(side_by_side) == expected
    for title in expected:
        sdk, floor, rescalehtc, faster, of_floor, _target, verdict = side_by_side[title]
        figures = [sdk, floor]
        if title == expected[4]:  # the big log: rescalehtc is left out
            assert rescalehtc == "n/a"
        else:
            figures.append(rescalehtc)
        for figure in figures:
            assert re.fullmatch(r"[\d.,]+ (ms|s|MiB)", figure), (title, figure)
        if "peak RSS" not in title:
            assert re.fullmatch(r"[\d.]+x", faster) and re.fullmatch(r"[\d.]+x", of_floor)
        if title != expected[3]:
            assert verdict == "met" or verdict.startswith(("met (", "missed: ")), (title, verdict)

    orchestration = _table_rows(text, "## (e)")
    jobs = cfg.tasks * cfg.jobs_per_task
    assert len(orchestration) == 7
    accounted = orchestration[f"jobs accounted for, checked against the server (of {jobs:,})"]
    assert accounted[:2] == [f"{jobs:,}", f"{jobs:,}"]
    assert accounted[-1] == "met (every run)"
    assert orchestration["429s received"][:2] == ["0", "0"]
    assert int(orchestration["requests the server saw"][0].replace(",", "")) > 2 * cfg.tasks


def _m(seconds: float, peak: int = 1000) -> Measurement:
    return Measurement(seconds=seconds, peak_rss_kib=peak, start_rss_kib=500)


def test_ratios_are_taken_within_each_run_then_the_median() -> None:
    report = Report(Config(runs=3))
    # Run 0: the server was slow for everyone; ratios still compare like with like.
    for run, (sdk, floor, old) in enumerate(
        [(10.0, 10.0, 100.0), (1.0, 0.5, 8.0), (1.0, 1.0, 9.0)]
    ):
        for key in ("a", "b"):
            report.add(key, "sdk", run, _m(sdk))
            report.add(key, "floor", run, _m(floor))
            report.add(key, "rescalehtc", run, _m(old))
    assert report.time_ratio("a", "rescalehtc", "sdk") == 9.0  # median of 10, 8, 9
    assert report.time_ratio("a", "sdk", "floor") == 1.0  # median of 1, 2, 1
    assert report.median("a", "sdk", lambda m: m.seconds) == 1.0
    rows = [line for line in report.render().splitlines() if line.startswith(("| (a)", "| (b)"))]
    assert "| 9.00x | 1.00x |" in rows[0] and rows[0].endswith("| met |")  # >= 7x, <= 1.3x
    assert rows[1].endswith(  # (b) asks for 30x; rescalehtc / floor: median of 10, 16, 9
        "| missed: 9.00x faster than rescalehtc, below 30x (the floor itself is 10.00x faster) |"
    )


def test_a_missing_implementation_is_reported_not_averaged_away() -> None:
    report = Report(Config(runs=2))
    report.add("d", "sdk", 0, Measurement(unavailable="client.jobs.submit is not available yet"))
    report.add("d", "floor", 0, _m(1.0))
    report.add("d", "rescalehtc", 0, Measurement(error="wrong result: jobs=5 (expected 10)"))
    text = report.render()
    row = next(line for line in text.splitlines() if line.startswith("| (d)"))
    assert "not available yet" in row and "| error |" in row and "not measured" in row
    assert "wrong result: jobs=5" in text.split("## Measurements without a figure")[1]
    assert not report.complete()


def test_log_growth_verdict_compares_the_sdks_own_peaks_run_by_run() -> None:
    report = Report(Config(runs=2))
    for run, (small, big) in enumerate([(80_000, 85_000), (90_000, 110_000)]):
        report.add("c", "sdk", run, _m(1.0, small))
        report.add("c-big", "sdk", run, _m(9.0, big))
    row = next(line for line in report.render().splitlines() if "1,000,000-line" in line)
    assert row.rstrip(" |").endswith("missed: +12.2 MiB over it")  # median of +4.9 and +19.5


def test_rss_figures_follow_this_process_memory() -> None:
    before = current_rss_kib()
    block = bytearray(b"\1" * (64 * 1024 * 1024))  # written, so resident
    assert current_rss_kib() - before >= 60 * 1024
    assert peak_rss_kib() >= current_rss_kib()
    del block


@pytest.mark.parametrize(
    ("argv", "runs", "slow", "scenarios"),
    [
        ([], 5, 3, ("a", "b", "c", "d", "e", "e'")),
        (["--runs", "2", "--only", "a,e"], 2, 2, ("a", "e")),
        (["--quick"], 1, 1, ("a", "b", "c", "d", "e", "e'")),
    ],
)
def test_command_line(argv: list[str], runs: int, slow: int, scenarios: tuple[str, ...]) -> None:
    config, output = parse_args(argv)
    assert (config.runs, config.slow_runs, config.scenarios) == (runs, slow, scenarios)
    assert output.name == "RESULTS.md"


def test_unknown_scenarios_are_refused() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--only", "a,z"])
