"""End to end: the three services as processes (infra/local/services.sh), the real stack, fake providers.

Package-scoped: the services stop before other test folders run, so no second inference worker or billing
consumer joins their consumer groups.

The services get a run folder of their own so their logs can be searched for canary keys.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from byok_client import ByokClient
from byok_testing.fake_providers.client import FakeProviderControl

REPO = Path(__file__).resolve().parents[2]


def _env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


@pytest.fixture(scope="package")
def services(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    run_dir = tmp_path_factory.mktemp("e2e-run")
    shutil.copy(Path(stack_env["BYOK_RUN_DIR"]) / "stack.env", run_dir / "stack.env")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOK_")}
    env["BYOK_RUN_DIR"] = str(run_dir)
    env["BYOK_AUTH_JWT_SECRET"] = "e2e-" + uuid.uuid4().hex
    env["BYOK_INFERENCE_USER_AUTH"] = "required"  # stored keys only with the user's token, as in prod
    up = subprocess.run([REPO / "infra/local/services.sh", "up"], env=env, capture_output=True, text=True, timeout=180)
    try:
        assert up.returncode == 0, f"services did not start:\n{up.stderr}"
        coordinates = {**stack_env, **_env(run_dir / "services.env"), "E2E_RUN_DIR": str(run_dir)}
        yield coordinates
    finally:
        down = subprocess.run(
            [REPO / "infra/local/services.sh", "down"], env=env, capture_output=True, text=True, timeout=120
        )
        assert down.returncode == 0, down.stderr


@pytest.fixture
def fake(services: dict[str, str]) -> FakeProviderControl:
    return FakeProviderControl(services["BYOK_FAKE_PROVIDERS_URL"])


def tenant_token(
    services: dict[str, str], tenant_id: str, user_id: str, role: str = "member", secret: str | None = None
) -> str:
    """A user's token, as the key-vault API and the worker (BYOK_INFERENCE_USER_AUTH=required) accept it."""
    now = int(time.time())
    claims = {"sub": user_id, "tenant": tenant_id, "role": role, "iat": now, "exp": now + 900}
    return jwt.encode(claims, secret or services["BYOK_AUTH_JWT_SECRET"], algorithm="HS256")


class Tenant:
    """One tenant and user of the gateway, with a token for the key-vault API."""

    def __init__(self, services: dict[str, str], role: str = "member") -> None:
        self.services = services
        self.tenant_id = f"e2e-{uuid.uuid4().hex[:10]}"
        self.user_id = "u_" + uuid.uuid4().hex[:6]
        self.token = tenant_token(services, self.tenant_id, self.user_id, role=role)

    async def store_key(self, provider: str, api_key: str, scope: str = "user") -> dict[str, Any]:
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {self.token}"}) as http,
            http.post(
                f"{self.services['BYOK_KEYVAULT_URL']}/api/user-api-keys",
                json={"keyType": provider, "apiKey": api_key, "scope": scope},
            ) as answer,
        ):
            body = await answer.json()
            assert answer.status in (200, 201), body
            return body

    async def list_keys(self) -> list[dict[str, Any]]:
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {self.token}"}) as http,
            http.get(f"{self.services['BYOK_KEYVAULT_URL']}/api/user-api-keys") as answer,
        ):
            assert answer.status == 200
            return (await answer.json())["keys"]

    def prompt(self, model: str, **fields: Any) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "user_id": self.user_id,
            "model": model,
            "messages": [{"role": "user", "content": "Say hello"}],
            **fields,
        }


@pytest.fixture
def tenant(services: dict[str, str]) -> Tenant:
    return Tenant(services)


@pytest.fixture
async def client(services: dict[str, str]):
    async with ByokClient(kafka=services["BYOK_KAFKA_BOOTSTRAP"], keyvault_url=services["BYOK_KEYVAULT_URL"]) as c:
        yield c
