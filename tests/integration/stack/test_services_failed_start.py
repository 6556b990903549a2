"""A failed `services.sh up` stops what it started: no supervisor outlives it to restart services forever."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


def _supervisors(run_dir: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            if "supervise.sh" in cmdline and (proc / "environ").read_bytes().find(str(run_dir).encode()) >= 0:
                found.append(cmdline)
        except OSError:
            continue
    return found


def test_a_service_that_cannot_start_stops_the_others_too(stack_env: dict[str, str], tmp_path: Path) -> None:
    shutil.copy(Path(stack_env["BYOK_RUN_DIR"]) / "stack.env", tmp_path / "stack.env")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOK_")} | {
        "BYOK_RUN_DIR": str(tmp_path),
        "BYOK_LEDGER_URL": "postgresql+psycopg://nobody:x@127.0.0.1:9/none",  # billing cannot start
    }
    services_sh = REPO / "infra/local/services.sh"
    up = subprocess.run([services_sh, "up"], env=env, capture_output=True, text=True, timeout=240)
    assert up.returncode != 0
    assert "billing exited during start-up" in up.stderr and "stopping what started" in up.stderr
    assert _supervisors(tmp_path) == []
    assert not list(tmp_path.glob("*.pid"))
