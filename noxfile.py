"""Developer sessions: tests (asyncio + trio, branch coverage >= 90%), lint, types, docs, bench,
fuzz.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite; every async test runs under both asyncio and trio."""
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "--cov=rescale_async",
        "--cov-branch",
        "--cov-report=term",
        "--cov-fail-under=90",
        *session.posargs,
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package and the tests."""
    session.install("-e", ".[test,lint]")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site; warnings are errors."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict")


FUZZ_EXAMPLES_PER_OPERATION = 1000


@nox.session
def fuzz(session: nox.Session) -> None:
    """The emulator fuzzed against the patched OpenAPI document, 1,000 requests per operation.

    Valid and invalid generated requests; any 5xx or any response off the document fails.
    """
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        "tests/emulator/test_emulator_schema.py",
        *session.posargs,
        env={"RESCALE_ASYNC_FUZZ_EXAMPLES": str(FUZZ_EXAMPLES_PER_OPERATION)},
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks; results are written to benchmarks/RESULTS.md."""
    session.install("-e", ".[test,bench]")
    session.run("python", "-m", "benchmarks", *session.posargs)
