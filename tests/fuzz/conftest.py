"""The fuzz tests log nothing below CRITICAL: thousands of dead letters would each log a warning.

When the fuzz tests have run, their figures (cases per topic, seconds per test and in all) are printed in
the terminal summary and appended to $BYOK_RUN_DIR/fuzz.md.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fuzz_support import REPORT, SCALE

REPO = Path(__file__).resolve().parents[2]
SECONDS: dict[str, float] = {}  # test name -> seconds (setup, call and teardown: services started included)


@pytest.fixture(autouse=True)
def quiet_logs() -> Iterator[None]:
    logger = logging.getLogger("byok")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid.startswith("tests/fuzz/"):
        name = report.nodeid.rsplit("::", 1)[-1]
        SECONDS[name] = SECONDS.get(name, 0.0) + report.duration


def _cases(seen: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in seen.items())


def table() -> str:
    rows = [
        f"Fuzz figures, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, BYOK_FUZZ_SCALE={SCALE:g}",
        "",
        "| test | topic | where | cases | seconds |",
        "|---|---|---|---|---|",
    ]
    reported = set()
    for entry in REPORT:
        reported.add(entry["test"])
        seconds = SECONDS.get(entry["test"], 0.0)
        rows.append(
            f"| {entry['test']} | {entry['topic']} | {entry['where']} | {_cases(entry['seen'])} | {seconds:.1f} |"
        )
    others = [name for name in SECONDS if name not in reported]
    if others:
        rows.append(
            f"| {len(others)} other tests (regressions, or failed before their figures) | | | | "
            f"{sum(SECONDS[n] for n in others):.1f} |"
        )
    rows += ["", f"Fuzz time in all: {sum(SECONDS.values()):.1f} s over {len(SECONDS)} tests", ""]
    return "\n".join(rows)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not SECONDS:
        return
    text = table()
    terminalreporter.write_sep("-", "fuzz figures")
    terminalreporter.write_line(text)
    run_dir = Path(os.environ.get("BYOK_RUN_DIR", REPO / ".run"))
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "fuzz.md", "a") as out:
        out.write(text + "\n")
