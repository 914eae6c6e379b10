"""The benchmark harness: a tiny configuration end to end, and how it turns runs into figures."""

from __future__ import annotations

import importlib.util
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
    htc = "a,b,c,d,e,e'"  # the platform's (f) and (i) have a run of their own, below
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", htc, "--output", str(output)],
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


def test_quick_run_of_the_platform_scenarios_checks_every_download_and_job(
    tmp_path: Path,
) -> None:
    """(f) and (i) tiny: every implementation measured, every file and job checked."""
    output = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "f,i", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = output.read_text()
    assert "Measurements without a figure" not in text
    cfg = QUICK

    downloads = _table_rows(text, "## (f)")
    implementations = [
        "this SDK",
        "the notebook (10 threads, requests)",
        "a single stream (httpx)",
        "httpx floor (the same ranges)",
    ]
    for name in implementations:
        seconds, rate, peak = downloads[name]
        assert re.fullmatch(r"[\d.]+ s", seconds) and re.fullmatch(r"[\d.]+ MiB/s", rate)
        assert re.fullmatch(r"[\d.]+ MiB", peak)
    headers = {"implementation", "target"}
    targets = [row for row in downloads if row not in implementations and row not in headers]
    assert len(targets) == 4
    for target in targets:
        assert downloads[target][-1] in ("met", "missed", "met (every run)"), target

    runs = _table_rows(text, "## (i)")
    jobs = cfg.platform_jobs
    assert runs[f"jobs succeeded, each result checked (of {jobs})"] == [
        f"{jobs}",
        f"{jobs}",
        f"{jobs}",
        "met (every run)",
    ]
    assert runs["429s received"][0] == "0" and runs["429s received"][-1] == "met (every run)"
    sdk_requests = int(runs["requests the server saw"][0])
    # per job at least: its inputs, create, submit, a status, its files, two downloads
    assert sdk_requests >= jobs * (cfg.platform_inputs // jobs + 6)


def test_quick_run_of_the_data_plane_scenarios_checks_every_push_and_transfer(
    tmp_path: Path,
) -> None:
    """(g) and (h) tiny, against the real registry and moto: every implementation measured
    (the other clients, of the bench extra, when installed), every pushed manifest and
    downloaded file checked, the repeat push only HEADs.
    """
    output = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "g,h", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = output.read_text()
    if "## Measurements without a figure" in text:
        missing = text.split("## Measurements without a figure", 1)[1].strip().splitlines()
        assert all("is not installed (pip install" in line for line in missing), missing

    pushes = _table_rows(text, "## (g)")
    for name, module in (
        ("this SDK", "rescale_async"),
        ("oras-py (sync)", "oras"),
        ("python-dxf (sync)", "dxf"),
        ("httpx floor (every blob at once)", "httpx"),
    ):
        if importlib.util.find_spec(module) is None:
            assert pushes[name][0] == "not available yet"
            continue
        seconds, rate, peak, requests = pushes[name]
        assert re.fullmatch(r"[\d.]+ s", seconds) and re.fullmatch(r"[\d.,]+ MiB/s", rate)
        assert re.fullmatch(r"[\d.]+ MiB", peak) and int(requests) >= 2 * (QUICK.push_layers + 1)
    repeat = pushes["a repeat push costs only HEADs and the manifest"]
    assert repeat == [
        f"HEAD blob {QUICK.push_layers + 1}, PUT manifest 1; 0 blob bytes",
        "met (every run)",
    ]

    transfers = _table_rows(text, "## (h)")
    each = QUICK.storage_size // QUICK.storage_files / 1024
    files = f"{QUICK.storage_files:,} files of {each:,.0f} KiB"
    awscli_installed = importlib.util.find_spec("awscli") is not None
    for what in ("upload 1 file", "download 1 file", f"upload {files}", f"download {files}"):
        sdk, awscli, *peaks = transfers[what]
        if not awscli_installed:
            assert awscli.startswith("not available yet"), awscli
            assert re.fullmatch(r"[\d.]+ s \([\d.,]+ MiB/s\)", sdk), (what, sdk)
            continue
        for cell in (sdk, awscli):
            assert re.fullmatch(r"[\d.]+ s \([\d.,]+ MiB/s\)", cell), (what, cell)
        assert all(re.fullmatch(r"[\d.]+ MiB", peak) for peak in peaks), peaks
        assert transfers[f"{what}: at least awscli's throughput"][-1] in ("met", "missed")
    if awscli_installed:  # both clients noted when the store acknowledged the last part
        assert re.search(
            r"acknowledged the last part [\d.]+ s after the SDK started and [\d.]+ s", text
        )
    for verb in ("upload", "download"):
        verdict = transfers[f"SDK peak RSS flat in file size ({verb})"][-1]
        assert verdict.startswith(("met (every run)", "missed")), verdict


def test_download_targets_compare_each_run_with_itself() -> None:
    report = Report(Config(slow_runs=2))
    # run 0: everything slow; run 1: fast. Ratios are taken within each run.
    for run, (sdk, notebook, single, floor) in enumerate([(20, 30, 200, 19), (10, 12, 90, 9)]):
        for impl, seconds in (("sdk", sdk), ("notebook", notebook), ("single", single)):
            report.add("f", impl, run, _m(seconds, peak=90 * 1024))
        report.add("f", "floor", run, _m(floor, peak=50 * 1024))
    rows = {line.split(" | ")[0]: line for line in report.render().splitlines()}
    assert rows["| >= 8x a single stream"].endswith("= 9.50x | met |")  # median of 10, 9
    assert rows["| <= 1.15x the floor"].endswith("= 1.08x | met |")  # median of 1.05, 1.11
    assert rows["| at least the notebook's speed at equal connections (10)"].endswith(
        "= 1.35x | met |"
    )
    assert rows["| SDK peak RSS under 100 MiB"].endswith("90.0 MiB | met (every run) |")
    report.add("f", "sdk", 1, _m(10, peak=120 * 1024))
    rows = {line.split(" | ")[0]: line for line in report.render().splitlines()}
    assert rows["| SDK peak RSS under 100 MiB"].endswith("120.0 MiB | missed |")


def _m(seconds: float, peak: int = 1000) -> Measurement:
    return Measurement(seconds=seconds, peak_rss_kib=peak, start_rss_kib=500)


def test_push_targets_and_the_repeat_verdict_follow_each_run() -> None:
    report = Report(Config(slow_runs=2))
    heads = {"HEAD blob": 6, "PUT manifest": 1}
    for run, (sdk, oras, dxf, floor) in enumerate([(10, 30, 18, 9), (8, 24, 20, 7)]):
        for impl, seconds in (("sdk", sdk), ("oras", oras), ("dxf", dxf), ("floor", floor)):
            report.add("g", impl, run, _m(seconds))
        repeat = Measurement(seconds=0.3, peak_rss_kib=1, extra={"bytes_sent": 0})
        report.add("g", "sdk-repeat", run, repeat)
        repeat.extra["request_kinds"] = dict(heads)
    rows = {line.split(" | ")[0]: line for line in report.render().splitlines()}
    assert rows["| >= 2x oras-py"].endswith("= 3.00x | met |")  # median of 3.0, 3.0
    assert rows["| >= 2x python-dxf"].endswith("= 2.15x | met |")  # median of 1.8, 2.5
    assert rows["| <= 1.2x the floor"].endswith("= 1.13x | met |")  # median of 1.11, 1.14
    repeat_row = rows["| a repeat push costs only HEADs and the manifest"]
    assert repeat_row.endswith("HEAD blob 6, PUT manifest 1; 0 blob bytes | met (every run) |")
    # one run that uploaded a blob again misses it, whatever the others did
    report.results["g"][0]["sdk-repeat"].extra["request_kinds"]["POST upload"] = 1
    rows = {line.split(" | ")[0]: line for line in report.render().splitlines()}
    assert rows["| a repeat push costs only HEADs and the manifest"].endswith("| missed |")


def test_storage_targets_compare_with_awscli_and_the_smaller_file() -> None:
    report = Report(Config(slow_runs=1))
    for key, sdk, awscli in (
        ("h-up-file", 10, 12),
        ("h-down-file", 10, 9),
        ("h-up-tree", 20, 60),
        ("h-down-tree", 20, 40),
    ):
        report.add(key, "sdk", 0, _m(sdk, peak=100 * 1024))
        report.add(key, "awscli", 0, _m(awscli, peak=60 * 1024))
    report.add("h-up-file-small", "sdk", 0, _m(2, peak=95 * 1024))
    report.add("h-down-file-small", "sdk", 0, _m(2, peak=70 * 1024))
    assert "where the time goes" not in report.render()  # the clients noted nothing
    for impl, parts, after in (("sdk", 6.0, 4.0), ("awscli", 7.5, 4.5)):
        report.results["h-up-file"][0][impl].extra.update(
            last_byte_s=parts, after_last_byte_s=after
        )
    rows = {line.split(" | ")[0]: line for line in report.render().splitlines()}
    assert (
        "the store had acknowledged the last part 6.00 s after the SDK started and 7.50 s "
        "after awscli did"
    ) in report.render()
    assert "then took 4.00 s and 4.50 s more" in report.render()
    assert rows["| upload 1 file: at least awscli's throughput"].endswith("= 1.20x | met |")
    assert rows["| download 1 file: at least awscli's throughput"].endswith("= 0.90x | missed |")
    assert rows["| SDK peak RSS flat in file size (upload)"].endswith(
        "8x the bytes: +5.0 MiB (largest of the runs) | met (every run): <= 16 MiB |"
    )
    assert rows["| SDK peak RSS flat in file size (download)"].endswith(
        "8x the bytes: +30.0 MiB (largest of the runs) | missed: <= 16 MiB |"
    )


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
        ([], 5, 3, ("a", "b", "c", "d", "e", "e'", "f", "i", "g", "h")),
        (["--runs", "2", "--only", "a,e"], 2, 2, ("a", "e")),
        (["--quick"], 1, 1, ("a", "b", "c", "d", "e", "e'", "f", "i", "g", "h")),
        (["--quick", "--only", "f,i"], 1, 1, ("f", "i")),
        (["--quick", "--only", "g,h"], 1, 1, ("g", "h")),
    ],
)
def test_command_line(argv: list[str], runs: int, slow: int, scenarios: tuple[str, ...]) -> None:
    config, output = parse_args(argv)
    assert (config.runs, config.slow_runs, config.scenarios) == (runs, slow, scenarios)
    assert output.name == "RESULTS.md"


def test_unknown_scenarios_are_refused() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--only", "a,z"])
