"""Shared test wiring: the real local stack's coordinates come from $BYOK_RUN_DIR/stack.env.

`make test` (infra/local/stack.sh up) starts Kafka, Vault and PostgreSQL and writes that file.
Integration fixtures fail loudly when the stack is not running; nothing is mocked or skipped.
"""

from __future__ import annotations

import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUN_DIR = Path(os.environ.get("BYOK_RUN_DIR", REPO / ".run"))


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    """BYOK_KAFKA_BOOTSTRAP, BYOK_VAULT_ADDR, BYOK_VAULT_*_TOKEN..., BYOK_DATABASE_URL of the running stack."""
    path = RUN_DIR / "stack.env"
    if not path.exists():
        pytest.fail(f"the local stack is not running ({path} missing): run `make up` or `make test`")
    return _read_env_file(path)


@pytest.fixture(scope="session")
def kafka_bootstrap(stack_env: dict[str, str]) -> str:
    return stack_env["BYOK_KAFKA_BOOTSTRAP"]


@pytest.fixture(scope="session")
def postgres_url(stack_env: dict[str, str]) -> str:
    return stack_env["BYOK_DATABASE_URL"]


@pytest.fixture
def unique_id() -> str:
    """A fresh id for tenants, request ids and consumer groups, so tests sharing the broker never collide."""
    return uuid.uuid4().hex[:12]


@pytest.fixture(autouse=True)
def _fresh_created_at(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sealed keys bind their prompt's created_at and open only within 900 s of it; a long session reaches some
    unit tests more than that after importing them. So the fakes' CREATED_AT (and the test module's copy of
    it) is taken again for each test."""
    fakes = [m for name, m in list(sys.modules.items()) if name.endswith("fakes.inference") and m is not None]
    if not fakes:
        return
    now = datetime.now(UTC)
    for module in fakes:
        monkeypatch.setattr(module, "CREATED_AT", now)
    if hasattr(request.module, "CREATED_AT"):
        monkeypatch.setattr(request.module, "CREATED_AT", now)
