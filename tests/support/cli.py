"""``procwatch`` run in this process through Typer's CliRunner: the console script's code path
without a new interpreter per call (which was most of the suite's time)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from crawler.cli import app


@dataclass(frozen=True)
class Ran:
    """What a command did, shaped like subprocess.CompletedProcess."""

    returncode: int
    stdout: str
    stderr: str


def procwatch(*args: str, cwd: Path | None = None, env: Mapping[str, str | None] | None = None) -> Ran:
    """Run ``procwatch ARGS`` in ``cwd``. An exception the CLI let escape fails the test: a user would
    have seen a traceback, which every command promises never to show."""
    with contextlib.chdir(cwd) if cwd else contextlib.nullcontext():
        result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)
